// Attaching new directories to the tree, shared by the kernel backends:
// a directory that appeared is watched through its parent opened and
// checked at the tree's path; when the parent is not there (a rename of
// an ancestor is still on its way) the request is deferred and retried
// once the events before it are applied.

package inotifymask

import (
	"slices"
	"time"
)

// attachReq asks for the directory name in parent to be watched and
// walked (name "": walk parent itself again). It is kept in
// watchTree.deferred while the path the tree gives for parent does not
// lead to parent: a rename of an ancestor is still on its way.
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

// attach watches and walks what req asks for. The parent is opened at the
// path the tree gives and checked to be the parent; the new directory is
// then named relative to it, so a rename of an ancestor that has not been
// processed yet cannot make the watch go to the wrong place or nowhere.
// If the parent is not at its path, req is deferred until the events
// before now have been processed (retryDeferred).
func (wt *watchTree) attach(req *attachReq) {
	t, prel, ok := wt.where(req.parent)
	if !ok {
		return // the parent left the tree: its removal covers everything
	}
	if req.name == "" {
		wt.walk(t, req.parent, prel, req.mode, max(req.since, 0))
		wt.afterWalk(t)
		return
	}
	pabs := absPath(t.abs, prel)
	pf, err := wt.openNode(req.parent, pabs)
	if err != nil {
		if stillThere(err) {
			wt.deferAttach(req)
		} else {
			wt.w.log.Warn("cannot read directory", "path", pabs, "err", err)
		}
		return
	}
	defer pf.Close()
	rel := joinRel(prel, req.name)
	since := req.since
	if since < 0 {
		since = ctimeAt(pf, req.name)
	}
	n, err := wt.addChild(t, req.parent, pf, req.name, rel)
	if err != nil {
		// Gone or no directory any more (its own events tell), or the
		// watch limit (afterWalk reports it).
		wt.afterWalk(t)
		return
	}
	if req.report {
		wt.w.update(t.idx, rel, true, req.mask)
	}
	wt.walk(t, n, rel, req.mode, since)
	wt.afterWalk(t)
}

// deferAttach keeps req to be tried again by retryDeferred.
func (wt *watchTree) deferAttach(req *attachReq) {
	if req.mode == walkChangedSince {
		// A later rename moves the directory's ctime past changes made
		// before it: report every file instead.
		req.since = 0
	}
	k := attachKey{req.parent, req.name}
	if old := wt.deferred[k]; old != nil && old != req {
		old.merge(req)
		req = old
	} else if old == nil {
		req.first = time.Now()
		wt.deferred[k] = req
	}
	req.round = wt.retryRound
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
func (wt *watchTree) retryDeferred() {
	if len(wt.deferred) == 0 {
		return
	}
	wt.retryRound++
	round := wt.retryRound
	items := make([]*attachReq, 0, len(wt.deferred))
	for _, r := range wt.deferred {
		items = append(items, r)
	}
	var stuck []*rootTree
	for _, r := range items {
		k := attachKey{r.parent, r.name}
		if wt.deferred[k] != r {
			continue
		}
		if t, _, ok := wt.where(r.parent); ok && time.Since(r.first) > wt.w.tune.retryGiveUp {
			delete(wt.deferred, k)
			if !slices.Contains(stuck, t) {
				stuck = append(stuck, t)
			}
			continue
		}
		wt.attach(r)
		if r.round != round {
			delete(wt.deferred, k)
		}
	}
	for _, t := range stuck {
		wt.w.log.Error("a new directory could not be watched; walking the root again and syncing it in full", "root", t.abs)
		wt.rescan(t)
		wt.w.overflow(t.idx, ErrUnwatched)
	}
}

// afterWalk turns a watch-limit failure into an OpOverflow for the root:
// never a silently unwatched subtree.
func (wt *watchTree) afterWalk(t *rootTree) {
	if wt.limitHit {
		wt.limitHit = false
		wt.w.overflow(t.idx, ErrWatchLimit)
	}
}
