// The roots' lifecycle, shared by the kernel backends: the initial watch
// of every root, a root that is gone (removed, moved away, unmounted,
// refused by Options.RootCheck or reported absent) and looked for until
// it is back, the rescan after lost events, and what Stats reports of it.

package inotifymask

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// watchRoots watches and walks every root: the initial walk. A root that
// cannot be watched fails it.
func (wt *watchTree) watchRoots() error {
	for _, t := range wt.trees {
		// A root with no directory at all fails the start below, as
		// without a check; a directory that is not the root's file system
		// is only absent: it may be mounted later.
		if err := wt.refused(t); err != nil && isDir(t.abs) {
			wt.rootGone(t, err.Error(), false)
			continue
		}
		if err := wt.addRoot(t, true); err != nil {
			return err
		}
		wt.walkRoot(t)
		if wt.limitHit {
			return fmt.Errorf("inotifymask: watching %s: %w", t.abs, ErrWatchLimit)
		}
		if wt.w.closing() {
			return errors.New("inotifymask: closed during setup")
		}
	}
	return nil
}

// run starts a backend's goroutines around the initial walk: read drains
// the kernel's fd, then, once every root is watched, the tree's owner
// applies what it queued (serve).
func (wt *watchTree) run(read, apply func()) error {
	wt.w.wg.Add(1)
	go func() {
		defer wt.w.wg.Done()
		read()
	}()
	if err := wt.watchRoots(); err != nil {
		return err
	}
	wt.w.wg.Add(1)
	go func() {
		defer wt.w.wg.Done()
		apply()
	}()
	return nil
}

// serve is the loop of the goroutine that owns the tree: it applies what
// the reader queued (drain; false means the watcher closes) in kernel
// order. Once everything read is applied it settles: directories that
// could not be watched at the path the tree gave are tried again,
// missing roots looked for, and a pending Check answered (check) after
// the reader caught up with the kernel.
func (wt *watchTree) serve(r *kernelReader, ready <-chan struct{}, checks <-chan chan CheckReport,
	drain func() bool, check func() CheckReport) {
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	wt.settle(tick) // what the initial walk could not watch
	for {
		var reply chan CheckReport
		select {
		case <-ready:
		case <-tick.C:
		case reply = <-checks:
			r.catchUp()
		case <-wt.absentC:
			wt.takeAbsent()
		case <-wt.w.done:
			return
		}
		if !drain() {
			return
		}
		wt.settle(tick)
		if reply != nil {
			reply <- check()
		}
	}
}

// settle retries deferred watches, looks for missing roots and arms tick
// for the next time either needs doing. The backend calls it once
// everything read is applied.
func (wt *watchTree) settle(tick *time.Timer) {
	wt.retryDeferred()
	wt.pollRoots()
	tick.Stop()
	switch {
	case len(wt.deferred) > 0:
		tick.Reset(wt.w.tune.retryWait)
	case wt.anyGone(), wt.w.opts.RootCheck != nil:
		tick.Reset(wt.w.tune.rootPoll)
	}
	if len(wt.deferred) != wt.statDefer {
		wt.publish()
	}
}

// publish updates what Stats reports of the roots and deferred watches.
// It runs on the owning goroutine, the only writer of statMissing and
// statDefer, whenever either changes.
func (wt *watchTree) publish() {
	var missing []MissingRoot
	for _, t := range wt.trees {
		if t.gone {
			missing = append(missing, MissingRoot{Root: wt.w.opts.Roots[t.idx], Reason: t.why, Since: t.since})
		}
	}
	wt.statMu.Lock()
	wt.statMissing, wt.statDefer = missing, len(wt.deferred)
	wt.statMu.Unlock()
}

func (wt *watchTree) missing() ([]MissingRoot, int) {
	wt.statMu.Lock()
	defer wt.statMu.Unlock()
	return append([]MissingRoot(nil), wt.statMissing...), wt.statDefer
}

func (wt *watchTree) markAbsent(idx int, why string) {
	wt.absentMu.Lock()
	if wt.absentReq == nil {
		wt.absentReq = map[int]string{}
	}
	wt.absentReq[idx] = why
	wt.absentMu.Unlock()
	select {
	case wt.absentC <- struct{}{}:
	default:
	}
}

// takeAbsent acts on Watcher.RootAbsent's requests; the owning goroutine
// calls it when absentC has a token.
func (wt *watchTree) takeAbsent() {
	wt.absentMu.Lock()
	reqs := wt.absentReq
	wt.absentReq = nil
	wt.absentMu.Unlock()
	for _, t := range wt.trees {
		if why, ok := reqs[t.idx]; ok {
			wt.rootGone(t, why, false)
		}
	}
}

