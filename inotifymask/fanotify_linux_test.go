package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// needFanotify skips a fanotify-only test where fanotify cannot run.
func needFanotify(t *testing.T) {
	t.Helper()
	if errNoFanotify != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("fanotify: %v (SERSYNC_TEST_NO_SKIP=1)", errNoFanotify)
		}
		t.Skipf("fanotify: %v", errNoFanotify)
	}
}

// TestFanotifyOutsideDropped: changes elsewhere on the root's file system
// reach the fanotify backend (one mark covers it all) and are dropped:
// nothing is sent for them.
func TestFanotifyOutsideDropped(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	before := w.Stats().EventsRead
	createFiles(t, e.outside, 200)
	e.do(t, []string{"write", "/in.txt", "x"})
	got := e.sync(t, w)
	want := []wantEv{{key: evKey{op: OpUpdate, path: "in.txt"}}}
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(got))
	}
	if read := w.Stats().EventsRead - before; read < 200 {
		t.Errorf("%d events read; want the outside directory's 200 creations among them", read)
	}
}

// TestFanotifyCheck: the self-check opens every directory of the tree by
// its handle and finds it at the tree's path; a rename whose event was
// lost leaves the renamed directory's nodes stale. A directory the tree
// does not hold is covered by the mark, not unwatched.
func TestFanotifyCheck(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	e.do(t, []string{"mkdirp", "/a/b/c"})
	e.do(t, []string{"mkdirp", "/other/deep"})
	var drop atomic.Bool
	tune := testTuning(kindFanotify)
	tune.read = func(r *kernelReader, buf []byte) (int, error) {
		n, err := readEvents(r, buf)
		if drop.Load() {
			return 0, err // what was read is lost
		}
		return n, err
	}
	w, err := newWatcher(Options{Roots: []string{e.roots[0], e.barrier}, Inotify: stockToggles, Logger: testLogger(t)}, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	e.do(t, []string{"write", "/a/b/c/f", "1"})
	e.sync(t, w)
	r := checkOK(t, w)
	if r.Dirs != 7 || r.Watches != 5 { // root, a, a/b, a/b/c, barrier held
		t.Errorf("Check = %d dirs, %d watches; want 7 and 5", r.Dirs, r.Watches)
	}

	drop.Store(true)
	e.do(t, []string{"mv", "/a/b", "/a/z"})
	waitFor(t, "the rename to be read", func() bool {
		n, err := unix.IoctlGetInt(w.b.(*fanotifyBackend).fd, unix.TIOCINQ)
		return err == nil && n == 0
	})
	drop.Store(false)
	r, err = w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	root := e.roots[0]
	wantStale := []string{filepath.Join(root, "a/b"), filepath.Join(root, "a/b/c")}
	if len(r.Unwatched) != 0 || !slices.Equal(r.Stale, wantStale) {
		t.Errorf("Check = unwatched %q stale %q; want none and %q", r.Unwatched, r.Stale, wantStale)
	}
}

// TestFanotifyNoWalk: New walks nothing (the tree holds the roots
// alone), changes made right after it returns in any directory of a big
// tree are reported under their paths, and the tree then holds the
// directories they named and the ones above them.
func TestFanotifyNoWalk(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	root := e.roots[0]
	for i := range 50 {
		for j := range 40 {
			if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%02d/e%02d", i, j)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	if got := w.Stats().Watches; got != 2 {
		t.Fatalf("Watches = %d after New, want 2 (the roots)", got)
	}
	var want []wantEv
	for i := range 50 {
		p := fmt.Sprintf("d%02d/e%02d/f", i, (i*7)%40)
		if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, wantEv{key: evKey{op: OpUpdate, path: p}})
	}
	got := e.sync(t, w)
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(got))
	}
	if got := w.Stats().Watches; got != 2+50+50 {
		t.Errorf("Watches = %d, want %d (roots, 50 directories written in, their parents)", got, 2+50+50)
	}
	checkOK(t, w)
}

