package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

var errRsync = errors.New("test: rsync exit 10")

func TestNextReturnsFirstChangeAtOnce(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	ch := nextAsync(t, context.Background(), q)
	// Next is (or will be) blocked on an empty queue; the Add wakes it.
	q.Add(upd("new\nline"))
	r := await(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := []Entry{U("new\nline")}; !sameEntries(r.b.Updates, want) || len(r.b.Removes) != 0 {
		t.Errorf("got %s", show(r.b))
	}
}

func TestOneBatchInFlight(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	q.Add(upd("a"))
	b1 := mustNext(t, q)

	// While b1 is in flight, nothing leaves, not even a change of another
	// path, and a new change of "a" is not sent concurrently with b1.
	q.Add(rm("a"))
	noNext(t, q)

	// Changes added concurrently while b1 is in flight pile up.
	const n = 200
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n {
				q.Add(upd(fmt.Sprintf("w%d/%s-%d", w, hostile[i%len(hostile)], i)))
			}
		})
	}
	wg.Wait()
	noNext(t, q)
	if st := q.Stats(); st.InFlight != 1 || st.Pending != 1+4*n {
		t.Fatalf("stats while in flight: %+v", st)
	}

	ch := nextAsync(t, context.Background(), q)
	q.Done(b1, nil)
	r := await(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.b.Updates) != 4*n || !sameEntries(r.b.Removes, []Entry{R("a")}) {
		t.Errorf("second batch has %d updates, removes %v; want %d updates and R(a)", len(r.b.Updates), r.b.Removes, 4*n)
	}
	if !slices.IsSortedFunc(r.b.Updates, func(a, b Entry) int { return treeCompare(a.Path, b.Path) }) {
		t.Error("updates not in tree order")
	}
}

func TestDoneForeignBatchIgnored(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	q.Add(upd("a"))
	b := mustNext(t, q)
	q.Add(upd("b"))
	q.Done(Batch{Root: root, Updates: b.Updates}, nil) // not the batch Next returned
	noNext(t, q)
	if st := q.Stats(); st.InFlight != 1 {
		t.Fatalf("in flight after foreign Done: %+v", st)
	}
	q.Done(b, nil)
	if got := mustNext(t, q); !sameEntries(got.Updates, []Entry{U("b")}) {
		t.Errorf("got %s", show(got))
	}
}

