package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// boundOf returns a Bound that holds exactly n paths of length plen.
func boundOf(n, plen int) *Bound {
	return NewBound(int64(n * (plen + pathCostFixed)))
}

// name returns a unique path of length plen, hostile names included.
func name(i, plen int) string {
	p := fmt.Sprintf("%s/%d", hostile[i%len(hostile)], i)
	if len(p) > plen {
		panic("name longer than plen")
	}
	return p + strings.Repeat("x", plen-len(p))
}

// released reports whether q holds no pending memory: no path, a fresh
// map, no order slice.
func released(q *Queue) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pend.len() == 0 && q.pend.peak == 0 && q.pend.order.Cap() == 0 && q.pend.bytes == 0
}

// TestCollapseAtTheBound: the remote's pending paths collapse into one
// full sync on the path that passes the bound, not before; the map and
// order slice are given back; later changes are folded into the full
// sync without being stored; once it is done the queue works as before.
func TestCollapseAtTheBound(t *testing.T) {
	t.Parallel()
	const plen = 40
	for _, n := range []int{1, 10, 1000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			b := boundOf(n, plen)
			q := New(root, Options{Bound: b})
			for i := range n {
				q.Add(upd(name(i, plen)))
			}
			if st := q.Stats(); st.Pending != n || st.Collapses != 0 || st.FullPending {
				t.Fatalf("at the bound (%d paths): %+v; want them all pending, no collapse", n, st)
			}
			q.Add(upd(name(n, plen)))
			if st := q.Stats(); st.Pending != 0 || st.Collapses != 1 || !st.FullPending {
				t.Fatalf("one path past the bound: %+v; want a collapse into a full sync", st)
			}
			if !released(q) || b.used.Load() != 0 {
				t.Fatalf("after the collapse the pending memory is kept (bound charged %d)", b.used.Load())
			}
			// Five times the bound more, while the full sync is owed:
			// nothing is stored.
			for i := n + 1; i < 6*n+1; i++ {
				q.Add(upd(name(i, plen)))
				q.Add(rm(name(i, plen)))
			}
			if st := q.Stats(); st.Pending != 0 || st.Collapses != 1 || st.Folded != uint64(10*n) || !released(q) {
				t.Fatalf("after %d more changes: %+v; want all folded, nothing pending", 10*n, st)
			}
			full := mustNext(t, q)
			if !full.Full || full.Reason != ReasonPendingBound || full.Len() != 0 {
				t.Fatalf("got %s, want the full sync of the collapse", show(full))
			}
			noNext(t, q)
			q.Add(upd("after"))
			if st := q.Stats(); st.Pending != 1 {
				t.Fatalf("a change made while the full sync runs must be stored: %+v", st)
			}
			if got := q.Done(full, nil); got != q.Stats().Events-1 {
				t.Errorf("Done = %d, want every Add but the last tried", got)
			}
			if b := mustNext(t, q); b.Full || !sameEntries(b.Updates, []Entry{U("after")}) {
				t.Fatalf("after the full sync: %s, want U(after)", show(b))
			}
			if st := q.Stats(); st.FullPending || st.Collapses != 1 {
				t.Fatalf("after the full sync: %+v", st)
			}
		})
	}
}

