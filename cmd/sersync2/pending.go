package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sersync-go/sersync2/status"
)

// printPending is --pending: the pending paths of the running instance,
// from its status server or its status file, one line per path on
// stdout, remarks on stderr (status.WritePending).
func printPending(stdout, stderr io.Writer, o *options, now time.Time) int {
	var (
		r   status.Report
		err error
	)
	if o.statusAddr != "" {
		token := ""
		if o.statusAuthFile != "" {
			if token, err = status.ReadToken(o.statusAuthFile); err != nil {
				return fail(stderr, exitUsage, fmt.Errorf("--pending: %w", err))
			}
		}
		r, err = status.FetchPending(o.statusAddr, token)
	} else {
		r, err = status.ReadPendingFile(o.statusFile, o.statusFileEvery, now)
	}
	if err != nil {
		code := exitHost
		if errors.Is(err, status.ErrTokenRefused) {
			code = exitUsage
		}
		return fail(stderr, code, fmt.Errorf("--pending: %w", err))
	}
	status.WritePending(stdout, stderr, r, now)
	return exitOK
}
