package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// TestE2EParentSwappedForSymlink: a synced directory is written into and
// at once swapped for a symlink to a directory outside the watch root that
// holds files of the same names (with a secret) and one name found only
// there; a batch cut between the writes and the swap names paths below
// what is a symlink by the time it runs. Repeated over hostile names, with
// the swap right after one to six rounds of writes. No
// file from outside reaches the remote, and the mirror ends equal to the
// source, each swapped name a symlink there too.
func TestE2EParentSwappedForSymlink(t *testing.T) {
	t.Parallel()
	if help, _ := exec.Command("rsync", "--help").Output(); !bytes.Contains(help, []byte("--confine-root=")) {
		// Without it the parent check still runs, but a swap between the
		// check and rsync reading the path is not caught.
		msg := "rsync has no --confine-root: the swap race stays open"
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
		}
		t.Skip(msg)
	}
	src, dst, d, p := setup(t, confgen.Config{})
	p.waitReady(t)
	const secret = "SECRET-OUTSIDE-THE-ROOT"
	outside, trash := t.TempDir(), t.TempDir()
	const rounds = 6
	writeFile(t, filepath.Join(outside, "secret.txt"), secret)
	for j := range rounds {
		for _, n := range []string{"deep.txt", "only-outside.txt"} {
			writeFile(t, filepath.Join(outside, fmt.Sprint("sub", j), n), secret+" "+n)
		}
	}

	names := hostileNames(t)
	var swapped []string
	for i := range 40 {
		name := fmt.Sprintf("%s-%d", names[i%len(names)], i)
		dir := filepath.Join(src, name)
		writeFile(t, filepath.Join(dir, "secret.txt"), "inside")
		waitTreesEqual(t, src, dst, treecmp.Options{Skip: skipNames(swapped)})

		// Writes and new directories below the synced directory, then the
		// swap; the number of rounds varies where the swap falls among the
		// batches. A new directory is sent with its content: leaked, that
		// is the name found only outside.
		for j := range 1 + i%rounds {
			writeFile(t, filepath.Join(dir, "secret.txt"), fmt.Sprint("inside ", j))
			writeFile(t, filepath.Join(dir, fmt.Sprint("sub", j), "deep.txt"), fmt.Sprint("inside ", j))
		}
		if err := os.Rename(dir, filepath.Join(trash, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, dir); err != nil {
			t.Fatal(err)
		}
		swapped = append(swapped, name)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{Skip: skipNames(swapped)})
	// The daemon (no chroot) strips a symlink's target of what leads out
	// of the module, so only the kind of the swapped names is compared.
	poll.Until(t, 30*time.Second, "every swapped name to be a symlink on the remote", func() (bool, string) {
		for _, n := range swapped {
			fi, err := os.Lstat(filepath.Join(dst, n))
			if err != nil || fi.Mode().Type() != fs.ModeSymlink {
				return false, fmt.Sprintf("%q: %v %v", n, fi, err)
			}
		}
		return true, ""
	})
	err := filepath.WalkDir(dst, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("a file from outside the root is on the remote: %q", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A leaked file may have been deleted again by the swap's own sync; the
	// daemon's transfer log keeps the name found only outside.
	log, err := os.ReadFile(d.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d swaps; rsync refused a path resolving outside the root %d times (the swap fell between the check and rsync)",
		len(swapped), strings.Count(p.stderr.String(), "Too many levels of symbolic links"))
	var leaked []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "recv ") && strings.Contains(l, "only-outside.txt") {
			leaked = append(leaked, l)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("the daemon received files found only outside the root:\n%s", strings.Join(leaked, "\n"))
	}
}

// skipNames leaves the given top-level names out of a tree comparison.
func skipNames(names []string) func(string, bool) bool {
	return func(rel string, _ bool) bool {
		for _, n := range names {
			if rel == n {
				return true
			}
		}
		return false
	}
}
