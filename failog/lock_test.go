package failog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/queue"
)

// holdLock takes the failLog's lock through another open file description,
// as another sersync2 would, and returns its release.
func holdLock(t *testing.T, stateDir, failLog string) (release func()) {
	t.Helper()
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(LockFile(stateDir, failLog), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// TestLockHeld: a lock another open file description holds delays Open,
// and the failures recorded meanwhile, by at most LockWait: Open still
// reads the entries of the earlier run and logs an error; Fail returns
// ErrLockBusy at once after one wait ran out, also for eight workers
// failing together (without the backoff they would queue a LockWait
// each); nothing new reaches the file while the lock is held. Once it is
// free, the next change, the next replay or Close writes every entry.
func TestLockHeld(t *testing.T) {
	t.Parallel()
	const wait = 400 * time.Millisecond
	// slack covers a loaded machine; it is far below what the workers
	// would wait one after the other.
	const slack = 1500 * time.Millisecond
	tests := []struct {
		name  string
		write func(t *testing.T, l *Log, clk *clock)
	}{
		{"next change", func(t *testing.T, l *Log, clk *clock) {
			if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("later.txt")}, exitErr(10)); err != nil {
				t.Fatal(err)
			}
		}},
		{"replay", func(t *testing.T, l *Log, clk *clock) {
			clk.Advance(MinInterval)
			if len(l.Due(clk.Now())) == 0 {
				t.Fatal("nothing due")
			}
		}},
		{"close", func(t *testing.T, l *Log, clk *clock) {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, stateDir := t.TempDir(), filepath.Join(t.TempDir(), "state")
			fl := filepath.Join(dir, "rsync_fail_log.sh")
			clk := newClock()
			o := Options{StateDir: stateDir, LockWait: wait, Now: clk.Now}
			earlier, _ := open(t, dir, o, stock("/data"))
			if _, err := earlier.Fail(stock("/data"), queue.Batch{Updates: upd("earlier.txt")}, exitErr(10)); err != nil {
				t.Fatal(err)
			}

			release := holdLock(t, stateDir, fl)
			start := time.Now()
			l, logs := open(t, dir, o, stock("/data"))
			if took := time.Since(start); took < wait || took > wait+slack {
				t.Errorf("Open took %s with the lock held; want the wait, %s", took, wait)
			}
			if s := logs.String(); !strings.Contains(s, "level=ERROR") || !strings.Contains(s, "its lock is held by another process") {
				t.Errorf("no error logged for the held lock:\n%s", s)
			}
			if got := strings.Join(paths(l.Entries()), ","); got != "update earlier.txt" {
				t.Errorf("entries read at Open: %s", got)
			}

			start = time.Now()
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = l.Fail(stock("/data"), queue.Batch{Updates: upd("w" + string(rune('a'+i)))}, exitErr(10))
				})
			}
			wg.Wait()
			if took := time.Since(start); took > slack {
				t.Errorf("eight failures took %s with the lock held", took)
			}
			for _, err := range errs {
				if !errors.Is(err, ErrLockBusy) {
					t.Errorf("Fail with the lock held: %v, want ErrLockBusy", err)
				}
			}
			if err := l.Synced(stock("/data"), queue.Batch{Updates: upd("other")}, clk.Now()); err != nil {
				t.Errorf("Synced that clears nothing, lock held: %v", err)
			}
			if es, _ := Parse([]byte(readFile(t, fl))); len(es) != 1 {
				t.Fatalf("the failLog was written with the lock held: %q", paths(es))
			}
			if st := l.Stats(); st.WriteErrs != 9 || st.Entries != 9 {
				t.Errorf("stats %+v: want 9 failed writes, 9 entries", st)
			}

			release()
			tt.write(t, l, clk)
			es, _ := Parse([]byte(readFile(t, fl)))
			got := strings.Join(paths(es), ",")
			for _, p := range []string{"earlier.txt", "wa", "wh"} {
				if !strings.Contains(got, "update "+p) {
					t.Errorf("%s not in the failLog once the lock is free: %s", p, got)
				}
			}
		})
	}
}

