package rsyncexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/queue"
)

// blockingBin writes a stand-in for rsync that records its start in dir
// and then waits (up to 60 s) for dir/release to appear. It is used only
// where the real rsync cannot be made to block: slots and cancellation.
func blockingBin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "blocking-rsync")
	script := "#!/bin/sh\n" +
		"[ \"$1\" = --help ] && exit 0\n" +
		"mkdir \"" + dir + "/started.$$\"\n" +
		"i=0\nwhile [ ! -e \"" + dir + "/release\" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done\n" +
		"exit 0\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func started(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "started.*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(5 * time.Millisecond) // poll interval
	}
}

// TestSlotsBoundProcesses: with 2 slots and 6 batches, exactly 2 rsync
// processes run while the other 4 wait for a slot.
func TestSlotsBoundProcesses(t *testing.T) {
	dir := t.TempDir()
	r := NewRunner(blockingBin(t, dir), 2, nil)
	tgt := stock()
	tgt.Root = t.TempDir()
	writeFile(t, tgt.Root, "a", "a")
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Go(func() {
			results[i] = r.Run(context.Background(), tgt, queue.Batch{Updates: files("a")}, RunOptions{})
		})
	}
	waitFor(t, "2 running and 4 waiting", func() bool { return started(t, dir) == 2 && r.Waiting() == 4 })
	if n := started(t, dir); n != 2 {
		t.Fatalf("%d processes started with 2 slots", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, res := range results {
		if res.Err != nil || res.Runs != 1 {
			t.Errorf("batch %d: %+v", i, res)
		}
	}
	if n := started(t, dir); n != 6 {
		t.Errorf("%d processes ran, want 6", n)
	}
}

// TestCancel: canceling the context stops a running rsync (SIGTERM) and a
// waiting one never starts; both report context.Canceled, not retryable.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	r := NewRunner(blockingBin(t, dir), 1, nil)
	tgt := stock()
	tgt.Root = t.TempDir()
	writeFile(t, tgt.Root, "a", "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	results := make([]Result, 2)
	for i := range results {
		wg.Go(func() {
			results[i] = r.Run(ctx, tgt, queue.Batch{Updates: files("a")}, RunOptions{})
		})
	}
	waitFor(t, "one running, one waiting", func() bool { return started(t, dir) == 1 && r.Waiting() == 1 })
	cancel()
	wg.Wait()
	for i, res := range results {
		if !errors.Is(res.Err, context.Canceled) || Retryable(res.Err) {
			t.Errorf("batch %d: %+v", i, res)
		}
	}
	if n := started(t, dir); n != 1 || results[0].Runs+results[1].Runs != 1 {
		t.Errorf("%d processes started, Runs %d+%d; want 1", n, results[0].Runs, results[1].Runs)
	}
	// Canceled before anything: nothing runs.
	res := r.Run(ctx, tgt, queue.Batch{Removes: files("a")}, RunOptions{})
	if !errors.Is(res.Err, context.Canceled) || res.Runs != 0 {
		t.Errorf("pre-canceled: %+v", res)
	}
	if !strings.Contains(results[0].Err.Error()+results[1].Err.Error(), "canceled") {
		t.Errorf("errors do not say canceled: %v / %v", results[0].Err, results[1].Err)
	}
}
