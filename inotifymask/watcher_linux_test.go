package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

type testBackend struct {
	name string
	kind backendKind
}

// backends are the backends built into this test binary: fsnotify only
// with -tags sersync_fsnotify (make test runs the package both ways),
// fanotify only where it can watch the temporary directory
// (TestFanotifyAvailable says why not).
var backends = func() []testBackend {
	bs := []testBackend{{"inotify", kindInotify}}
	if errNoFanotify == nil {
		bs = append(bs, testBackend{"fanotify", kindFanotify})
	}
	if fsnotifyBuilt {
		bs = append(bs, testBackend{"fsnotify", kindFsnotify})
	}
	return bs
}()

// errNoFanotify says why the fanotify backend cannot run here.
var errNoFanotify = FanotifyUsable(os.TempDir())

// TestFanotifyAvailable skips, saying why, when the fanotify backend's
// tests do not run; it fails instead under SERSYNC_TEST_NO_SKIP=1.
func TestFanotifyAvailable(t *testing.T) {
	if errNoFanotify != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("fanotify backend not tested: %v (SERSYNC_TEST_NO_SKIP=1)", errNoFanotify)
		}
		t.Skipf("fanotify backend not tested: %v", errNoFanotify)
	}
}

// readSysctl reads an integer from /proc/sys.
func readSysctl(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("sysctl %s: %v", name, err)
	}
	return n
}

// floodSize returns how many files make more events (two per file) than
// the kernel queue holds, or skips when that is unreasonably many.
func floodSize(t *testing.T) int {
	t.Helper()
	maxq := readSysctl(t, "fs.inotify.max_queued_events")
	n := max(20000, maxq/2+1000)
	if n > 200000 {
		msg := fmt.Sprintf("fs.inotify.max_queued_events is %d: overflowing it needs more than 200k files", maxq)
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
		}
		t.Skip(msg)
	}
	return n
}

func createFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("f%06d", i)
		if err := os.WriteFile(filepath.Join(dir, names[i]), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// TestOverflowRescan: with the reader paused the kernel queue overflows;
// the watcher reports it as one OpOverflow per root, reports no garbage,
// rescans (a directory created during the overflow is watched, watches of
// one deleted during it are gone) and keeps working.
func TestOverflowRescan(t *testing.T) {
	n := floodSize(t)
	e := newEnv(t, 1)
	root := e.roots[0]
	e.do(t, []string{"mkdirp", "/gone/sub"})
	w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
	if got := w.Stats().Watches; got != 4 {
		t.Fatalf("Watches = %d before, want 4", got)
	}

	w.pauseReader(t)
	names := createFiles(t, root, n)
	e.do(t, []string{"mkdir", "/lost"})
	e.do(t, []string{"rmrf", "/gone"})
	w.resumeReader()

	// The barrier root's events may have been lost too: wait for the
	// overflow first, then use barriers.
	var got []Event
	deadline := time.After(waitTimeout)
	overflowed := map[string]bool{}
	for !overflowed[root] || !overflowed[e.barrier] {
		select {
		case ev := <-events(w):
			got = append(got, ev)
			if ev.Op == OpOverflow {
				if !errors.Is(ev.Err, ErrOverflow) {
					t.Errorf("overflow Err = %v, want ErrOverflow", ev.Err)
				}
				if overflowed[ev.Root] {
					t.Errorf("second overflow for %s", ev.Root)
				}
				overflowed[ev.Root] = true
			}
		case <-deadline:
			t.Fatalf("no OpOverflow for both roots within %v (stats %+v)", waitTimeout, w.Stats())
		}
	}
	got = append(got, e.sync(t, w)...)

	known := make(map[string]bool, n)
	for _, name := range names {
		known[name] = true
	}
	updates := 0
	for _, ev := range got {
		switch {
		case ev.Root == e.barrier:
		case ev.Op == OpOverflow:
		case ev.Op == OpUpdate && known[ev.Path]:
			updates++
		default:
			t.Errorf("unexpected event %v", e.key(ev))
		}
	}
	if updates >= n {
		t.Errorf("all %d files reported: the queue did not overflow", n)
	}
	st := w.Stats()
	if st.Overflows != 1 {
		t.Errorf("Overflows = %d, want 1", st.Overflows)
	}
	// root, barrier, lost; gone and gone/sub dropped.
	if st.Watches != 3 {
		t.Errorf("Watches = %d after the rescan, want 3", st.Watches)
	}

	e.do(t, []string{"write", "/lost/after", "x"})
	e.do(t, []string{"write", "/" + names[0], "x"})
	after := e.sync(t, w)
	if msg := compare(e, []wantEv{{key: evKey{op: OpUpdate, path: "lost/after"}}, {key: evKey{op: OpUpdate, path: names[0]}}}, after); msg != "" {
		t.Errorf("after the overflow:\n%s\ngot:\n%s", msg, e.format(after))
	}
}

// TestSlowConsumerNoOverflow: nobody calls Next while more events than
// the kernel queue holds are produced; the reader drains the fd anyway, so
// nothing overflows and every file is reported.
func TestSlowConsumerNoOverflow(t *testing.T) {
	n := floodSize(t)
	e := newEnv(t, 1)
	w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
	names := createFiles(t, e.roots[0], n)

	waitFor(t, "the reader to read every event", func() bool { return w.Stats().EventsRead >= uint64(2*n) })
	// Nobody called Next yet: all n updates wait.
	if st := w.Stats(); st.MaxBacklog < n {
		t.Errorf("MaxBacklog = %d, want >= %d: the consumer was not behind", st.MaxBacklog, n-16)
	}
	got := e.sync(t, w)
	seen := make(map[string]bool, n)
	for _, ev := range got {
		if ev.Op == OpOverflow {
			t.Fatalf("overflow with a slow consumer: %+v", ev)
		}
		seen[ev.Path] = true
	}
	for _, name := range names {
		if !seen[name] {
			t.Fatalf("%s not reported (%d of %d seen)", name, len(seen), n)
		}
	}
	if st := w.Stats(); st.Overflows != 0 || st.Backlog != 0 {
		t.Errorf("stats after draining: %+v", st)
	}
}

// TestNextKeepsOrderPerPath: Next hands events out in the order they
// happened, however many one call takes: files written and removed in
// turn are reported update, remove, update, ... in that order, whether
// the consumer takes events as they come or all at once afterwards.
func TestNextKeepsOrderPerPath(t *testing.T) {
	const paths, rounds = 20, 10
	var want []Op
	for r := range rounds {
		want = append(want, OpUpdate)
		if r < rounds-1 {
			want = append(want, OpRemove)
		}
	}
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprintf("late=%v", late), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
			if !late {
				events(w) // take events while they happen
			}
			for r := range rounds {
				for i := range paths {
					if err := os.WriteFile(filepath.Join(e.roots[0], fmt.Sprintf("f%02d", i)), []byte{byte(r)}, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if r == rounds-1 {
					break
				}
				for i := range paths {
					if err := os.Remove(filepath.Join(e.roots[0], fmt.Sprintf("f%02d", i))); err != nil {
						t.Fatal(err)
					}
				}
			}
			ops := map[string][]Op{}
			for _, ev := range e.sync(t, w) {
				ops[ev.Path] = append(ops[ev.Path], ev.Op)
			}
			for i := range paths {
				p := fmt.Sprintf("f%02d", i)
				if !slices.Equal(ops[p], want) {
					t.Errorf("%s: ops %v, want %v", p, ops[p], want)
				}
			}
		})
	}
}

