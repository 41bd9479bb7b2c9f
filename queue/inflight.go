// The batches in flight: their record (flight), the index of their
// paths that keeps overlapping batches disjoint, and the Budget of extra
// batches the queues of a remote share.

package queue

import (
	"strings"
	"sync/atomic"
	"time"
)

// flight is the batch handed out by Next and not yet Done.
type flight struct {
	id      uint64
	full    bool
	reason  string
	attempt int
	ents    []ent // kept entries, for requeueing on failure
	// since is when the oldest change of the batch started to wait: a
	// failed batch's paths keep it when they go back to pending.
	since time.Time
	cutAt time.Time
	extra bool     // took one from Options.Budget
	low   uint64   // oldest Add the batch handed out (0: none)
	froms []string // sources of the batch's moves (busy while in flight)
	gen   uint64   // the number of a collapse's full sync (Bound), 0 if not one
}

// busyPaths indexes the paths of the batches in flight, so that a batch
// cut while others are in flight takes only paths disjoint from theirs: no
// path equal to, above or below one being synced (Options.MaxInFlight).
type busyPaths struct {
	exact map[string]int // in-flight entries at the path
	under map[string]int // in-flight entries strictly below the path
}

func (bp *busyPaths) add(p string, d int) {
	if bp.exact == nil {
		bp.exact, bp.under = make(map[string]int), make(map[string]int)
	}
	bump(bp.exact, p, d)
	for a := parent(p); a != ""; a = parent(a) {
		bump(bp.under, a, d)
	}
}

func bump(m map[string]int, k string, d int) {
	if n := m[k] + d; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}

// conflicts reports whether p is, is below, or is above an in-flight path.
func (bp *busyPaths) conflicts(p string) bool {
	if len(bp.exact) == 0 {
		return false
	}
	if bp.exact[p] > 0 || bp.under[p] > 0 {
		return true
	}
	for a := parent(p); a != ""; a = parent(a) {
		if bp.exact[a] > 0 {
			return true
		}
	}
	return false
}

// parent returns the directory of p, "" at the top.
func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// Budget is a count of extra batches that queues sharing it may have in
// flight beyond their first: the queues of one remote share one, so that a
// slow remote's overlapping batches cannot take every rsync slot from the
// others. A nil *Budget does not limit. Safe for concurrent use.
type Budget struct {
	free atomic.Int64
}

// NewBudget returns a budget of n extra batches (n <= 0: none).
func NewBudget(n int) *Budget {
	b := &Budget{}
	b.free.Store(int64(max(n, 0)))
	return b
}

func (b *Budget) take() bool {
	if b == nil {
		return true
	}
	for {
		n := b.free.Load()
		if n <= 0 {
			return false
		}
		if b.free.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (b *Budget) give() {
	if b != nil {
		b.free.Add(1)
	}
}
