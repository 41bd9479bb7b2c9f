//go:build !linux || sersync_fsnotify

// The fsnotify backend: recursion by walking, close_write approximated by
// a quiet period, no rename pairing. The only backend off Linux.

package inotifymask

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// fsnItem is one fsnotify event or error, queued.
type fsnItem struct {
	ev  fsnotify.Event
	err error
}

type pendingWrite struct {
	root int
	rel  string
	due  time.Time
}

// fsnotifyBackend watches through github.com/fsnotify/fsnotify (the
// non-Linux backend; selectable on Linux in tests). fsnotify has no
// recursion, no close_write and no rename pairing: recursion is done here
// by walking, close_write is approximated by a quiet period after the last
// write, and a rename is a remove plus a create.
type fsnotifyBackend struct {
	w   *Watcher
	fsw *fsnotify.Watcher
	q   fifo[fsnItem]

	ndirs    atomic.Int64
	npending atomic.Int64

	// Owned by New's goroutine until start returns, then by process.
	dirs     map[string]bool // watched absolute directories
	gone     map[string]bool // directories just removed: later self events are duplicates
	seen     map[string]bool // directories met by a rescan
	writes   map[string]pendingWrite
	limitHit bool

	checks chan chan CheckReport
}

func newFsnotifyBackend(w *Watcher) (backend, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inotifymask: fsnotify: %w", err)
	}
	return &fsnotifyBackend{
		w:      w,
		fsw:    fsw,
		q:      newFifo[fsnItem](),
		dirs:   make(map[string]bool),
		gone:   make(map[string]bool),
		writes: make(map[string]pendingWrite),
		checks: make(chan chan CheckReport),
	}, nil
}

func (b *fsnotifyBackend) start() error {
	b.w.wg.Add(1)
	go b.forward()
	for i, r := range b.w.roots {
		fi, err := os.Stat(r)
		if err == nil && !fi.IsDir() {
			err = &fs.PathError{Op: "watch", Path: r, Err: syscall.ENOTDIR}
		}
		if err != nil {
			return fmt.Errorf("inotifymask: watching root %s: %w", r, err)
		}
		if err := b.addDir(r); err != nil {
			if b.limitHit {
				return fmt.Errorf("inotifymask: watching root %s: %w: %w", r, ErrWatchLimit, err)
			}
			return fmt.Errorf("inotifymask: watching root %s: %w", r, err)
		}
		b.walk(i, "", walkSilent)
		if b.limitHit {
			return fmt.Errorf("inotifymask: watching %s: %w", r, ErrWatchLimit)
		}
		if b.w.closing() {
			return errors.New("inotifymask: closed during setup")
		}
	}
	b.w.wg.Add(1)
	go b.process()
	return nil
}

func (b *fsnotifyBackend) interrupt() {}

func (b *fsnotifyBackend) close() error {
	if err := b.fsw.Close(); err != nil {
		return fmt.Errorf("inotifymask: closing fsnotify: %w", err)
	}
	return nil
}

func (b *fsnotifyBackend) watches() int { return int(b.ndirs.Load()) }

// forward drains fsnotify's channels into the queue without ever waiting
// for the consumer.
func (b *fsnotifyBackend) forward() {
	defer b.w.wg.Done()
	for {
		select {
		case ev, ok := <-b.fsw.Events:
			if !ok {
				return
			}
			b.w.eventsRead.Add(1)
			b.w.addBacklog(1)
			b.q.push(fsnItem{ev: ev})
		case err, ok := <-b.fsw.Errors:
			if !ok {
				return
			}
			b.w.addBacklog(1)
			b.q.push(fsnItem{err: err})
		case <-b.w.done:
			return
		}
	}
}

func (b *fsnotifyBackend) process() {
	defer b.w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []fsnItem
	for {
		select {
		case <-b.q.ready:
			batch = b.q.take(batch)
			for i := range batch {
				b.handle(&batch[i])
				batch[i] = fsnItem{}
				if b.w.closing() {
					return
				}
			}
			b.w.addBacklog(-len(batch))
		case now := <-timer.C:
			b.flushWrites(now)
		case reply := <-b.checks:
			reply <- b.checkTrees()
		case <-b.w.done:
			return
		}
		timer.Stop()
		if len(b.writes) > 0 {
			next := time.Time{}
			for _, p := range b.writes {
				if next.IsZero() || p.due.Before(next) {
					next = p.due
				}
			}
			timer.Reset(max(time.Until(next), 0))
		}
	}
}

