package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// checkOK runs Check and fails the test unless every directory is
// watched under its path and no watch is stale.
func checkOK(t *testing.T, w *Watcher) CheckReport {
	t.Helper()
	r, err := w.Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if !r.OK() {
		t.Fatalf("watch invariant broken: %d dirs, %d watches\nunwatched: %q\nstale: %q", r.Dirs, r.Watches, r.Unwatched, r.Stale)
	}
	if r.Dirs != r.Watches+r.Covered {
		t.Fatalf("Check: %d directories but %d watches and %d covered by a mark", r.Dirs, r.Watches, r.Covered)
	}
	if r.Covered != 0 && w.tune.kind != kindFanotify && w.tune.kind != kindAuto {
		t.Fatalf("Check: %d directories covered by a mark without fanotify", r.Covered)
	}
	return r
}

// updated returns the set of updated paths of root i in evs.
func updated(e *env, evs []Event, i int) map[string]bool {
	m := make(map[string]bool)
	for _, ev := range evs {
		if ev.Root == e.roots[i] && (ev.Op == OpUpdate || ev.Op == OpRename) {
			m[ev.Path] = true
		}
	}
	return m
}

// orderBackend is a kernel backend with the tuning a scenario runs it
// with.
type orderBackend struct {
	name string
	tune tuning
}

// orderBackends are the kernel backends the ordering scenarios run on:
// inotify, and fanotify with its usual cache and with a cache of one
// directory (the tree starts again from the root after nearly every read).
func orderBackends() []orderBackend {
	out := []orderBackend{{"inotify", testTuning(kindInotify)}}
	if errNoFanotify == nil {
		small := testTuning(kindFanotify)
		small.fanCache = 1
		out = append(out, orderBackend{"fanotify", testTuning(kindFanotify)}, orderBackend{"fanotify-cache1", small})
	}
	return out
}

// TestAncestorRenamedBeforeCreateProcessed: a directory is created in a
// watched directory that is renamed before the watcher processes the
// creation. The reader is held so the order is certain: IN_CREATE of a
// is processed while the tree still has top at its old name.
func TestAncestorRenamedBeforeCreateProcessed(t *testing.T) {
	for _, be := range orderBackends() {
		t.Run(be.name, func(t *testing.T) { testAncestorRenamedBeforeCreateProcessed(t, be.tune) })
	}
}

func testAncestorRenamedBeforeCreateProcessed(t *testing.T, tune tuning) {
	e := newEnv(t, 1)
	w := e.watchTuned(t, tune, stockToggles, confxml.Filter{})
	e.do(t, []string{"mkdir", "/top"})
	e.sync(t, w)

	w.pauseReader(t)
	e.do(t, []string{"mkdirp", "/top/a/b/c"})
	e.do(t, []string{"write", "/top/a/b/c/early", "x"})
	e.do(t, []string{"mv", "/top", "/moved"})
	w.resumeReader()
	got := e.sync(t, w)
	if !updated(e, got, 0)["moved/a/b/c/early"] {
		t.Errorf("the file written before its directory was watched was not reported:\n%s", e.format(got))
	}
	checkOK(t, w)

	e.do(t, []string{"write", "/moved/a/b/c/late", "x"})
	e.do(t, []string{"write", "/moved/a/late", "x"})
	got = e.sync(t, w)
	u := updated(e, got, 0)
	for _, p := range []string{"moved/a/b/c/late", "moved/a/late"} {
		if !u[p] {
			t.Errorf("%s not reported:\n%s", p, e.format(got))
		}
	}
}

// TestMkdirThenRenameBurst is the deploy pattern run freely, without
// holding the reader: mkdir -p top_i/a/b/c && mv top_i moved_i, fifty
// times, then files in every new directory.
func TestMkdirThenRenameBurst(t *testing.T) {
	for _, be := range orderBackends() {
		t.Run(be.name, func(t *testing.T) { testMkdirThenRenameBurst(t, be.tune) })
	}
}

func testMkdirThenRenameBurst(t *testing.T, tune tuning) {
	e := newEnv(t, 1)
	w := e.watchTuned(t, tune, stockToggles, confxml.Filter{})
	const n = 50
	for i := range n {
		e.do(t, []string{"mkdirp", fmt.Sprintf("/top_%d/a/b/c", i)})
		e.do(t, []string{"mv", fmt.Sprintf("/top_%d", i), fmt.Sprintf("/moved_%d", i)})
	}
	e.sync(t, w)
	checkOK(t, w)
	var want []string
	for i := range n {
		for _, p := range []string{"a/b/c/f1", "a/b/c/f2", "a/b/c/f3", "a/f4"} {
			rel := fmt.Sprintf("moved_%d/%s", i, p)
			e.do(t, []string{"write", "/" + rel, "x"})
			want = append(want, rel)
		}
	}
	u := updated(e, e.sync(t, w), 0)
	missing := 0
	for _, p := range want {
		if !u[p] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d files written into renamed new directories not reported", missing, len(want))
	}
	checkOK(t, w)
}

