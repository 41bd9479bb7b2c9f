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

// printIdentities prints --check's lines about each watch root's
// identity: recorded and present, absent and why, or not recorded yet.
func printIdentities(w io.Writer, cfg confxml.Config, o *options) {
	reps, err := replicate.RootIdentities(cfg, o.stateDirOrDefault())
	if err != nil {
		fmt.Fprintf(w, "  watch root identities: %v\n", err)
		return
	}
	// The watch roots come first, then the local targets.
	roots := len(cfg.WatchRoots(""))
	for i, r := range reps {
		what, absent := "root", "nothing is synced from it"
		if i >= roots {
			what, absent = "local target", "nothing is written to it"
		}
		switch {
		case r.Recorded != nil && r.Err == nil:
			fmt.Fprintf(w, "  %s %s: present: recorded %s on %s\n", what, r.Root, r.Recorded.ID, r.Recorded.Recorded.Format("2006-01-02"))
		case r.Err != nil:
			fmt.Fprintf(w, "  %s %s: ABSENT, %s: %v\n", what, r.Root, absent, r.Err)
		case r.Suspicion != "":
			fmt.Fprintf(w, "  %s %s: not recorded yet; warning: it looks like an unmounted mount point: %s (recorded once it no longer does)\n", what, r.Root, r.Suspicion)
		default:
			fmt.Fprintf(w, "  %s %s: not recorded yet; recorded at start: %s\n", what, r.Root, r.Found)
		}
	}
}
