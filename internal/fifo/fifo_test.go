package fifo

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/poll"
)

// op is one call in a scenario: push n new values, pop n, take all,
// delete the multiples of n, or clear.
type op struct {
	kind string // "push", "pop", "take", "front", "delete", "clear"
	n    int
}

// TestOrder: whatever the mix of calls, values leave in the order they
// came, and Len and All show what is queued; a plain slice is the model.
func TestOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ops  []op
	}{
		{"zero value is empty", nil},
		{"push then pop", []op{{"push", 5}, {"pop", 5}}},
		{"interleaved", []op{{"push", 3}, {"pop", 2}, {"push", 3}, {"front", 0}, {"pop", 4}}},
		{"front does not pop", []op{{"push", 2}, {"front", 0}, {"front", 0}, {"pop", 1}, {"front", 0}}},
		{"take after pops", []op{{"push", 4}, {"pop", 1}, {"take", 0}, {"push", 2}, {"pop", 2}}},
		{"take of an empty FIFO", []op{{"take", 0}, {"push", 1}, {"take", 0}, {"take", 0}}},
		{"compaction keeps order", []op{{"push", 3000}, {"pop", 2000}, {"push", 10}, {"pop", 500}, {"push", 5}, {"pop", 515}}},
		{"drain and reuse", []op{{"push", Keep + 1}, {"pop", Keep + 1}, {"push", 3}, {"pop", 3}}},
		{"burst taken, spare returned", []op{{"push", Keep + 1}, {"take", 0}, {"push", 4}, {"take", 0}, {"push", 1}, {"pop", 1}}},
		{"delete keeps the order of the rest", []op{{"push", 10}, {"pop", 3}, {"delete", 2}, {"push", 4}, {"pop", 2}, {"delete", 3}, {"pop", 4}}},
		{"delete everything then reuse", []op{{"push", 5}, {"pop", 1}, {"delete", 1}, {"push", 2}, {"pop", 2}}},
		{"delete after compaction", []op{{"push", 3000}, {"pop", 2000}, {"delete", 7}, {"push", 3}, {"pop", 50}}},
		{"clear then reuse", []op{{"push", 6}, {"pop", 2}, {"clear", 0}, {"clear", 0}, {"push", 3}, {"pop", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var q FIFO[int]
			var model []int
			var spare []int
			next := 0
			for i, o := range tt.ops {
				switch o.kind {
				case "push":
					for range o.n {
						q.Push(next)
						model = append(model, next)
						next++
					}
				case "pop":
					for range o.n {
						if got := q.Pop(); got != model[0] {
							t.Fatalf("op %d: Pop = %d, want %d", i, got, model[0])
						}
						model = model[1:]
					}
				case "front":
					if got := q.Front(); got != model[0] {
						t.Fatalf("op %d: Front = %d, want %d", i, got, model[0])
					}
				case "take":
					got := q.Take(spare)
					if !slices.Equal(got, model) {
						t.Fatalf("op %d: Take = %d items, want %d", i, len(got), len(model))
					}
					model, spare = nil, got
				case "delete":
					var seen []int
					q.DeleteFunc(func(v int) bool {
						seen = append(seen, v)
						return v%o.n == 0
					})
					if !slices.Equal(seen, model) {
						t.Fatalf("op %d: DeleteFunc asked about %d items, want each of %d once, oldest first", i, len(seen), len(model))
					}
					model = slices.DeleteFunc(model, func(v int) bool { return v%o.n == 0 })
				case "clear":
					q.Clear()
					model = nil
				}
				if q.Len() != len(model) {
					t.Fatalf("op %d: Len = %d, want %d", i, q.Len(), len(model))
				}
				if all := slices.Collect(q.All()); !slices.Equal(all, model) {
					t.Fatalf("op %d: All = %d items, want %d", i, len(all), len(model))
				}
			}
		})
	}
}

// TestMemory: what a FIFO keeps of its buffer after each way of emptying
// it, and that no slot it is done with still points at a value.
func TestMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		push     int
		pop      int  // Pop this many
		take     bool // then Take with a spare of spareCap
		spareCap int
		del      int  // then DeleteFunc the multiples of del (0: none)
		clear    bool // then Clear
		wantCap  func(c int) bool
		capRule  string
	}{
		{"small drained keeps its buffer", 10, 10, false, 0, 0, false, func(c int) bool { return c >= 10 && c <= Keep }, "kept"},
		{"burst drained is released", Keep + 1, Keep + 1, false, 0, 0, false, func(c int) bool { return c == 0 }, "0"},
		{"small spare is reused", 10, 0, true, 8, 0, false, func(c int) bool { return c == 8 }, "8"},
		{"large spare is released", 10, 0, true, Keep + 1, 0, false, func(c int) bool { return c == 0 }, "0"},
		{"long popped head is compacted", 3000, 2000, false, 0, 0, false, func(c int) bool { return c >= 1000 }, ">= 1000"},
		{"deleted slots are zeroed", 100, 10, false, 0, 3, false, func(c int) bool { return c >= 100 && c <= Keep }, "kept"},
		{"burst deleted is released", Keep + 1, 0, false, 0, 1, false, func(c int) bool { return c == 0 }, "0"},
		{"small cleared keeps its buffer", 10, 3, false, 0, 0, true, func(c int) bool { return c >= 10 && c <= Keep }, "kept"},
		{"burst cleared is released", Keep + 1, 0, false, 0, 0, true, func(c int) bool { return c == 0 }, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var q FIFO[*int]
			for i := range tt.push {
				q.Push(&i)
			}
			for range tt.pop {
				q.Pop()
			}
			var spare []*int
			if tt.take {
				spare = make([]*int, tt.spareCap)
				for i := range spare {
					spare[i] = new(int)
				}
				q.Take(spare)
				for i, p := range spare {
					if p != nil {
						t.Fatalf("spare[%d] still points at a value after Take", i)
					}
				}
			}
			if tt.del != 0 {
				q.DeleteFunc(func(p *int) bool { return *p%tt.del == 0 })
			}
			if tt.clear {
				q.Clear()
			}
			if c := q.Cap(); !tt.wantCap(c) {
				t.Fatalf("buffer capacity %d, want %s", c, tt.capRule)
			}
			if q.head > compactAt {
				t.Fatalf("%d popped slots lead the buffer, want at most %d", q.head, compactAt)
			}
			all := q.items[:cap(q.items)]
			for i, p := range all {
				queued := i >= q.head && i < len(q.items)
				if !queued && p != nil {
					t.Fatalf("slot %d is not queued but still points at a value", i)
				}
			}
		})
	}
}

// TestDrainReleasesBurst: the buffer of a burst becomes garbage once the
// FIFO drains, as the collector itself reports.
func TestDrainReleasesBurst(t *testing.T) {
	var q FIFO[int]
	for i := range Keep + 1 {
		q.Push(i)
	}
	var freed atomic.Bool
	runtime.AddCleanup(&q.items[0], func(b *atomic.Bool) { b.Store(true) }, &freed)
	for q.Len() > 0 {
		q.Pop()
	}
	poll.Until(t, 10*time.Second, "the burst's buffer to be collected", func() (bool, string) {
		runtime.GC()
		return freed.Load(), "buffer still reachable"
	})
	runtime.KeepAlive(&q) // the FIFO itself stays live: only its buffer may go
}