func TestRetryBackoffAndNewerChangeWins(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	type retry struct {
		b    Batch
		err  error
		next time.Duration
	}
	var retries []retry
	q := New(root, Options{
		Now:        clk.Now,
		RetryBase:  time.Second,
		MaxBackoff: 8 * time.Second,
		OnRetry:    func(b Batch, err error, next time.Duration) { retries = append(retries, retry{b, err, next}) },
	})
	q.Add(upd("a"))
	q.Add(upd("b"))
	q.Add(rmDir("c"))
	b1 := mustNext(t, q)

	q.Add(rm("a")) // newer change of a path in flight
	q.Done(b1, errRsync)

	if len(retries) != 1 || !errors.Is(retries[0].err, errRsync) || retries[0].b.id != b1.id {
		t.Fatalf("OnRetry calls: %+v", retries)
	}
	next := retries[0].next
	if next < time.Second || next > 1100*time.Millisecond {
		t.Fatalf("first backoff %v, want 1s..1.1s", next)
	}
	noNext(t, q)
	clk.Advance(next - time.Millisecond)
	noNext(t, q)
	clk.Advance(time.Millisecond)
	b2 := mustNext(t, q)
	if !sameEntries(b2.Updates, []Entry{U("b")}) || !sameEntries(b2.Removes, []Entry{R("a"), RD("c")}) || b2.Attempt != 1 {
		t.Fatalf("retry batch %s attempt %d; want U b, R a, R c/ attempt 1", show(b2), b2.Attempt)
	}
	snap := q.Snapshot()
	wantSnap := []Item{
		{Entry: R("a"), Op: inotifymask.OpRemove, Attempt: 0, InFlight: true},
		{Entry: U("b"), Op: inotifymask.OpUpdate, Attempt: 1, InFlight: true},
		{Entry: RD("c"), Op: inotifymask.OpRemove, Attempt: 1, InFlight: true},
	}
	if !slices.Equal(sinceless(snap.Items), wantSnap) || snap.Full {
		t.Fatalf("snapshot %+v, want %+v", snap, wantSnap)
	}

	// The second consecutive failure doubles the hold-off.
	q.Done(b2, errRsync)
	if next := retries[1].next; next < 2*time.Second || next > 2200*time.Millisecond {
		t.Fatalf("second backoff %v, want 2s..2.2s", next)
	}
	clk.Advance(retries[1].next)
	b3 := mustNext(t, q)
	if b3.Attempt != 2 || b3.Len() != 3 {
		t.Fatalf("third batch %s attempt %d", show(b3), b3.Attempt)
	}
	// Success resets the backoff: the next failure holds off 1s again.
	q.Done(b3, nil)
	q.Add(upd("d"))
	b4 := mustNext(t, q)
	if b4.Attempt != 0 {
		t.Fatalf("attempt after success: %d", b4.Attempt)
	}
	q.Done(b4, errRsync)
	if next := retries[2].next; next < time.Second || next > 1100*time.Millisecond {
		t.Fatalf("backoff after a success %v, want 1s..1.1s", next)
	}
	st := q.Stats()
	if st.Retries != 3 || st.Requeued != 2+3+1 || st.Superseded != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBackoffIsCapped: the retry hold-off doubles up to MaxBackoff, or up
// to MaxRetry when that is lower (a returning remote is tried within
// seconds).
func TestBackoffIsCapped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		maxRetry time.Duration
		want     time.Duration
	}{
		{"MaxBackoff", 0, 60 * time.Second},
		{"MaxRetry", 5 * time.Second, 5 * time.Second},
		{"MaxRetry above MaxBackoff", 2 * time.Minute, 60 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var last time.Duration
			q := New(root, Options{
				Now: clk.Now, RetryBase: time.Second, MaxBackoff: 60 * time.Second, MaxRetry: tt.maxRetry,
				OnRetry: func(_ Batch, _ error, next time.Duration) { last = next },
			})
			q.Add(upd("a"))
			for i := range 40 {
				b := mustNext(t, q)
				if b.Attempt != i {
					t.Fatalf("attempt %d, want %d", b.Attempt, i)
				}
				q.Done(b, errRsync)
				if last > tt.want+tt.want/10 {
					t.Fatalf("failure %d: backoff %v above %v+10%%", i+1, last, tt.want)
				}
				clk.Advance(last)
			}
			if last < tt.want {
				t.Fatalf("backoff after 40 failures %v, want the cap %v", last, tt.want)
			}
		})
	}
}

func TestRetryThroughNextWithRealClock(t *testing.T) {
	t.Parallel()
	q := New(root, Options{RetryBase: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	q.Add(upd("-dash"))
	ctx := context.Background()
	b, err := q.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	q.Done(b, errRsync)
	r := await(t, nextAsync(t, ctx, q))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if took := time.Since(start); took < 10*time.Millisecond {
		t.Errorf("retry left after %v, before the 10ms backoff", took)
	}
	if r.b.Attempt != 1 || !sameEntries(r.b.Updates, []Entry{U("-dash")}) {
		t.Errorf("retry batch %s attempt %d", show(r.b), r.b.Attempt)
	}
}

// TestPendingSince: Stats.PendingSince is when paths started to be pending
// without a break, and zero once nothing is; InFlightSince is the cut
// batch's, and a failed batch's paths keep it when they go back.
func TestPendingSince(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now})
	if st := q.Stats(); !st.PendingSince.IsZero() {
		t.Fatalf("empty queue: PendingSince %v", st.PendingSince)
	}
	t0 := clk.Now()
	q.Add(upd("a"))
	clk.Advance(time.Second)
	q.Add(upd("b"))
	if st := q.Stats(); !st.PendingSince.Equal(t0) {
		t.Fatalf("PendingSince %v, want the first change's %v", st.PendingSince, t0)
	}
	b := mustNext(t, q)
	if st := q.Stats(); !st.PendingSince.IsZero() || !st.InFlightSince.Equal(t0) {
		t.Fatalf("all cut: PendingSince %v InFlightSince %v, want zero and %v", st.PendingSince, st.InFlightSince, t0)
	}
	clk.Advance(time.Second)
	q.Done(b, errRsync)
	if st := q.Stats(); !st.PendingSince.Equal(t0) || !st.InFlightSince.IsZero() {
		t.Fatalf("requeued: PendingSince %v InFlightSince %v, want %v and zero", st.PendingSince, st.InFlightSince, t0)
	}
}

