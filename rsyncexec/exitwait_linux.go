package rsyncexec

import (
	"os"
	"os/exec"
	"syscall"
	"unsafe"
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
// the kernel gave no pidfd or the poller cannot take it (cmd.Wait then
// blocks as usual). It closes the pidfd.
func (w *exitWatch) wait() {
	if w.fd < 0 {
		return
	}
	// O_NONBLOCK is shared with the copy of the pidfd os.Process waits
	// on: it is cleared again, while the pidfd is still open, before
	// cmd.Wait's waitid.
	if err := syscall.SetNonblock(w.fd, true); err != nil {
		_ = syscall.Close(w.fd)
		return
	}
	f := os.NewFile(uintptr(w.fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		_ = syscall.SetNonblock(w.fd, false)
		return
	}
	// The poller forgets a readiness reported before the read starts
	// (with edge-triggered epoll no new one comes for a process that
	// already exited), so each round asks the kernel first, without
	// blocking, whether the pidfd is readable: the process has exited.
	_ = rc.Read(func(fd uintptr) bool { return exited(int(fd)) })
	_ = rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), false) })
}

// exited reports whether the pidfd fd is readable now (its process has
// exited); on an error it reports true and cmd.Wait decides. The ppoll
// has a zero timeout, so it is made as a raw system call: a plain one
// would wake the runtime's monitor thread after an idle spell (see
// docs/watcher.md "CPU per event").
func exited(fd int) bool {
	pfd := struct {
		fd             int32
		events, revent int16
	}{fd: int32(fd), events: pollIn}
	var zero syscall.Timespec
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return true
		}
		return n > 0
	}
}

// pollIn is POLLIN.
const pollIn = 0x1
