package rsyncexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sersync-go/sersync2/queue"
)

// TestPresentGuardsEveryRun: RunOptions.Present is asked before every
// process of a batch; once it refuses, nothing more starts, the remote
// keeps what it had (no deletion, no transfer) and the error wraps
// ErrNotPresent. "after n" lets the first n processes run: a filtered full
// sync's dry run passes, then its deleting run is refused.
func TestPresentGuardsEveryRun(t *testing.T) {
	t.Parallel()
	gone := errors.New("the bare mount point")
	tests := []struct {
		name   string
		filter bool
		batch  queue.Batch
		allow  int32 // processes allowed before the refusal
		runs   int   // processes started
	}{
		{"update", false, queue.Batch{Updates: files("new.txt")}, 0, 0},
		{"remove", false, queue.Batch{Removes: files("old.txt")}, 0, 0},
		{"full", false, queue.Batch{Full: true}, 0, 0},
		{"filtered full: the dry run passes, the deleting run is refused", true, queue.Batch{Full: true}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tgt, dst, _ := daemonTarget(t)
			if tt.filter {
				tgt.Exclude = func(rel string, _ bool) bool { return filepath.Ext(rel) == ".gz" }
			}
			writeFile(t, tgt.Root, "new.txt", "local")
			writeFile(t, dst, "old.txt", "only on the remote")
			var asked atomic.Int32
			present := func() error {
				if asked.Add(1) > tt.allow {
					return gone
				}
				return nil
			}
			res := NewRunner("", 2, nil).Run(context.Background(), tgt, tt.batch, RunOptions{Present: present})
			if !errors.Is(res.Err, ErrNotPresent) || !errors.Is(res.Err, gone) || res.Runs != tt.runs {
				t.Fatalf("Run = %d runs, %v; want %d runs and ErrNotPresent", res.Runs, res.Err, tt.runs)
			}
			if !exists(t, filepath.Join(dst, "old.txt")) {
				t.Error("the remote's file was deleted after the guard refused")
			}
			if _, err := os.Stat(filepath.Join(dst, "new.txt")); err == nil {
				t.Error("a file was sent after the guard refused")
			}
		})
	}
}

// TestPresentGuardsMoves: over ssh, the rename session on the remote is
// not started when Present refuses (the runs after it are refused too).
func TestPresentGuardsMoves(t *testing.T) {
	t.Parallel()
	tgt := sshStock()
	tgt.Root = t.TempDir()
	writeFile(t, tgt.Root, "b", "x")
	var asked atomic.Int32
	res := NewRunner("", 1, nil).Run(context.Background(), tgt,
		queue.Batch{Updates: files("b"), Removes: files("a"), Moves: []queue.Move{{From: "a", To: "b"}}},
		RunOptions{Present: func() error { asked.Add(1); return errors.New("gone") }})
	if !errors.Is(res.Err, ErrNotPresent) || res.Runs != 0 || res.MovesDone != 0 || res.MovesFailed != 0 {
		t.Fatalf("Run = %+v", res)
	}
	if asked.Load() < 2 {
		t.Errorf("Present asked %d times, want the session and each run", asked.Load())
	}
}
