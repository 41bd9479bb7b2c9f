package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// waitTimeout bounds every wait for events.
const waitTimeout = 20 * time.Second

// testTuning is the tuning the tests use for a backend.
func testTuning(kind backendKind) tuning {
	t := defaultTuning()
	t.kind = kind
	t.quiet = 20 * time.Millisecond
	t.rootPoll = 5 * time.Millisecond
	t.retryWait = 5 * time.Millisecond
	t.read = gatedRead
	return t
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// streams holds, per watcher, the channel events fetches into.
var streams sync.Map // *Watcher -> chan Event

// events returns a channel that receives w's events one at a time, so
// tests can wait for one with a timeout. The goroutine feeding it calls
// Next until the watcher is closed, then closes the channel.
func events(w *Watcher) <-chan Event {
	if ch, ok := streams.Load(w); ok {
		return ch.(chan Event)
	}
	ch := make(chan Event)
	if prev, loaded := streams.LoadOrStore(w, ch); loaded {
		return prev.(chan Event)
	}
	go func() {
		defer close(ch)
		defer streams.Delete(w)
		var buf []Event
		for {
			var err error
			buf, err = w.Next(context.Background(), buf)
			if errors.Is(err, ErrClosed) {
				return
			}
			for _, ev := range buf {
				select {
				case ch <- ev:
				case <-w.done:
					return
				}
			}
		}
	}()
	return ch
}

// env is a set of watch roots, an outside directory and a barrier root.
type env struct {
	roots   []string
	outside string
	barrier string
	nbar    int
}

func newEnv(t *testing.T, nroots int) *env {
	t.Helper()
	e := &env{outside: t.TempDir(), barrier: t.TempDir()}
	for range nroots {
		e.roots = append(e.roots, t.TempDir())
	}
	return e
}

// path maps a fixture path: "/x" is in the first root, "N:/x" in root N,
// "@/x" in the outside directory.
func (e *env) path(t *testing.T, tok string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(tok, "@/"):
		return e.outside + tok[1:]
	case strings.HasPrefix(tok, "/"):
		return e.roots[0] + tok
	}
	if i := strings.Index(tok, ":/"); i > 0 {
		n, err := strconv.Atoi(tok[:i])
		if err == nil && n >= 1 && n <= len(e.roots) {
			return e.roots[n-1] + tok[i+1:]
		}
	}
	t.Fatalf("bad path %q (want /x, N:/x or @/x)", tok)
	return ""
}

// watch starts a watcher on e's roots plus the barrier root.
func (e *env) watch(t *testing.T, kind backendKind, tog confxml.Inotify, flt confxml.Filter) *Watcher {
	t.Helper()
	return e.watchTuned(t, testTuning(kind), tog, flt)
}

// watchTuned is watch with the tuning given.
func (e *env) watchTuned(t *testing.T, tune tuning, tog confxml.Inotify, flt confxml.Filter) *Watcher {
	t.Helper()
	opts := Options{
		Roots:   append(append([]string(nil), e.roots...), e.barrier),
		Inotify: tog,
		Filter:  flt,
		Logger:  testLogger(t),
	}
	w, err := newWatcher(opts, tune)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

// waitFor polls cond until it holds, failing after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		<-tick.C
	}
}

// sync returns every event up to now (barrier root excluded): a symlink
// created in the barrier root is reported whatever the toggles, and
// after everything that happened before it. For fsnotify's quiet-period
// writes it also waits until none is pending, then sets a second barrier.
func (e *env) sync(t *testing.T, w *Watcher) []Event {
	t.Helper()
	got := e.barrierWait(t, w, nil)
	// Events emitted meanwhile wait in the unbounded queue: no need to
	// read while polling.
	waitFor(t, "the backend to be idle", w.idle)
	return e.barrierWait(t, w, got)
}

func (e *env) barrierWait(t *testing.T, w *Watcher, got []Event) []Event {
	t.Helper()
	e.nbar++
	name := fmt.Sprintf("barrier-%d", e.nbar)
	if err := os.Symlink("x", filepath.Join(e.barrier, name)); err != nil {
		t.Fatal(err)
	}
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-events(w):
			if !ok {
				t.Fatal("events closed")
			}
			if ev.Root != e.barrier {
				got = append(got, ev)
				continue
			}
			if ev.Path == name {
				return got
			}
		case <-timeout.C:
			t.Fatalf("barrier %s not seen within %v; events so far:\n%s", name, waitTimeout, e.format(got))
		}
	}
}

// format renders events in fixture syntax.
func (e *env) format(evs []Event) string {
	var sb strings.Builder
	for _, ev := range evs {
		sb.WriteString("\t" + e.key(ev).String() + "\n")
	}
	return sb.String()
}