func TestFullRequestCoversOlderNotNewer(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	q.Add(upd("a"))
	b1 := mustNext(t, q)
	q.Add(upd("older"))
	q.Add(rm("-dash"))
	q.RequestFull("crontab")
	q.RequestFull("crontab") // repeated requests merge
	q.Done(b1, nil)

	full := mustNext(t, q)
	if !full.Full || full.Len() != 0 || full.Reason != "crontab" || full.Attempt != 0 {
		t.Fatalf("want an empty full batch for crontab, got %s attempt %d", show(full), full.Attempt)
	}
	if st := q.Stats(); st.Pending != 0 || st.Covered != 2 || st.FullSyncs != 1 || !st.InFlightFull {
		t.Fatalf("stats after full cut: %+v", st)
	}
	q.Add(upd("newer\n"))
	noNext(t, q)
	q.Done(full, nil)
	if b := mustNext(t, q); b.Full || !sameEntries(b.Updates, []Entry{U("newer\n")}) {
		t.Fatalf("after the full: %s", show(b))
	}
}

func TestFailedFullIsRequestedAgain(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now, RetryBase: time.Second})
	q.RequestFull("startup")
	full := mustNext(t, q)
	q.Add(upd("x"))
	q.Done(full, errRsync)
	if s := q.Snapshot(); !s.Full || s.FullAttempt != 1 || len(s.Items) != 1 {
		t.Fatalf("snapshot after failed full: %+v", s)
	}
	noNext(t, q)
	clk.Advance(1100 * time.Millisecond)
	again := mustNext(t, q)
	if !again.Full || again.Attempt != 1 || again.Reason != "startup" {
		t.Fatalf("retried full %s attempt %d", show(again), again.Attempt)
	}
	if st := q.Stats(); st.Pending != 0 {
		t.Fatalf("the retried full must cover x: %+v", st)
	}
}

func TestOverflowStormIsRateLimited(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now, OverflowBase: time.Second, MaxBackoff: 60 * time.Second})
	start := clk.Now()
	var fullsAt []time.Duration
	normal := 0
	// 1000 overflows, one every 10ms (10s of storm), interleaved with a
	// change; every batch that may leave is cut and succeeds at once.
	for i := range 1000 {
		q.Add(overflow())
		q.Add(upd(fmt.Sprintf("f%d", i)))
		for {
			b, ok := tryNext(t, q)
			if !ok {
				break
			}
			if b.Full {
				if b.Reason != "overflow" {
					t.Fatalf("full reason %q", b.Reason)
				}
				fullsAt = append(fullsAt, clk.Now().Sub(start))
			} else {
				normal++
			}
			q.Done(b, nil)
		}
		clk.Advance(10 * time.Millisecond)
	}
	// Spacing 1s, 2s, 4s: fulls at 0, 1s, 3s, 7s.
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
	if !slices.Equal(fullsAt, want) {
		t.Fatalf("full syncs at %v, want %v", fullsAt, want)
	}
	if normal == 0 {
		t.Error("changes must keep flowing while an overflow full sync is spaced out")
	}
	st := q.Stats()
	if st.Overflows != 1000 || st.FullSyncs != 4 || !st.FullPending {
		t.Fatalf("stats %+v", st)
	}

	// The pending full leaves 8s after the one at 7s; after a quiet
	// minute the spacing is back to 1s.
	clk.Advance(5*time.Second - time.Millisecond)
	noNext(t, q)
	clk.Advance(time.Millisecond)
	b := mustNext(t, q)
	if !b.Full {
		t.Fatalf("want the spaced full, got %s", show(b))
	}
	q.Done(b, nil)
	clk.Advance(61 * time.Second)
	q.Add(overflow())
	b = mustNext(t, q)
	q.Done(b, nil)
	q.Add(overflow())
	noNext(t, q)
	clk.Advance(time.Second)
	if b := mustNext(t, q); !b.Full {
		t.Fatalf("want a full 1s after the previous one, got %s", show(b))
	}
}

func TestExplicitFullIsNotSpacedByOverflows(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now})
	q.Add(overflow())
	q.Done(mustNext(t, q), nil)
	q.Add(overflow())
	noNext(t, q) // spaced
	q.RequestFull("crontab")
	b := mustNext(t, q)
	if !b.Full || b.Reason != "overflow,crontab" {
		t.Fatalf("got %s", show(b))
	}
}

