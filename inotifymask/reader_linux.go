// The inotify reader: raw read(2)s of the nonblocking fd into the raw
// queue, paced while events come fast, and the decoding of what was read
// into rawEvents.

package inotifymask

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readBufSize is the read(2) buffer: thousands of events with short names
// per read, so the kernel queue is drained in few system calls.
const readBufSize = 256 << 10

// readEvents reads what the kernel's fd (nonblocking) holds, waiting in
// the runtime's poller while it holds nothing. The read(2) itself is a raw
// system call: it cannot block, and unlike a plain one it does not tell
// the runtime it enters a system call, which after an idle spell wakes
// the runtime's monitor thread and keeps it polling for a while: a
// wake-up per change at a steady trickle (docs/watcher.md, "CPU per
// event"). The fd is not in the runtime's poller itself but in an epoll
// set of its own, armed once per wait (EPOLLONESHOT): while the reader
// waits between paced reads, or works, changes arriving wake nobody,
// where a registered fd wakes the poller's thread at every change.
func readEvents(r *kernelReader, buf []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(r.fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			if err := r.wait(); err != nil {
				return 0, err
			}
			continue
		case e != 0:
			return 0, os.NewSyscallError("read", e)
		case n == 0:
			return 0, io.EOF
		}
		return int(n), nil
	}
}

// wait arms the fd's one-shot readiness in the reader's epoll set and
// waits in the runtime's poller until it fires (what is queued already
// fires it at once), a deadline passes or the set fails.
func (r *kernelReader) wait() error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(r.fd)}
	if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(r.ep), unix.EPOLL_CTL_MOD, uintptr(r.fd), uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
		return os.NewSyscallError("epoll_ctl", e)
	}
	rc, err := r.epFile.SyscallConn()
	if err != nil {
		return err
	}
	var got [1]unix.EpollEvent
	var errno unix.Errno
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&got[0])), 1, 0, 0, 0)
			if e == unix.EINTR {
				continue
			}
			errno = e
			return e != 0 || n > 0
		}
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("epoll_pwait", errno)
	}
	return nil
}

// maskReadFailed marks the synthetic raw event the reader queues when
// read(2) fails for good.
const maskReadFailed = 1 << 31

// rawEvent is one decoded struct inotify_event.
type rawEvent struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string // NUL padding removed; "" for nameless events
}

// decode appends the events in buf to dst. A record that does not fit in
// buf ends decoding; the second result is the number of bytes used.
func decode(buf []byte, dst []rawEvent) ([]rawEvent, int) {
	off := 0
	for len(buf)-off >= unix.SizeofInotifyEvent {
		h := buf[off:]
		n := binary.NativeEndian.Uint32(h[12:16])
		if uint64(n) > uint64(len(h)-unix.SizeofInotifyEvent) {
			break
		}
		name := h[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+int(n)]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		dst = append(dst, rawEvent{
			wd:     int32(binary.NativeEndian.Uint32(h[0:4])),
			mask:   binary.NativeEndian.Uint32(h[4:8]),
			cookie: binary.NativeEndian.Uint32(h[8:12]),
			name:   string(name),
		})
		off += unix.SizeofInotifyEvent + int(n)
	}
	return dst, off
}

// kernelReader drains the nonblocking fd of a kernel notification
// interface (inotify, fanotify) for a backend: reads paced by a
// readPacer, woken early by kick, stopped by interrupt.
type kernelReader struct {
	ww   *Watcher
	what string // the interface's name, for logs
	fd   int
	file *os.File // fd, kept out of the runtime's poller
	// ep is the epoll set holding fd alone, epFile ep in the runtime's
	// poller: the reader waits there (see readEvents).
	ep     int
	epFile *os.File

	mu     sync.Mutex
	closed bool
	// kick ends the reader's wait between reads; readDone has a token
	// after each read (catchUp).
	kick, readDone chan struct{}
}

// init sets r up to read fd, which it owns from then on (closed on
// failure).
func (r *kernelReader) init(w *Watcher, fd int, what string) error {
	r.ww, r.fd, r.what = w, fd, what
	r.kick = make(chan struct{}, 1)
	r.readDone = make(chan struct{}, 1)
	// A blocking fd makes a File the runtime's poller leaves alone; the
	// reads are nonblocking all the same.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return fmt.Errorf("inotifymask: %s: %w", what, err)
	}
	r.file = os.NewFile(uintptr(fd), what)
	if err := unix.SetNonblock(fd, true); err != nil {
		r.file.Close()
		return fmt.Errorf("inotifymask: %s: %w", what, err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err == nil {
		if err = unix.SetNonblock(ep, true); err == nil {
			err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(fd)})
		}
		if err != nil {
			unix.Close(ep)
		}
	}
	if err != nil {
		r.file.Close()
		return fmt.Errorf("inotifymask: epoll set of the %s fd: %w", what, err)
	}
	r.ep, r.epFile = ep, os.NewFile(uintptr(ep), what+" epoll")
	return nil
}