// TestRenameOrders covers the orders the invariant must survive, each
// played with the reader held so that the watcher sees the whole
// sequence at once, after the tree changed under it.
func TestRenameOrders(t *testing.T) {
	tests := []struct {
		name   string
		before [][]string
		ops    [][]string
		files  []string // written afterwards, each must be reported
	}{
		{"moved twice before we look",
			nil,
			[][]string{{"mkdirp", "/x/y"}, {"mv", "/x", "/x2"}, {"mv", "/x2", "/x3"}},
			[]string{"x3/f", "x3/y/f"}},
		{"rename chain of a populated directory",
			[][]string{{"mkdirp", "/a/sub/deep"}},
			[][]string{{"mkdirp", "/a/sub/deep/new/er"}, {"mv", "/a", "/b"}, {"mv", "/b", "/c"}},
			[]string{"c/sub/deep/new/er/f", "c/sub/deep/f"}},
		{"moved out and back in",
			[][]string{{"mkdirp", "/d/e"}},
			[][]string{{"mkdirp", "/d/e/g"}, {"mv", "/d", "@/d"}, {"mv", "@/d", "/d"}},
			[]string{"d/e/g/f", "d/f"}},
		{"replaced by a file and back",
			[][]string{{"mkdirp", "/r/s"}},
			[][]string{{"mkdirp", "/r/s/t"}, {"mv", "/r", "/r.old"}, {"write", "/r", "file"}, {"rm", "/r"}, {"mkdirp", "/r/s"}},
			[]string{"r/s/f", "r.old/s/t/f"}},
		{"rename of a new directory into another new one",
			nil,
			[][]string{{"mkdirp", "/p/q"}, {"mkdir", "/n"}, {"mv", "/p", "/n/p"}, {"mkdirp", "/n/p/q/z"}},
			[]string{"n/p/q/z/f", "n/p/f"}},
		{"ancestor renamed, old name made again",
			[][]string{{"mkdir", "/top"}},
			[][]string{{"mkdirp", "/top/a"}, {"mv", "/top", "/moved"}, {"mkdirp", "/top/a"}},
			[]string{"moved/a/f", "top/a/f"}},
	}
	for _, tt := range tests {
		for _, be := range orderBackends() {
			t.Run(tt.name+"/"+be.name, func(t *testing.T) {
				e := newEnv(t, 1)
				for _, op := range tt.before {
					e.do(t, op)
				}
				w := e.watchTuned(t, be.tune, stockToggles, confxml.Filter{})
				w.pauseReader(t)
				for _, op := range tt.ops {
					e.do(t, op)
				}
				w.resumeReader()
				e.sync(t, w)
				checkOK(t, w)
				for _, f := range tt.files {
					e.do(t, []string{"write", "/" + f, "x"})
				}
				u := updated(e, e.sync(t, w), 0)
				for _, f := range tt.files {
					if !u[f] {
						t.Errorf("%s not reported", f)
					}
				}
			})
		}
	}
}

// TestCheckFindsProblems: Check is not blind. A directory whose watch
// was refused is listed as unwatched; a rename the watcher has not read
// yet shows the old path as stale and the new one as unwatched.
func TestCheckFindsProblems(t *testing.T) {
	e := newEnv(t, 1)
	root := e.roots[0]
	e.do(t, []string{"mkdirp", "/ok/deny"})
	e.do(t, []string{"mkdir", "/d"})
	tune := testTuning(kindInotify)
	deny := filepath.Join(root, "ok", "deny")
	tune.failWatch(func(abs string) error {
		if abs == deny {
			return unix.EACCES
		}
		return nil
	})
	w, err := newWatcher(Options{Roots: []string{root}, Inotify: stockToggles, Logger: testLogger(t)}, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	r, err := w.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Unwatched, []string{deny}) || len(r.Stale) != 0 || r.OK() {
		t.Fatalf("refused watch: got unwatched %q stale %q, want unwatched [%q]", r.Unwatched, r.Stale, deny)
	}

	w.pauseReader(t)
	e.do(t, []string{"mv", "/d", "/d2"})
	r, err = w.Check(context.Background())
	w.resumeReader()
	if err != nil {
		t.Fatal(err)
	}
	wantUn := []string{filepath.Join(root, "d2"), deny}
	if !slices.Equal(r.Unwatched, wantUn) || !slices.Equal(r.Stale, []string{filepath.Join(root, "d")}) {
		t.Fatalf("unread rename: got unwatched %q stale %q, want unwatched %q stale [%q]", r.Unwatched, r.Stale, wantUn, filepath.Join(root, "d"))
	}
}

