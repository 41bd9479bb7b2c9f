// Package daemon runs sersync2 in the background for -d. Go cannot fork,
// so the same binary is started again in a new session; the caller waits
// until the child says on a pipe (its fd 3) that it started, or exits, and
// so returns the child's verdict (the original's caller always exited 0
// after a second).
package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// envChild marks the re-executed daemon process.
const envChild = "SERSYNC2_DAEMON_CHILD"

// ChildExitError is returned by Start when the child exited before it was
// ready; it printed why, and Code is its exit status.
type ChildExitError struct{ Code int }

func (e *ChildExitError) Error() string {
	return fmt.Sprintf("daemon: the background process exited with status %d before it was ready", e.Code)
}

// Detect reports whether this process is the daemon child, and returns the
// function that tells the waiting caller that start-up finished (nil) or
// failed; outside a child that function does nothing. It is safe to call
// more than once; only the first call counts. Detect removes the child's
// marker from the environment, so that rsync and plugin commands do not
// think they are a daemon child.
func Detect() (child bool, ready func(error)) {
	child = os.Getenv(envChild) != ""
	os.Unsetenv(envChild)
	if !child {
		return false, func(error) {}
	}
	f := os.NewFile(3, "daemon-ready")
	var once sync.Once
	return true, func(err error) {
		once.Do(func() {
			if f == nil {
				return
			}
			if err == nil {
				fmt.Fprintln(f, "ok")
			} else {
				fmt.Fprintf(f, "error: %v\n", err)
			}
			f.Close()
		})
	}
}

// Start starts this binary again with args as the daemon child, in a new
// session, with stdout and stderr inherited (the original did not
// redirect them), and waits until the child is ready: then it returns the
// child's pid. A child that exits first gives a *ChildExitError.
func Start(stdout, stderr io.Writer, args []string) (pid int, _ error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("daemon: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("daemon: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.Stdin = nil
	cmd.Stdout = asFile(stdout)
	cmd.Stderr = asFile(stderr)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return 0, fmt.Errorf("daemon: %w", err)
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if strings.TrimSpace(line) == "ok" {
		pid = cmd.Process.Pid
		_ = cmd.Process.Release()
		return pid, nil
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return 0, &ChildExitError{Code: ee.ExitCode()}
	}
	return 0, fmt.Errorf("daemon: the background process ended before it was ready: %v", err)
}

// asFile returns w as an *os.File when it is one, so the child inherits
// the same descriptors.
func asFile(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return w
}
