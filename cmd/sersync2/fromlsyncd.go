package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sersync-go/sersync2/lsyncdconf"
)

// fromLsyncd is --from-lsyncd FILE: the converted confxml.xml on stdout,
// the report on stderr. Exit 0: every setting was carried over; 1: some
// were not (the file is still written and the report names them), or the
// input could not be converted at all (nothing on stdout).
func fromLsyncd(stdout, stderr io.Writer, path string) int {
	res, err := lsyncdconf.ConvertFile(context.Background(), path)
	if err != nil {
		fmt.Fprint(stderr, res.Report())
		fmt.Fprintf(stderr, "sersync2: --from-lsyncd: %v\n", err)
		return exitUsage
	}
	if _, err := stdout.Write(res.XML); err != nil {
		fmt.Fprintf(stderr, "sersync2: --from-lsyncd: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stderr, res.Report())
	if !res.Complete() {
		return exitUsage
	}
	return exitOK
}
