// Applying directory-entry changes to the tree, shared by the kernel
// backends: a creation, a deletion, a change of a file, a move in, a move
// out and a rename with both ends known. Each backend decodes its events
// into these calls; inotify pairs its two halves of a move by cookie,
// fanotify gets both ends in one event.

package inotifymask

import "golang.org/x/sys/unix"

// created handles a new entry name in parent (rel below t). closedLater
// says that a close-after-write of it is among the events read with it:
// that reports the file, so its creation needs no lstat (neverClosed).
func (wt *watchTree) created(t *rootTree, parent *dirNode, rel, name string, dir bool, mask uint32, closedLater bool) {
	if dir {
		if wt.w.filter.excluded(rel, true) {
			return
		}
		wt.attach(&attachReq{parent: parent, name: name, mode: walkCreated,
			report: wt.w.opts.Inotify.CreateFolder, mask: mask})
		return
	}
	if wt.w.filter.hidden(rel, false) {
		return
	}
	if wt.w.opts.Inotify.CreateFile || !closedLater && neverClosed(absPath(t.abs, rel)) {
		wt.w.update(t.idx, rel, false, mask)
	}
}

// deleted handles the removal of name from parent.
func (wt *watchTree) deleted(t *rootTree, parent *dirNode, rel, name string, dir bool, mask uint32) {
	if dir {
		if c := parent.children[name]; c != nil {
			wt.drop(c)
		}
	}
	if wt.w.opts.Inotify.Delete && !wt.w.filter.hidden(rel, dir) {
		wt.w.remove(t.idx, rel, dir, mask)
	}
}

// changed handles a write, a close after writing or an attribute change
// of rel. An attribute change is an update, never a removal, and keeps
// every watch.
func (wt *watchTree) changed(t *rootTree, rel string, dir bool, mask uint32) {
	tog := &wt.w.opts.Inotify
	want := (mask&unix.IN_CLOSE_WRITE != 0 && tog.CloseWrite) ||
		(mask&unix.IN_MODIFY != 0 && tog.Modify) ||
		(mask&unix.IN_ATTRIB != 0 && tog.Attrib)
	if want && !wt.w.filter.hidden(rel, dir) {
		wt.w.update(t.idx, rel, dir, mask)
	}
}

// neverClosed reports whether a new non-directory will not be followed by
// a close after writing: a symlink, FIFO, socket, device or a new hard
// link of a regular file. Those are reported at creation even with
// createFile off.
func neverClosed(abs string) bool {
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1
}

// movedIn handles name moved into parent from outside every root.
func (wt *watchTree) movedIn(t *rootTree, parent *dirNode, rel, name string, dir bool, mask uint32) {
	moveTo := wt.w.opts.Inotify.MoveTo
	if dir {
		if wt.w.filter.excluded(rel, true) {
			return
		}
		req := &attachReq{parent: parent, name: name, mode: walkMovedIn, report: moveTo, mask: mask}
		if !moveTo {
			// What came with the directory is not reported, but what was
			// made in it after the move and before it was watched must
			// be: the move set the directory's ctime, so anything changed
			// since has a ctime at least as recent.
			req.mode, req.since = walkChangedSince, -1
		}
		wt.attach(req)
		return
	}
	if moveTo && !wt.w.filter.hidden(rel, false) {
		wt.w.update(t.idx, rel, false, mask)
	}
}

// movedOut handles name moved from parent to outside every root.
func (wt *watchTree) movedOut(parent *dirNode, name string, dir bool, mask uint32) {
	t, prel := parent.locate()
	rel := joinRel(prel, name)
	if dir {
		if c := parent.children[name]; c != nil {
			wt.drop(c)
		}
	}
	if wt.w.opts.Inotify.MoveFrom && !wt.w.filter.hidden(rel, dir) {
		wt.w.remove(t.idx, rel, dir, mask)
	}
}

