// The pending bound of a remote: the Bound its queues share, the
// collapse of their pending paths into one full sync when it is passed,
// and the folding of later changes into that full sync.

package queue

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxPending is the pending budget of one remote (see Bound) when
// none is given: about 1,000,000 paths of 60 bytes.
const DefaultMaxPending = 256 << 20

// ReasonPendingBound is the Batch.Reason of the full sync a collapse
// asks for. The sender must send everything with it, crontab excludes
// included: the changes it replaces were never filtered by them.
const ReasonPendingBound = "pending bound"

// pathCostFixed is what one pending path costs besides its bytes: its
// map slot and item, its slot in the order, the map's slack.
const pathCostFixed = 208

// pathCost is what the pending path p is charged against its Bound.
func pathCost(p string) int64 { return int64(len(p)) + pathCostFixed }

// Bound is the pending budget of one remote, shared by its queues. The
// budget is counted in bytes (each pending path costs its length plus
// pathCostFixed), not in paths, because the memory a path takes grows
// with its length, up to 4 KiB on Linux: a count would bound nothing.
//
// When the paths pending in the queues sharing a Bound would pass its
// budget, they collapse: every queue drops its pending paths and gives
// their memory back, and the lead (the first queue made with the Bound,
// the engine's queue 0, which also gets RequestFull) requests a full sync
// with ReasonPendingBound. Until that full sync is cut, every change the
// queues get is folded into it instead of being stored: a full sync cut
// after a change was made covers it. Nothing is lost and the memory
// stays flat, whatever the number of paths that change while a remote is
// down. Safe for concurrent use.
type Bound struct {
	max  int64
	used atomic.Int64
	// owed is set from a collapse until the lead cuts the full sync it
	// asked for, and again when that full sync fails: changes fold into
	// the next one meanwhile. Written under mu.
	owed atomic.Bool
	// done counts the collapse full syncs whose first attempt is over
	// (cut counts those cut): a change folded while cut was c is covered
	// by the full sync number c+1.
	done atomic.Uint64

	mu     sync.Mutex
	cut    uint64
	queues []*Queue // queues[0] is the lead
}

// NewBound returns a pending budget of maxBytes (<= 0: DefaultMaxPending).
func NewBound(maxBytes int64) *Bound {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPending
	}
	return &Bound{max: maxBytes}
}

// Max returns the budget in bytes.
func (b *Bound) Max() int64 { return b.max }

// charge adds c (negative: gives back) to the bytes used and reports
// whether they now pass the budget.
func (b *Bound) charge(c int64) bool {
	return b.used.Add(c) > b.max
}

// join registers q and reports whether it is the lead.
func (b *Bound) join(q *Queue) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queues = append(b.queues, q)
	return len(b.queues) == 1
}

// fold reports whether a change may be folded into the owed full sync,
// and if so the number of the full sync that covers it.
func (b *Bound) fold() (uint64, bool) {
	if !b.owed.Load() {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.owed.Load() {
		return 0, false
	}
	return b.cut + 1, true
}

// cutFull records that the lead cut the owed full sync and returns its
// number: changes from now on are stored again.
func (b *Bound) cutFull() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.owed.Store(false)
	b.cut++
	return b.cut
}

// fullDone records that the first attempt of full sync number n is over;
// failed says it failed, so that the lead requests it again and changes
// fold into it once more.
func (b *Bound) fullDone(n uint64, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.done.Load() {
		b.done.Store(n)
	}
	if failed {
		b.owed.Store(true)
	}
}

// others returns the queues sharing b other than q, the lead first.
func (b *Bound) others(q *Queue) []*Queue {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(b.queues), func(o *Queue) bool { return o == q })
}

// collapse records a collapse: a full sync of the remote is owed from now
// on. It returns the number of the full sync that covers what the
// collapsing queue holds, and whether this call started the collapse
// (another queue of the remote may have just done it).
func (b *Bound) collapse() (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := !b.owed.Load()
	b.owed.Store(true)
	return b.cut + 1, first
}