// TestLockPlace: the lock file is in the state directory, mode 0600, and
// nothing is created next to the failLog; without a state directory no
// lock file is made at all; a symbolic link planted as the lock file stops
// Open (O_NOFOLLOW).
func TestLockPlace(t *testing.T) {
	t.Parallel()
	t.Run("state dir", func(t *testing.T) {
		t.Parallel()
		dir, stateDir := t.TempDir(), filepath.Join(t.TempDir(), "state")
		l, _ := open(t, dir, Options{StateDir: stateDir}, stock("/data"))
		if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a")}, exitErr(10)); err != nil {
			t.Fatal(err)
		}
		if got := list(t, dir); strings.Join(got, ",") != "rsync_fail_log.sh" {
			t.Errorf("next to the failLog: %q", got)
		}
		lf := LockFile(stateDir, l.Path())
		if m := mode(t, lf); m != 0o600 {
			t.Errorf("lock file %s mode %04o", lf, m)
		}
		if m := mode(t, stateDir); m != 0o700 {
			t.Errorf("state directory mode %04o", m)
		}
	})
	t.Run("no state dir", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		l, _ := open(t, dir, Options{}, stock("/data"))
		if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a")}, exitErr(10)); err != nil {
			t.Fatal(err)
		}
		if got := list(t, dir); strings.Join(got, ",") != "rsync_fail_log.sh" {
			t.Errorf("next to the failLog: %q", got)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		t.Parallel()
		dir, stateDir := t.TempDir(), t.TempDir()
		target := filepath.Join(t.TempDir(), "elsewhere")
		if err := os.Symlink(target, LockFile(stateDir, filepath.Join(dir, "rsync_fail_log.sh"))); err != nil {
			t.Fatal(err)
		}
		_, err := Open(filepath.Join(dir, "rsync_fail_log.sh"), nil, Options{StateDir: stateDir})
		if !errors.Is(err, syscall.ELOOP) {
			t.Errorf("Open with a symlinked lock file: %v, want ELOOP", err)
		}
		if _, err := os.Lstat(target); !os.IsNotExist(err) {
			t.Errorf("the link's target was created: %v", err)
		}
	})
}

// TestExposed: a failLog in a directory every user may write and reach is
// reported (the stock /tmp, also through a symbolic link), with a warning
// at Open naming a path in the state directory; one below an owner-only
// directory, or in a directory only its owner writes, is not.
func TestExposed(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	// Open the way down to base for others, as /tmp is open.
	for d := base; d != filepath.Dir(d); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkdir := func(p string, perm os.FileMode) string {
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shared := mkdir(filepath.Join(base, "shared"), 0o1777)
	private := mkdir(filepath.Join(base, "private"), 0o755)
	closed := mkdir(filepath.Join(base, "closed"), 0o700)
	sharedInClosed := mkdir(filepath.Join(closed, "shared"), 0o1777)
	link := filepath.Join(base, "link")
	if err := os.Symlink(shared, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		exposed bool
		reason  string
	}{
		{"world-writable", shared, true, shared},
		{"through a link", link, true, shared},
		{"owner writes only", private, false, ""},
		{"world-writable below an owner-only directory", sharedInClosed, false, ""},
		{"missing", filepath.Join(base, "missing"), false, ""},
	}
	if fi, err := os.Stat("/tmp"); err == nil && fi.Mode().Perm()&0o002 != 0 {
		tests = append(tests, struct {
			name    string
			dir     string
			exposed bool
			reason  string
		}{"stock /tmp", "/tmp", true, "/tmp"})
	}
	for _, tt := range tests {
		dir, exposed := Exposed(filepath.Join(tt.dir, "rsync_fail_log.sh"))
		if exposed != tt.exposed || exposed && dir != tt.reason {
			t.Errorf("%s: Exposed = %q, %v; want %v (%q)", tt.name, dir, exposed, tt.exposed, tt.reason)
		}
	}

	stateDir := filepath.Join(t.TempDir(), "state")
	for _, tt := range []struct {
		dir  string
		warn bool
	}{{shared, true}, {private, false}} {
		_, logs := open(t, tt.dir, Options{StateDir: stateDir}, stock("/data"))
		s := logs.String()
		if got := strings.Contains(s, "level=WARN msg=\"failLog in a directory every user may write"); got != tt.warn {
			t.Errorf("%s: warning logged %v, want %v:\n%s", tt.dir, got, tt.warn, s)
		}
		if want := "suggested=" + filepath.Join(stateDir, "rsync_fail_log.sh"); tt.warn && !strings.Contains(s, want) {
			t.Errorf("%s: the warning does not name %s:\n%s", tt.dir, want, s)
		}
	}
}
