package inotifymask

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

const defaultKind = kindInotify

// readBufSize is the read(2) buffer: about 10,000 events with short names
// per read, so the kernel queue is drained in few system calls.
const readBufSize = 256 << 10

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
// it and no path can go stale (D-11).
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
}

// pendingMove is a MOVED_FROM waiting for its MOVED_TO.
type pendingMove struct {
	parent *dirNode
	name   string
	dir    bool
	cookie uint32
	mask   uint32
}

// inotifyBackend watches with raw inotify. Three goroutines: read drains
// the fd into raw, process keeps the tree and emits, Watcher.deliver
// sends.
type inotifyBackend struct {
	w        *Watcher
	fd       int
	file     *os.File
	mask     uint32
	rootMask uint32

	// Reader control, guarded by mu.
	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	paused bool
	parked bool

	raw fifo[rawEvent]

	// Owned by New's goroutine until start returns, then by process.
	wds      map[int32]*dirNode
	trees    []*rootTree
	pending  *pendingMove
	gen      uint32
	limitHit bool
	since    int64 // walkChangedSince threshold (ns)

	nwatches atomic.Int64
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
		wds:      make(map[int32]*dirNode),
	}
	b.cond = sync.NewCond(&b.mu)
	for i, r := range w.roots {
		b.trees = append(b.trees, &rootTree{idx: i, abs: r})
	}
	return b, nil
}

func (b *inotifyBackend) start() error {
	b.w.wg.Add(1)
	go b.read()
	for _, t := range b.trees {
		if err := b.addRoot(t, true); err != nil {
			return err
		}
		b.walk(t, t.node, "", walkSilent)
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
	b.cond.Broadcast()
	b.mu.Unlock()
}

func (b *inotifyBackend) close() error {
	if err := b.file.Close(); err != nil {
		return fmt.Errorf("inotifymask: closing inotify: %w", err)
	}
	return nil
}

func (b *inotifyBackend) watches() int { return int(b.nwatches.Load()) }

func (b *inotifyBackend) idle() bool { return true }

// pause parks the reader (test hook): events stay in the kernel queue.
func (b *inotifyBackend) pause() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.paused = true
	_ = b.file.SetReadDeadline(time.Unix(1, 0))
	for !b.parked && !b.closed {
		b.cond.Wait()
	}
}

// resume lets a paused reader read again.
func (b *inotifyBackend) resume() {
	b.mu.Lock()
	b.paused = false
	b.cond.Broadcast()
	b.mu.Unlock()
}

// readable waits while the reader is paused and prepares a blocking read;
// false means the watcher is closing.
func (b *inotifyBackend) readable() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.paused && !b.closed {
		b.parked = true
		b.cond.Broadcast()
		b.cond.Wait()
	}
	b.parked = false
	if b.closed {
		return false
	}
	_ = b.file.SetReadDeadline(time.Time{})
	return true
}

