package queue

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// oldestLines renders what Oldest listed: path, op, attempts, age on the
// fake clock, in flight.
func oldestLines(s Snapshot, now time.Time) []string {
	var out []string
	for _, it := range s.Items {
		l := fmt.Sprintf("%s %s a%d %gs", strconv.Quote(it.Path), it.Op, it.Attempt, now.Sub(it.Since).Seconds())
		if it.InFlight {
			l += " inflight"
		}
		out = append(out, l)
	}
	return out
}

// TestOldest: the paths that have waited longest come first with the
// time they became pending; a merged change keeps it, paths in flight
// are listed too, and a failed batch's paths keep it when they go back
// to pending (at the end of the order) and count the attempt.
func TestOldest(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now, RetryBase: time.Second, MaxBackoff: time.Second, MaxBatch: 2})
	step := func() { clk.Advance(10 * time.Second) }
	check := func(what string, n int, want ...string) {
		t.Helper()
		if got := oldestLines(q.Oldest(n), clk.Now()); !slices.Equal(got, want) {
			t.Fatalf("%s: Oldest(%d) = %q, want %q", what, n, got, want)
		}
	}
	q.Add(upd(hostile[10])) // "new\nline" at 0 s
	step()
	q.Add(rm(hostile[11])) // "\xff\xfe" at 10 s
	step()
	q.Add(upd(hostile[10])) // merged: keeps 0 s
	q.Add(upd("c"))         // at 20 s
	step()
	check("pending", 2, `"new\nline" update a0 30s`, `"\xff\xfe" remove a0 20s`)

	b := mustNext(t, q) // the two oldest leave (MaxBatch 2)
	q.Add(upd("d"))     // at 30 s
	step()
	check("a batch in flight", 10, `"new\nline" update a0 40s inflight`, `"\xff\xfe" remove a0 30s inflight`, `"c" update a0 20s`, `"d" update a0 10s`)

	q.Done(b, errDown) // back to pending, behind c and d in the order
	q.Add(upd("e"))    // at 40 s
	step()
	check("after a failed batch", 3, `"new\nline" update a1 50s`, `"\xff\xfe" remove a1 40s`, `"c" update a0 30s`)
	check("after a failed batch", 1, `"new\nline" update a1 50s`)

	// Fail every batch until the first two paths were tried twice.
	for range 3 {
		clk.Advance(2 * time.Second)
		q.Done(mustNext(t, q), errDown)
	}
	check("after two failures", 2, `"new\nline" update a2 56s`, `"\xff\xfe" remove a2 46s`)
	if s := q.Oldest(0); s.Items != nil || s.Full {
		t.Errorf("Oldest(0) = %+v, want nothing", s)
	}
}

// TestOldestSupersededKeepsSince: a path changed again while its batch
// was in flight, and that batch failed: the remote has lacked it since
// the first change.
func TestOldestSupersededKeepsSince(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now})
	q.Add(upd("a"))
	b := mustNext(t, q)
	clk.Advance(5 * time.Second)
	q.Add(rm("a"))
	clk.Advance(5 * time.Second)
	q.Done(b, errDown)
	if got, want := oldestLines(q.Oldest(5), clk.Now()), []string{`"a" remove a0 10s`}; !slices.Equal(got, want) {
		t.Fatalf("Oldest = %q, want %q", got, want)
	}
}

// TestOldestFull: a full sync requested, in flight or owed is said, as
// it covers every path, listed or not.
func TestOldestFull(t *testing.T) {
	t.Parallel()
	q := New(root, Options{})
	q.Add(upd("a"))
	q.RequestFull("crontab")
	if s := q.Oldest(1); !s.Full || s.Reason != "crontab" || len(s.Items) != 1 {
		t.Fatalf("requested: %+v", s)
	}
	b := mustNext(t, q)
	if s := q.Oldest(1); !s.Full || !s.FullInFlight || len(s.Items) != 0 {
		t.Fatalf("in flight: %+v", s)
	}
	q.Done(b, nil)
	if s := q.Oldest(1); s.Full || len(s.Items) != 0 {
		t.Fatalf("done: %+v", s)
	}
}

// TestOldestRestoreKeepsSince: a change handed over on a reload keeps
// the time it became pending.
func TestOldestRestoreKeepsSince(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now})
	q.Add(upd("b"))
	q.Restore(Item{Entry: Entry{Path: "a"}, Op: inotifymask.OpUpdate, Attempt: 2, Since: clk.Now().Add(-time.Hour)}, clk.Now().Add(-time.Minute))
	q.Restore(Item{Entry: Entry{Path: "c"}, Op: inotifymask.OpRemove}, clk.Now().Add(-time.Minute))
	want := []string{`"a" update a2 3600s`, `"c" remove a0 60s`, `"b" update a0 0s`}
	if got := oldestLines(q.Oldest(5), clk.Now()); !slices.Equal(got, want) {
		t.Fatalf("Oldest = %q, want %q", got, want)
	}
}

// TestOldestMatchesSort: pendingSet.oldest against sorting everything,
// over random orders (failed paths come back with older times behind
// newer ones) and every n around the buffer's size.
func TestOldestMatchesSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		s := newPendingSet(NewBound(0))
		k := r.IntN(300)
		for i := range k {
			s.put(fmt.Sprintf("p%d", i), item{since: int64(r.IntN(40))})
		}
		s.takeOldest(r.IntN(k/4 + 1))
		var all []ent
		for p, it := range s.inOrder() {
			all = append(all, ent{p, it})
		}
		slices.SortStableFunc(all, func(a, b ent) int { return cmp.Compare(a.it.since, b.it.since) })
		for _, n := range []int{1, 2, 3, 7, 50, 1000} {
			got, want := s.oldest(n), all[:min(n, len(all))]
			if !slices.EqualFunc(got, want, func(a, b ent) bool { return a.path == b.path }) {
				t.Fatalf("round %d, %d paths, n %d: got %v, want %v", round, len(all), n, got, want)
			}
		}
	}
}
