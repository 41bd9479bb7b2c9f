package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/sersync-go/sersync2/inotifymask"
)

// benchPaths returns n distinct paths spread over a three-level tree, as a
// busy web root would have them.
func benchPaths(n int) []string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("site%02d/assets/dir%04d/file-%07d.txt", i%37, i/100, i)
	}
	return ps
}

// benchEvents returns n events: half are rewrites of 1000 hot files, half
// walk through distinct paths; one in ten is a removal.
func benchEvents(n, distinct int) []inotifymask.Event {
	ps := benchPaths(distinct)
	rng := rand.New(rand.NewPCG(7, 7))
	evs := make([]inotifymask.Event, n)
	for i := range evs {
		var p string
		if i%2 == 0 {
			p = ps[rng.IntN(1000)]
		} else {
			p = ps[(i/2)%distinct]
		}
		if rng.IntN(10) == 0 {
			evs[i] = rm(p)
		} else {
			evs[i] = upd(p)
		}
	}
	return evs
}

// BenchmarkAdd adds 1M events (500k distinct paths, half the events
// rewrites of hot files) to a fresh queue per iteration.
func BenchmarkAdd(b *testing.B) {
	const n = 1_000_000
	evs := benchEvents(n, n/2)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		q := New(root, Options{})
		for _, ev := range evs {
			q.Add(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

// BenchmarkAddMerge measures Add on a path that is already pending, the
// common case under load (a file written many times while a batch runs).
func BenchmarkAddMerge(b *testing.B) {
	q := New(root, Options{})
	ev := upd("site01/assets/dir0001/file-0000001.txt")
	q.Add(ev)
	b.ReportAllocs()
	for b.Loop() {
		q.Add(ev)
	}
}

// BenchmarkCut cuts one batch out of n pending paths: a tree of file
// updates and removes with some updated and removed directories, Recursive
// on, MaxBatch unlimited.
func BenchmarkCut(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			ps := benchPaths(n)
			evs := make([]inotifymask.Event, 0, n+n/100)
			for i, p := range ps {
				if i%10 == 0 {
					evs = append(evs, rm(p))
				} else {
					evs = append(evs, upd(p))
				}
			}
			for i := 0; i < n/100; i += 7 {
				evs = append(evs, updDir(fmt.Sprintf("site%02d/assets/dir%04d", i%37, i)))
				evs = append(evs, rmDir(fmt.Sprintf("site%02d/assets/dir%04d", (i+3)%37, i+3)))
			}
			b.ReportAllocs()
			var paths int
			for range b.N {
				b.StopTimer()
				q := New(root, Options{Recursive: true, MaxBatch: 1 << 30})
				for _, ev := range evs {
					q.Add(ev)
				}
				runtime.GC() // settle the fill's allocations outside the timer
				b.StartTimer()
				batch := mustNext(b, q)
				q.Done(batch, nil)
				paths = batch.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/path")
			b.ReportMetric(float64(paths), "sent")
		})
	}
}

// BenchmarkHandoff is the latency from Add on an idle queue to the worker's
// Next returning the change (one round trip per op).
func BenchmarkHandoff(b *testing.B) {
	q := New(root, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			batch, err := q.Next(ctx)
			if err != nil {
				return
			}
			q.Done(batch, nil)
			select {
			case got <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	})
	ev := upd("a")
	for b.Loop() {
		q.Add(ev)
		<-got
	}
	cancel()
	wg.Wait()
}

// BenchmarkOldest lists the oldest 20 and 1000 of 1,000,000 pending
// paths of a remote that is down: the cost of a status request while
// the queue's lock is held (docs/queue.md).
func BenchmarkOldest(b *testing.B) {
	q := New(root, Options{})
	for _, p := range benchPaths(1_000_000) {
		q.Add(upd(p))
	}
	// A failed batch puts its paths back behind the others, older.
	bt, _ := tryNext(b, q)
	q.Done(bt, errDown)
	for _, n := range []int{20, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if s := q.Oldest(n); len(s.Items) != n {
					b.Fatalf("%d items", len(s.Items))
				}
			}
		})
	}
}
