// The Queue type: its state, New, Close, and the wake-up of waiting Next
// calls. What it does with that state is in the files named for each
// step: add.go (changes in), next.go (when a batch leaves), cut.go (what
// it takes), done.go (what comes back), full.go (full-sync requests),
// snapshot.go (the state handed over or shown).

package queue

import (
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrClosed is returned by Next once Close has been called.
var ErrClosed = errors.New("queue: closed")

// initialRunAvg is the batch duration assumed before one was measured.
const initialRunAvg = 100 * time.Millisecond

// Queue coalesces the events of one watch root for one remote and hands
// them out as batches, one at a time. All methods are safe for concurrent
// use; it owns no goroutine.
type Queue struct {
	root string
	opt  Options
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	pend    pendingSet
	seq     uint64
	firstAt time.Time // when pending last became non-empty

	fly       map[uint64]*flight // batches handed out and not yet Done
	flyFull   bool               // one of them is a full sync
	busy      busyPaths          // their paths, when MaxInFlight > 1
	lastID    uint64
	holdUntil time.Time
	failures  int // consecutive failed batches

	// The adaptive hold: the pace of changes, new paths counted by
	// putLocked for it, when the batch now gathering started, and the
	// recent batch duration.
	pace     *Pace
	newPaths int
	gatherAt time.Time
	runAvg   time.Duration
	wantAdd  bool          // the waiting Next decides anew on an Add
	evalSem  chan struct{} // one Next at a time waits for a cut

	full fullRequest
	ov   overflowState

	// bound is the remote's pending budget; lead says this queue runs the
	// full sync a collapse asks for. fold is what this queue folded into
	// such a full sync. spread is set by a collapse of this queue, for the
	// caller to pass on once the lock is released.
	bound  *Bound
	lead   bool
	fold   folded
	spread struct {
		due          bool
		paths        int
		attempt      int
		bytes, limit int64
	}

	stats  counters
	wakeC  chan struct{} // closed to wake waiting Next calls; nil if none wait
	closed bool
}

// New returns an empty queue for the watch root root (copied into every
// Batch).
func New(root string, opt Options) *Queue {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = DefaultMaxBatch
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = DefaultMaxBackoff
	}
	if opt.RetryBase <= 0 {
		opt.RetryBase = DefaultRetryBase
	}
	if opt.MaxRetry <= 0 || opt.MaxRetry > opt.MaxBackoff {
		opt.MaxRetry = opt.MaxBackoff
	}
	opt.RetryBase = min(opt.RetryBase, opt.MaxRetry)
	if opt.OverflowBase <= 0 {
		opt.OverflowBase = DefaultOverflowBase
	}
	opt.OverflowBase = min(opt.OverflowBase, opt.MaxBackoff)
	if opt.OverflowQuiet <= 0 {
		opt.OverflowQuiet = opt.MaxBackoff
	}
	q := &Queue{
		root:    root,
		opt:     opt,
		now:     opt.Now,
		log:     opt.Log,
		fly:     make(map[uint64]*flight),
		runAvg:  initialRunAvg,
		evalSem: make(chan struct{}, 1),
	}
	q.opt.MaxInFlight = max(q.opt.MaxInFlight, 1)
	q.pace = q.opt.Pace
	if q.pace == nil {
		q.pace = NewPace()
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.ov.interval = opt.OverflowBase
	q.bound = opt.Bound
	if q.bound == nil {
		q.bound = NewBound(0)
	}
	q.pend = newPendingSet(q.bound)
	q.lead = q.bound.join(q)
	return q
}

// Close wakes every blocked Next, which then returns ErrClosed, as do all
// later calls. Add and RequestFull become no-ops; Done, Stats and Snapshot
// keep working so that an in-flight batch can still be accounted for.
// Close is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.wakeLocked()
	q.mu.Unlock()
}

func (q *Queue) wakeLocked() {
	if q.wakeC != nil {
		close(q.wakeC)
		q.wakeC = nil
	}
}