// read only drains the fd into the raw queue, so a slow consumer or a big
// directory scan never lets the kernel queue fill (D-4).
func (b *inotifyBackend) read() {
	defer b.w.wg.Done()
	buf := make([]byte, readBufSize)
	var evs []rawEvent
	for b.readable() {
		n, err := b.file.Read(buf)
		if n > 0 {
			evs, _ = decode(buf[:n], evs[:0])
			b.w.eventsRead.Add(uint64(len(evs)))
			b.w.addBacklog(len(evs))
			b.raw.push(evs...)
			clear(evs)
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

// process applies raw events to the tree and emits, in kernel order.
func (b *inotifyBackend) process() {
	defer b.w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []rawEvent
	for {
		select {
		case <-b.raw.ready:
		case <-b.w.done:
			return
		}
		for {
			batch = b.raw.take(batch)
			for i := range batch {
				b.handle(&batch[i])
				batch[i] = rawEvent{}
				if b.w.closing() {
					return
				}
			}
			b.w.addBacklog(-len(batch))
			if b.pending == nil {
				break
			}
			// A MOVED_FROM ended what was read: its MOVED_TO, if any, is
			// queued right behind it, so wait only briefly.
			timer.Reset(b.w.tune.pairWait)
			select {
			case <-b.raw.ready:
				timer.Stop()
				continue
			case <-timer.C:
				b.flushPending()
			case <-b.w.done:
				return
			}
			break
		}
	}
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
		// A watch we dropped still had events queued (D-7): nothing to do.
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
			// watch (D-10).
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
		n, err := b.addWatch(t, parent, name, rel)
		if err != nil {
			b.afterWalk(t)
			return
		}
		if b.w.opts.Inotify.CreateFolder {
			b.w.update(t.idx, rel, true, mask)
		}
		b.walk(t, n, rel, walkCreated)
		b.afterWalk(t)
		return
	}
	if b.w.filter.hidden(rel, false) {
		return
	}
	if b.w.opts.Inotify.CreateFile || neverClosed(absPath(t.abs, rel)) {
		b.w.update(t.idx, rel, false, mask)
	}
}

// neverClosed reports whether a new non-directory will not be followed by
// an IN_CLOSE_WRITE: a symlink, FIFO, socket, device or a new hard link
// of a regular file. Those are reported at creation even with createFile
// off (D-12).
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
		n, err := b.addWatch(t, parent, name, rel)
		if err != nil {
			b.afterWalk(t)
			return
		}
		if moveTo {
			b.w.update(t.idx, rel, true, mask)
			b.walk(t, n, rel, walkMovedIn)
		} else {
			// What came with the directory is not reported, but what was
			// made in it after the move and before its watch existed must
			// be: the move set the directory's ctime, so anything changed
			// since has a ctime at least as recent.
			b.since = ctime(absPath(t.abs, rel))
			b.walk(t, n, rel, walkChangedSince)
		}
		b.afterWalk(t)
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
			// The source was never watched (excluded, or gone before its
			// creation was processed): this is a move in.
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
			b.walk(tt, child, toRel, walkMovedIn)
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
	if n.tree != nil {
		b.w.log.Error("watch root is gone (removed, moved or unmounted); nothing below it is watched", "root", n.tree.abs)
		delete(b.wds, wd)
		b.nwatches.Add(-1)
		return
	}
	b.drop(n)
}

// selfEvent handles nameless events about a watched directory itself.
func (b *inotifyBackend) selfEvent(n *dirNode, ev *rawEvent) {
	if n.tree != nil && ev.mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0 {
		b.w.log.Error("watch root was removed, moved or unmounted", "root", n.tree.abs, "mask", ev.mask)
	}
}

// overflowed handles IN_Q_OVERFLOW: rescan every root, then tell the
// consumer to full-sync each one.
func (b *inotifyBackend) overflowed() {
	b.w.overflows.Add(1)
	b.w.log.Warn("inotify event queue overflowed; rescanning every root",
		"sysctl", "fs.inotify.max_queued_events")
	b.rescan()
	for _, t := range b.trees {
		b.w.overflow(t.idx, ErrOverflow)
	}
}

// rescan re-adds every watch (idempotent) and drops the watches of
// directories that are gone, whose IN_IGNORED may have been lost.
func (b *inotifyBackend) rescan() {
	b.gen++
	for _, t := range b.trees {
		if err := b.addRoot(t, false); err != nil {
			b.w.log.Error("cannot watch root", "root", t.abs, "err", err)
			continue
		}
		b.walk(t, t.node, "", walkSilent)
		b.afterWalk(t)
	}
	for _, n := range b.wds {
		if n.gen != b.gen && n.tree == nil {
			b.drop(n)
		}
	}
}

// addRoot adds (or re-adds) a root's own watch.
func (b *inotifyBackend) addRoot(t *rootTree, initial bool) error {
	wd, err := b.inotifyAdd(t.abs, b.rootMask)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			b.w.limitHit(t.abs, err)
			return fmt.Errorf("inotifymask: watching root %s: %w: %w", t.abs, ErrWatchLimit, err)
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

func (b *inotifyBackend) inotifyAdd(abs string, mask uint32) (int32, error) {
	if b.w.tune.addErr != nil {
		if err := b.w.tune.addErr(abs); err != nil {
			return -1, err
		}
	}
	wd, err := unix.InotifyAddWatch(b.fd, abs, mask)
	if err != nil {
		return -1, err
	}
	b.w.debug("add watch: %s return wd is: %d", abs, wd)
	if b.w.tune.onWatch != nil {
		b.w.tune.onWatch(abs)
	}
	return int32(wd), nil
}

// addWatch watches the directory rel (named name in parent). Failures are
// logged here; ENOSPC also sets limitHit.
func (b *inotifyBackend) addWatch(t *rootTree, parent *dirNode, name, rel string) (*dirNode, error) {
	abs := absPath(t.abs, rel)
	wd, err := b.inotifyAdd(abs, b.mask)
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
		// The same directory, known at another place: a move we did not
		// see as a pair. Where we found it now is where it is.
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
func (b *inotifyBackend) walk(t *rootTree, n *dirNode, rel string, mode walkMode) {
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
		// O_NOFOLLOW below the root: a directory swapped for a symlink
		// since its watch was added is not followed (D-17).
		ents, err := readDirNoFollow(absPath(t.abs, it.rel), it.rel == "")
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) && !errors.Is(err, unix.ELOOP) {
			b.w.log.Warn("cannot read directory", "path", absPath(t.abs, it.rel), "err", err)
		}
		for _, e := range ents {
			name := e.Name()
			crel := joinRel(it.rel, name)
			if !e.IsDir() {
				if b.report(mode, e, false) && !b.w.filter.hidden(crel, false) {
					b.w.update(t.idx, crel, false, 0)
				}
				continue
			}
			if b.w.filter.excluded(crel, true) {
				continue
			}
			c, err := b.addWatch(t, it.n, name, crel)
			if err != nil {
				continue
			}
			if b.report(mode, e, true) {
				b.w.update(t.idx, crel, true, 0)
			}
			stack = append(stack, item{c, crel})
		}
	}
}

// report says whether a walk in mode reports entry e.
func (b *inotifyBackend) report(mode walkMode, e os.DirEntry, dir bool) bool {
	if mode != walkChangedSince {
		return b.w.reportScanned(mode, dir)
	}
	if dir {
		// A directory's ctime moves whenever its entries change: it
		// cannot tell. Its files are judged one by one.
		return false
	}
	fi, err := e.Info()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Ctim.Nano() >= b.since
}

// ctime returns the inode change time of abs in nanoseconds (0 if unknown:
// then everything counts as changed).
func ctime(abs string) int64 {
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
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

// readDirNoFollow lists a directory in on-disk order (unsorted: cheaper for
// big trees). Only the root (follow) may be a symlink.
func readDirNoFollow(abs string, follow bool) ([]os.DirEntry, error) {
	flags := os.O_RDONLY | unix.O_DIRECTORY
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(abs, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}