// TestInitialWalkCapturesEvents: changes made while New walks the tree, in
// directories already watched and in new ones, are reported.
func TestInitialWalkCapturesEvents(t *testing.T) {
	for _, be := range backends {
		if be.kind == kindFanotify {
			continue // no initial walk: TestFanotifyNoWalk
		}
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			root := e.roots[0]
			for i := range 300 {
				if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("d%03d", i)), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var calls atomic.Int32
			var hundredth atomic.Value
			var hookErr atomic.Value
			tune := testTuning(be.kind)
			tune.onWatch(func(abs string) {
				// Runs on New's goroutine for the first 301 watches.
				var err error
				switch c := calls.Add(1); {
				case c == 1 && abs == root:
					err = os.WriteFile(filepath.Join(root, "early.txt"), nil, 0o644)
				case c == 100:
					hundredth.Store(abs)
				case c == 200:
					if err = os.WriteFile(filepath.Join(hundredth.Load().(string), "mid.txt"), nil, 0o644); err == nil {
						if err = os.Mkdir(filepath.Join(root, "during"), 0o755); err == nil {
							err = os.WriteFile(filepath.Join(root, "during", "f"), nil, 0o644)
						}
					}
				}
				if err != nil {
					hookErr.Store(err)
				}
			})
			w, err := newWatcher(Options{Roots: []string{root, e.barrier}, Inotify: stockToggles, Logger: testLogger(t)}, tune)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = w.Close() })
			if err, _ := hookErr.Load().(error); err != nil {
				t.Fatal(err)
			}
			if c := calls.Load(); c < 301 {
				t.Fatalf("only %d watches added during New", c)
			}
			mid, err := filepath.Rel(root, hundredth.Load().(string))
			if err != nil {
				t.Fatal(err)
			}
			got := e.sync(t, w)
			want := []wantEv{
				{key: evKey{op: OpUpdate, path: "early.txt"}},
				{key: evKey{op: OpUpdate, path: mid + "/mid.txt"}},
				{key: evKey{op: OpUpdate, path: "during", dir: true}},
				{key: evKey{op: OpUpdate, path: "during/f"}},
			}
			if msg := compare(e, want, got); msg != "" {
				t.Errorf("%s\ngot:\n%s", msg, e.format(got))
			}
		})
	}
}

// TestWatchLimit: a watch refused with ENOSPC fails New with an error
// naming the sysctl, and at run time becomes an OpOverflow for the root,
// never a silently unwatched directory. (ENOSPC is injected: lowering
// fs.inotify.max_user_watches would disturb everything else on the host.)
func TestWatchLimit(t *testing.T) {
	for _, be := range backends {
		if be.kind == kindFanotify {
			continue // no watch per directory, no watch limit
		}
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			root := e.roots[0]
			e.do(t, []string{"mkdirp", "/a/b"})
			var fail sync.Map // absolute path -> true
			tune := testTuning(be.kind)
			tune.failWatch(func(abs string) error {
				if _, ok := fail.Load(abs); ok {
					return unix.ENOSPC
				}
				return nil
			})
			opts := Options{Roots: []string{root, e.barrier}, Inotify: stockToggles, Logger: testLogger(t)}

			fail.Store(filepath.Join(root, "a", "b"), true)
			_, err := newWatcher(opts, tune)
			if !errors.Is(err, ErrWatchLimit) || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") {
				t.Fatalf("New = %v, want ErrWatchLimit naming the sysctl", err)
			}

			fail.Clear()
			fail.Store(filepath.Join(root, "new"), true)
			w, err := newWatcher(opts, tune)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = w.Close() })
			e.do(t, []string{"mkdir", "/new"})
			got := e.sync(t, w)
			var overflow bool
			for _, ev := range got {
				if ev.Op == OpOverflow && ev.Root == root && errors.Is(ev.Err, ErrWatchLimit) {
					overflow = true
				}
			}
			if !overflow {
				t.Errorf("no OpOverflow(ErrWatchLimit) for the root; got:\n%s", e.format(got))
			}
			if st := w.Stats(); st.WatchLimitErrors != 1 {
				t.Errorf("WatchLimitErrors = %d, want 1", st.WatchLimitErrors)
			}
		})
	}
}