// folded is what a queue folded into a full sync of its remote after a
// collapse, until the first attempt of that full sync is over.
type folded struct {
	gen   uint64    // the number of the full sync that covers it (0: nothing folded)
	low   uint64    // the oldest Add folded (0: none), held back from Done's result
	since time.Time // when the oldest change folded started to wait
}

// collapseLocked runs when the pending paths of the remote passed its
// Bound: this queue drops its pending paths and gives their memory back,
// and the full sync that replaces them is requested (by the lead). The
// other queues of the remote are told once the lock is released
// (unlock).
func (q *Queue) collapseLocked() {
	used := q.bound.used.Load()
	gen, first := q.bound.collapse()
	paths, attempt := q.foldPendingLocked(gen)
	if q.lead {
		q.requestBoundFullLocked(attempt)
	}
	if !first {
		return
	}
	q.stats.collapses++
	q.spread.due = true
	q.spread.paths, q.spread.attempt = paths, attempt
	q.spread.bytes, q.spread.limit = used, q.bound.max
}

func (q *Queue) requestBoundFullLocked(attempt int) {
	q.requestFullLocked(ReasonPendingBound)
	q.full.bound = true
	q.full.attempt = max(q.full.attempt, attempt)
}

// foldLocked folds a change, Add number n (0: none, or tried already),
// into the full sync owed to the remote after a collapse, together with
// whatever this queue still holds. It reports false when no full sync is
// owed: the change must be stored.
func (q *Queue) foldLocked(n uint64) bool {
	gen, ok := q.bound.fold()
	if !ok {
		return false
	}
	q.foldPendingLocked(gen)
	q.fold.low = oldestAdd(q.fold.low, n)
	if q.fold.since.IsZero() {
		q.fold.since = q.now()
	}
	q.stats.folded++
	return true
}

// foldPendingLocked drops every pending path into full sync number gen
// of the remote's Bound, gives their memory back, and returns how many
// there were and their highest attempt count.
func (q *Queue) foldPendingLocked(gen uint64) (paths, attempt int) {
	q.settleFoldLocked()
	q.fold.gen = max(q.fold.gen, gen)
	if q.pend.len() > 0 && (q.fold.since.IsZero() || q.firstAt.Before(q.fold.since)) {
		q.fold.since = q.firstAt
	}
	for _, it := range q.pend.all() {
		q.fold.low = oldestAdd(q.fold.low, it.first)
		attempt = max(attempt, int(it.attempt))
	}
	paths = q.pend.len()
	q.stats.covered += uint64(paths)
	q.pend.release()
	return paths, attempt
}

// settleFoldLocked forgets the folded changes once the first attempt of
// the full sync that covers them is over.
func (q *Queue) settleFoldLocked() {
	if q.fold.gen != 0 && q.bound.done.Load() >= q.fold.gen {
		q.fold = folded{}
	}
}

// owesLocked reports whether changes this queue folded still wait for
// the first attempt of the full sync that covers them.
func (q *Queue) owesLocked() bool {
	q.settleFoldLocked()
	return q.fold.gen != 0
}

// unlock releases q.mu and then passes a collapse of this queue on to the
// other queues of the remote: the lead requests the full sync, the others
// drop what they hold. A queue never holds its lock while it takes
// another's.
func (q *Queue) unlock() {
	sp := q.spread
	q.spread.due = false
	q.mu.Unlock()
	if !sp.due {
		return
	}
	q.log.Warn("pending changes of the remote passed their bound: collapsed into one full sync",
		"root", q.root, "paths", sp.paths, "pending_bytes", sp.bytes, "max_pending_bytes", sp.limit)
	for _, o := range q.bound.others(q) {
		o.owe(sp.attempt)
	}
}

// owe is how a queue hears that another queue of its remote collapsed.
func (q *Queue) owe(attempt int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if q.lead {
		q.requestBoundFullLocked(attempt)
	}
	if gen, ok := q.bound.fold(); ok && q.pend.len() > 0 {
		q.foldPendingLocked(gen)
	}
	q.wakeLocked()
}