// TestCollapseSharedByQueues: the queues of one remote share the bound; a
// collapse in any of them empties all of them, the lead (the first
// queue) alone runs the full sync, and the others learn through Tried
// when its first attempt is over, failed or not. A failed full sync goes
// on folding changes until it is done.
func TestCollapseSharedByQueues(t *testing.T) {
	t.Parallel()
	const plen = 20
	clk := newFakeClock()
	b := boundOf(10, plen)
	o := Options{Bound: b, Now: clk.Now, RetryBase: time.Second}
	lead, other := New(root, o), New(root, o)
	lead.Add(upd("lead/a"))
	lead.Add(upd("lead/b"))
	for i := range 9 {
		other.Add(upd(name(i, plen)))
	}
	if st := other.Stats(); st.Collapses != 1 || st.Pending != 0 {
		t.Fatalf("other: %+v; want its ninth path to pass the bound of the two queues", st)
	}
	if st := lead.Stats(); st.Pending != 0 || !st.FullPending || st.Collapses != 0 {
		t.Fatalf("lead: %+v; want its paths folded and the full sync requested", st)
	}
	if !released(lead) || !released(other) || b.used.Load() != 0 {
		t.Fatal("pending memory kept after the collapse")
	}
	last := other.Add(upd("other/late"))
	noNext(t, other)
	if got := other.Tried(); got != 0 {
		t.Fatalf("other.Tried() = %d before the full sync ran, want 0", got)
	}
	if st := other.Stats(); !st.FullPending || st.PendingSince.IsZero() {
		t.Fatalf("other: %+v; want a full sync owed since the collapse", st)
	}

	full := mustNext(t, lead)
	if !full.Full || full.Reason != ReasonPendingBound {
		t.Fatalf("lead: got %s, want the collapse's full sync", show(full))
	}
	lead.Done(full, errRsync)
	if got := other.Tried(); got != last {
		t.Fatalf("other.Tried() = %d after the full sync's first attempt, want %d", got, last)
	}
	// Failed: requested again, and changes fold into it again.
	other.Add(upd("other/while-down"))
	if st := other.Stats(); st.Pending != 0 || !st.FullPending {
		t.Fatalf("other after the failed full sync: %+v; want the change folded", st)
	}
	clk.Advance(2 * time.Second)
	again := mustNext(t, lead)
	if !again.Full || again.Reason != ReasonPendingBound || again.Attempt != 1 {
		t.Fatalf("lead: got %s attempt %d, want the full sync again, attempt 1", show(again), again.Attempt)
	}
	lead.Done(again, nil)
	if st := other.Stats(); st.FullPending || !st.PendingSince.IsZero() || other.Tried() != other.Stats().Events {
		t.Fatalf("other after the full sync: %+v, tried %d; want nothing owed", st, other.Tried())
	}
	other.Add(upd("other/back"))
	if b := mustNext(t, other); !sameEntries(b.Updates, []Entry{U("other/back")}) {
		t.Fatalf("other after the full sync: %s, want U(other/back)", show(b))
	}
}

// TestCollapseWithBatchesInFlight: a batch in flight at the collapse is
// not lost and not doubled: the full sync waits for it; if it fails its
// paths are folded into the full sync rather than requeued.
func TestCollapseWithBatchesInFlight(t *testing.T) {
	t.Parallel()
	const plen = 20
	for _, tt := range []struct {
		name string
		err  error
	}{{"succeeds", nil}, {"fails", errRsync}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			q := New(root, Options{Bound: boundOf(5, plen), Now: clk.Now, MaxInFlight: 2})
			q.Add(upd("in/a"))
			q.Add(rm("in/b"))
			inFlight := mustNext(t, q)
			for i := range 6 {
				q.Add(upd(name(i, plen)))
			}
			if st := q.Stats(); st.Collapses != 1 || st.Pending != 0 || st.InFlightPaths != 2 {
				t.Fatalf("%+v; want a collapse with the batch still in flight", st)
			}
			noNext(t, q) // a full sync goes alone
			q.Done(inFlight, tt.err)
			clk.Advance(time.Minute)
			if st := q.Stats(); st.Pending != 0 || st.Requeued != 0 {
				t.Fatalf("after the batch in flight: %+v; want its paths folded, not requeued", st)
			}
			full := mustNext(t, q)
			if !full.Full || full.Reason != ReasonPendingBound {
				t.Fatalf("got %s, want the full sync", show(full))
			}
			if got := q.Done(full, nil); got != q.Stats().Events {
				t.Errorf("Done = %d, want every Add tried", got)
			}
			noNext(t, q)
		})
	}
}

// TestCollapseOnRestore: changes handed over at a reload count against
// the bound like any, and a collapsed queue hands over its full sync
// with the reason that makes it send everything.
func TestCollapseOnRestore(t *testing.T) {
	t.Parallel()
	const plen = 20
	q := New(root, Options{Bound: boundOf(100, plen)})
	for i := range 1000 {
		q.Restore(Item{Entry: Entry{Path: name(i, plen)}, Attempt: 2}, time.Time{})
	}
	st, snap := q.Stats(), q.Snapshot()
	if st.Pending != 0 || st.Collapses != 1 || !released(q) {
		t.Fatalf("after restoring 1000 paths: %+v; want one collapse", st)
	}
	if !snap.Full || !strings.Contains(snap.Reason, ReasonPendingBound) || len(snap.Items) != 0 {
		t.Fatalf("snapshot %+v; want a full sync for the collapse and no paths", snap)
	}
	if b := mustNext(t, q); !b.Full || b.Attempt != 2 {
		t.Fatalf("got %s attempt %d; want the full sync with the restored attempts", show(b), b.Attempt)
	}
}
