package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// runCheck is --check: the verdict on the file, then the effective
// settings and, for every remote, the rsync command lines a change would
// run (replicate.Describe). hostErr holds the problems of this machine
// (missing watch directory, password file): they are printed with the
// rest, and the exit code says the file is valid but would not start
// here.
func runCheck(w io.Writer, cfg confxml.Config, o *options, mode string, hostErr error) int {
	fmt.Fprintf(w, "config %s: valid\n", cfg.Path)
	if hostErr != nil {
		fmt.Fprintln(w, "not ready on this host (sersync2 would refuse to start here):")
		for _, line := range strings.Split(hostErr.Error(), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
	if len(cfg.Warnings) > 0 {
		fmt.Fprintln(w, "warnings:")
		for _, s := range cfg.Warnings {
			fmt.Fprintln(w, "  "+s)
		}
	}
	if err := replicate.Describe(w, cfg, o.engineOptions(mode)); err != nil {
		return exitUsage
	}
	if hostErr != nil {
		return exitHost
	}
	return exitOK
}
