package inotifymask

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

const defaultKind = kindInotify

// readBufSize is the read(2) buffer: about 10,000 events with short names
// per read, so the kernel queue is drained in few system calls.
const readBufSize = 256 << 10

// readEvents reads what the inotify fd f (nonblocking) holds, waiting in
// the runtime's poller while it holds nothing. The read(2) itself is a raw
// system call: it cannot block, and unlike a plain one it does not tell
// the runtime it enters a system call, which wakes the runtime's monitor
// thread whenever the daemon was idle and keeps it polling every 20 µs for
// a while: at a few hundred changes per second that was most of the
// daemon's CPU (docs/watcher.md "CPU per event").
func readEvents(f *os.File, buf []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var errno unix.Errno
	err = rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
			if e == unix.EINTR {
				continue
			}
			n, errno = int(r), e
			return e != unix.EAGAIN
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// maskReadFailed marks the synthetic raw event the reader queues when
// read(2) fails for good.
const maskReadFailed = 1 << 31

// kernelMask returns the mask every watch below a root is added with: the
// bits the toggles ask for plus what keeping the tree right needs.
func kernelMask(t confxml.Inotify) uint32 {
	m := uint32(unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK)
	if t.Delete {
		m |= unix.IN_DELETE
	}
	if t.CloseWrite {
		m |= unix.IN_CLOSE_WRITE
	}
	if t.Attrib {
		m |= unix.IN_ATTRIB
	}
	if t.Modify {
		m |= unix.IN_MODIFY
	}
	return m
}

// rootMask returns the mask of a root's own watch: the root itself may be
// a symlink (it is followed), and its removal or move is logged.
func rootMask(t confxml.Inotify) uint32 {
	return kernelMask(t)&^unix.IN_DONT_FOLLOW | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
}

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

// dirNode is one watched directory. Paths are not stored: a node knows
// its name and parent, so a renamed directory moves with everything below
// it and no path can go stale.
type dirNode struct {
	wd       int32
	gen      uint32
	name     string
	parent   *dirNode
	tree     *rootTree // set on a root's node only
	children map[string]*dirNode
}

// locate returns the node's tree and relative path.
func (n *dirNode) locate() (*rootTree, string) {
	if n.parent == nil {
		return n.tree, ""
	}
	var stack [16]string
	names := stack[:0]
	size := 0
	for ; n.parent != nil; n = n.parent {
		names = append(names, n.name)
		size += len(n.name) + 1
	}
	var sb strings.Builder
	sb.Grow(size)
	for i := len(names) - 1; i >= 0; i-- {
		sb.WriteString(names[i])
		if i > 0 {
			sb.WriteByte('/')
		}
	}
	return n.tree, sb.String()
}

type rootTree struct {
	idx  int
	abs  string // cleaned
	node *dirNode

	// Set while the root is gone (removed, moved away, unmounted, or
	// refused by Options.RootCheck).
	gone      bool
	unmounted bool
	bareDev   uint64 // device found at abs right after an unmount
	bareKnown bool
	why       string
	since     time.Time
	nagged    time.Time
	// checked is when Options.RootCheck last passed the watched root.
	checked time.Time
}

// pendingMove is a MOVED_FROM waiting for its MOVED_TO.
type pendingMove struct {
	parent *dirNode
	name   string
	dir    bool
	cookie uint32
	mask   uint32
}

// attachReq asks for the directory name in parent to be watched and
// walked (name "": walk parent itself again). It is kept in
// inotifyBackend.deferred while the path the tree gives for parent does
// not lead to parent: a rename of an ancestor is still on its way.
type attachReq struct {
	parent *dirNode
	name   string
	mode   walkMode
	since  int64  // walkChangedSince threshold (ns); -1: the directory's ctime
	report bool   // report the directory itself once watched
	mask   uint32 // the event that asked, for debug output

	first time.Time // when it was first deferred
	round uint64    // the retry round that last deferred it
}

type attachKey struct {
	parent *dirNode
	name   string
}

// errNoWatch wraps a failure to add (or look up) the watch of a directory
// that could be opened.
var errNoWatch = errors.New("inotifymask: cannot watch")

// errStale says that the directory at the path the tree gives for a node
// is not that node's directory (or there is none): a rename of an
// ancestor has not been processed yet.
var errStale = errors.New("inotifymask: directory is not where the tree says (rename not processed yet)")

// inotifyBackend watches with raw inotify. Two goroutines: read drains
// the fd into raw, process keeps the tree and emits into the Watcher's
// queue, which Next empties.
type inotifyBackend struct {
	w        *Watcher
	fd       int
	file     *os.File
	mask     uint32
	rootMask uint32
	viaFD    bool // /proc/self/fd resolves paths relative to open directories

	// Reader control, guarded by mu.
	mu     sync.Mutex
	closed bool

	raw fifo[rawEvent]
	// kick ends the reader's wait between reads; readDone has a token
	// after each read (catchUp).
	kick, readDone chan struct{}
	checks         chan chan CheckReport

	// Owned by New's goroutine until start returns, then by process.
	wds     map[int32]*dirNode
	trees   []*rootTree
	pending *pendingMove
	// closes and applying: see indexCloses.
	closes     map[wdName]int
	applying   int
	gen        uint32
	limitHit   bool
	deferred   map[attachKey]*attachReq
	retryRound uint64

	nwatches atomic.Int64

	// What Stats reads of the process goroutine's state.
	statMu      sync.Mutex
	statMissing []MissingRoot
	statDefer   int
	// absentReq carries Watcher.RootAbsent's requests to the process
	// goroutine: the index of a root and why.
	absentMu  sync.Mutex
	absentReq map[int]string
	absentC   chan struct{}
}

func newInotifyBackend(w *Watcher) (backend, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.EMFILE) {
			return nil, fmt.Errorf("inotifymask: inotify_init1 (raise sysctl fs.inotify.max_user_instances): %w", err)
		}
		return nil, fmt.Errorf("inotifymask: inotify_init1: %w", err)
	}
	b := &inotifyBackend{
		w:        w,
		fd:       fd,
		file:     os.NewFile(uintptr(fd), "inotify"),
		mask:     kernelMask(w.opts.Inotify),
		rootMask: rootMask(w.opts.Inotify),
		raw:      newFifo[rawEvent](),
		kick:     make(chan struct{}, 1),
		readDone: make(chan struct{}, 1),
		checks:   make(chan chan CheckReport),
		wds:      make(map[int32]*dirNode),
		deferred: make(map[attachKey]*attachReq),
		absentC:  make(chan struct{}, 1),
	}
	var st unix.Stat_t
	b.viaFD = unix.Stat("/proc/self/fd", &st) == nil
	for i, r := range w.roots {
		b.trees = append(b.trees, &rootTree{idx: i, abs: r})
	}
	return b, nil
}