// renamed handles name of from renamed to toName in toParent, both in a
// watched tree: one OpRename inside a root (both move toggles on), a
// removal and an update otherwise. A directory keeps its watches under
// its new name.
func (wt *watchTree) renamed(from *dirNode, name string, dir bool, fromMask uint32, toParent *dirNode, toName string, toMask uint32) {
	ft, fprel := from.locate()
	fromRel := joinRel(fprel, name)
	tt, tprel := toParent.locate()
	toRel := joinRel(tprel, toName)
	fromVis := !wt.w.filter.hidden(fromRel, dir)
	toVis := !wt.w.filter.hidden(toRel, dir)
	tog := &wt.w.opts.Inotify

	var child *dirNode
	if dir {
		child = from.children[name]
		if child == nil && wt.lazy && fromVis && toVis && ft == tt && tog.MoveFrom && tog.MoveTo {
			// A lazy tree holds no directory no event named: none below
			// it either, so the tree has nothing to move.
			wt.w.emit(Event{Root: wt.w.opts.Roots[tt.idx], Path: toRel, OldPath: fromRel, Op: OpRename, Dir: true, Mask: toMask})
			return
		}
		if child == nil {
			// The source was never watched (excluded, or its watch still
			// waits for a rename to be processed): this is a move in.
			wt.movedOut(from, name, true, fromMask)
			wt.movedIn(tt, toParent, toRel, toName, true, toMask)
			return
		}
		if toVis {
			child.unlink()
			wt.link(toParent, toName, child)
		} else {
			wt.drop(child) // renamed to an excluded name: it leaves the tree
		}
	}
	if fromVis && toVis && ft == tt && tog.MoveFrom && tog.MoveTo {
		wt.w.emit(Event{Root: wt.w.opts.Roots[tt.idx], Path: toRel, OldPath: fromRel, Op: OpRename, Dir: dir, Mask: toMask})
		return
	}
	// Otherwise the two halves stand alone, each under its own toggle.
	if fromVis && tog.MoveFrom {
		wt.w.remove(ft.idx, fromRel, dir, fromMask)
	}
	if toVis && tog.MoveTo {
		wt.w.update(tt.idx, toRel, dir, toMask)
		if dir {
			wt.walk(tt, child, toRel, walkMovedIn, 0)
			wt.afterWalk(tt)
		}
	}
}

// overflowed handles lost events: rescan the trees, then tell the
// consumer to full-sync each one.
func (wt *watchTree) overflowed() {
	wt.w.overflows.Add(1)
	wt.rescan(wt.trees...)
	for _, t := range wt.trees {
		if !t.gone {
			wt.w.overflow(t.idx, ErrOverflow)
		}
	}
}

// wdName is a name in a directory of the tree.
type wdName struct {
	wd   dirID
	name string
}

// closeIndex records where the closes after writing of the events about
// to be applied are, when closeWrite reports them: a file created and
// closed within them is reported by its close, so its creation needs no
// lstat to tell whether it will be closed (neverClosed).
type closeIndex struct {
	at       map[wdName]int
	applying int // the index of the event being applied
}

// index records the closes among n events; closeAt says whether event i
// is one, and of which name in which directory.
func (c *closeIndex) index(n int, closeAt func(i int) (dirID, string, bool), closeWrite bool) {
	if len(c.at) > 1<<14 {
		c.at = nil // do not keep a burst's memory
	}
	clear(c.at)
	if !closeWrite {
		return
	}
	for i := range n {
		if wd, name, ok := closeAt(i); ok {
			if c.at == nil {
				c.at = make(map[wdName]int)
			}
			c.at[wdName{wd, name}] = i
		}
	}
}

// later reports whether a close of name in the directory wd follows the
// event being applied among those indexed.
func (c *closeIndex) later(wd dirID, name string) bool {
	i, ok := c.at[wdName{wd, name}]
	return ok && i > c.applying
}
