package rsyncexec

import (
	"os"
	"os/exec"
	"syscall"
)

// exitWatch waits for a started rsync to exit through the Go runtime's
// poller (a pidfd becomes readable when its process exits) instead of a
// blocking waitid(2). A goroutine blocked in waitid holds an OS thread in
// a system call for the whole run of rsync, and while any thread does, the
// runtime's monitor thread keeps waking up every 20 µs to 10 ms; waiting
// in the poller lets it sleep, so an idle daemon with rsyncs running costs
// nothing. cmd.Wait afterwards only reaps the process.
type exitWatch struct {
	fd int
}

// prepare asks for a pidfd of the process cmd will start.
func (w *exitWatch) prepare(cmd *exec.Cmd) {
	w.fd = -1
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.PidFD = &w.fd
}

// wait returns once the process cmd started has exited, or at once when
// the kernel gave no pidfd (cmd.Wait then blocks as usual). It closes the
// pidfd.
func (w *exitWatch) wait() {
	if w.fd < 0 {
		return
	}
	if err := syscall.SetNonblock(w.fd, true); err != nil {
		_ = syscall.Close(w.fd)
		return
	}
	f := os.NewFile(uintptr(w.fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// The first call asks the poller to wait; the second comes once it
	// said the pidfd is readable: the process has exited. (Had it exited
	// before the pidfd was registered, the poller says so at once.) Were
	// it ever woken early, cmd.Wait would just block until the exit.
	waited := false
	_ = rc.Read(func(uintptr) bool {
		done := waited
		waited = true
		return done
	})
}