func (b *inotifyBackend) start() error {
	b.w.wg.Add(1)
	go b.read()
	for _, t := range b.trees {
		// A root with no directory at all fails the start below, as
		// without a check; a directory that is not the root's file system
		// is only absent: it may be mounted later.
		if err := b.refused(t); err != nil && isDir(t.abs) {
			b.rootGone(t, err.Error(), false)
			continue
		}
		if err := b.addRoot(t, true); err != nil {
			return err
		}
		b.walk(t, t.node, "", walkSilent, 0)
		if b.limitHit {
			return fmt.Errorf("inotifymask: watching %s: %w", t.abs, ErrWatchLimit)
		}
		if b.w.closing() {
			return errors.New("inotifymask: closed during setup")
		}
	}
	b.w.wg.Add(1)
	go b.process()
	return nil
}

func (b *inotifyBackend) interrupt() {
	b.mu.Lock()
	b.closed = true
	_ = b.file.SetReadDeadline(time.Unix(1, 0))
	b.mu.Unlock()
}

func (b *inotifyBackend) close() error {
	if err := b.file.Close(); err != nil {
		return fmt.Errorf("inotifymask: closing inotify: %w", err)
	}
	return nil
}

func (b *inotifyBackend) watches() int { return int(b.nwatches.Load()) }

// readable prepares a blocking read; false means the watcher is closing.
func (b *inotifyBackend) readable() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	_ = b.file.SetReadDeadline(time.Time{})
	return true
}

