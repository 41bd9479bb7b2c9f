// Applying inotify events to the tree: creations, deletions, writes,
// moves paired by cookie (a MOVED_FROM whose MOVED_TO does not follow is
// a move out), a watched directory's own events and a queue overflow.

package inotifymask

import (
	"golang.org/x/sys/unix"
)

// pendingMove is a MOVED_FROM waiting for its MOVED_TO.
type pendingMove struct {
	parent *dirNode
	name   string
	dir    bool
	cookie uint32
	mask   uint32
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
		b.ignored(dirID(ev.wd))
		return
	}
	parent := b.nodes[dirID(ev.wd)]
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
	if b.w.opts.Inotify.CreateFile || !b.closedLater(parent.id, name) && neverClosed(absPath(t.abs, rel)) {
		b.w.update(t.idx, rel, false, mask)
	}
}

// wdName is a name in a watched directory.
type wdName struct {
	wd   dirID
	name string
}

// indexCloses records where the IN_CLOSE_WRITEs of the events about to be
// applied are, when closeWrite reports them: a file created and closed
// within them is reported by its close, so its creation needs no lstat
// to tell whether it will be closed (neverClosed).
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
			b.closes[wdName{dirID(batch[i].wd), batch[i].name}] = i
		}
	}
}

// closedLater reports whether an IN_CLOSE_WRITE of name in the directory
// watched as wd follows the event being applied among those indexed: it
// reports the file, so its creation need not be.
func (b *inotifyBackend) closedLater(wd dirID, name string) bool {
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
	toParent := b.nodes[dirID(to.wd)]
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
func (b *inotifyBackend) ignored(wd dirID) {
	n := b.nodes[wd]
	if n == nil {
		return // we removed it ourselves
	}
	if n.isRoot() {
		b.rootGone(n.tree, "its watch was removed by the kernel", false)
		return
	}
	b.drop(n)
}

// selfEvent handles nameless events about a watched directory itself.
func (b *inotifyBackend) selfEvent(n *dirNode, ev *rawEvent) {
	root := n.isRoot()
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
