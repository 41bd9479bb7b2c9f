package main

import (
	"fmt"
	"io"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// acceptRoots is --accept-root: record the file system at each given
// watch root now as its own, print what was recorded and replaced, and
// exit. A running sersync2 of the same configuration sees the new record
// within a second.
func acceptRoots(stdout, stderr io.Writer, cfg confxml.Config, o *options, mode string) int {
	if mode != "" {
		fmt.Fprintln(stderr, "sersync2: --accept-root: plugin-only mode (-m) does not follow watch roots")
		return exitUsage
	}
	code := exitOK
	for _, root := range o.acceptRoots {
		id, prev, err := replicate.AcceptRoot(cfg, o.stateDirOrDefault(), root)
		if err != nil {
			fmt.Fprintf(stderr, "sersync2: --accept-root %s: %v\n", root, err)
			code = exitUsage
			continue
		}
		if prev != nil {
			fmt.Fprintf(stdout, "watch root %s: recorded %s (replaces %s, recorded %s)\n", root, id, prev.ID, prev.Recorded.Format("2006-01-02 15:04:05 MST"))
		} else {
			fmt.Fprintf(stdout, "watch root %s: recorded %s\n", root, id)
		}
	}
	return code
}
