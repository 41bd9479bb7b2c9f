package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// envDaemonChild marks the re-executed daemon process. Go cannot fork, so
// -d starts the same binary again in a new session; the child reports on
// fd 3 whether it started, and the caller exits 0 or 1 accordingly (the
// original's caller always exited 0 after a second).
const envDaemonChild = "SERSYNC2_DAEMON_CHILD"

func daemonize(stdout, stderr io.Writer, log *slog.Logger) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "sersync2: daemon: %v\n", err)
		return exitHost
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "sersync2: daemon: %v\n", err)
		return exitHost
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envDaemonChild+"=1")
	cmd.Stdin = nil
	cmd.Stdout = stdoutFile(stdout)
	cmd.Stderr = stdoutFile(stderr)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "sersync2: daemon: %v\n", err)
		return exitHost
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if strings.TrimSpace(line) == "ok" {
		log.Info("daemon started", "pid", cmd.Process.Pid)
		_ = cmd.Process.Release()
		return exitOK
	}
	// The child failed before it was ready; it printed why.
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode()
	}
	return exitHost
}

// stdoutFile returns w as an *os.File when it is one, so the daemon
// inherits the same descriptors (the original did not redirect stdio).
func stdoutFile(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return w
}

// daemonReadyFunc returns the function that tells the waiting caller of -d
// that start-up finished (nil) or failed. Outside a daemon child it does
// nothing. It is safe to call more than once; only the first call counts.
func daemonReadyFunc() func(error) {
	if os.Getenv(envDaemonChild) == "" {
		return func(error) {}
	}
	f := os.NewFile(3, "daemon-ready")
	var once sync.Once
	return func(err error) {
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