// readable prepares a blocking read; false means the watcher is closing.
func (r *kernelReader) readable() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	_ = r.epFile.SetReadDeadline(time.Time{})
	return true
}

// interrupt ends a read in progress and every later one.
func (r *kernelReader) interrupt() {
	r.mu.Lock()
	r.closed = true
	_ = r.epFile.SetReadDeadline(time.Unix(1, 0))
	r.mu.Unlock()
}

func (r *kernelReader) close() error {
	if err := errors.Join(r.epFile.Close(), r.file.Close()); err != nil {
		return fmt.Errorf("inotifymask: closing %s: %w", r.what, err)
	}
	return nil
}

// loop only drains the fd, so a slow consumer or a big directory scan
// never lets the kernel queue fill. got is given what one read returned
// and returns the number of events in it and whether the next read must
// not wait (a full buffer always reads again at once); failed is called
// once when reading fails for good.
func (r *kernelReader) loop(got func(buf []byte) (events int, readNow bool), failed func()) {
	buf := make([]byte, readBufSize)
	pace := readPacer{gap: r.ww.tune.readGap, busyEvents: r.ww.tune.readBusy}
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	for r.readable() {
		n, err := r.ww.tune.read(r, buf)
		if n > 0 {
			events, readNow := got(buf[:n])
			select {
			case r.readDone <- struct{}{}:
			default:
			}
			if d := pace.after(time.Now(), events, readNow || n == len(buf)); d > 0 {
				gap.Reset(d)
				select {
				case <-gap.C:
				case <-r.kick:
					gap.Stop()
				case <-r.ww.done:
					gap.Stop()
				}
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
		case r.ww.closing():
			return
		default:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.ww.log.Error("reading kernel events failed", "interface", r.what, "err", err)
			failed()
			return
		}
	}
}

// read queues what the inotify fd holds on the raw queue.
func (b *inotifyBackend) read() {
	var evs []rawEvent
	b.loop(func(buf []byte) (int, bool) {
		evs, _ = decode(buf, evs[:0])
		b.w.eventsRead.Add(uint64(len(evs)))
		b.w.addBacklog(len(evs))
		b.raw.push(evs...)
		// A MOVED_FROM at the end may have its MOVED_TO right behind it,
		// which process waits for: read at once.
		readNow := len(evs) > 0 && evs[len(evs)-1].mask&unix.IN_MOVED_FROM != 0
		n := len(evs)
		clear(evs)
		return n, readNow
	}, func() {
		b.w.addBacklog(1)
		b.raw.push(rawEvent{wd: -1, mask: maskReadFailed})
	})
}

// catchUp has the reader read what the kernel has queued by now (it may
// be waiting between reads), so that a Check answered after the next drain
// covers every change made before it was asked for. It gives up after a
// second, as the Check's report then lists what was still queued.
func (r *kernelReader) catchUp() {
	wait := time.NewTimer(time.Second)
	defer wait.Stop()
	for {
		select {
		case <-r.readDone: // a read that may predate the question
		default:
		}
		// TIOCINQ is FIONREAD: the bytes of events the kernel holds.
		if n, err := unix.IoctlGetInt(r.fd, unix.TIOCINQ); err != nil || n == 0 {
			return
		}
		select {
		case r.kick <- struct{}{}:
		default:
		}
		select {
		case <-r.readDone:
		case <-wait.C:
			return
		case <-r.ww.done:
			return
		}
	}
}

// readPacer spaces the reads of the inotify fd while events come fast:
// at least busyEvents in the last busyWindow (readBusy by default; <= 0:
// always). Then reads are at least gap apart, and each takes
// everything the kernel queued meanwhile, so a burst costs a wake-up of
// the daemon per gap instead of one per event. Slower changes, and the
// first change after a pause, are read at once: there a wait would cost a
// wake-up of its own and save none.
type readPacer struct {
	gap            time.Duration
	busyEvents     int
	last, winStart time.Time
	winEvents      int
	busy           bool
}

const busyWindow = 100 * time.Millisecond

// after is told that a read at now returned events; it returns how long to
// wait before the next read, 0 when readNow or not busy.
func (p *readPacer) after(now time.Time, events int, readNow bool) time.Duration {
	if el := now.Sub(p.winStart); el >= busyWindow {
		p.busy = el < 2*busyWindow && p.winEvents >= p.busyEvents
		p.winStart, p.winEvents = now, 0
	}
	if p.busyEvents <= 0 {
		p.busy = true
	}
	p.winEvents += events
	d := p.gap - now.Sub(p.last)
	if !p.busy || readNow || d <= 0 {
		p.last = now
		return 0
	}
	p.last = now.Add(d)
	return d
}
