package queue

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestAdaptiveHold: an idle queue hands a change out at once; under a
// burst the batch is held while changes keep coming and leaves once they
// pause, or once the hold for that rate has passed, or at MaxBatch.
func TestAdaptiveHold(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Adaptive: true, MaxBatch: 500, Now: clk.Now})

	q.Add(upd("first"))
	b := mustNext(t, q)
	if got := paths(b.Updates); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("idle queue: batch %v, want the change at once", got)
	}
	q.Done(b, nil)

	// A burst: 200 changes 0.5 ms apart (2,000/s): once the rate is up
	// (a few changes), held throughout.
	sent := 0
	for i := range 200 {
		clk.Advance(500 * time.Microsecond)
		q.Add(upd(fmt.Sprintf("burst/%03d", i)))
		if b, ok := tryNext(t, q); ok {
			if i >= 10 {
				t.Fatalf("change %d of the burst: batch %s cut, want it held", i, show(b))
			}
			sent += b.Len()
			q.Done(b, nil)
		}
	}
	rate, _ := q.pace.read(clk.Now())
	h, quiet := hold(rate)
	if h < 200*time.Millisecond || quiet > minQuiet {
		t.Fatalf("at 1,000-2,000 changes/s: hold %v, quiet gap %v; want >= 200ms and %v", h, quiet, minQuiet)
	}
	// The burst pauses: the batch leaves whole.
	clk.Advance(quiet)
	b = mustNext(t, q)
	if b.Len() != 200-sent || sent > 10 {
		t.Fatalf("after the pause: batch of %d (%d sent before), want the rest of 200 in one", b.Len(), sent)
	}
	q.Done(b, nil)

	// Changes that never pause: the batch leaves when the hold has passed.
	start := clk.Now()
	var cut time.Duration
	for i := 0; cut == 0 && i < 2000; i++ {
		clk.Advance(time.Millisecond)
		q.Add(upd(fmt.Sprintf("steady/%04d", i)))
		if b, ok := tryNext(t, q); ok {
			cut = clk.Now().Sub(start)
			q.Done(b, nil)
		}
	}
	if cut == 0 || cut > maxHold+time.Millisecond {
		t.Fatalf("steady stream: first batch after %v, want within %v", cut, maxHold)
	}

	// MaxBatch changes leave at once.
	for i := range 500 {
		q.Add(upd(fmt.Sprintf("cap/%03d", i)))
	}
	if b := mustNext(t, q); b.Len() != 500 {
		t.Fatalf("at MaxBatch: batch of %d, want 500", b.Len())
	}
}

// TestOverlapDisjoint: with batches in flight a further batch takes only
// paths disjoint from theirs (and nothing below a path it leaves), after
// its oldest change waited 1/MaxInFlight of the batch duration; what
// Done reports tried never passes a batch still in flight.
func TestOverlapDisjoint(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{MaxInFlight: 4, SlowRun: 200 * time.Millisecond, Now: clk.Now})

	// Batches that end soon are not overlapped: a warm-up batch of 2 s
	// makes the recent duration 100 ms + (2 s - 100 ms) / 8 = 337.5 ms.
	q.Add(upd("warm")) // 1
	b0 := mustNext(t, q)
	q.Add(upd("d/x")) // 2
	clk.Advance(time.Second)
	noNext(t, q)
	clk.Advance(time.Second)
	q.Done(b0, nil)
	b1 := mustNext(t, q)
	q.Add(upd("d/x"))  // 3: the same path: waits for b1
	q.Add(updDir("d")) // 4: above d/x: waits
	q.Add(upd("d/z"))  // 5: below d, which waits: waits
	q.Add(upd("e/y"))  // 6
	q.Add(rmDir("f"))  // 7
	noNext(t, q)
	clk.Advance(337500 * time.Microsecond / 4)
	b2 := mustNext(t, q)
	if got, want := show(b2), `U"e/y" R"f"/`; got != want {
		t.Fatalf("overlapping batch %s, want %s", got, want)
	}
	noNext(t, q) // the rest touches b1
	if got := q.Done(b2, nil); got != 1 {
		t.Fatalf("b2 done before b1: tried %d, want 1 (b1 holds Add 2)", got)
	}
	if got := q.Done(b1, nil); got != 2 {
		t.Fatalf("b1 done: tried %d, want 2 (Adds 3-5 pending)", got)
	}
	b3 := mustNext(t, q)
	if got, want := show(b3), `U"d"/ U"d/x" U"d/z"`; got != want {
		t.Fatalf("after b1: batch %s, want %s", got, want)
	}
	if got := q.Done(b3, nil); got != 7 {
		t.Fatalf("all done: tried %d, want 7", got)
	}

	// A full sync waits for every batch in flight and goes alone.
	q.Add(upd("g"))
	b4 := mustNext(t, q)
	q.RequestFull("test")
	q.Add(upd("h"))
	clk.Advance(time.Second)
	noNext(t, q)
	q.Done(b4, nil)
	if b := mustNext(t, q); !b.Full {
		t.Fatalf("after the batches in flight: %s, want the full sync", show(b))
	}
	q.Add(upd("i"))
	clk.Advance(time.Second)
	noNext(t, q)
	if st := q.Stats(); st.InFlight != 1 || !st.InFlightFull {
		t.Fatalf("stats with a full sync in flight: %+v", st)
	}
}

