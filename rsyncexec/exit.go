package rsyncexec

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// ErrRsyncMissing is wrapped by the error returned when the rsync binary
// cannot be found or executed.
var ErrRsyncMissing = errors.New("rsyncexec: rsync binary not found (install rsync 3.1.0 or newer)")

// ExitError is an rsync run that ended with a failure status.
type ExitError struct {
	// Code is rsync's exit status, or -1 when it was killed by a signal.
	Code int
	// Stderr is the end of rsync's standard error (at most a few KiB).
	Stderr string
	// Argv is the command that failed, Argv[0] being the binary.
	Argv []string
}

type exitClass struct {
	ok, retry bool
	text      string
	// hint says what the operator should do; without one a failure that
	// is not retried is called a configuration problem.
	hint string
}

// exitCodes classifies rsync's documented exit codes by what the caller
// should do. Codes not listed are retried.
var exitCodes = map[int]exitClass{
	0:  {ok: true, text: "success"},
	1:  {text: "syntax or usage error"},
	2:  {text: "protocol incompatibility"},
	3:  {text: "errors selecting input/output files, dirs"},
	4:  {text: "requested action not supported"},
	5:  {retry: true, text: "error starting client-server protocol"}, // also: auth failed, unknown module, max connections
	6:  {retry: true, text: "daemon unable to append to log-file"},
	10: {retry: true, text: "error in socket I/O"},
	11: {retry: true, text: "error in file I/O"},
	12: {retry: true, text: "error in rsync protocol data stream"},
	13: {retry: true, text: "errors with program diagnostics"},
	14: {retry: true, text: "error in IPC code"},
	20: {retry: true, text: "received SIGUSR1 or SIGINT"},
	21: {retry: true, text: "some error returned by waitpid()"},
	22: {retry: true, text: "error allocating core memory buffers"},
	23: {retry: true, text: "partial transfer due to error"},
	24: {ok: true, text: "partial transfer due to vanished source files"},
	// Not retried: each run would delete up to the limit again, until the
	// guard had let everything go. Everything but the skipped deletions
	// was sent.
	25: {text: "the --max-delete limit stopped deletions", hint: "the full sync sent every change but deleted only up to --max-delete paths on the remote; " +
		"check that the watch root holds what the remote should mirror, then run a full sync (-r) with a higher --max-delete or without it"},
	30: {retry: true, text: "timeout in data send/receive"},
	35: {retry: true, text: "timeout waiting for daemon connection"},
	-1: {retry: true, text: "killed by a signal"},
	// rsync passes on the remote shell's 255 (ssh: connection failed).
	255: {retry: true, text: "remote shell failed"},
}

// ExitMeaning returns the meaning of rsync exit status code as rsync's
// manual words it ("error in socket I/O"), or "unknown exit code".
func ExitMeaning(code int) string {
	if t := exitCodes[code].text; t != "" {
		return t
	}
	return "unknown exit code"
}

// Succeeded reports whether rsync exit status code counts as success: 0,
// and 24 (files vanished before they could be sent; they are deleted
// locally, so a later remove covers them).
func Succeeded(code int) bool { return exitCodes[code].ok }

// Retryable says whether running the same paths again may succeed: true
// for network, protocol, timeout and partial-transfer (23) failures; false
// for usage, protocol-version, file-selection and unsupported-option
// errors (1-4) and the --max-delete stop (25), which are configuration
// problems that need an operator. Exit 5 (daemon refused: unknown module,
// wrong password, max connections reached) is retried because the last of
// these is transient; the Stderr text tells them apart.
func (e *ExitError) Retryable() bool {
	c, known := exitCodes[e.Code]
	return !known || c.retry
}

func (e *ExitError) Error() string {
	text := ExitMeaning(e.Code)
	msg := "rsync exit code " + strconv.Itoa(e.Code) + " (" + text + ")"
	if e.Code == -1 {
		msg = "rsync " + text
	}
	switch h := exitCodes[e.Code].hint; {
	case h != "":
		msg += ": " + h
	case !e.Retryable():
		msg += ", a configuration problem"
	}
	if s := lastLines(e.Stderr, 3); s != "" {
		msg += ": " + s
	}
	return msg
}

// lastLines returns the last n non-empty lines of s joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append([]string{l}, out...)
		}
	}
	return strings.Join(out, " | ")
}

// exitCodeDeletionsStopped is rsync's exit status when --max-delete
// stopped deletions.
const exitCodeDeletionsStopped = 25

// stoppedDeleting reports whether rsync's stderr says that the receiver
// stopped deleting at --max-delete. An rsync daemon's receiver prints this
// to the client but its exit status 25 does not reach the client, which
// exits 0; over a remote shell the client exits 25 as well. The text is
// the only sign in the daemon case.
func stoppedDeleting(stderr string) bool {
	return strings.Contains(stderr, "Deletions stopped due to --max-delete limit")
}

// stoppedExit stands for exit 25 when the client exited 0 (stoppedDeleting).
type stoppedExit struct{}

func (*stoppedExit) Error() string { return "rsync: deletions stopped at --max-delete" }

// DeletionsStopped reports whether an rsync run in err (as found in
// Result.Err) stopped deleting at the --max-delete limit (exit 25): the
// run sent everything else, and running it again would delete up to the
// limit once more, so it must not be retried.
func DeletionsStopped(err error) bool {
	return err != nil && !walkErrors(err, func(e error) bool {
		ee, ok := e.(*ExitError)
		return !ok || ee.Code != exitCodeDeletionsStopped
	})
}

// Retryable reports whether err, as found in Result.Err, is worth running
// the batch again for: it is false for nil, for a missing rsync binary,
// for a bad batch path, for cancellation, and when any rsync run in err
// failed with a non-retryable exit code; true otherwise.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrRsyncMissing) || errors.Is(err, ErrBadPath) || errors.Is(err, context.Canceled) {
		return false
	}
	return walkErrors(err, func(e error) bool {
		ee, ok := e.(*ExitError)
		return !ok || ee.Retryable()
	})
}

// ExitCodes returns, in order, the exit status of every rsync run in err
// (as found in Result.Err) that started and failed, -1 for one killed by a
// signal. Errors of runs that never started (rsync missing, a path
// refused before the run) have none: they were not runs. This is the one
// reader of exit statuses for the metrics and the failLog.
func ExitCodes(err error) []int {
	var codes []int
	walkErrors(err, func(e error) bool {
		if ee, ok := e.(*ExitError); ok {
			codes = append(codes, ee.Code)
		}
		return true
	})
	return codes
}

// walkErrors calls f for every error in the tree of err and reports
// whether f returned true for all of them.
func walkErrors(err error, f func(error) bool) bool {
	if !f(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walkErrors(e, f) {
				return false
			}
		}
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			return walkErrors(e, f)
		}
	}
	return true
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// reasonError is an error whose text is a full sentence of its own but that
// still matches its causes (a sentinel among them) with errors.Is, so the
// sentinel's "rsyncexec: " prefix does not land in the middle of a message.
type reasonError struct {
	msg  string
	errs []error
}

func (e *reasonError) Error() string   { return e.msg }
func (e *reasonError) Unwrap() []error { return e.errs }