// read only drains the fd into the raw queue, so a slow consumer or a big
// directory scan never lets the kernel queue fill. A readPacer spaces the
// reads of a burst.
func (b *inotifyBackend) read() {
	defer b.w.wg.Done()
	buf := make([]byte, readBufSize)
	var evs []rawEvent
	pace := readPacer{gap: b.w.tune.readGap, busyEvents: b.w.tune.readBusy}
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	for b.readable() {
		n, err := b.w.tune.read(b.file, buf)
		if n > 0 {
			evs, _ = decode(buf[:n], evs[:0])
			b.w.eventsRead.Add(uint64(len(evs)))
			b.w.addBacklog(len(evs))
			b.raw.push(evs...)
			// A MOVED_FROM at the end may have its MOVED_TO right behind
			// it, which process waits for; a full buffer left events
			// behind: read at once.
			readNow := n == len(buf) || len(evs) > 0 && evs[len(evs)-1].mask&unix.IN_MOVED_FROM != 0
			clear(evs)
			select {
			case b.readDone <- struct{}{}:
			default:
			}
			if d := pace.after(time.Now(), len(evs), readNow); d > 0 {
				gap.Reset(d)
				select {
				case <-gap.C:
				case <-b.kick:
					gap.Stop()
				case <-b.w.done:
					gap.Stop()
				}
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
		case b.w.closing():
			return
		default:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.w.log.Error("reading inotify events failed", "err", err)
			b.w.addBacklog(1)
			b.raw.push(rawEvent{wd: -1, mask: maskReadFailed})
			return
		}
	}
}

// catchUp has the reader read what the kernel has queued by now (it may
// be waiting between reads), so that a Check answered after the next drain
// covers every change made before it was asked for. It gives up after a
// second, as the Check's report then lists what was still queued.
func (b *inotifyBackend) catchUp() {
	wait := time.NewTimer(time.Second)
	defer wait.Stop()
	for {
		select {
		case <-b.readDone: // a read that may predate the question
		default:
		}
		// TIOCINQ is FIONREAD: the bytes of events the kernel holds.
		if n, err := unix.IoctlGetInt(b.fd, unix.TIOCINQ); err != nil || n == 0 {
			return
		}
		select {
		case b.kick <- struct{}{}:
		default:
		}
		select {
		case <-b.readDone:
		case <-wait.C:
			return
		case <-b.w.done:
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

// process applies raw events to the tree and emits, in kernel order. Once
// everything read is applied it settles: directories that could not be
// watched at the path the tree gave are tried again, missing roots looked
// for, and a pending Check answered.
func (b *inotifyBackend) process() {
	defer b.w.wg.Done()
	pairTimer := time.NewTimer(time.Hour)
	pairTimer.Stop()
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	var batch []rawEvent
	b.settle(tick) // what the initial walk could not watch
	for {
		var reply chan CheckReport
		select {
		case <-b.raw.ready:
		case <-tick.C:
		case reply = <-b.checks:
			b.catchUp()
		case <-b.absentC:
			b.takeAbsent()
		case <-b.w.done:
			return
		}
		if !b.drain(&batch, pairTimer) {
			return
		}
		b.settle(tick)
		if reply != nil {
			reply <- b.checkTrees()
		}
	}
}

// drain applies every raw event queued; false means the watcher closes.
func (b *inotifyBackend) drain(batch *[]rawEvent, pairTimer *time.Timer) bool {
	for {
		*batch = b.raw.take(*batch)
		b.indexCloses(*batch)
		for i := range *batch {
			b.applying = i
			b.handle(&(*batch)[i])
			(*batch)[i] = rawEvent{}
			if b.w.closing() {
				return false
			}
		}
		b.w.addBacklog(-len(*batch))
		if b.pending == nil {
			return true
		}
		// A MOVED_FROM ended what was read: its MOVED_TO, if any, is
		// queued right behind it, so wait only briefly.
		pairTimer.Reset(b.w.tune.pairWait)
		select {
		case <-b.raw.ready:
			pairTimer.Stop()
			continue
		case <-pairTimer.C:
			b.flushPending()
		case <-b.w.done:
			return false
		}
		return true
	}
}

// settle retries deferred watches, looks for missing roots and arms tick
// for the next time either needs doing.
func (b *inotifyBackend) settle(tick *time.Timer) {
	b.retryDeferred()
	b.pollRoots()
	tick.Stop()
	switch {
	case len(b.deferred) > 0:
		tick.Reset(b.w.tune.retryWait)
	case b.anyGone(), b.w.opts.RootCheck != nil:
		tick.Reset(b.w.tune.rootPoll)
	}
	if len(b.deferred) != b.statDefer {
		b.publish()
	}
}

// publish updates what Stats reports of the roots and deferred watches.
// It runs on the process goroutine, the only writer of statMissing and
// statDefer, whenever either changes.
func (b *inotifyBackend) publish() {
	var missing []MissingRoot
	for _, t := range b.trees {
		if t.gone {
			missing = append(missing, MissingRoot{Root: b.w.opts.Roots[t.idx], Reason: t.why, Since: t.since})
		}
	}
	b.statMu.Lock()
	b.statMissing, b.statDefer = missing, len(b.deferred)
	b.statMu.Unlock()
}

func (b *inotifyBackend) missing() ([]MissingRoot, int) {
	b.statMu.Lock()
	defer b.statMu.Unlock()
	return append([]MissingRoot(nil), b.statMissing...), b.statDefer
}

func (b *inotifyBackend) markAbsent(idx int, why string) {
	b.absentMu.Lock()
	if b.absentReq == nil {
		b.absentReq = map[int]string{}
	}
	b.absentReq[idx] = why
	b.absentMu.Unlock()
	select {
	case b.absentC <- struct{}{}:
	default:
	}
}

// takeAbsent acts on Watcher.RootAbsent's requests.
func (b *inotifyBackend) takeAbsent() {
	b.absentMu.Lock()
	reqs := b.absentReq
	b.absentReq = nil
	b.absentMu.Unlock()
	for idx, why := range reqs {
		b.rootGone(b.trees[idx], why, false)
	}
}

// refused returns Options.RootCheck's verdict on the root (nil without
// one).
func (b *inotifyBackend) refused(t *rootTree) error {
	if b.w.opts.RootCheck == nil {
		return nil
	}
	return b.w.opts.RootCheck(b.w.opts.Roots[t.idx])
}

func (b *inotifyBackend) anyGone() bool {
	for _, t := range b.trees {
		if t.gone {
			return true
		}
	}
	return false
}

// handle applies one raw event.
func (b *inotifyBackend) handle(ev *rawEvent) {
	if b.w.opts.Debug != nil && ev.mask != maskReadFailed {
		b.w.debug("inotify wd:%d\tname:%s\tmask:%d", ev.wd, ev.name, ev.mask)
	}
	if ev.mask == maskReadFailed {
		b.flushPending()
		for _, t := range b.trees {
			b.w.overflow(t.idx, ErrReadFailed)
		}
		return
	}
	if ev.mask&unix.IN_Q_OVERFLOW != 0 {
		b.flushPending()
		b.overflowed()
		return
	}
	if b.pending != nil {
		if ev.mask&unix.IN_MOVED_TO != 0 && ev.cookie == b.pending.cookie {
			b.pair(ev)
			return
		}
		b.flushPending()
	}
	if ev.mask&unix.IN_IGNORED != 0 {
		b.ignored(ev.wd)
		return
	}
	parent := b.wds[ev.wd]
	if parent == nil {
		// A watch we dropped still had events queued: nothing to do.
		return
	}
	if ev.name == "" {
		b.selfEvent(parent, ev)
		return
	}
	t, prel := parent.locate()
	rel := joinRel(prel, ev.name)
	dir := ev.mask&unix.IN_ISDIR != 0
	tog := &b.w.opts.Inotify
	switch {
	case ev.mask&unix.IN_MOVED_FROM != 0:
		b.pending = &pendingMove{parent: parent, name: ev.name, dir: dir, cookie: ev.cookie, mask: ev.mask}
	case ev.mask&unix.IN_MOVED_TO != 0:
		b.movedIn(t, parent, rel, ev.name, dir, ev.mask)
	case ev.mask&unix.IN_CREATE != 0:
		b.created(t, parent, rel, ev.name, dir, ev.mask)
	case ev.mask&unix.IN_DELETE != 0:
		if dir {
			if c := parent.children[ev.name]; c != nil {
				b.drop(c)
			}
		}
		if tog.Delete && !b.w.filter.hidden(rel, dir) {
			b.w.remove(t.idx, rel, dir, ev.mask)
		}
	default:
		want := (ev.mask&unix.IN_CLOSE_WRITE != 0 && tog.CloseWrite) ||
			(ev.mask&unix.IN_MODIFY != 0 && tog.Modify) ||
			(ev.mask&unix.IN_ATTRIB != 0 && tog.Attrib)
		if want && !b.w.filter.hidden(rel, dir) {
			// IN_ATTRIB is an update, never a removal, and keeps every
			// watch.
			b.w.update(t.idx, rel, dir, ev.mask)
		}
	}
}

// created handles IN_CREATE.
func (b *inotifyBackend) created(t *rootTree, parent *dirNode, rel, name string, dir bool, mask uint32) {
	if dir {
		if b.w.filter.excluded(rel, true) {
			return
		}
		b.attach(&attachReq{parent: parent, name: name, mode: walkCreated,
			report: b.w.opts.Inotify.CreateFolder, mask: mask})
		return
	}
	if b.w.filter.hidden(rel, false) {
		return
	}
	if b.w.opts.Inotify.CreateFile || !b.closedLater(parent.wd, name) && neverClosed(absPath(t.abs, rel)) {
		b.w.update(t.idx, rel, false, mask)
	}
}

// wdName is a name in a watched directory.
type wdName struct {
	wd   int32
	name string
}

// indexCloses records where the IN_CLOSE_WRITEs of the events about to be
// applied are, when closeWrite reports them: a file created and closed
// within them needs no lstat to tell whether it will be closed
// (neverClosed), which was a system call per new file.
func (b *inotifyBackend) indexCloses(batch []rawEvent) {
	if len(b.closes) > 1<<14 {
		b.closes = nil // do not keep a burst's memory
	}
	clear(b.closes)
	if !b.w.opts.Inotify.CloseWrite {
		return
	}
	for i := range batch {
		if batch[i].mask&unix.IN_CLOSE_WRITE != 0 {
			if b.closes == nil {
				b.closes = make(map[wdName]int)
			}
			b.closes[wdName{batch[i].wd, batch[i].name}] = i
		}
	}
}

// closedLater reports whether an IN_CLOSE_WRITE of name in the directory
// watched as wd follows the event being applied among those indexed: it
// reports the file, so its creation need not be.
func (b *inotifyBackend) closedLater(wd int32, name string) bool {
	i, ok := b.closes[wdName{wd, name}]
	return ok && i > b.applying
}

// neverClosed reports whether a new non-directory will not be followed by
// an IN_CLOSE_WRITE: a symlink, FIFO, socket, device or a new hard link
// of a regular file. Those are reported at creation even with createFile
// off.
func neverClosed(abs string) bool {
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1
}

// movedIn handles a MOVED_TO without a MOVED_FROM: moved in from outside.
func (b *inotifyBackend) movedIn(t *rootTree, parent *dirNode, rel, name string, dir bool, mask uint32) {
	moveTo := b.w.opts.Inotify.MoveTo
	if dir {
		if b.w.filter.excluded(rel, true) {
			return
		}
		req := &attachReq{parent: parent, name: name, mode: walkMovedIn, report: moveTo, mask: mask}
		if !moveTo {
			// What came with the directory is not reported, but what was
			// made in it after the move and before its watch existed must
			// be: the move set the directory's ctime, so anything changed
			// since has a ctime at least as recent.
			req.mode, req.since = walkChangedSince, -1
		}
		b.attach(req)
		return
	}
	if moveTo && !b.w.filter.hidden(rel, false) {
		b.w.update(t.idx, rel, false, mask)
	}
}

// flushPending handles a MOVED_FROM whose MOVED_TO did not come: moved out.
func (b *inotifyBackend) flushPending() {
	p := b.pending
	if p == nil {
		return
	}
	b.pending = nil
	t, prel := p.parent.locate()
	rel := joinRel(prel, p.name)
	if p.dir {
		if c := p.parent.children[p.name]; c != nil {
			b.drop(c)
		}
	}
	if b.w.opts.Inotify.MoveFrom && !b.w.filter.hidden(rel, p.dir) {
		b.w.remove(t.idx, rel, p.dir, p.mask)
	}
}

// pair handles a MOVED_TO that completes the pending MOVED_FROM.
func (b *inotifyBackend) pair(to *rawEvent) {
	p := b.pending
	toParent := b.wds[to.wd]
	if toParent == nil {
		b.flushPending()
		return
	}
	b.pending = nil
	ft, fprel := p.parent.locate()
	fromRel := joinRel(fprel, p.name)
	tt, tprel := toParent.locate()
	toRel := joinRel(tprel, to.name)
	fromVis := !b.w.filter.hidden(fromRel, p.dir)
	toVis := !b.w.filter.hidden(toRel, p.dir)
	tog := &b.w.opts.Inotify

	var child *dirNode
	if p.dir {
		child = p.parent.children[p.name]
		if child == nil {
			// The source was never watched (excluded, or its watch still
			// waits for a rename to be processed): this is a move in.
			b.pending = p
			b.flushPending()
			b.movedIn(tt, toParent, toRel, to.name, true, to.mask)
			return
		}
		if toVis {
			child.unlink()
			b.link(toParent, to.name, child)
		} else {
			b.drop(child) // renamed to an excluded name: it leaves the tree
		}
	}
	if fromVis && toVis && ft == tt && tog.MoveFrom && tog.MoveTo {
		b.w.emit(Event{Root: b.w.opts.Roots[tt.idx], Path: toRel, OldPath: fromRel, Op: OpRename, Dir: p.dir, Mask: to.mask})
		return
	}
	// Otherwise the two halves stand alone, each under its own toggle.
	if fromVis && tog.MoveFrom {
		b.w.remove(ft.idx, fromRel, p.dir, p.mask)
	}
	if toVis && tog.MoveTo {
		b.w.update(tt.idx, toRel, p.dir, to.mask)
		if p.dir {
			b.walk(tt, child, toRel, walkMovedIn, 0)
			b.afterWalk(tt)
		}
	}
}

// ignored handles IN_IGNORED: the kernel dropped the watch.
func (b *inotifyBackend) ignored(wd int32) {
	n := b.wds[wd]
	if n == nil {
		return // we removed it ourselves
	}
	if n.tree != nil && n.parent == nil {
		b.rootGone(n.tree, "its watch was removed by the kernel", false)
		return
	}
	b.drop(n)
}

// selfEvent handles nameless events about a watched directory itself.
func (b *inotifyBackend) selfEvent(n *dirNode, ev *rawEvent) {
	root := n.tree != nil && n.parent == nil
	switch {
	case root && ev.mask&unix.IN_UNMOUNT != 0:
		b.rootGone(n.tree, "its file system was unmounted", true)
	case root && ev.mask&unix.IN_DELETE_SELF != 0:
		b.rootGone(n.tree, "it was removed", false)
	case root && ev.mask&unix.IN_MOVE_SELF != 0:
		b.rootGone(n.tree, "it was moved away", false)
	case !root && ev.mask&unix.IN_UNMOUNT != 0 && n.parent != nil:
		// A file system mounted below a root was unmounted: the mount
		// point is a plain directory again. Watch it without reporting
		// anything: the unmount is not a deletion.
		parent, name := n.parent, n.name
		b.drop(n)
		b.attach(&attachReq{parent: parent, name: name, mode: walkSilent})
	}
}

// rootGone stops watching a root that was removed, moved away or
// unmounted, and sends nothing: the remote gets no more than the
// deletions already reported. pollRoots looks for the root until it is
// back.
func (b *inotifyBackend) rootGone(t *rootTree, why string, unmounted bool) {
	if t.gone {
		return
	}
	t.gone, t.unmounted, t.bareKnown, t.why = true, unmounted, false, why
	t.since = time.Now()
	t.nagged = t.since
	if unmounted {
		var st unix.Stat_t
		if unix.Stat(t.abs, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			t.bareDev, t.bareKnown = st.Dev, true
		}
	}
	if n := t.node; n != nil {
		t.node = nil
		b.drop(n)
	}
	b.publish()
	b.w.log.Error("watch root is gone: nothing below it is watched or synced until it is back, then it is synced in full",
		"root", t.abs, "reason", why)
}

// pollRoots drops a watched root Options.RootCheck refuses (at most once
// every rootPoll), and watches again every missing root that is back and
// asks for a full sync of it.
func (b *inotifyBackend) pollRoots() {
	now := time.Now()
	for _, t := range b.trees {
		if !t.gone && b.w.opts.RootCheck != nil && now.Sub(t.checked) >= b.w.tune.rootPoll {
			t.checked = now
			if err := b.refused(t); err != nil {
				b.rootGone(t, err.Error(), false)
			}
		}
		if !t.gone {
			continue
		}
		if !b.back(t) {
			if time.Since(t.nagged) >= b.w.tune.rootNag {
				t.nagged = time.Now()
				b.w.log.Error("watch root is still missing", "root", t.abs, "reason", t.why, "since", t.since.Format(time.RFC3339))
			}
			continue
		}
		t.gone = false
		if err := b.addRoot(t, false); err != nil {
			t.gone = true
			b.w.log.Warn("watch root is back but cannot be watched", "root", t.abs, "err", err)
			continue
		}
		b.walk(t, t.node, "", walkSilent, 0)
		b.afterWalk(t)
		b.w.log.Warn("watch root is back and watched again; syncing it in full", "root", t.abs)
		b.publish()
		b.w.overflow(t.idx, ErrRootReturned)
	}
}

// back reports whether a missing root is a directory again and passes
// Options.RootCheck. Without one, after an unmount, the bare mount point
// left behind does not count: syncing it would delete the remote's copy.
func (b *inotifyBackend) back(t *rootTree) bool {
	var st unix.Stat_t
	if unix.Stat(t.abs, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	if b.w.opts.RootCheck != nil {
		if err := b.refused(t); err != nil {
			if why := err.Error(); why != t.why {
				t.why = why
				b.publish()
			}
			return false
		}
		return true
	}
	return !(t.unmounted && t.bareKnown && st.Dev == t.bareDev)
}

// isDir reports whether there is a directory at abs.
func isDir(abs string) bool {
	var st unix.Stat_t
	return unix.Stat(abs, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// overflowed handles IN_Q_OVERFLOW: rescan every root, then tell the
// consumer to full-sync each one.
func (b *inotifyBackend) overflowed() {
	b.w.overflows.Add(1)
	b.w.log.Warn("inotify event queue overflowed; rescanning every root",
		"sysctl", "fs.inotify.max_queued_events")
	b.rescan(b.trees...)
	for _, t := range b.trees {
		if !t.gone {
			b.w.overflow(t.idx, ErrOverflow)
		}
	}
}

// rescan re-adds every watch of the trees (idempotent) and drops the
// watches of their directories that are gone, whose IN_IGNORED may have
// been lost. Deferred watches of those trees are settled by the walk.
func (b *inotifyBackend) rescan(trees ...*rootTree) {
	b.gen++
	in := make(map[*rootTree]bool, len(trees))
	for _, t := range trees {
		if t.gone {
			continue
		}
		in[t] = true
		if err := b.addRoot(t, false); err != nil {
			b.w.log.Error("cannot watch root", "root", t.abs, "err", err)
			continue
		}
		b.walk(t, t.node, "", walkSilent, 0)
		b.afterWalk(t)
	}
	for _, n := range b.wds {
		if n.gen == b.gen || n.tree != nil {
			continue
		}
		if t, _, ok := b.where(n); !ok || in[t] {
			b.drop(n)
		}
	}
	for k := range b.deferred {
		if t, _, ok := b.where(k.parent); !ok || in[t] {
			delete(b.deferred, k)
		}
	}
}

// addRoot adds (or re-adds) a root's own watch.
func (b *inotifyBackend) addRoot(t *rootTree, initial bool) error {
	wd, err := b.inotifyAdd(t.abs, t.abs, b.rootMask)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			b.w.limitHit(t.abs, err)
			return fmt.Errorf("watching root %s: %w: %w", t.abs, ErrWatchLimit, err)
		}
		return fmt.Errorf("inotifymask: watching root %s: %w", t.abs, err)
	}
	if n := b.wds[wd]; n != nil {
		if n == t.node {
			n.gen = b.gen
			return nil
		}
		if initial || n.tree != nil {
			return fmt.Errorf("inotifymask: root %s is already watched: %w", t.abs, ErrRootOverlap)
		}
		// The root directory is now one we watched below another place.
		b.drop(n)
	}
	if t.node != nil && b.wds[t.node.wd] == t.node {
		// The root was replaced: its old directory is elsewhere now.
		delete(b.wds, t.node.wd)
		b.nwatches.Add(-1)
		_, _ = unix.InotifyRmWatch(b.fd, uint32(t.node.wd))
	}
	n := &dirNode{wd: wd, gen: b.gen, tree: t}
	t.node = n
	b.wds[wd] = n
	b.nwatches.Add(1)
	return nil
}

// inotifyAdd adds a watch on path, which is abs or a path to the same
// directory through /proc/self/fd.
func (b *inotifyBackend) inotifyAdd(path, abs string, mask uint32) (int32, error) {
	var wd int
	err := b.w.tune.addWatch(abs, func() (err error) {
		wd, err = unix.InotifyAddWatch(b.fd, path, mask)
		return err
	})
	if err != nil {
		return -1, err
	}
	b.w.debug("add watch: %s return wd is: %d", abs, wd)
	return int32(wd), nil
}

// maskOf returns the mask n's watch was added with.
func (b *inotifyBackend) maskOf(n *dirNode) uint32 {
	if n != nil && n.tree != nil && n.parent == nil {
		return b.rootMask
	}
	return b.mask
}

// fdPath names entry name of the open directory f through /proc, so it
// resolves in that directory wherever it has been moved since.
func fdPath(f *os.File, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) + "/" + name
}

// openNode opens n's directory at abs, the path the tree gives for it,
// and checks that what it opened is n: the watch on it has n's watch
// descriptor. errStale when it is another directory; ENOENT, ENOTDIR or
// ELOOP when nothing, or no directory, is there. Both happen while a
// rename of an ancestor has not been processed yet.
func (b *inotifyBackend) openNode(n *dirNode, abs string) (*os.File, error) {
	f, wd, err := b.openWatched(abs, n.tree != nil, b.maskOf(n))
	if err != nil {
		return nil, err
	}
	if wd != n.wd {
		b.forget(wd)
		f.Close()
		return nil, errStale
	}
	return f, nil
}

// openWatched opens the directory abs (a symlink is followed only for a
// root: below it a directory swapped for a symlink is not) and returns the
// kernel's watch descriptor for what it opened, added with mask if it had
// none. Through /proc/self/fd the descriptor is the opened directory's,
// wherever it was moved since.
func (b *inotifyBackend) openWatched(abs string, root bool, mask uint32) (*os.File, int32, error) {
	flags := os.O_RDONLY | unix.O_DIRECTORY
	if !root {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(abs, flags, 0)
	if err != nil {
		return nil, -1, err
	}
	path := abs
	if b.viaFD {
		path = fdPath(f, ".")
	}
	wd, err := unix.InotifyAddWatch(b.fd, path, mask)
	if err != nil {
		f.Close()
		return nil, -1, fmt.Errorf("%w %s: %w", errNoWatch, abs, err)
	}
	return f, int32(wd), nil
}

// forget removes a watch that openNode or check added to a directory the
// tree does not know.
func (b *inotifyBackend) forget(wd int32) {
	if b.wds[wd] == nil {
		_, _ = unix.InotifyRmWatch(b.fd, uint32(wd))
	}
}

// stillThere reports whether an error from openNode means the directory
// may be elsewhere or gone, so the attempt is deferred, not given up.
func stillThere(err error) bool {
	return errors.Is(err, errStale) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)
}

// where returns the tree and relative path of n, false when n is no
// longer in a watched tree.
func (b *inotifyBackend) where(n *dirNode) (*rootTree, string, bool) {
	top := n
	for top.parent != nil {
		top = top.parent
	}
	if top.tree == nil || top.tree.node != top || top.tree.gone {
		return nil, "", false
	}
	t, rel := n.locate()
	return t, rel, true
}

// attach watches and walks what req asks for. The parent is opened at the
// path the tree gives and checked to be the parent; the new directory is
// then named relative to it, so a rename of an ancestor that has not been
// processed yet cannot make the watch go to the wrong place or nowhere.
// If the parent is not at its path, req is deferred until the events
// before now have been processed (retryDeferred).
func (b *inotifyBackend) attach(req *attachReq) {
	t, prel, ok := b.where(req.parent)
	if !ok {
		return // the parent left the tree: its removal covers everything
	}
	if req.name == "" {
		b.walk(t, req.parent, prel, req.mode, max(req.since, 0))
		b.afterWalk(t)
		return
	}
	pabs := absPath(t.abs, prel)
	pf, err := b.openNode(req.parent, pabs)
	if err != nil {
		if stillThere(err) {
			b.deferAttach(req)
		} else {
			b.w.log.Warn("cannot read directory", "path", pabs, "err", err)
		}
		return
	}
	defer pf.Close()
	rel := joinRel(prel, req.name)
	since := req.since
	if since < 0 {
		since = ctimeAt(pf, req.name)
	}
	n, err := b.addChild(t, req.parent, pf, req.name, rel)
	if err != nil {
		// Gone or no directory any more (its own events tell), or the
		// watch limit (afterWalk reports it).
		b.afterWalk(t)
		return
	}
	if req.report {
		b.w.update(t.idx, rel, true, req.mask)
	}
	b.walk(t, n, rel, req.mode, since)
	b.afterWalk(t)
}

// deferAttach keeps req to be tried again by retryDeferred.
func (b *inotifyBackend) deferAttach(req *attachReq) {
	if req.mode == walkChangedSince {
		// A later rename moves the directory's ctime past changes made
		// before it: report every file instead.
		req.since = 0
	}
	k := attachKey{req.parent, req.name}
	if old := b.deferred[k]; old != nil && old != req {
		old.merge(req)
		req = old
	} else if old == nil {
		req.first = time.Now()
		b.deferred[k] = req
	}
	req.round = b.retryRound
}

// merge widens r to report at least what o asks for.
func (r *attachReq) merge(o *attachReq) {
	r.report = r.report || o.report
	switch {
	case r.mode == walkMovedIn || o.mode == walkMovedIn:
		r.mode = walkMovedIn
	case r.mode == walkCreated || o.mode == walkCreated:
		r.mode = walkCreated
	case r.mode == walkChangedSince || o.mode == walkChangedSince:
		r.mode, r.since = walkChangedSince, 0
	}
}

// retryDeferred tries every deferred attach again. One that is still not
// possible after tune.retryGiveUp makes its root walked again (and fully
// synced): no directory stays unwatched for good.
func (b *inotifyBackend) retryDeferred() {
	if len(b.deferred) == 0 {
		return
	}
	b.retryRound++
	round := b.retryRound
	items := make([]*attachReq, 0, len(b.deferred))
	for _, r := range b.deferred {
		items = append(items, r)
	}
	var stuck []*rootTree
	for _, r := range items {
		k := attachKey{r.parent, r.name}
		if b.deferred[k] != r {
			continue
		}
		if t, _, ok := b.where(r.parent); ok && time.Since(r.first) > b.w.tune.retryGiveUp {
			delete(b.deferred, k)
			if !slices.Contains(stuck, t) {
				stuck = append(stuck, t)
			}
			continue
		}
		b.attach(r)
		if r.round != round {
			delete(b.deferred, k)
		}
	}
	for _, t := range stuck {
		b.w.log.Error("a new directory could not be watched; walking the root again and syncing it in full", "root", t.abs)
		b.rescan(t)
		b.w.overflow(t.idx, ErrUnwatched)
	}
}

// addChild watches the directory name of parent (open as pf), at rel.
// Failures are logged here; ENOSPC also sets limitHit.
func (b *inotifyBackend) addChild(t *rootTree, parent *dirNode, pf *os.File, name, rel string) (*dirNode, error) {
	abs := absPath(t.abs, rel)
	path := abs
	if b.viaFD {
		path = fdPath(pf, name)
	}
	wd, err := b.inotifyAdd(path, abs, b.mask)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			// Gone or replaced already; its own events tell the rest.
		case errors.Is(err, unix.ENOSPC):
			b.limitHit = true
			b.w.limitHit(abs, err)
		default:
			b.w.log.Warn("cannot watch directory", "path", abs, "err", err)
		}
		return nil, err
	}
	if n := b.wds[wd]; n != nil {
		n.gen = b.gen
		if n.parent == parent && n.name == name {
			return n, nil
		}
		if n.tree != nil {
			b.w.log.Warn("a watch root is reachable below a root (bind mount or move); not descending", "root", n.tree.abs, "path", abs)
			return nil, ErrRootOverlap
		}
		if n.contains(parent) {
			// The directory is below itself: a bind mount loop.
			b.w.log.Warn("directory already watched above itself (bind mount loop?); not descending", "path", abs)
			return nil, unix.ELOOP
		}
		// The same directory, known at another place: a move whose
		// events are not processed yet. Where it is now is where it is.
		n.unlink()
		b.link(parent, name, n)
		return n, nil
	}
	n := &dirNode{wd: wd, gen: b.gen}
	b.link(parent, name, n)
	b.wds[wd] = n
	b.nwatches.Add(1)
	return n, nil
}

// link makes n the child name of parent, dropping a stale child there.
func (b *inotifyBackend) link(parent *dirNode, name string, n *dirNode) {
	if old := parent.children[name]; old != nil && old != n {
		b.drop(old)
	}
	if parent.children == nil {
		parent.children = make(map[string]*dirNode)
	}
	parent.children[name] = n
	n.parent = parent
	n.name = name
}

// contains reports whether d is n or below it.
func (n *dirNode) contains(d *dirNode) bool {
	for ; d != nil; d = d.parent {
		if d == n {
			return true
		}
	}
	return false
}

// unlink detaches n from its parent.
func (n *dirNode) unlink() {
	if n.parent != nil {
		if n.parent.children[n.name] == n {
			delete(n.parent.children, n.name)
		}
		n.parent = nil
	}
}

// drop removes the watches of n and everything below it.
func (b *inotifyBackend) drop(n *dirNode) {
	n.unlink()
	stack := []*dirNode{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, cc := range c.children {
			stack = append(stack, cc)
		}
		c.children = nil
		c.parent = nil
		if b.wds[c.wd] == c {
			delete(b.wds, c.wd)
			b.nwatches.Add(-1)
			// EINVAL when the kernel already dropped it: fine.
			_, _ = unix.InotifyRmWatch(b.fd, uint32(c.wd))
		}
	}
}

// walk watches every directory below n (rel) and reports what it finds
// as mode says. Each directory is watched before it is read, so whatever
// appears in it afterwards produces events.
// walk watches every directory below n (rel) and reports what it finds
// as mode says. Each directory is watched before it is read, so whatever
// appears in it afterwards produces events; each is read only after it
// was checked to be the directory the tree says, and its subdirectories
// are named relative to it. A directory that is not where the tree says
// is deferred until the renames before now are processed.
func (b *inotifyBackend) walk(t *rootTree, n *dirNode, rel string, mode walkMode, since int64) {
	type item struct {
		n   *dirNode
		rel string
	}
	stack := []item{{n, rel}}
	for len(stack) > 0 {
		if b.w.closing() {
			return
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		abs := absPath(t.abs, it.rel)
		f, err := b.openNode(it.n, abs)
		if err != nil {
			if stillThere(err) {
				b.deferAttach(&attachReq{parent: it.n, mode: mode, since: since})
			} else {
				b.w.log.Warn("cannot read directory", "path", abs, "err", err)
			}
			continue
		}
		ents, err := f.ReadDir(-1)
		if err != nil && !stillThere(err) {
			b.w.log.Warn("cannot read directory", "path", abs, "err", err)
		}
		for _, e := range ents {
			name := e.Name()
			crel := joinRel(it.rel, name)
			if !e.IsDir() {
				if b.report(mode, since, f, e, false) && !b.w.filter.hidden(crel, false) {
					b.w.update(t.idx, crel, false, 0)
				}
				continue
			}
			if b.w.filter.excluded(crel, true) {
				continue
			}
			c, err := b.addChild(t, it.n, f, name, crel)
			if err != nil {
				continue
			}
			if b.report(mode, since, f, e, true) {
				b.w.update(t.idx, crel, true, 0)
			}
			stack = append(stack, item{c, crel})
		}
		f.Close()
	}
}

// report says whether a walk in mode reports entry e of the open
// directory f.
func (b *inotifyBackend) report(mode walkMode, since int64, f *os.File, e os.DirEntry, dir bool) bool {
	if mode != walkChangedSince {
		return b.w.reportScanned(mode, dir)
	}
	if dir {
		// A directory's ctime moves whenever its entries change: it
		// cannot tell. Its files are judged one by one.
		return false
	}
	return since <= 0 || ctimeAt(f, e.Name()) >= since
}

// ctimeAt returns the inode change time of name in the open directory f
// in nanoseconds (0 if unknown: then everything counts as changed).
func ctimeAt(f *os.File, name string) int64 {
	var st unix.Stat_t
	if err := unix.Fstatat(int(f.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0
	}
	return st.Ctim.Nano()
}

// afterWalk turns a watch-limit failure into an OpOverflow for the root:
// never a silently unwatched subtree.
func (b *inotifyBackend) afterWalk(t *rootTree) {
	if b.limitHit {
		b.limitHit = false
		b.w.overflow(t.idx, ErrWatchLimit)
	}
}

// checkTrees walks every root on disk and compares each directory with
// the watch the tree has at its path: the kernel's watch descriptor for
// the directory must be the node's.
func (b *inotifyBackend) checkTrees() CheckReport {
	var r CheckReport
	seen := make(map[*dirNode]bool, len(b.wds))
	for _, t := range b.trees {
		if t.gone {
			r.MissingRoots = append(r.MissingRoots, b.w.opts.Roots[t.idx])
			continue
		}
		b.checkTree(t, &r, seen)
	}
	for _, n := range b.wds {
		if seen[n] {
			continue
		}
		if t, rel, ok := b.where(n); ok {
			r.Stale = append(r.Stale, absPath(t.abs, rel))
		} else {
			r.Stale = append(r.Stale, fmt.Sprintf("(watch %d outside every tree)", n.wd))
		}
	}
	r.Watches = len(b.wds)
	slices.Sort(r.Unwatched)
	slices.Sort(r.Stale)
	return r
}

func (b *inotifyBackend) checkTree(t *rootTree, r *CheckReport, seen map[*dirNode]bool) {
	type item struct {
		n   *dirNode
		rel string
	}
	stack := []item{{t.node, ""}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		abs := absPath(t.abs, it.rel)
		mask := b.mask
		if it.rel == "" {
			mask = b.rootMask
		}
		f, wd, err := b.openWatched(abs, it.rel == "", mask)
		if errors.Is(err, errNoWatch) {
			r.Dirs++
			r.Unwatched = append(r.Unwatched, abs)
			continue
		}
		if err != nil {
			continue // gone, or no directory, since its parent was read
		}
		r.Dirs++
		if it.n != nil && wd == it.n.wd {
			seen[it.n] = true
		} else {
			r.Unwatched = append(r.Unwatched, abs)
			b.forget(wd)
			it.n = nil
		}
		ents, _ := f.ReadDir(-1)
		f.Close()
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			crel := joinRel(it.rel, e.Name())
			if b.w.filter.excluded(crel, true) {
				continue
			}
			var c *dirNode
			if it.n != nil {
				c = it.n.children[e.Name()]
			}
			stack = append(stack, item{c, crel})
		}
	}
}

func (b *inotifyBackend) checkRequests() chan<- chan CheckReport { return b.checks }
