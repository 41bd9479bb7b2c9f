package rsyncexec

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/sshd"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
)

// TestDirUpdateKeepsExcluded sends a directory renamed or moved into the
// root, holding hostile names the filter excludes and does not exclude
// (files, an excluded directory with content, a .git directory), to a
// daemon, a local target and over ssh: what the filter excludes never
// arrives, the rest does. Then the same directory replaced (removed and
// created again): the remove run deletes the old directory's remote
// content (a remote-only excluded path too, as for a removed directory),
// but neither sends the excluded files nor deletes the remote's copy of a
// path excluded here. Last, the failLog's by-hand command for another such
// directory, run through sh as an operator would, sends no excluded file
// either.
func TestDirUpdateKeepsExcluded(t *testing.T) {
	targets := []struct {
		name string
		tgt  func(t *testing.T) (Target, string)
	}{
		{"daemon", func(t *testing.T) (Target, string) { tgt, dst, _ := daemonTarget(t); return tgt, dst }},
		{"local", localTarget},
		{"ssh", func(t *testing.T) (Target, string) { return sshTarget(t, sshd.StartT(t)) }},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			tgt, dst := tc.tgt(t)
			tgt.Exclude = tmpOrGit
			dirFilterScenario(t, tgt, dst)
		})
	}
}

func dirFilterScenario(t *testing.T, tgt Target, dst string) {
	names := hostileNames(t)
	src := tgt.Root
	populate := func(dir string) {
		for _, n := range names {
			writeFile(t, src, dir+"/"+n, "kept "+n)
			writeFile(t, src, dir+"/sub/"+n, "kept "+n)
			writeFile(t, src, dir+"/"+n+".tmp", "excluded "+n)
			writeFile(t, src, dir+"/sub/"+n+".tmp", "excluded "+n)
			writeFile(t, src, dir+"/"+n+".tmp.d/"+n, "excluded directory "+n) // kept name below an excluded one
			writeFile(t, src, dir+"/.git/"+n, "excluded .git "+n)
		}
	}
	moved := "moved [x]* $(touch PWNED)"
	populate(moved)
	r := NewRunner("rsync", 3, nil)
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		treecmp.EqualT(t, src, dst, treecmp.Options{Skip: tmpOrGit})
		noneExcludedIn(t, when, dst, tmpOrGit)
	}

	if res := r.Run(ctx, tgt, queue.Batch{Updates: dirs(moved)}, RunOptions{}); res.Err != nil {
		t.Fatalf("update: %v", res.Err)
	}
	check("update")

	writeFile(t, dst, moved+"/stale", "remote only")
	writeFile(t, dst, moved+"/remote.tmp", "remote only, excluded")
	kept := moved + "/" + names[0] + ".tmp"
	writeFile(t, dst, kept, "remote copy")
	replaced := queue.Entry{Path: moved, Dir: true, Replaced: true}
	if res := r.Run(ctx, tgt, queue.Batch{Updates: []queue.Entry{replaced}}, RunOptions{}); res.Err != nil {
		t.Fatalf("replaced: %v", res.Err)
	}
	for _, p := range []string{"stale", "remote.tmp"} {
		if exists(t, filepath.Join(dst, moved, p)) {
			t.Errorf("%q of the replaced directory is still on the remote", p)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dst, kept)); err != nil || string(got) != "remote copy" {
		t.Errorf("remote copy of a path excluded here = %q, %v; want it kept as it was", got, err)
	}
	os.Remove(filepath.Join(dst, kept))
	check("replaced")

	byHand := "by hand -x"
	populate(byHand)
	cmd := Commands(tgt, dirs(byHand), nil, 1)[0].String()
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("by hand: %v\n%s\n%s", err, cmd, out)
	}
	check("by hand")
	hostile.NoPWNED(t, src, dst)
}

// noneExcludedIn fails the test for every path below dst that exclude
// excludes.
func noneExcludedIn(t *testing.T, when, dst string, exclude func(string, bool) bool) {
	t.Helper()
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dst {
			return err
		}
		rel, err := filepath.Rel(dst, p)
		if err != nil {
			return err
		}
		if exclude(filepath.ToSlash(rel), d.IsDir()) {
			t.Errorf("%s: %q reached the target", when, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