// TestFanotifyCacheBound: with a cache of 4 directories, changes all over
// a tree are reported under their paths, the tree never holds more than
// the bound after what was read is applied, and the check passes.
func TestFanotifyCacheBound(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	root := e.roots[0]
	for i := range 30 {
		if err := os.MkdirAll(filepath.Join(root, fmt.Sprintf("d%02d/sub", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tune := testTuning(kindFanotify)
	tune.fanCache = 4
	w := e.watchTuned(t, tune, stockToggles, confxml.Filter{})
	for round := range 3 {
		var want []wantEv
		for i := range 27 { // d27-d29 are renamed below
			p := fmt.Sprintf("d%02d/sub/f%d", i, round)
			if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			want = append(want, wantEv{key: evKey{op: OpUpdate, path: p}})
		}
		if msg := compare(e, want, e.sync(t, w)); msg != "" {
			t.Errorf("round %d: %s", round, msg)
		}
		// A directory the tree held before its reset, renamed: the
		// files below it are reported under the new name.
		from, to := fmt.Sprintf("d%02d", 29-round), fmt.Sprintf("m%02d", round)
		e.do(t, []string{"mv", "/" + from, "/" + to})
		e.do(t, []string{"write", "/" + to + "/sub/g", "1"})
		want = []wantEv{
			{key: evKey{op: OpRename, old: from, path: to, dir: true}},
			{key: evKey{op: OpUpdate, path: to + "/sub/g"}},
		}
		if msg := compare(e, want, e.sync(t, w)); msg != "" {
			t.Errorf("round %d: %s", round, msg)
		}
	}
	if n := w.Stats().Watches; n > 4+2 {
		t.Errorf("Watches = %d, want at most the bound 4 + 2 roots", n)
	}
	checkOK(t, w)
}

// TestBackendAutoSplit: with auto, a root on a file system without file
// handles (ramfs) is watched with inotify and a root on one with them
// with fanotify, in one watcher; both report and pass the check.
func TestBackendAutoSplit(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 2)
	ram := e.roots[1]
	mountT(t, "ramfs", ram, "")
	t.Cleanup(func() { _ = unix.Unmount(ram, unix.MNT_DETACH) })
	opts := Options{Roots: []string{e.roots[0], ram, e.barrier}, Inotify: stockToggles, Logger: testLogger(t), Backend: BackendAuto}
	w, err := newWatcher(opts, testTuning(kindAuto))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	var got []Backend
	for _, b := range w.Backends() {
		got = append(got, b.Backend)
	}
	if want := []Backend{BackendFanotify, BackendInotify, BackendFanotify}; !slices.Equal(got, want) {
		t.Fatalf("Backends = %v, want %v (%+v)", got, want, w.Backends())
	}
	e.do(t, []string{"mkdirp", "/d"})
	e.do(t, []string{"write", "/d/f", "1"})
	e.do(t, []string{"mkdirp", "2:/d"})
	e.do(t, []string{"write", "2:/d/f", "2"})
	want := []wantEv{
		{key: evKey{op: OpUpdate, path: "d", dir: true}}, {key: evKey{op: OpUpdate, path: "d/f"}},
		{key: evKey{root: 1, op: OpUpdate, path: "d", dir: true}}, {key: evKey{root: 1, op: OpUpdate, path: "d/f"}},
	}
	// The barrier root is on the fanotify part: it orders nothing of the
	// inotify part's own queue, so its events are taken until they are
	// all there.
	var evs []Event
	waitFor(t, "the events of both roots", func() bool {
		evs = append(evs, e.sync(t, w)...)
		return compare(e, want, evs) == ""
	})
	checkOK(t, w)

	opts.Backend = BackendFanotify
	if _, err := newWatcher(opts, testTuning(kindAuto)); err == nil || !errors.Is(err, ErrNoFanotify) {
		t.Errorf("New with fanotify asked for on a ramfs root = %v, want an error wrapping ErrNoFanotify", err)
	}
}

// TestFanotifyMountBelow: a file system mounted below a root before the
// start is marked too: changes on it are reported under the root's paths.
func TestFanotifyMountBelow(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	e.do(t, []string{"mkdirp", "/mnt"})
	mnt := filepath.Join(e.roots[0], "mnt")
	mountT(t, "tmpfs", mnt, "size=1m")
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	e.do(t, []string{"mkdirp", "/mnt/x"})
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	e.do(t, []string{"write", "/mnt/x/f", "1"})
	e.do(t, []string{"mkdirp", "/mnt/new"})
	got := e.sync(t, w)
	want := []wantEv{{key: evKey{op: OpUpdate, path: "mnt/x/f"}}, {key: evKey{op: OpUpdate, path: "mnt/new", dir: true}}}
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(got))
	}
	checkOK(t, w)
}

// TestFanotifyRemovedButOpen: a directory removed while something still
// holds it open opens by its handle but has no path: it is gone, like one
// whose handle no longer opens. Its events are dropped, its removal is
// reported, and no root is synced in full for it.
func TestFanotifyRemovedButOpen(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	e.do(t, []string{"mkdirp", "/a/d"})
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	held, err := os.Open(filepath.Join(e.roots[0], "a/d"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	w.pauseReader(t)
	e.do(t, []string{"write", "/a/d/f", "1"})
	e.do(t, []string{"rmrf", "/a/d"})
	w.resumeReader()
	got := e.sync(t, w)
	want := []wantEv{{optional: true, key: evKey{op: OpRemove, path: "a/d/f"}}, {key: evKey{op: OpRemove, path: "a/d", dir: true}}}
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(got))
	}
}

// TestFanotifyMergedReplay: the kernel merges the events of one name
// while they wait to be read; a merged group is replayed in the order
// that leaves the name as it is: written then removed (gone now) is an
// update then a removal, removed then written again (there now) a
// removal then an update, written then removed then written again as
// well.
func TestFanotifyMergedReplay(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	e.do(t, []string{"write", "/old", "1"})
	e.do(t, []string{"write", "/again", "1"})
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	w.pauseReader(t)
	e.do(t, []string{"write", "/new", "1"})
	e.do(t, []string{"rm", "/new"})
	e.do(t, []string{"rm", "/old"})
	e.do(t, []string{"write", "/old", "2"})
	e.do(t, []string{"rm", "/again"})
	e.do(t, []string{"write", "/again", "2"})
	e.do(t, []string{"rm", "/again"})
	e.do(t, []string{"write", "/again", "3"})
	w.resumeReader()
	ops := map[string][]Op{}
	for _, ev := range e.sync(t, w) {
		ops[ev.Path] = append(ops[ev.Path], ev.Op)
	}
	for p, want := range map[string][]Op{
		"new":   {OpUpdate, OpRemove},
		"old":   {OpRemove, OpUpdate},
		"again": {OpRemove, OpUpdate},
	} {
		if !slices.Equal(ops[p], want) {
			t.Errorf("%s: ops %v, want %v", p, ops[p], want)
		}
	}
}

// TestFanotifyCheckMarks: the check asks the kernel which file systems
// carry a mark: with the mark removed behind the watcher's back (as a
// remount does), the roots on that file system are reported unwatched.
func TestFanotifyCheckMarks(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	w := e.watch(t, kindFanotify, stockToggles, confxml.Filter{})
	checkOK(t, w)
	b := w.b.(*fanotifyBackend)
	if err := unix.FanotifyMark(b.fd, unix.FAN_MARK_REMOVE|unix.FAN_MARK_FILESYSTEM, b.mask, unix.AT_FDCWD, e.roots[0]); err != nil {
		t.Fatal(err)
	}
	r, err := w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Both roots are on the one file system whose mark is gone.
	want := []string{e.roots[0], e.barrier}
	slices.Sort(want)
	if !slices.Equal(r.Unwatched, want) {
		t.Errorf("Check unwatched = %q, want %q", r.Unwatched, want)
	}
}
