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
		b.w.log.Warn("inotify event queue overflowed; rescanning every root",
			"sysctl", "fs.inotify.max_queued_events")
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
	switch {
	case ev.mask&unix.IN_MOVED_FROM != 0:
		b.pending = &pendingMove{parent: parent, name: ev.name, dir: dir, cookie: ev.cookie, mask: ev.mask}
	case ev.mask&unix.IN_MOVED_TO != 0:
		b.movedIn(t, parent, rel, ev.name, dir, ev.mask)
	case ev.mask&unix.IN_CREATE != 0:
		b.created(t, parent, rel, ev.name, dir, ev.mask, b.closes.later(parent.id, ev.name))
	case ev.mask&unix.IN_DELETE != 0:
		b.deleted(t, parent, rel, ev.name, dir, ev.mask)
	default:
		b.changed(t, rel, dir, ev.mask)
	}
}

// flushPending handles a MOVED_FROM whose MOVED_TO did not come: moved out.
func (b *inotifyBackend) flushPending() {
	if p := b.pending; p != nil {
		b.pending = nil
		b.movedOut(p.parent, p.name, p.dir, p.mask)
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
	b.renamed(p.parent, p.name, p.dir, p.mask, toParent, to.name, to.mask)
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
