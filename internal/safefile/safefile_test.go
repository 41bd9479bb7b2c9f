package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpen: a regular file of this user opens (created when missing); a
// symbolic link, a FIFO and, as root, another user's file are refused with
// their error and left as they were.
func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		plant func(path string) error
		want  error
		root  bool
	}{
		{"new file", func(string) error { return nil }, nil, false},
		{"own file", func(p string) error { return os.WriteFile(p, nil, 0o600) }, nil, false},
		{"symbolic link", func(p string) error { return os.Symlink(target, p) }, ErrSymlink, false},
		{"dangling link", func(p string) error { return os.Symlink(filepath.Join(dir, "none"), p) }, ErrSymlink, false},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }, ErrNotRegular, false},
		{"another user's file", func(p string) error {
			if err := os.WriteFile(p, nil, 0o666); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		}, ErrNotOwn, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
					t.Fatal("needs root to chown (SERSYNC_TEST_NO_SKIP=1)")
				}
				t.Skip("needs root to chown")
			}
			p := filepath.Join(t.TempDir(), "f")
			if err := tt.plant(p); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if f != nil {
				f.Close()
			}
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if tt.want == ErrSymlink && !errors.Is(err, syscall.ELOOP) {
				t.Errorf("%v does not wrap ELOOP", err)
			}
		})
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "none")); err == nil {
		t.Error("the dangling link's target was created")
	}
}
