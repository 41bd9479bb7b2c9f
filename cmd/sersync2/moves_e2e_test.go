package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// inodes returns the inode number of every regular file below root, by
// relative path.
func inodes(t *testing.T, root string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out[rel] = fi.Sys().(*syscall.Stat_t).Ino
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestE2ESSHMoves: over ssh, a populated directory and files with hostile
// names are renamed, then a directory replaces another one (rm -rf t; mv a
// t: the remote t is not empty, so that move fails and the runs send
// it). The mirror ends equal every time and no name runs as a command;
// the renamed files keep their remote inodes (renamed there, not sent
// again: rsync writes a new file and renames it into place) and the
// metrics count the moves.
func TestE2ESSHMoves(t *testing.T) {
	t.Parallel()
	work, src, dst, c := sshSetup(t)
	names := hostileNames(t)
	for i := range 30 {
		writeFile(t, filepath.Join(src, "old dir", "s", "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), strings.Repeat("d", 4096+i))
	}
	for _, n := range names {
		writeFile(t, filepath.Join(src, "files", n), "file "+n)
	}
	// Sizes differ: files of one size and second written to the same
	// name would pass rsync's quick check (size and time) as unchanged.
	writeFile(t, filepath.Join(src, "a", "one"), "a's one")
	writeFile(t, filepath.Join(src, "a", "two"), "a's two")
	writeFile(t, filepath.Join(src, "t", "one"), "t one")
	writeFile(t, filepath.Join(src, "t", "two"), "t two")
	// --min-delay gathers each step's changes in one batch, as a burst
	// would be. Over ssh with deletion on a remote has one queue by
	// default, so a rename from one top-level entry to another has its
	// two sides in one batch.
	p := startSersync(t, work, "-r", "--min-delay", "300ms", "--status-addr", "127.0.0.1:0", "-o", writeConf(t, work, c))
	p.waitReady(t)
	waitTreesEqual(t, src, dst, treecmp.Options{})
	addr := p.statusAddr(t)
	before := inodes(t, dst)

	newDir := "new dir $(touch PWNED); -x"
	if err := os.Rename(filepath.Join(src, "old dir"), filepath.Join(src, newDir)); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(src, "files", n), filepath.Join(src, "files", "renamed "+n)); err != nil {
			t.Fatal(err)
		}
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	hostile.NoPWNED(t, src, dst, work)
	after := inodes(t, dst)
	for rel, ino := range before {
		to := strings.Replace(rel, "old dir", newDir, 1)
		if d, n := filepath.Split(rel); d == "files/" {
			to = d + "renamed " + n
		}
		if rel == to {
			continue
		}
		if after[to] != ino {
			t.Errorf("%q: remote inode %d, was %d as %q: sent again instead of renamed", to, after[to], ino, rel)
		}
	}
	// The batch is counted just after its runs end.
	poll.Until(t, 10*time.Second, "the moves in the metrics", func() (bool, string) {
		v, _ := scrape(t, addr).value("sersync2_remote_moves_total", "result", "done")
		return v >= float64(1+len(names)), fmt.Sprintf("sersync2_remote_moves_total{result=done} = %v, want at least %d", v, 1+len(names))
	})

	// rm -rf t; mv a t: the remote t still holds t's files when the move
	// runs (in the same batch), so mv -T fails and the runs mirror.
	if err := os.RemoveAll(filepath.Join(src, "t")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "a"), filepath.Join(src, "t")); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	hostile.NoPWNED(t, src, dst, work)
}