// TestDebugLines: the original's debug lines, with an empty name for
// nameless events.
func TestDebugLines(t *testing.T) {
	e := newEnv(t, 1)
	root := e.roots[0]
	e.do(t, []string{"mkdir", "/s"})
	var mu sync.Mutex
	var lines []string
	opts := Options{
		Roots:   []string{root, e.barrier},
		Inotify: stockToggles,
		Logger:  testLogger(t),
		Debug: func(l string) {
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		},
	}
	w, err := newWatcher(opts, testTuning(kindInotify))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	e.do(t, []string{"write", "/a.txt", "x"})
	e.do(t, []string{"rmrf", "/s"})
	e.sync(t, w)
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		"add watch: " + root + " return wd is: 1",
		"add watch: " + root + "/s return wd is: 2",
		"add watch: " + e.barrier + " return wd is: 3",
		"inotify wd:1\tname:a.txt\tmask:256",
		"inotify wd:1\tname:a.txt\tmask:8",
		"inotify wd:1\tname:s\tmask:1073742336",
		"inotify wd:2\tname:\tmask:32768",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("missing debug line %q; got:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// TestUnknownAndNameless: events for unknown watch descriptors and
// nameless events create nothing and emit nothing; an IN_Q_OVERFLOW (wd
// -1, no name) is one OpOverflow per root, not a crash.
func TestUnknownAndNameless(t *testing.T) {
	e := newEnv(t, 1)
	e.do(t, []string{"mkdir", "/d"})
	w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
	before := w.Stats().Watches
	w.injectRaw(
		rawEvent{wd: 999, mask: unix.IN_CLOSE_WRITE, name: "ghost"},
		rawEvent{wd: 999, mask: unix.IN_CREATE | unix.IN_ISDIR, name: "ghostdir"},
		rawEvent{wd: 999, mask: unix.IN_IGNORED},
		rawEvent{wd: 1, mask: unix.IN_ATTRIB | unix.IN_ISDIR},
		rawEvent{wd: 2, mask: unix.IN_DELETE_SELF},
		rawEvent{wd: 1, mask: unix.IN_CLOSE_WRITE, name: "real"},
		rawEvent{wd: 1, mask: unix.IN_MOVED_FROM, cookie: 7, name: "nowhere"},
		rawEvent{wd: -1, mask: unix.IN_Q_OVERFLOW},
	)
	got := e.sync(t, w)
	want := []wantEv{
		{key: evKey{op: OpUpdate, path: "real"}},
		{key: evKey{op: OpRemove, path: "nowhere"}},
		{key: evKey{op: OpOverflow}},
	}
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s\ngot:\n%s", msg, e.format(got))
	}
	if st := w.Stats(); st.Watches != before || st.Overflows != 1 {
		t.Errorf("stats %+v, want Watches %d and one overflow", st, before)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    Options
		kinds   []backendKind
		wantErr error  // errors.Is, when set
		wantMsg string // substring
	}{
		{name: "no roots", wantMsg: "no watch root"},
		{name: "relative root", opts: Options{Roots: []string{"data"}}, wantMsg: "not absolute"},
		{name: "nested roots", opts: Options{Roots: []string{dir, sub}}, wantErr: ErrRootOverlap},
		{name: "same root twice", opts: Options{Roots: []string{dir + "/", dir}}, wantErr: ErrRootOverlap},
		{name: "same directory through a symlink", opts: Options{Roots: []string{sub, link}}, kinds: []backendKind{kindInotify, kindFanotify}, wantErr: ErrRootOverlap},
		{name: "missing root", opts: Options{Roots: []string{filepath.Join(dir, "nope")}}, wantErr: os.ErrNotExist},
		{name: "root is a file", opts: Options{Roots: []string{file}}, wantErr: unix.ENOTDIR},
		{name: "bad exclude", opts: Options{Roots: []string{dir}, Filter: confxml.Filter{Enabled: true, Exclude: []string{"(unclosed"}}}, wantMsg: "<filter><exclude> #1: attribute expression: \"(unclosed\""},
	}
	for _, tt := range tests {
		kinds := tt.kinds
		if kinds == nil {
			for _, be := range backends {
				kinds = append(kinds, be.kind)
			}
		}
		for _, kind := range kinds {
			t.Run(tt.name+"/"+map[backendKind]string{kindInotify: "inotify", kindFsnotify: "fsnotify", kindFanotify: "fanotify"}[kind], func(t *testing.T) {
				w, err := newWatcher(tt.opts, testTuning(kind))
				if err == nil {
					_ = w.Close()
					t.Fatal("New succeeded")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				// Config problems are confxml's errors, the rest the watcher's.
				if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "inotifymask: ") && !strings.HasPrefix(err.Error(), "confxml: ") {
					t.Errorf("err = %q, want prefix inotifymask: or confxml: and %q", err, tt.wantMsg)
				}
			})
		}
	}
}

// TestClose: Close returns while the consumer reads nothing, is
// idempotent, and makes Next return ErrClosed, also to a Next waiting.
func TestClose(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			w, err := newWatcher(Options{Roots: []string{root}, Inotify: stockToggles}, testTuning(be.kind))
			if err != nil {
				t.Fatal(err)
			}
			createFiles(t, root, 100)
			waitFor(t, "an event to be read", func() bool { return w.Stats().EventsRead > 0 })
			// A Next that waits: nothing is queued once the first call
			// took everything, unless more came.
			waiting := make(chan error, 1)
			go func() {
				var buf []Event
				var err error
				for err == nil {
					buf, err = w.Next(context.Background(), buf)
				}
				waiting <- err
			}()
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := <-waiting; !errors.Is(err, ErrClosed) {
				t.Errorf("waiting Next after Close: %v, want ErrClosed", err)
			}
			if evs, err := w.Next(context.Background(), nil); !errors.Is(err, ErrClosed) || len(evs) != 0 {
				t.Errorf("Next after Close = %d events, %v; want none, ErrClosed", len(evs), err)
			}
		})
	}
}

