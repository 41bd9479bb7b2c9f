package mnt

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Skip skips tb with msg, or fails it under SERSYNC_TEST_NO_SKIP=1.
func Skip(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
		tb.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
	}
	tb.Skip(msg)
}

// Tmpfs mounts a new tmpfs on dir. Each one is a new file system.
func Tmpfs(tb testing.TB, dir string) {
	tb.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		Skip(tb, fmt.Sprintf("mounting a tmpfs needs CAP_SYS_ADMIN: %v", err))
	}
	cleanup(tb, dir)
}

// Ramfs mounts a new ramfs on dir: a file system that gives no file
// handles, so fanotify cannot watch it.
func Ramfs(tb testing.TB, dir string) {
	tb.Helper()
	if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		Skip(tb, fmt.Sprintf("mounting a ramfs needs CAP_SYS_ADMIN: %v", err))
	}
	cleanup(tb, dir)
}

// Bind bind-mounts src on dir: the same file system as src's.
func Bind(tb testing.TB, src, dir string) {
	tb.Helper()
	if err := unix.Mount(src, dir, "", unix.MS_BIND, ""); err != nil {
		Skip(tb, fmt.Sprintf("bind mounting needs CAP_SYS_ADMIN: %v", err))
	}
	cleanup(tb, dir)
}

// Image is an ext4 file system in a file, to loop-mount.
type Image string

// NewImage makes an empty ext4 image of size MiB in a temporary
// directory.
func NewImage(tb testing.TB, size int) Image {
	tb.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		Skip(tb, "mkfs.ext4 (e2fsprogs) is not installed")
	}
	img := filepath.Join(tb.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Truncate(img, int64(size)<<20); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		tb.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	return Image(img)
}

// Mount loop-mounts the image on dir; the loop device goes away at the
// unmount.
func (img Image) Mount(tb testing.TB, dir string) {
	tb.Helper()
	if out, err := exec.Command("mount", "-o", "loop", string(img), dir).CombinedOutput(); err != nil {
		Skip(tb, fmt.Sprintf("loop mounting an ext4 image needs CAP_SYS_ADMIN and /dev/loop-control: %v: %s", err, out))
	}
	// The new root directory belongs to root with mode 0755, lost+found
	// in it: leave it so, the callers clean what they need.
	cleanup(tb, dir)
}

// Unmount unmounts dir. A process may hold the file system for a moment
// (a daemon's look at it): a busy one is tried again for up to 10 s.
func Unmount(tb testing.TB, dir string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := unix.Unmount(dir, 0)
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			tb.Fatalf("unmount %s: %v", dir, err)
		}
		<-tick.C
	}
}

// cleanup unmounts dir at the end of the test when a mount is still
// there (lazily: a process of the test may still be in it).
func cleanup(tb testing.TB, dir string) {
	tb.Cleanup(func() {
		for {
			err := unix.Unmount(dir, unix.MNT_DETACH)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				return // nothing (more) mounted there
			}
			if err != nil {
				tb.Errorf("unmount %s: %v", dir, err)
				return
			}
		}
	})
}