// TestMoves: which renames become Batch.Moves, and when the update of a
// moved directory is synced with deletion (Replaced).
func TestMoves(t *testing.T) {
	t.Parallel()
	errDown := errors.New("test: remote down")
	tests := []struct {
		name     string
		maxBatch int
		steps    func(q *Queue, cut func() Batch) Batch
		moves    []Move
		batch    string
	}{
		{"file renamed", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("a", "b", false))
			return cut()
		}, []Move{{"a", "b", false}}, `U"b" R"a"`},
		{"directory renamed: synced with deletion", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("d", "e", true))
			return cut()
		}, []Move{{"d", "e", true}}, `U"e"/! R"d"/`},
		{"chain collapses", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("a", "b", false))
			q.Add(mv("b", "c", false))
			return cut()
		}, []Move{{"a", "c", false}}, `U"c" R"a" R"b"`},
		{"swap through a third name: none", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("a", "t", false))
			q.Add(mv("b", "a", false))
			q.Add(mv("t", "b", false))
			return cut()
		}, nil, `U"a" U"b" R"t"`},
		{"source changed before the rename: none", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(upd("a"))
			q.Add(mv("a", "b", false))
			return cut()
		}, nil, `U"b" R"a"`},
		{"source created again after the rename: none", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("a", "b", false))
			q.Add(upd("a"))
			return cut()
		}, nil, `U"a" U"b"`},
		{"source removal in another batch: none", 1, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("a", "b", false))
			q.Done(cut(), nil)
			return cut()
		}, nil, `U"b"`},
		{"a retry moves nothing, a moved directory keeps deletion", 0, func(q *Queue, cut func() Batch) Batch {
			q.Add(mv("d", "e", true))
			q.Done(cut(), errDown)
			return cut()
		}, nil, `U"e"/! R"d"/`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			q := New(root, Options{Moves: true, MaxBatch: tt.maxBatch, Now: clk.Now})
			cut := func() Batch {
				clk.Advance(time.Hour) // past any retry hold-off
				return mustNext(t, q)
			}
			b := tt.steps(q, cut)
			if !slices.Equal(b.Moves, tt.moves) || show(b) != tt.batch {
				t.Fatalf("batch %s moves %+v, want %s moves %+v", show(b), b.Moves, tt.batch, tt.moves)
			}
		})
	}
	// Without Options.Moves a rename is a removal and an update, as before.
	q := New(root, Options{})
	q.Add(mv("d", "e", true))
	if b := mustNext(t, q); b.Moves != nil || show(b) != `U"e"/ R"d"/` {
		t.Fatalf("Moves off: batch %s moves %+v", show(b), b.Moves)
	}
}

// TestBudget: queues sharing a Budget have at most that many batches in
// flight beyond their first, together.
func TestBudget(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	bud := NewBudget(1)
	var qs []*Queue
	for range 2 {
		q := New(root, Options{MaxInFlight: 4, Budget: bud, Now: clk.Now})
		q.Add(upd("a"))
		mustNext(t, q) // the first batch: no budget needed
		q.Add(upd("b"))
		qs = append(qs, q)
	}
	clk.Advance(time.Second)
	extra := mustNext(t, qs[0]) // the one extra batch
	noNext(t, qs[1])            // none left
	qs[0].Done(extra, nil)
	if b := mustNext(t, qs[1]); show(b) != `U"b"` {
		t.Fatalf("after the extra batch was done: %s, want U\"b\"", show(b))
	}
}

// TestPaceShared: queues sharing a Pace hold while changes keep coming to
// any of them: a burst that moved on to the other queue's directories is
// no pause for the first.
func TestPaceShared(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := NewPace()
	a := New(root, Options{Adaptive: true, Pace: p, Now: clk.Now})
	b := New(root, Options{Adaptive: true, Pace: p, Now: clk.Now})
	// 100 changes to a, 1 ms apart, after a warm-up that raised the rate.
	for i := range 100 {
		clk.Advance(time.Millisecond)
		a.Add(upd(fmt.Sprintf("a/%03d", i)))
		if bt, ok := tryNext(t, a); ok {
			a.Done(bt, nil)
		}
	}
	// Then 30 ms of changes to b only: a's own changes paused, the burst
	// did not.
	for i := range 30 {
		clk.Advance(time.Millisecond)
		b.Add(upd(fmt.Sprintf("b/%03d", i)))
		noNext(t, a)
	}
	// Once the burst pauses, a's batch leaves.
	clk.Advance(maxQuiet)
	if _, ok := tryNext(t, a); !ok {
		t.Fatal("a's batch held after the burst paused")
	}
}
