package queue

import (
	"errors"
	"testing"

	"github.com/sersync-go/sersync2/inotifymask"
)

// TestTried: Done names the Adds whose first attempt is over, whatever
// folding, capping, failures and full syncs did to them.
func TestTried(t *testing.T) {
	t.Parallel()
	errDown := errors.New("test: remote down")
	// A step adds events, or cuts a batch and hands it back with err,
	// expecting what Done reports tried.
	type step struct {
		add     []inotifymask.Event
		full    bool  // RequestFull before the cut
		cut     bool  // cut a batch
		err     error // Done's result
		through uint64
	}
	tests := []struct {
		name     string
		maxBatch int
		steps    []step
	}{
		{"every add of a batch", 0, []step{
			{add: []inotifymask.Event{upd("a"), upd("b"), upd("a")}},
			{cut: true, through: 3},
		}},
		{"folded into a directory update still counts", 0, []step{
			{add: []inotifymask.Event{updDir("d"), upd("d/x"), upd("d/y")}},
			{cut: true, through: 3},
		}},
		{"a failed batch still ends the first attempt", 0, []step{
			{add: []inotifymask.Event{upd("a"), rm("b")}},
			{cut: true, err: errDown, through: 2},
			{add: []inotifymask.Event{upd("c")}},
			// The retry carries a and b again with the new c.
			{cut: true, through: 3},
		}},
		{"capped batch stops before what it left", 2, []step{
			{add: []inotifymask.Event{upd("a"), upd("b"), upd("c"), upd("a")}},
			{cut: true, through: 2},
			{cut: true, through: 4},
		}},
		{"a requeued path left behind does not hold back", 1, []step{
			{add: []inotifymask.Event{upd("a")}},
			{cut: true, err: errDown, through: 1},
			{add: []inotifymask.Event{upd("b")}},
			// a (tried already) is oldest and leaves first; b waits.
			{cut: true, through: 1},
			{cut: true, through: 2},
		}},
		{"full sync covers what was pending", 0, []step{
			{add: []inotifymask.Event{upd("a"), mv("b", "c", false)}},
			{full: true, cut: true, through: 2},
		}},
		{"overflow counts once its full sync is cut", 0, []step{
			{add: []inotifymask.Event{upd("a"), overflow()}},
			{cut: true, through: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			q := New(root, Options{MaxBatch: tt.maxBatch, Now: clock.Now})
			var n uint64
			for i, s := range tt.steps {
				for _, ev := range s.add {
					n++
					if got := q.Add(ev); got != n {
						t.Fatalf("step %d: Add = %d, want %d", i, got, n)
					}
				}
				if s.full {
					q.RequestFull("test")
				}
				if !s.cut {
					continue
				}
				clock.Advance(DefaultMaxBackoff * 2) // past any retry hold-off
				b := mustNext(t, q)
				if got := q.Done(b, s.err); got != s.through {
					t.Errorf("step %d: batch %s: Done = %d tried, want %d", i, show(b), got, s.through)
				}
			}
		})
	}
	q := New(root, Options{})
	q.Close()
	if got := q.Add(upd("a")); got != 0 {
		t.Errorf("Add after Close = %d, want 0", got)
	}
}