// TestWatchesFollowTree: Stats.Watches counts exactly the directories
// watched, across creation, rename and removal.
func TestWatchesFollowTree(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			e.do(t, []string{"mkdirp", "/a/b/c"})
			w := e.watch(t, be.kind, stockToggles, confxml.Filter{})
			check := func(want, lazy int) {
				t.Helper()
				e.sync(t, w)
				if be.kind == kindFanotify {
					// The tree holds the roots and what events named.
					want = lazy
				}
				if got := w.Stats().Watches; got != want {
					t.Errorf("Watches = %d, want %d", got, want)
				}
			}
			check(5, 2) // root, a, a/b, a/b/c, barrier; fanotify: the roots
			e.do(t, []string{"mkdirp", "/x/y"})
			check(7, 4)
			e.do(t, []string{"mv", "/a", "/z"})
			check(7, 4)
			e.do(t, []string{"write", "/z/b/c/f", "1"})
			check(7, 7)
			e.do(t, []string{"rmrf", "/z/b"})
			check(5, 5)
			e.do(t, []string{"mv", "/x", "@/x"})
			check(3, 3)
		})
	}
}

// TestSymlinksNotFollowed: with xfs="true" too, a symlink to a directory
// is never descended into; a root that is a symlink is followed.
func TestSymlinksNotFollowed(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			e.do(t, []string{"mkdirp", "@/od/deeper"})
			e.do(t, []string{"symlink", "@/od", "/lnkdir"})
			e.do(t, []string{"symlink", ".", "/loop"})
			real := t.TempDir()
			rootLink := filepath.Join(t.TempDir(), "rootlink")
			if err := os.Symlink(real, rootLink); err != nil {
				t.Fatal(err)
			}
			opts := Options{Roots: []string{e.roots[0], rootLink, e.barrier}, Inotify: stockToggles, Logger: testLogger(t)}
			w, err := newWatcher(opts, testTuning(be.kind))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = w.Close() })
			if got := w.Stats().Watches; got != 3 {
				t.Errorf("Watches = %d, want 3 (the roots only)", got)
			}
			e.do(t, []string{"write", "@/od/x.txt", "1"})
			e.do(t, []string{"write", "@/od/deeper/y.txt", "1"})
			if err := os.WriteFile(filepath.Join(real, "via-root-link"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			got := e.sync(t, w)
			if len(got) == 0 {
				t.Errorf("nothing reported for a write below the symlinked root")
			}
			for _, ev := range got {
				if ev.Root != rootLink || ev.Path != "via-root-link" || ev.Op != OpUpdate {
					t.Errorf("want only update via-root-link in %s; got %+v", rootLink, ev)
				}
			}
		})
	}
}

// TestCreateWithoutClose: a new file that no IN_CLOSE_WRITE will report (a
// symlink, a hard link) is reported at creation, also when the events are
// read together with those of an earlier file of the same name that was
// created, closed and removed (the lstat is skipped only for a creation
// closed later among the events read).
func TestCreateWithoutClose(t *testing.T) {
	e := newEnv(t, 1)
	w := e.watch(t, kindInotify, stockToggles, confxml.Filter{})
	w.pauseReader(t)
	e.do(t, []string{"write", "/x", "regular first"})
	e.do(t, []string{"rm", "/x"})
	e.do(t, []string{"symlink", "somewhere", "/x"})
	e.do(t, []string{"write", "/y", "regular"})
	e.do(t, []string{"link", "/y", "/z"})
	w.resumeReader()
	ops := map[string][]Op{}
	for _, ev := range e.sync(t, w) {
		ops[ev.Path] = append(ops[ev.Path], ev.Op)
	}
	want := map[string][]Op{"x": {OpUpdate, OpRemove, OpUpdate}, "y": {OpUpdate}, "z": {OpUpdate}}
	for p, ws := range want {
		if !slices.Equal(ops[p], ws) {
			t.Errorf("%s: ops %v, want %v", p, ops[p], ws)
		}
	}
}