func (b *fsnotifyBackend) handle(it *fsnItem) {
	if it.err != nil {
		if errors.Is(it.err, fsnotify.ErrEventOverflow) {
			b.overflowed()
			return
		}
		b.w.log.Warn("fsnotify error", "err", it.err)
		return
	}
	ev := it.ev
	b.w.debug("inotify wd:0\tname:%s\tmask:%s", ev.Name, ev.Op)
	root, rel, ok := b.locate(ev.Name)
	if !ok {
		return
	}
	if rel == "" {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			b.w.log.Error("watch root was removed or moved", "root", ev.Name)
		}
		return
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		b.gone1(root, rel, ev.Name, ev.Has(fsnotify.Rename))
	}
	if ev.Has(fsnotify.Create) {
		b.created(root, rel, ev.Name)
	}
	if ev.Has(fsnotify.Write) {
		b.written(root, rel, ev.Name)
	}
	if ev.Has(fsnotify.Chmod) && b.w.opts.Inotify.Attrib {
		if fi, err := os.Lstat(ev.Name); err == nil && !b.w.filter.hidden(rel, fi.IsDir()) {
			b.w.update(root, rel, fi.IsDir(), 0)
		}
	}
}

// locate maps an absolute path to its root and relative path.
func (b *fsnotifyBackend) locate(abs string) (int, string, bool) {
	for i, r := range b.w.roots {
		switch {
		case abs == r:
			return i, "", true
		case r == "/" && strings.HasPrefix(abs, "/"):
			return i, abs[1:], true
		case strings.HasPrefix(abs, r+"/"):
			return i, abs[len(r)+1:], true
		}
	}
	return 0, "", false
}

// gone1 handles Remove and Rename (the old name of a move).
func (b *fsnotifyBackend) gone1(root int, rel, abs string, renamed bool) {
	b.cancelWrites(abs)
	dir := b.dirs[abs]
	if !dir && b.gone[abs] {
		delete(b.gone, abs) // the directory's own event after its parent's
		return
	}
	if dir {
		b.unwatchTree(abs)
	}
	on := b.w.opts.Inotify.Delete
	if renamed {
		on = b.w.opts.Inotify.MoveFrom
	}
	if on && !b.w.filter.hidden(rel, dir) {
		b.w.remove(root, rel, dir, 0)
	}
}

// created handles Create, which is also how fsnotify reports the new name
// of a move: it cannot tell the two apart.
func (b *fsnotifyBackend) created(root int, rel, abs string) {
	delete(b.gone, abs)
	fi, err := os.Lstat(abs)
	if err != nil {
		return
	}
	tog := &b.w.opts.Inotify
	if fi.IsDir() {
		if b.w.filter.excluded(rel, true) {
			return
		}
		if err := b.addDir(abs); err != nil {
			b.afterWalk(root)
			return
		}
		mode := walkCreated
		if tog.MoveTo {
			mode = walkMovedIn
		}
		if tog.CreateFolder || tog.MoveTo {
			b.w.update(root, rel, true, 0)
		}
		b.walk(root, rel, mode)
		b.afterWalk(root)
		return
	}
	if b.w.filter.hidden(rel, false) {
		return
	}
	if tog.CreateFile || tog.MoveTo || special(fi) {
		b.w.update(root, rel, false, 0)
	}
	if tog.CloseWrite && fi.Mode().IsRegular() {
		b.schedule(root, rel, abs)
	}
}

// written handles Write (IN_MODIFY on Linux).
func (b *fsnotifyBackend) written(root int, rel, abs string) {
	if b.dirs[abs] || b.w.filter.hidden(rel, false) {
		return
	}
	if _, err := os.Lstat(abs); err != nil {
		return // renamed or removed since (maybe a stale path of a renamed directory)
	}
	if b.w.opts.Inotify.Modify {
		b.w.update(root, rel, false, 0)
	}
	if b.w.opts.Inotify.CloseWrite {
		b.schedule(root, rel, abs)
	}
}

// schedule reports abs once it has not been written for the quiet period:
// fsnotify's stand-in for IN_CLOSE_WRITE.
func (b *fsnotifyBackend) schedule(root int, rel, abs string) {
	if _, ok := b.writes[abs]; !ok {
		b.npending.Add(1)
	}
	b.writes[abs] = pendingWrite{root: root, rel: rel, due: time.Now().Add(b.w.tune.quiet)}
}

func (b *fsnotifyBackend) flushWrites(now time.Time) {
	var due []string
	for abs, p := range b.writes {
		if !p.due.After(now) {
			due = append(due, abs)
		}
	}
	slices.SortFunc(due, func(x, y string) int { return b.writes[x].due.Compare(b.writes[y].due) })
	for _, abs := range due {
		p := b.writes[abs]
		delete(b.writes, abs)
		b.npending.Add(-1)
		if _, err := os.Lstat(abs); err == nil {
			b.w.update(p.root, p.rel, false, 0)
		}
	}
}

// cancelWrites forgets pending writes at or below abs (it is gone).
func (b *fsnotifyBackend) cancelWrites(abs string) {
	for p := range b.writes {
		if within(p, abs) {
			delete(b.writes, p)
			b.npending.Add(-1)
		}
	}
}