// lookForRoots makes the watcher look for its missing roots n times:
// every Check first settles (retries deferred watches, looks for missing
// roots) on the watcher's own goroutine.
func lookForRoots(t *testing.T, w *Watcher, n int) {
	t.Helper()
	for range n {
		if _, err := w.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// waitEvent reads events until one satisfies match.
func waitEvent(t *testing.T, w *Watcher, what string, match func(Event) bool) []Event {
	t.Helper()
	var got []Event
	deadlineCtx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		select {
		case ev := <-events(w):
			got = append(got, ev)
			if match(ev) {
				return got
			}
		case <-deadlineCtx.Done():
			t.Fatalf("timed out waiting for %s; got %d events", what, len(got))
		}
	}
}

func returned(root string) func(Event) bool {
	return func(ev Event) bool {
		return ev.Root == root && ev.Op == OpOverflow && errors.Is(ev.Err, ErrRootReturned)
	}
}

// TestRootDisappears: a root that is removed or moved away is reported
// missing, nothing below its old directory is reported any more, and once
// a directory is at its path again it is watched and one full sync is
// asked for (OpOverflow with ErrRootReturned), never before.
func TestRootDisappears(t *testing.T) {
	for _, how := range []string{"removed", "moved away"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, 1)
			root := e.roots[0]
			e.do(t, []string{"mkdirp", "/sub/deeper"})
			e.do(t, []string{"write", "/sub/f", "x"})
			w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
			aside := filepath.Join(e.outside, "aside")
			if how == "removed" {
				e.do(t, []string{"rmrf", "/"})
			} else {
				if err := os.Rename(root, aside); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "the root to be missing", func() bool { return slices.Equal(w.Stats().MissingRoots, []string{root}) })
			if how == "moved away" {
				if err := os.WriteFile(filepath.Join(aside, "sub", "after"), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lookForRoots(t, w, 3)
			for _, ev := range e.sync(t, w) {
				if ev.Root == root && (ev.Op == OpOverflow || ev.Op == OpUpdate || ev.Op == OpRename) {
					t.Errorf("while the root is missing: %v", e.key(ev))
				}
			}
			r, err := w.Check(context.Background())
			if err != nil || !slices.Equal(r.MissingRoots, []string{root}) || r.Watches != 1 {
				t.Fatalf("Check while missing: %+v, %v (want the root missing and only the barrier watched)", r, err)
			}

			if err := os.MkdirAll(filepath.Join(root, "new"), 0o755); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, w, "the root to come back", returned(root))
			if m := w.Stats().MissingRoots; len(m) != 0 {
				t.Errorf("MissingRoots = %q after it came back", m)
			}
			checkOK(t, w)
			e.do(t, []string{"write", "/new/f", "x"})
			if !updated(e, e.sync(t, w), 0)["new/f"] {
				t.Error("a file written in the returned root was not reported")
			}
		})
	}
}

// TestRootUnmounted: a root that is a mount point is unmounted. The bare
// mount point left behind is not the root coming back (syncing it would
// empty the remote); mounting again is.
func TestRootUnmounted(t *testing.T) {
	e := newEnv(t, 1)
	root := e.roots[0]
	mountT(t, "tmpfs", root, "size=4m")
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = unix.Unmount(root, unix.MNT_DETACH)
		}
	})
	e.do(t, []string{"mkdirp", "/data/x"})
	w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
	if err := unix.Unmount(root, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	waitFor(t, "the root to be missing", func() bool { return len(w.Stats().MissingRoots) == 1 })
	lookForRoots(t, w, 3)
	for _, ev := range e.sync(t, w) {
		if ev.Root == root {
			t.Errorf("after the unmount: %v (the bare mount point must not count as the root)", e.key(ev))
		}
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatal(err)
	}
	mounted = true
	waitEvent(t, w, "the root to come back", returned(root))
	checkOK(t, w)
}
