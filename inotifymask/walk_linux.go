// Walking the directories below a node, shared by the kernel backends:
// one depth-first skeleton (descend) used by walk, which watches what it
// finds and reports it, and by the self-check (checkTrees), which
// compares what is on disk with the tree.

package inotifymask

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// walkItem is a directory a walk is to read: its node (nil: the tree has
// none) and its path relative to the root.
type walkItem struct {
	n   *dirNode
	rel string
}

// descend reads the directories below start depth-first, the skeleton of
// walk and checkTree. open opens the directory of an item and reads it,
// and may clear the item's node; a nil file skips the item. visit is
// given each entry of an opened directory, still open, with the entry's
// path relative to the root, and returns the directory to read next below
// it, if any. descend stops once the watcher closes.
func (wt *watchTree) descend(start walkItem,
	open func(it *walkItem) (*os.File, []os.DirEntry),
	visit func(it walkItem, f *os.File, e os.DirEntry, rel string) (walkItem, bool)) {
	stack := []walkItem{start}
	for len(stack) > 0 {
		if wt.w.closing() {
			return
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f, ents := open(&it)
		if f == nil {
			continue
		}
		for _, e := range ents {
			if c, ok := visit(it, f, e, joinRel(it.rel, e.Name())); ok {
				stack = append(stack, c)
			}
		}
		f.Close()
	}
}

// walk watches every directory below n (rel) and reports what it finds
// as mode says. Each directory is watched before it is read, so whatever
// appears in it afterwards produces events; each is read only after it
// was checked to be the directory the tree says, and its subdirectories
// are named relative to it. A directory that is not where the tree says
// is deferred until the renames before now are processed.
func (wt *watchTree) walk(t *rootTree, n *dirNode, rel string, mode walkMode, since int64) {
	open := func(it *walkItem) (*os.File, []os.DirEntry) {
		abs := absPath(t.abs, it.rel)
		f, err := wt.openNode(it.n, abs)
		if err != nil {
			if stillThere(err) {
				wt.deferAttach(&attachReq{parent: it.n, mode: mode, since: since})
			} else {
				wt.w.log.Warn("cannot read directory", "path", abs, "err", err)
			}
			return nil, nil
		}
		ents, err := f.ReadDir(-1)
		if err != nil && !stillThere(err) {
			wt.w.log.Warn("cannot read directory", "path", abs, "err", err)
		}
		return f, ents
	}
	visit := func(it walkItem, f *os.File, e os.DirEntry, crel string) (walkItem, bool) {
		if !e.IsDir() {
			if wt.report(mode, since, f, e, false) && !wt.w.filter.hidden(crel, false) {
				wt.w.update(t.idx, crel, false, 0)
			}
			return walkItem{}, false
		}
		if wt.w.filter.excluded(crel, true) {
			return walkItem{}, false
		}
		c, err := wt.addChild(t, it.n, f, e.Name(), crel)
		if err != nil {
			return walkItem{}, false
		}
		if wt.report(mode, since, f, e, true) {
			wt.w.update(t.idx, crel, true, 0)
		}
		return walkItem{c, crel}, true
	}
	wt.descend(walkItem{n, rel}, open, visit)
}

// report says whether a walk in mode reports entry e of the open
// directory f.
func (wt *watchTree) report(mode walkMode, since int64, f *os.File, e os.DirEntry, dir bool) bool {
	if mode != walkChangedSince {
		return wt.w.reportScanned(mode, dir)
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

// checkTrees walks every root on disk and compares each directory with
// the watch the tree has at its path: the kernel's id for the directory
// must be the node's. In a lazy tree a directory without a node is
// covered by its file system's mark (checkHandles), not unwatched.
func (wt *watchTree) checkTrees() CheckReport {
	var r CheckReport
	seen := make(map[*dirNode]bool, len(wt.nodes))
	for _, t := range wt.trees {
		if t.gone {
			r.MissingRoots = append(r.MissingRoots, wt.w.opts.Roots[t.idx])
			continue
		}
		wt.checkTree(t, &r, seen)
	}
	for _, n := range wt.nodes {
		if seen[n] {
			continue
		}
		if t, rel, ok := wt.where(n); ok {
			r.Stale = append(r.Stale, absPath(t.abs, rel))
		} else {
			r.Stale = append(r.Stale, fmt.Sprintf("(watch %d outside every tree)", n.id))
		}
	}
	r.Watches = len(wt.nodes)
	slices.Sort(r.Unwatched)
	slices.Sort(r.Stale)
	return r
}

// checkTree adds to r what it finds below t: every directory counted,
// the ones without their node's watch listed as unwatched, the nodes
// found marked in seen.
func (wt *watchTree) checkTree(t *rootTree, r *CheckReport, seen map[*dirNode]bool) {
	open := func(it *walkItem) (*os.File, []os.DirEntry) {
		abs := absPath(t.abs, it.rel)
		f, id, err := wt.openWatched(abs, it.rel == "")
		if errors.Is(err, errNoWatch) {
			r.Dirs++
			r.Unwatched = append(r.Unwatched, abs)
			return nil, nil
		}
		if err != nil {
			return nil, nil // gone, or no directory, since its parent was read
		}
		r.Dirs++
		if it.n != nil && id == it.n.id {
			seen[it.n] = true
		} else {
			if wt.lazy {
				r.Covered++
			} else {
				r.Unwatched = append(r.Unwatched, abs)
			}
			wt.forget(id)
			it.n = nil
		}
		ents, _ := f.ReadDir(-1)
		return f, ents
	}
	visit := func(it walkItem, _ *os.File, e os.DirEntry, crel string) (walkItem, bool) {
		if !e.IsDir() || wt.w.filter.excluded(crel, true) {
			return walkItem{}, false
		}
		var c *dirNode
		if it.n != nil {
			c = it.n.children[e.Name()]
		}
		return walkItem{c, crel}, true
	}
	wt.descend(walkItem{t.node, ""}, open, visit)
}