// key reduces an event to what fixtures compare.
func (e *env) key(ev Event) evKey {
	root := -1
	for i, r := range e.roots {
		if r == ev.Root {
			root = i
		}
	}
	return evKey{op: ev.Op, root: root, path: ev.Path, old: ev.OldPath, dir: ev.Dir}
}

// evKey is an event as fixtures write it.
type evKey struct {
	op   Op
	root int
	path string
	old  string
	dir  bool
}

func (k evKey) fpath(rel string) string {
	s := "/" + rel
	if k.dir && rel != "" {
		s += "/"
	}
	if k.root > 0 {
		s = strconv.Itoa(k.root+1) + ":" + s
	}
	if k.root < 0 {
		s = "?:" + s
	}
	q := strconv.Quote(s)
	if q[1:len(q)-1] != s || strings.ContainsAny(s, " #") {
		return q
	}
	return s
}

func (k evKey) String() string {
	switch k.op {
	case OpRename:
		return "rename " + k.fpath(k.old) + " " + k.fpath(k.path)
	case OpOverflow:
		return "overflow " + k.fpath("")
	}
	return k.op.String() + " " + k.fpath(k.path)
}

// do runs one scripted file operation.
func (e *env) do(t *testing.T, args []string) {
	t.Helper()
	need := func(n int) {
		t.Helper()
		if len(args) != n+1 {
			t.Fatalf("%s wants %d arguments, got %q", args[0], n, args[1:])
		}
	}
	var err error
	switch args[0] {
	case "write": // write PATH TEXT: create or truncate, write, close
		need(2)
		err = os.WriteFile(e.path(t, args[1]), []byte(args[2]), 0o644)
	case "append": // append PATH TEXT
		need(2)
		var f *os.File
		if f, err = os.OpenFile(e.path(t, args[1]), os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_, err = f.WriteString(args[2])
			err = closeAfter(f, err)
		}
	case "create", "reopen", "truncate": // open (O_CREAT / plain / O_TRUNC) and close
		need(1)
		flag := map[string]int{"create": os.O_CREATE, "reopen": 0, "truncate": os.O_TRUNC}[args[0]]
		var f *os.File
		if f, err = os.OpenFile(e.path(t, args[1]), os.O_WRONLY|flag, 0o644); err == nil {
			err = f.Close()
		}
	case "truncate2": // truncate2 PATH SIZE: truncate(2), no open
		need(2)
		var n int64
		if n, err = strconv.ParseInt(args[2], 10, 64); err == nil {
			err = os.Truncate(e.path(t, args[1]), n)
		}
	case "utime":
		need(1)
		ts := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		err = os.Chtimes(e.path(t, args[1]), ts, ts)
	case "chmod": // chmod PATH OCTAL
		need(2)
		var m uint64
		if m, err = strconv.ParseUint(args[2], 8, 32); err == nil {
			err = os.Chmod(e.path(t, args[1]), os.FileMode(m))
		}
	case "mkdir":
		need(1)
		err = os.Mkdir(e.path(t, args[1]), 0o755)
	case "mkdirp":
		need(1)
		err = os.MkdirAll(e.path(t, args[1]), 0o755)
	case "cpr": // cpr SRC DST: cp -r
		need(2)
		err = copyTree(e.path(t, args[1]), e.path(t, args[2]))
	case "mv":
		need(2)
		err = os.Rename(e.path(t, args[1]), e.path(t, args[2]))
	case "rm":
		need(1)
		err = os.Remove(e.path(t, args[1]))
	case "rmrf":
		need(1)
		err = os.RemoveAll(e.path(t, args[1]))
	case "symlink": // symlink TARGET PATH; TARGET is literal unless it starts with @/
		need(2)
		target := args[1]
		if strings.HasPrefix(target, "@/") {
			target = e.path(t, target)
		}
		err = os.Symlink(target, e.path(t, args[2]))
	case "link": // link OLD NEW: hard link
		need(2)
		err = os.Link(e.path(t, args[1]), e.path(t, args[2]))
	case "mkfifo":
		need(1)
		err = unix.Mkfifo(e.path(t, args[1]), 0o644)
	default:
		t.Fatalf("unknown operation %q", args[0])
	}
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
}

func closeAfter(f *os.File, err error) error {
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyTree copies src to dst like cp -r: each directory is created
// before what is in it.
func copyTree(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		if err := os.Mkdir(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		ents, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return closeAfter(out, err)
}

// mountT mounts a file system of fstype on dir, skipping the test (or
// failing it under SERSYNC_TEST_NO_SKIP=1) when the process may not.
func mountT(t *testing.T, fstype, dir, data string) {
	t.Helper()
	if err := unix.Mount(fstype, dir, fstype, 0, data); err != nil {
		msg := fmt.Sprintf("mounting a %s needs CAP_SYS_ADMIN: %v", fstype, err)
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
		}
		t.Skip(msg)
	}
}
