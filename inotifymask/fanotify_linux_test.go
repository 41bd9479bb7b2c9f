package inotifymask

import (
	"context"
	"errors"
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
// lost leaves the renamed directory unwatched and its node stale.
func TestFanotifyCheck(t *testing.T) {
	needFanotify(t)
	e := newEnv(t, 1)
	e.do(t, []string{"mkdirp", "/a/b/c"})
	var drop atomic.Bool
	tune := testTuning(kindFanotify)
	tune.read = func(f *os.File, buf []byte) (int, error) {
		n, err := readEvents(f, buf)
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
	checkOK(t, w)

	drop.Store(true)
	e.do(t, []string{"mv", "/a/b", "/a/z"})
	waitFor(t, "the rename to be read", func() bool {
		n, err := unix.IoctlGetInt(w.b.(*fanotifyBackend).fd, unix.TIOCINQ)
		return err == nil && n == 0
	})
	drop.Store(false)
	r, err := w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	root := e.roots[0]
	wantUnwatched := []string{filepath.Join(root, "a/z"), filepath.Join(root, "a/z/c")}
	wantStale := []string{filepath.Join(root, "a/b"), filepath.Join(root, "a/b/c")}
	if !slices.Equal(r.Unwatched, wantUnwatched) || !slices.Equal(r.Stale, wantStale) {
		t.Errorf("Check = unwatched %q stale %q; want %q and %q", r.Unwatched, r.Stale, wantUnwatched, wantStale)
	}
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
	evs := e.sync(t, w)
	want := []wantEv{
		{key: evKey{op: OpUpdate, path: "d", dir: true}}, {key: evKey{op: OpUpdate, path: "d/f"}},
		{key: evKey{root: 1, op: OpUpdate, path: "d", dir: true}}, {key: evKey{root: 1, op: OpUpdate, path: "d/f"}},
	}
	if msg := compare(e, want, evs); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(evs))
	}
	checkOK(t, w)

	opts.Backend = BackendFanotify
	if _, err := newWatcher(opts, testTuning(kindAuto)); err == nil || !errors.Is(err, ErrNoFanotify) {
		t.Errorf("New with fanotify asked for on a ramfs root = %v, want an error wrapping ErrNoFanotify", err)
	}
}
