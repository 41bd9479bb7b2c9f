package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
)

// queueFillsMoves reports whether the queue puts a rename into
// Batch.Moves. Until it does, the batches carry no moves and renames over
// ssh send their data again; the assertions that need moves are skipped.
func queueFillsMoves(t *testing.T) bool {
	t.Helper()
	q := queue.New("/probe", queue.Options{})
	defer q.Close()
	q.Add(inotifymask.Event{Root: "/probe", OldPath: "a", Path: "b", Op: inotifymask.OpRename})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := q.Next(ctx)
	if err != nil {
		t.Fatalf("queue probe: %v", err)
	}
	return len(b.Moves) > 0
}

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
// it). The mirror ends equal every time and no name runs as a command.
// Once the queue fills Batch.Moves, the renamed files must also keep
// their remote inodes (renamed there, not sent again: rsync writes a new
// file and renames it into place) and the metrics must count the moves.
func TestE2ESSHMoves(t *testing.T) {
	t.Parallel()
	moves := queueFillsMoves(t)
	if !moves {
		t.Log("the queue does not fill Batch.Moves yet: only the mirror is checked, not that the data stayed on the remote")
	}
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
	// One queue and --min-delay gather each step's changes in one batch,
	// as a burst would be: a rename from one top-level entry to another
	// has its two sides in one queue only with a single queue (or once
	// the queue routes renames so).
	p := startSersync(t, work, "-r", "--queues", "1", "--min-delay", "300ms", "--status-addr", "127.0.0.1:0", "-o", writeConf(t, work, c))
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
	if moves {
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
	}

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