func TestMaxBatchOldestFirst(t *testing.T) {
	t.Parallel()
	q := New(root, Options{MaxBatch: 3})
	for i := range 7 {
		q.Add(upd(fmt.Sprintf("p%d", 6-i))) // p6 is the oldest
	}
	q.Add(upd("p6")) // a merge keeps its place
	var got [][]string
	for {
		b, ok := tryNext(t, q)
		if !ok {
			break
		}
		got = append(got, paths(b.Updates))
		q.Done(b, nil)
	}
	want := [][]string{{"p4", "p5", "p6"}, {"p1", "p2", "p3"}, {"p0"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %q, want %q", got, want)
	}
}

func TestMinDelay(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now, MinDelay: 100 * time.Millisecond})
	q.Add(upd("a"))
	clk.Advance(60 * time.Millisecond)
	q.Add(upd("b"))
	noNext(t, q)

	ch := nextAsync(t, context.Background(), q)
	clk.Advance(40 * time.Millisecond)
	q.kick()
	r := await(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !sameEntries(r.b.Updates, []Entry{U("a"), U("b")}) {
		t.Fatalf("got %s", show(r.b))
	}
}

func TestNextUnblocks(t *testing.T) {
	t.Parallel()
	t.Run("close", func(t *testing.T) {
		t.Parallel()
		q := New(root, Options{})
		ch := nextAsync(t, context.Background(), q)
		q.Close()
		if r := await(t, ch); !errors.Is(r.err, ErrClosed) {
			t.Fatalf("err %v, want ErrClosed", r.err)
		}
		q.Close() // idempotent
		q.Add(upd("late"))
		if _, err := q.Next(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		t.Parallel()
		q := New(root, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		ch := nextAsync(t, ctx, q)
		cancel()
		if r := await(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", r.err)
		}
	})
	t.Run("context while backing off", func(t *testing.T) {
		t.Parallel()
		q := New(root, Options{RetryBase: time.Hour})
		q.Add(upd("a"))
		b := mustNext(t, q)
		q.Done(b, errRsync)
		ctx, cancel := context.WithCancel(context.Background())
		ch := nextAsync(t, ctx, q)
		cancel()
		if r := await(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", r.err)
		}
		if st := q.Stats(); st.Pending != 1 {
			t.Fatalf("the failed path must stay pending: %+v", st)
		}
	})
}

func TestSnapshotShowsPathInFlightAndPendingAgain(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	q.Add(upd("a"))
	b := mustNext(t, q)
	q.Add(rm("a"))
	q.RequestFull("crontab")
	s := q.Snapshot()
	want := []Item{
		{Entry: U("a"), Op: inotifymask.OpUpdate, InFlight: true},
		{Entry: R("a"), Op: inotifymask.OpRemove},
	}
	if !slices.Equal(sinceless(s.Items), want) || !s.Full || s.FullInFlight {
		t.Fatalf("snapshot %+v, want items %+v and a pending full", s, want)
	}
	q.Done(b, nil)
}

func TestRootEventRequestsFull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   inotifymask.Event
	}{
		{"update of the root", updDir("")},
		{"removal of the root", rmDir("")},
		{"rename onto the root", mv("a", "", true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := New(root, Options{})
			q.Add(upd("x"))
			q.Add(tt.ev)
			b := mustNext(t, q)
			if !b.Full || b.Reason != "root" || b.Len() != 0 {
				t.Fatalf("got %s, want a full sync for the root", show(b))
			}
			if st := q.Stats(); st.Pending != 0 {
				t.Fatalf("the full must cover everything pending: %+v", st)
			}
		})
	}
	t.Run("rename without old path is an update", func(t *testing.T) {
		t.Parallel()
		q := New(root, Options{})
		q.Add(mv("", "in", false))
		if b := mustNext(t, q); b.Full || !sameEntries(b.Updates, []Entry{U("in")}) || len(b.Removes) != 0 {
			t.Fatalf("got %s", show(b))
		}
	})
}

func TestMemoryIsGivenBackAfterAStorm(t *testing.T) {
	t.Parallel()
	q := New(root, Options{MaxBatch: 1 << 20})
	for i := range 20000 {
		q.Add(upd(fmt.Sprintf("f%d", i)))
	}
	b := mustNext(t, q)
	q.Done(b, nil)
	q.mu.Lock()
	peak, orderCap := q.pend.peak, q.pend.order.Cap()
	q.mu.Unlock()
	if peak != 0 || orderCap != 0 {
		t.Fatalf("after draining 20000 paths: map peak %d, order cap %d; want both reset", peak, orderCap)
	}
}