// unwatchTree removes the watches at and below abs. Each is remembered in
// gone: fsnotify may still send the directory's own Remove or Rename
// under that (now stale) path.
func (b *fsnotifyBackend) unwatchTree(abs string) {
	if len(b.gone) > 4096 {
		clear(b.gone)
	}
	for d := range b.dirs {
		if within(d, abs) {
			_ = b.fsw.Remove(d) // may already be gone
			delete(b.dirs, d)
			b.ndirs.Add(-1)
			b.gone[d] = true
		}
	}
}

func (b *fsnotifyBackend) addDir(abs string) error {
	err := b.w.tune.addWatch(abs, func() error { return b.fsw.Add(abs) })
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EMFILE):
			b.limitHit = true
			b.w.limitHit(abs, err)
		default:
			b.w.log.Warn("cannot watch directory", "path", abs, "err", err)
		}
		return err
	}
	b.w.debug("add watch: %s return wd is: 0", abs)
	if b.seen != nil {
		b.seen[abs] = true
	}
	if !b.dirs[abs] {
		b.dirs[abs] = true
		b.ndirs.Add(1)
	}
	return nil
}

func (b *fsnotifyBackend) walk(root int, rel string, mode walkMode) {
	stack := []string{rel}
	rootAbs := b.w.roots[root]
	for len(stack) > 0 {
		if b.w.closing() {
			return
		}
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := readDir(absPath(rootAbs, r))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.w.log.Warn("cannot read directory", "path", absPath(rootAbs, r), "err", err)
		}
		for _, e := range ents {
			crel := joinRel(r, e.Name())
			if !e.IsDir() {
				if b.w.reportScanned(mode, false) && !b.w.filter.hidden(crel, false) {
					b.w.update(root, crel, false, 0)
				}
				continue
			}
			if b.w.filter.excluded(crel, true) {
				continue
			}
			if err := b.addDir(absPath(rootAbs, crel)); err != nil {
				continue
			}
			if b.w.reportScanned(mode, true) {
				b.w.update(root, crel, true, 0)
			}
			stack = append(stack, crel)
		}
	}
}

func (b *fsnotifyBackend) afterWalk(root int) {
	if b.limitHit {
		b.limitHit = false
		b.w.overflow(root, ErrWatchLimit)
	}
}

func (b *fsnotifyBackend) overflowed() {
	b.w.overflows.Add(1)
	b.w.log.Warn("fsnotify event queue overflowed; rescanning every root",
		"sysctl", "fs.inotify.max_queued_events")
	b.seen = make(map[string]bool)
	for i, r := range b.w.roots {
		if err := b.addDir(r); err != nil {
			continue
		}
		b.walk(i, "", walkSilent)
		b.afterWalk(i)
	}
	for d := range b.dirs {
		if !b.seen[d] {
			_ = b.fsw.Remove(d)
			delete(b.dirs, d)
			b.ndirs.Add(-1)
		}
	}
	b.seen = nil
	for i := range b.w.roots {
		b.w.overflow(i, ErrOverflow)
	}
}

// readDir lists a directory in on-disk order.
func readDir(abs string) ([]os.DirEntry, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// special reports whether a new non-directory is never followed by a
// close after writing (symlink, FIFO, device, socket, new hard link):
// reported at creation even with createFile off.
func special(fi os.FileInfo) bool {
	return !fi.Mode().IsRegular() || nlink(fi) > 1
}

// missing: the fsnotify backend does not track roots that disappear.
func (b *fsnotifyBackend) missing() ([]MissingRoot, int) { return nil, 0 }

// markAbsent does nothing: the fsnotify backend does not follow roots
// that go away.
func (b *fsnotifyBackend) markAbsent(int, string) {}

// checkTrees compares the directories below the roots with the watched
// paths (fsnotify names watches by path only).
func (b *fsnotifyBackend) checkTrees() CheckReport {
	var r CheckReport
	found := make(map[string]bool, len(b.dirs))
	for _, root := range b.w.roots {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != root {
				if rel, _ := filepath.Rel(root, p); b.w.filter.excluded(filepath.ToSlash(rel), true) {
					return filepath.SkipDir
				}
			}
			r.Dirs++
			found[p] = true
			if !b.dirs[p] {
				r.Unwatched = append(r.Unwatched, p)
			}
			return nil
		})
	}
	for d := range b.dirs {
		if !found[d] {
			r.Stale = append(r.Stale, d)
		}
	}
	r.Watches = len(b.dirs)
	slices.Sort(r.Unwatched)
	slices.Sort(r.Stale)
	return r
}

func (b *fsnotifyBackend) checkRequests() chan<- chan CheckReport { return b.checks }
