package inotifymask

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sersync-go/sersync2/internal/mnt"
	"github.com/sersync-go/sersync2/rootid"
)

// watchChecked starts a raw inotify watcher on e's roots and barrier
// with check as Options.RootCheck.
func (e *env) watchChecked(t *testing.T, check func(string) error) *Watcher {
	t.Helper()
	w, err := newWatcher(Options{
		Roots:     append(append([]string(nil), e.roots...), e.barrier),
		Inotify:   stockToggles,
		Logger:    testLogger(t),
		RootCheck: check,
	}, testTuning(kindInotify))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// TestRootCheck: with a RootCheck (here the real rootid.Tracker), a root
// that is not its recorded file system is not watched, whether the
// watcher starts on the bare mount point, the file system is mounted over
// a watched directory (no event tells) or the caller says so; once the
// check passes the root is watched again on the file system now there,
// and reported back once.
func TestRootCheck(t *testing.T) {
	img := mnt.NewImage(t, 8)
	tests := []struct {
		name string
		// before runs before the watcher starts, during while it runs; the
		// root must then be missing, and after brings it back.
		before, during, after func(t *testing.T, w *Watcher, root string)
	}{
		{
			name: "started on the bare mount point",
			before: func(t *testing.T, w *Watcher, root string) {
				mnt.Unmount(t, root)
			},
			during: func(t *testing.T, w *Watcher, root string) {},
			after:  func(t *testing.T, w *Watcher, root string) { img.Mount(t, root) },
		},
		{
			name:   "another file system mounted over the watched root",
			before: func(t *testing.T, w *Watcher, root string) {},
			during: func(t *testing.T, w *Watcher, root string) { mnt.Tmpfs(t, root) },
			after:  func(t *testing.T, w *Watcher, root string) { mnt.Unmount(t, root) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, 1)
			root := e.roots[0]
			img.Mount(t, root)
			tr, err := rootid.Open("", []string{root}, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Check(root); err != nil {
				t.Fatal(err)
			}
			tt.before(t, nil, root)
			w := e.watchChecked(t, tr.Check)
			tt.during(t, w, root)
			waitFor(t, "the root to be missing", func() bool { return len(w.Stats().Missing) == 1 })
			if m := w.Stats().Missing[0]; m.Root != root || m.Reason == "" || m.Since.IsZero() {
				t.Errorf("missing root %+v", m)
			}
			// Nothing written at the path while the root is absent is
			// reported.
			name := filepath.Join(root, "while-absent")
			if err := os.WriteFile(name, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, ev := range e.sync(t, w) {
				if ev.Root == root {
					t.Errorf("while absent: %v", e.key(ev))
				}
			}
			if err := os.Remove(name); err != nil {
				t.Fatal(err)
			}
			tt.after(t, w, root)
			backOnce(t, e, w)
		})
	}
	// A root the caller found absent (its own check failed, for however
	// short a time) is dropped and walked again, and reported back.
	t.Run("the caller found it absent", func(t *testing.T) {
		e := newEnv(t, 1)
		img.Mount(t, e.roots[0])
		tr, err := rootid.Open("", e.roots, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		w := e.watchChecked(t, tr.Check)
		w.RootAbsent(e.roots[0], "found absent by the caller")
		backOnce(t, e, w)
	})
}

// backOnce waits for e's first root to be reported back, then shows that
// it is watched where it is now, and was reported back only once.
func backOnce(t *testing.T, e *env, w *Watcher) {
	t.Helper()
	root := e.roots[0]
	waitEvent(t, w, "the root to come back", returned(root))
	if m := w.Stats().Missing; len(m) != 0 {
		t.Errorf("still missing: %+v", m)
	}
	checkOK(t, w)
	e.do(t, []string{"write", "/back", "x"})
	evs := e.sync(t, w)
	if !updated(e, evs, 0)["back"] {
		t.Errorf("a file written in the returned root was not reported: %s", e.format(evs))
	}
	for _, ev := range evs {
		if returned(root)(ev) {
			t.Error("the root was reported back twice")
		}
	}
}
