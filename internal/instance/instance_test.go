package instance

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// needRoot skips a test that needs root, or fails it when
// SERSYNC_TEST_NO_SKIP=1.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
		t.Fatalf("needs root: %s (SERSYNC_TEST_NO_SKIP=1)", why)
	}
	t.Skipf("needs root: %s", why)
}

// TestLockDirFor: root's lock directory is /run/sersync2, which only root
// can write; another user's is the private runtime directory when there
// is one, else the shared /run/lock or the temporary directory.
func TestLockDirFor(t *testing.T) {
	t.Parallel()
	yes := func(string) bool { return true }
	no := func(string) bool { return false }
	tests := []struct {
		name       string
		euid       int
		runtimeDir string
		writable   func(string) bool
		want       string
	}{
		{"root", 0, "/run/user/0", yes, "/run/sersync2"},
		{"user with a runtime directory", 1000, "/run/user/1000", yes, "/run/user/1000/sersync2"},
		{"user without", 1000, "", yes, "/run/lock"},
		{"user with a relative runtime directory", 1000, "run", yes, "/run/lock"},
		{"user without, /run/lock not writable", 1000, "", no, os.TempDir()},
	}
	for _, tt := range tests {
		if got := lockDirFor(tt.euid, tt.runtimeDir, tt.writable); got != tt.want {
			t.Errorf("%s: lockDirFor = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestRootLockDefault: as root the lock directory is /run/sersync2, and a
// missing lock directory is made with mode 0755.
func TestRootLockDefault(t *testing.T) {
	needRoot(t, "the default lock directory of root")
	t.Parallel()
	if d := DefaultLockDir(); d != "/run/sersync2" {
		t.Errorf("DefaultLockDir = %q, want /run/sersync2", d)
	}
	dir := filepath.Join(t.TempDir(), "run", "sersync2")
	unlock, err := Lock(dir, filepath.Join(t.TempDir(), "c.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("lock directory made with mode %04o, want 0755", fi.Mode().Perm())
	}
}

// TestLockAndPidFileRefusePlanted: what another user may have put where
// the lock file or the pid file goes (a symbolic link, a FIFO, a file of
// their own) is refused with an error saying what it is, and left as it
// was: a link's target is not truncated or written.
func TestLockAndPidFileRefusePlanted(t *testing.T) {
	t.Parallel()
	const precious = "precious content\n"
	files := map[string]func(t *testing.T, dir string) (path string, open func() error){
		"lock": func(t *testing.T, dir string) (string, func() error) {
			conf := filepath.Join(dir, "c.xml")
			path, err := lockPath(dir, conf)
			if err != nil {
				t.Fatal(err)
			}
			return path, func() error {
				unlock, err := Lock(dir, conf)
				if err == nil {
					unlock()
				}
				return err
			}
		},
		"pid file": func(t *testing.T, dir string) (string, func() error) {
			path := filepath.Join(dir, "sersync2.pid")
			return path, func() error {
				remove, err := WritePidFile(path)
				if err == nil {
					remove()
				}
				return err
			}
		},
	}
	plants := []struct {
		name  string
		root  bool // chown needs root
		plant func(t *testing.T, path, target string)
		err   string
	}{
		{"symbolic link", false, func(t *testing.T, path, target string) {
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link; it is not followed"},
		{"FIFO", false, func(t *testing.T, path, _ string) {
			if err := syscall.Mkfifo(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}, "is not a regular file"},
		{"another user's file", true, func(t *testing.T, path, _ string) {
			if err := os.WriteFile(path, []byte(precious), 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534, not to this user"},
	}
	for what, setup := range files {
		for _, p := range plants {
			t.Run(what+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				if p.root {
					needRoot(t, "a file of another user")
				}
				dir := t.TempDir()
				target := filepath.Join(t.TempDir(), "target")
				if err := os.WriteFile(target, []byte(precious), 0o644); err != nil {
					t.Fatal(err)
				}
				path, open := setup(t, dir)
				p.plant(t, path, target)
				before, _ := os.Lstat(path)
				err := open()
				if err == nil || !strings.Contains(err.Error(), path+" "+p.err) {
					t.Fatalf("err = %v, want %q", err, path+" "+p.err)
				}
				if b, _ := os.ReadFile(target); string(b) != precious {
					t.Errorf("the link's target now holds %q", b)
				}
				after, err := os.Lstat(path)
				if err != nil || !os.SameFile(before, after) || after.Size() != before.Size() {
					t.Errorf("the planted %s was changed or removed (%v)", p.name, err)
				}
			})
		}
	}
}

// TestPidFile: the pid file holds our pid, whatever an older one of ours
// held, and is removed at the end only while it is still the file written.
func TestPidFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sersync2.pid")
	if err := os.WriteFile(path, []byte("123456789012\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	remove, err := WritePidFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("pid file holds %q", b)
	}
	remove()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("pid file not removed: %v", err)
	}

	remove, err = WritePidFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Another process replaced it meanwhile.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	remove()
	if b, _ := os.ReadFile(path); string(b) != "1\n" {
		t.Fatalf("another process's pid file was removed or changed: %q", b)
	}
}