// refused returns Options.RootCheck's verdict on the root (nil without
// one).
func (wt *watchTree) refused(t *rootTree) error {
	if wt.w.opts.RootCheck == nil {
		return nil
	}
	return wt.w.opts.RootCheck(wt.w.opts.Roots[t.idx])
}

func (wt *watchTree) anyGone() bool {
	for _, t := range wt.trees {
		if t.gone {
			return true
		}
	}
	return false
}

// rootGone stops watching a root that was removed, moved away or
// unmounted, and sends nothing: the remote gets no more than the
// deletions already reported. pollRoots looks for the root until it is
// back.
func (wt *watchTree) rootGone(t *rootTree, why string, unmounted bool) {
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
		wt.drop(n)
	}
	wt.publish()
	wt.w.log.Error("watch root is gone: nothing below it is watched or synced until it is back, then it is synced in full",
		"root", t.abs, "reason", why)
}

// pollRoots drops a watched root Options.RootCheck refuses (at most once
// every rootPoll), and watches again every missing root that is back and
// asks for a full sync of it.
func (wt *watchTree) pollRoots() {
	now := time.Now()
	for _, t := range wt.trees {
		if !t.gone && wt.w.opts.RootCheck != nil && now.Sub(t.checked) >= wt.w.tune.rootPoll {
			t.checked = now
			if err := wt.refused(t); err != nil {
				wt.rootGone(t, err.Error(), false)
			}
		}
		if !t.gone {
			continue
		}
		if !wt.back(t) {
			if time.Since(t.nagged) >= wt.w.tune.rootNag {
				t.nagged = time.Now()
				wt.w.log.Error("watch root is still missing", "root", t.abs, "reason", t.why, "since", t.since.Format(time.RFC3339))
			}
			continue
		}
		t.gone = false
		if err := wt.addRoot(t, false); err != nil {
			t.gone = true
			wt.w.log.Warn("watch root is back but cannot be watched", "root", t.abs, "err", err)
			continue
		}
		wt.walkRoot(t)
		wt.afterWalk(t)
		wt.w.log.Warn("watch root is back and watched again; syncing it in full", "root", t.abs)
		wt.publish()
		wt.w.overflow(t.idx, ErrRootReturned)
	}
}

// back reports whether a missing root is a directory again and passes
// Options.RootCheck. Without one, after an unmount, the bare mount point
// left behind does not count: syncing it would delete the remote's copy.
func (wt *watchTree) back(t *rootTree) bool {
	var st unix.Stat_t
	if unix.Stat(t.abs, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	if wt.w.opts.RootCheck != nil {
		if err := wt.refused(t); err != nil {
			if why := err.Error(); why != t.why {
				t.why = why
				wt.publish()
			}
			return false
		}
		return true
	}
	return !(t.unmounted && t.bareKnown && st.Dev == t.bareDev)
}

// walkRoot watches every directory below the root t, reporting nothing.
// A lazy tree finds its directories when events name them: it holds the
// root alone, and a rescan drops what it held below it.
func (wt *watchTree) walkRoot(t *rootTree) {
	if !wt.lazy {
		wt.walk(t, t.node, "", walkSilent, 0)
	}
}

// isDir reports whether there is a directory at abs.
func isDir(abs string) bool {
	var st unix.Stat_t
	return unix.Stat(abs, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// rescan re-adds every watch of the trees (idempotent) and drops the
// watches of their directories that are gone, whose removal events may
// have been lost. Deferred watches of those trees are settled by the
// walk.
func (wt *watchTree) rescan(trees ...*rootTree) {
	wt.gen++
	in := make(map[*rootTree]bool, len(trees))
	for _, t := range trees {
		if t.gone {
			continue
		}
		in[t] = true
		if err := wt.addRoot(t, false); err != nil {
			wt.w.log.Error("cannot watch root", "root", t.abs, "err", err)
			continue
		}
		wt.walkRoot(t)
		wt.afterWalk(t)
	}
	for _, n := range wt.nodes {
		if n.gen == wt.gen || n.tree != nil {
			continue
		}
		if t, _, ok := wt.where(n); !ok || in[t] {
			wt.drop(n)
		}
	}
	for k := range wt.deferred {
		if t, _, ok := wt.where(k.parent); !ok || in[t] {
			delete(wt.deferred, k)
		}
	}
}
