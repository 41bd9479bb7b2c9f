package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

var errDown = errors.New("test: rsync: failed to connect (remote down)")

// heapWhileDown adds n unique paths to a queue whose every batch fails,
// as with a remote down, and returns the most live heap seen above the
// start (runtime.MemStats.HeapInuse after a GC, sampled every 10,000
// paths) and the live heap above the start at the end, queue still
// alive.
func heapWhileDown(t *testing.T, b *Bound, n int) (peak, final uint64) {
	t.Helper()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	base := heap()
	q := New(root, Options{Bound: b, RetryBase: time.Millisecond, MaxRetry: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			bt, err := q.Next(ctx)
			if err != nil {
				return
			}
			q.Done(bt, errDown)
		}
	})
	for i := range n {
		q.Add(upd(fmt.Sprintf("dir%03d/sub/file-%07d.txt", i%1000, i)))
		if i%10000 == 0 {
			peak = max(peak, heap()-min(base, heap()))
		}
	}
	cancel()
	wg.Wait()
	h := heap()
	final = h - min(base, h)
	peak = max(peak, final)
	runtime.KeepAlive(q)
	return peak, final
}

// TestPendingMemoryFlat: 2,000,000 unique paths change while the remote
// is down; the queue's live heap stays within its bound and falls back
// once the paths collapse into a full sync. The bound is lowered to
// 32 MiB to keep the test short; SERSYNC_QUEUE_MEMORY=1 runs it with
// DefaultMaxPending and also measures the queue without a bound, for
// docs/queue.md. Not parallel: it measures the process's heap. Under the
// race detector, which makes each Add ten times slower, it adds 500,000.
func TestPendingMemoryFlat(t *testing.T) {
	n := 2_000_000
	if raceEnabled {
		n = 500_000
	}
	limit := int64(32 << 20)
	full := os.Getenv("SERSYNC_QUEUE_MEMORY") != ""
	if full {
		limit = DefaultMaxPending
	}
	b := NewBound(limit)
	peak, final := heapWhileDown(t, b, n)
	t.Logf("%d unique paths, remote down, bound %d MiB: live heap at most %.1f MiB above the start, %.1f MiB at the end; %d collapses",
		n, limit>>20, float64(peak)/(1<<20), float64(final)/(1<<20), b.queues[0].Stats().Collapses)
	// The bound counts the queue's own structures; allow for the slack
	// of the Go map's growth and for a batch in flight.
	if want := uint64(limit) + uint64(limit)/4 + 16<<20; peak > want {
		t.Errorf("live heap peaked %d MiB above the start, want at most %d MiB", peak>>20, want>>20)
	}
	if final > 16<<20 {
		t.Errorf("live heap %d MiB above the start after the collapse, want at most 16 MiB", final>>20)
	}
	if st := b.queues[0].Stats(); st.Collapses == 0 {
		t.Errorf("no collapse: %+v", st)
	}
	if full {
		ub := NewBound(1 << 62)
		upeak, ufinal := heapWhileDown(t, ub, n)
		t.Logf("the same without a bound: live heap at most %.1f MiB above the start, %.1f MiB at the end", float64(upeak)/(1<<20), float64(ufinal)/(1<<20))
	}
}
