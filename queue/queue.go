package queue

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// ErrClosed is returned by Next once Close has been called.
var ErrClosed = errors.New("queue: closed")

// initialRunAvg is the batch duration assumed before one was measured.
const initialRunAvg = 100 * time.Millisecond

// Defaults used for zero Options fields.
const (
	DefaultMaxBatch     = 10000
	DefaultRetryBase    = time.Second
	DefaultMaxBackoff   = 60 * time.Second
	DefaultOverflowBase = time.Second
)

// Options tune a Queue. The zero value is usable.
type Options struct {
	// Recursive says the rsync parameters recurse (-a or -r): an update of
	// a directory sends its content, so pending updates below an updated
	// directory are dropped when a batch is cut. Removes below it are kept
	// (an update never deletes anything remotely).
	Recursive bool
	// MaxBatch caps the paths per batch; the rest stays pending, oldest
	// first out. <= 0 means DefaultMaxBatch.
	MaxBatch int
	// MinDelay makes Next wait at least this long after the first pending
	// change before cutting a batch (fewer, larger batches). 0, the default,
	// cuts as soon as nothing is in flight.
	MinDelay time.Duration
	// Adaptive holds the next cut while changes keep arriving, longer the
	// higher their rate (0.25 ms per change per second, at most 250 ms),
	// and lets it go once they pause: an idle queue still sends a change at
	// once, a busy one sends fewer, larger batches. See docs/queue.md.
	Adaptive bool
	// MaxInFlight is how many batches may be in flight at once; <= 1, the
	// default, means one. With more, a batch is cut while others are in
	// flight once its oldest change has waited 1/MaxInFlight of the recent
	// batch duration, and it takes only paths
	// disjoint from theirs (not equal, above or below an in-flight path),
	// so changes of one path are still synced in order. Over a slow link a
	// change then waits for a fraction of a session, not a whole one.
	MaxInFlight int
	// SlowRun is the recent batch duration from which batches overlap
	// (MaxInFlight): below it a batch in flight is over soon and waiting
	// for it costs less than another rsync session. 0 means always.
	SlowRun time.Duration
	// Budget, if set, is shared with other queues (those of one remote):
	// each batch in flight beyond a queue's first takes one from it.
	Budget *Budget
	// Pace, if set, is shared with other queues (those of one remote): the
	// adaptive hold follows the rate and pauses of their changes together.
	Pace *Pace
	// Bound, if set, is shared with other queues (those of one remote):
	// the budget their pending paths share, past which they collapse into
	// one full sync of the remote (see Bound). nil gives the queue a
	// budget of its own of DefaultMaxPending.
	Bound *Bound
	// Moves says the sender can rename on the remote: a rename becomes a
	// Batch.Move when the removal of its source leaves in the same batch,
	// on the batch's first attempt, and the update of a directory moved so
	// is flagged Replaced until it is synced (the remote copy moved there
	// may hold entries the local one no longer has).
	Moves bool
	// RetryBase is the hold-off after the first failed batch; it doubles
	// with each consecutive failure up to MaxBackoff, plus up to 10% jitter.
	// <= 0 means DefaultRetryBase.
	RetryBase time.Duration
	// MaxBackoff caps the retry hold-off and the overflow full-sync spacing.
	// <= 0 means DefaultMaxBackoff.
	MaxBackoff time.Duration
	// MaxRetry caps the retry hold-off alone, so a remote that comes back
	// is tried again within MaxRetry while overflow full syncs stay spaced
	// by MaxBackoff. <= 0 or more than MaxBackoff means MaxBackoff.
	MaxRetry time.Duration
	// OverflowBase is the minimum spacing between two full syncs triggered
	// by overflows; it doubles while overflows keep coming, up to MaxBackoff.
	// <= 0 means DefaultOverflowBase.
	OverflowBase time.Duration
	// OverflowQuiet is how long without an overflow resets the spacing to
	// OverflowBase. <= 0 means MaxBackoff.
	OverflowQuiet time.Duration
	// OnRetry, if set, is called after a failed batch went back to pending,
	// with the hold-off before the next batch. It runs on the goroutine
	// that called Done, without the queue's lock held.
	OnRetry func(b Batch, err error, next time.Duration)
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// Log receives the queue's few messages (overflows, give-ups, misuse);
	// nil discards them.
	Log *slog.Logger
}

// item is the pending state of one path.
type item struct {
	seq uint64 // sequence number of the latest event for the path
	// rmSeq is the sequence number of the latest removal of the path as a
	// directory (0 if none). It survives a later update (delete+create),
	// so changes below the old directory stay covered by its removal.
	rmSeq uint64
	// first is the number of the oldest Add merged into the item that no
	// batch has handed out yet (0 once handed out: a failed path put back
	// has been tried).
	first uint64
	// since is when the path became pending (Unix nanoseconds): a merged
	// change and a failed batch keep it, so it says how long the remote
	// has lacked the path.
	since   int64
	attempt int32
	op      inotifymask.Op // OpUpdate or OpRemove
	dir     bool
	// from is where the content of an update came from by a rename ("" if
	// it did not, or if the source's remote copy may not be this file):
	// the batch's Move. moveSeq orders the moves of a batch. moved is set
	// once a batch that moved a directory here failed: until synced, it is
	// synced with deletion.
	from    string
	moveSeq uint64
	moved   bool
}

// replaced reports whether the item is an update of a path that was
// removed as a directory since it became pending (Entry.Replaced).
func (it item) replaced() bool { return it.rmSeq != 0 && it.op == inotifymask.OpUpdate }

// covers reports whether the item can make entries below it redundant.
func (it item) covers() bool { return it.dir || it.rmSeq != 0 }

type ent struct {
	path string
	it   item
}

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

type fullRequest struct {
	on       bool
	explicit bool // requested by RequestFull or a failed full: not spaced
	overflow bool // requested (also) by an overflow
	bound    bool // requested (also) by a collapse: changes fold into it
	reason   string
	attempt  int
	first    uint64 // the oldest Add that asked for it (overflow, root)
}

type overflowState struct {
	interval  time.Duration // spacing after the next overflow-driven full
	notBefore time.Time     // earliest cut of an overflow-driven full
	last      time.Time     // time of the latest overflow
}

// folded is what a queue folded into a full sync of its remote after a
// collapse, until the first attempt of that full sync is over.
type folded struct {
	gen   uint64    // the number of the full sync that covers it (0: nothing folded)
	low   uint64    // the oldest Add folded (0: none), held back from Done's result
	since time.Time // when the oldest change folded started to wait
}

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

// Add records one watcher event. Update and remove replace whatever is
// pending for the path (last op wins); a rename is a remove of OldPath
// followed by an update of Path; an overflow requests a full sync, spaced
// out while overflows keep coming. Any other Op is treated as an update
// ("make the path equal"), never dropped; a change of the root itself
// (empty Path) requests a full sync. Add after Close does nothing.
// Event.Root is not looked at: the caller routes events to the queue of
// their root.
//
// Add returns the number of this call, counting from 1 (0 after Close):
// Batch.Through says which calls a batch has handed out.
func (q *Queue) Add(ev inotifymask.Event) uint64 {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0
	}
	q.stats.events++
	n := q.stats.events
	newPaths := q.newPaths
	var logOverflow, logRoot bool
	switch ev.Op {
	case inotifymask.OpOverflow:
		logOverflow = q.overflowLocked(n)
	case inotifymask.OpRemove:
		logRoot = q.putLocked(ev.Path, inotifymask.OpRemove, ev.Dir, n)
	case inotifymask.OpRename:
		if ev.OldPath != ev.Path && ev.OldPath != "" && ev.Path != "" {
			var origin string
			if q.opt.Moves {
				origin = q.originLocked(ev.OldPath)
			}
			q.putLocked(ev.OldPath, inotifymask.OpRemove, ev.Dir, n)
			q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
			q.movedLocked(ev.Path, origin)
			break
		}
		logRoot = q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
	default:
		logRoot = q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
	}
	if q.opt.Adaptive {
		q.pace.note(q.now(), q.newPaths-newPaths)
	}
	// A waiting Next that sleeps until a deadline is woken only when this
	// change can make a batch leave earlier: no wake-up per event.
	if q.wantAdd || logRoot || logOverflow || q.pend.len() >= q.opt.MaxBatch || q.opt.Adaptive && q.pend.len() == holdPaths {
		q.wakeLocked()
	}
	q.unlock()
	if logOverflow {
		q.log.Warn("event overflow, full sync requested", "root", q.root, "err", ev.Err)
	}
	if logRoot {
		q.log.Warn("event for the watch root itself, full sync requested", "root", q.root, "op", ev.Op.String())
	}
	return n
}

// putLocked merges one change of p, made by Add number n (0: none), into
// the pending set, or folds it into the full sync owed to the remote
// after a collapse. A change of the root itself (empty path) becomes a
// full sync request, reported true.
func (q *Queue) putLocked(p string, op inotifymask.Op, dir bool, n uint64) bool {
	if p == "" {
		first := !q.full.on || !q.full.explicit
		q.requestFullLocked("root")
		if q.full.first == 0 {
			q.full.first = n
		}
		return first
	}
	if q.foldLocked(n) {
		return false
	}
	q.seq++
	it, ok := q.pend.get(p)
	if ok {
		q.stats.merged++
	} else {
		now := q.now()
		it.since = now.UnixNano()
		if q.pend.len() == 0 {
			q.firstAt = now
			q.gatherAt = q.firstAt
		}
		if n != 0 {
			q.newPaths++
		}
	}
	it.seq, it.op, it.dir = q.seq, op, dir
	if it.first == 0 {
		it.first = n
	}
	if op == inotifymask.OpRemove {
		it.from, it.moved = "", false
		if dir {
			it.rmSeq = q.seq
		}
	}
	if q.pend.put(p, it) {
		q.collapseLocked()
	}
	return false
}

// originLocked returns where the remote copy of old, about to be renamed,
// came from: old itself when nothing is pending for it (the remote holds
// this very file, synced), the source of the rename that brought it when
// that is all that is pending, and "" when old changed otherwise since the
// last batch (the remote copy may be another file that had the name: no
// move).
func (q *Queue) originLocked(old string) string {
	it, ok := q.pend.get(old)
	switch {
	case !ok:
		return old
	case it.op == inotifymask.OpUpdate:
		return it.from
	}
	return ""
}

// movedLocked records that the update pending for p came by a rename from
// origin.
func (q *Queue) movedLocked(p, origin string) {
	if origin == p {
		origin = ""
	}
	q.pend.update(p, func(it *item) { it.from, it.moveSeq = origin, q.seq })
}

// Restore puts back a change handed over from another queue's Snapshot
// (a configuration reload): it merges like Add, but it is no new event
// (Stats.Events does not move and Batch.Through never waits for it), it
// keeps its failed attempts and its Item.Since (since when it has none),
// and the queue counts as pending since no later than since, so the lag
// does not restart. A replaced directory is
// put back as its removal and then its update, as the watcher would have
// sent them.
func (q *Queue) Restore(it Item, since time.Time) {
	q.mu.Lock()
	defer q.unlock()
	if q.closed {
		return
	}
	if it.Replaced {
		q.putLocked(it.Path, inotifymask.OpRemove, true, 0)
	}
	q.putLocked(it.Path, it.Op, it.Dir, 0)
	at := it.Since
	if at.IsZero() {
		at = since
	}
	q.pend.update(it.Path, func(p *item) {
		p.attempt = max(p.attempt, int32(it.Attempt))
		if !at.IsZero() {
			p.since = min(p.since, at.UnixNano())
		}
	})
	if !since.IsZero() && since.Before(q.firstAt) {
		q.firstAt = since
	}
	q.wakeLocked()
}

// overflowLocked requests an overflow-driven full sync. It reports whether
// this overflow started a new request (worth a log line).
func (q *Queue) overflowLocked(n uint64) bool {
	now := q.now()
	q.stats.overflows++
	if !q.ov.last.IsZero() && now.Sub(q.ov.last) >= q.opt.OverflowQuiet {
		q.ov.interval = q.opt.OverflowBase
		q.ov.notBefore = time.Time{}
	}
	q.ov.last = now
	first := !q.full.on
	q.full.on = true
	q.full.overflow = true
	if q.full.first == 0 {
		q.full.first = n
	}
	q.full.reason = addReason(q.full.reason, "overflow")
	return first
}

// RequestFull makes the next batch a full sync of the root, cut as soon as
// no batch is in flight (and any retry hold-off has passed). It covers,
// and clears, every change pending at the moment it is cut; changes added
// after that leave in the batch after it. reason ends up in Batch.Reason.
func (q *Queue) RequestFull(reason string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.requestFullLocked(reason)
	q.wakeLocked()
}

func (q *Queue) requestFullLocked(reason string) {
	q.full.on = true
	q.full.explicit = true
	q.full.reason = addReason(q.full.reason, reason)
}

func addReason(have, r string) string {
	switch {
	case have == "":
		return r
	case r == "" || have == r || strings.Contains(","+have+",", ","+r+","):
		return have
	}
	return have + "," + r
}

// Next blocks until a batch can be cut and returns it: something is
// pending, fewer than MaxInFlight batches of this queue are in flight (a
// full sync goes only when none is, and alone), and any retry hold-off,
// overflow spacing, MinDelay or adaptive hold has passed. The caller must
// hand the batch back with Done. Several goroutines may call Next (one per
// batch allowed in flight); one at a time waits for the cut. Next returns
// ErrClosed after Close and ctx.Err() when ctx ends first.
func (q *Queue) Next(ctx context.Context) (Batch, error) {
	select {
	case q.evalSem <- struct{}{}:
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
	defer func() { <-q.evalSem }()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Batch{}, ErrClosed
		}
		now := q.now()
		b, ok, deadline := q.tryCutLocked(now)
		if ok {
			q.mu.Unlock()
			return b, nil
		}
		if q.wakeC == nil {
			q.wakeC = make(chan struct{})
		}
		wake := q.wakeC
		q.mu.Unlock()

		var tick <-chan time.Time
		if !deadline.IsZero() {
			d := deadline.Sub(now)
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-wake:
		case <-tick:
		}
	}
}

// tryCutLocked cuts a batch if one may leave at now. Otherwise it returns
// the time at which one may leave without further events (zero: only an
// event, Done or Close can change that), and sets wantAdd when an event
// can.
func (q *Queue) tryCutLocked(now time.Time) (Batch, bool, time.Time) {
	q.wantAdd = false
	if q.pend.len() > 0 {
		// A full sync owed to the remote covers what is pending here.
		if gen, ok := q.bound.fold(); ok {
			q.foldPendingLocked(gen)
		}
	}
	nf := len(q.fly)
	if q.flyFull || nf >= q.opt.MaxInFlight {
		return Batch{}, false, time.Time{}
	}
	if now.Before(q.holdUntil) {
		return Batch{}, false, q.holdUntil
	}
	var deadline time.Time
	if q.full.on {
		if nf > 0 {
			return Batch{}, false, time.Time{}
		}
		if q.full.explicit || !now.Before(q.ov.notBefore) {
			return q.cutFullLocked(now), true, time.Time{}
		}
		deadline = q.ov.notBefore
	}
	if q.pend.len() == 0 {
		q.wantAdd = true
		return Batch{}, false, deadline
	}
	if q.opt.MinDelay > 0 {
		if at := q.firstAt.Add(q.opt.MinDelay); now.Before(at) {
			return Batch{}, false, earliest(deadline, at)
		}
	}
	if at, wait := q.holdLocked(now); wait {
		if at.IsZero() {
			return Batch{}, false, deadline // until a batch is done
		}
		return Batch{}, false, earliest(deadline, at)
	}
	extra := nf > 0
	if extra && !q.opt.Budget.take() {
		// The remote's other queues use its extra batches: one of ours
		// being done decides.
		return Batch{}, false, deadline
	}
	b, ok := q.cutLocked(now)
	if !ok {
		// Everything pending touches a batch in flight: its Done decides.
		if extra {
			q.opt.Budget.give()
		}
		return Batch{}, false, deadline
	}
	q.fly[b.id].extra = extra
	return b, true, time.Time{}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// holdLocked decides whether the changes pending wait a little longer to
// leave together, and until when. With nothing in flight and Adaptive off
// they never wait. Adaptive holds the batch that is gathering while
// changes keep coming (hold), ending the hold as soon as they pause
// (quiet). With batches in flight, a further one leaves once its oldest
// change has waited 1/MaxInFlight of the recent batch duration, so the
// batches in flight are spread over the time one takes.
func (q *Queue) holdLocked(now time.Time) (time.Time, bool) {
	if q.pend.len() >= q.opt.MaxBatch || q.opt.Adaptive && q.pend.len() >= holdPaths {
		return time.Time{}, false
	}
	var h, quiet time.Duration
	quietAt := time.Time{}
	if q.opt.Adaptive {
		rate, last := q.pace.read(now)
		h, quiet = hold(rate)
		if quietAt = last.Add(quiet); !now.Before(quietAt) {
			// The changes paused: what is pending leaves now, also next
			// to a batch in flight (the end of a burst is where latency
			// counts).
			return time.Time{}, false
		}
	}
	wait := h
	if len(q.fly) > 0 {
		if q.runAvg < q.opt.SlowRun {
			// Not worth another session: the batch in flight ends soon,
			// or the changes pause.
			return quietAt, true
		}
		wait = max(wait, q.runAvg/time.Duration(q.opt.MaxInFlight))
	}
	at := q.gatherAt.Add(wait)
	if !now.Before(at) {
		return time.Time{}, false
	}
	if !quietAt.IsZero() && quietAt.Before(at) {
		// Asked again when the changes may have paused.
		at = quietAt
	}
	return at, true
}

func (q *Queue) cutFullLocked(now time.Time) Batch {
	since := now
	if q.pend.len() > 0 {
		since = q.firstAt
	}
	low := q.full.first
	for _, it := range q.pend.all() {
		low = oldestAdd(low, it.first)
	}
	q.stats.covered += uint64(q.pend.len())
	q.pend.clear()
	var gen uint64
	if q.full.bound {
		gen = q.bound.cutFull()
	}
	if q.full.overflow {
		q.ov.notBefore = now.Add(q.ov.interval)
		q.ov.interval = min(2*q.ov.interval, q.opt.MaxBackoff)
	}
	q.lastID++
	f := &flight{id: q.lastID, full: true, reason: q.full.reason, attempt: q.full.attempt, since: since, cutAt: now, low: low, gen: gen}
	q.fly[f.id] = f
	q.flyFull = true
	q.full = fullRequest{}
	q.stats.batches++
	q.stats.fulls++
	return Batch{Root: q.root, Full: true, Reason: f.reason, Attempt: f.attempt, id: f.id}
}

// cutLocked takes up to MaxBatch pending paths, oldest first, drops those
// an ancestor in the same batch covers, and hands out the rest. With
// batches in flight it takes only paths disjoint from theirs (and nothing
// below a path it leaves); it reports false when there is none.
func (q *Queue) cutLocked(now time.Time) (Batch, bool) {
	since := q.firstAt
	var ents []ent
	if len(q.fly) == 0 {
		ents = q.takeLocked()
	} else {
		ents = q.takeDisjointLocked()
		if len(ents) == 0 {
			return Batch{}, false
		}
	}
	if q.pend.len() > 0 {
		q.gatherAt = now
	}

	var low uint64
	for _, e := range ents {
		low = oldestAdd(low, e.it.first)
	}
	kept := prune(ents, q.opt.Recursive)
	q.stats.covered += uint64(len(ents) - len(kept))
	q.lastID++
	b := Batch{Root: q.root, id: q.lastID}
	b.Moves = q.movesLocked(ents, kept)
	for i, e := range kept {
		if e.it.op == inotifymask.OpRemove {
			b.Removes = append(b.Removes, Entry{Path: e.path, Dir: e.it.dir})
		} else {
			if e.it.dir && e.it.from != "" && slices.ContainsFunc(b.Moves, func(m Move) bool { return m.To == e.path }) {
				kept[i].it.moved = true
			}
			b.Updates = append(b.Updates, Entry{e.path, e.it.dir, e.it.replaced() || kept[i].it.moved})
		}
		b.Attempt = max(b.Attempt, int(e.it.attempt))
	}
	f := &flight{id: b.id, ents: kept, attempt: b.Attempt, since: since, cutAt: now, low: low}
	if q.opt.MaxInFlight > 1 {
		for _, e := range kept {
			q.busy.add(e.path, 1)
		}
		for _, m := range b.Moves {
			f.froms = append(f.froms, m.From)
			q.busy.add(m.From, 1)
		}
	}
	q.fly[f.id] = f
	q.stats.batches++
	return b, true
}

// takeLocked takes up to MaxBatch pending paths, oldest first.
func (q *Queue) takeLocked() []ent {
	return q.pend.takeOldest(q.opt.MaxBatch)
}

// takeDisjointLocked takes up to MaxBatch pending paths, oldest first,
// that neither touch a path in flight (equal, above or below it) nor lie
// below a pending path that does; the others stay pending in their order.
func (q *Queue) takeDisjointLocked() []ent {
	held := make(map[string]bool)
	for p := range q.pend.all() {
		if q.busy.conflicts(p) {
			held[p] = true
		}
	}
	below := func(p string) bool {
		for a := parent(p); a != ""; a = parent(a) {
			if held[a] {
				return true
			}
		}
		return false
	}
	return q.pend.takeWhere(q.opt.MaxBatch, func(p string) bool {
		return !held[p] && (len(held) == 0 || !below(p))
	})
}

// movesLocked returns the renames behind the batch's updates, oldest
// first, among the entries taken (ents) and kept. A move is made only
// when the removal of its source leaves in the same batch: then nothing
// newer has been synced to the source's remote path since the rename (a
// later file there leaves with or after that removal), so the remote copy
// moved is the file renamed. It leaves out moves that depend on each
// other (a swap a <-> b moved one after the other would destroy a
// source): for those the sender sends the data as for any update.
func (q *Queue) movesLocked(ents, kept []ent) []Move {
	if !q.opt.Moves {
		return nil
	}
	type seqMove struct {
		Move
		seq uint64
	}
	var ms []seqMove
	var removed map[string]bool
	for _, e := range kept {
		if e.it.op != inotifymask.OpUpdate || e.it.from == "" {
			continue
		}
		if removed == nil {
			removed = make(map[string]bool)
			for _, r := range ents {
				if r.it.op == inotifymask.OpRemove {
					removed[r.path] = true
				}
			}
		}
		if removed[e.it.from] && !q.busy.conflicts(e.it.from) {
			ms = append(ms, seqMove{Move{From: e.it.from, To: e.path, Dir: e.it.dir}, e.it.moveSeq})
		}
	}
	if len(ms) == 0 {
		return nil
	}
	from := make(map[string]int, len(ms))
	to := make(map[string]int, len(ms))
	for _, m := range ms {
		from[m.From]++
		to[m.To]++
	}
	slices.SortFunc(ms, func(a, b seqMove) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Move, 0, len(ms))
	for _, m := range ms {
		if to[m.From] > 0 || from[m.To] > 0 || from[m.From] > 1 {
			continue
		}
		out = append(out, m.Move)
	}
	return out
}

// triedLocked returns the highest Add number n such that every Add up to
// n has been handed out by a batch that is Done: one less than the oldest
// Add still pending, waiting in a full sync request, or in a batch in
// flight; the Add count when there is none.
func (q *Queue) triedLocked() uint64 {
	var low uint64
	if q.full.on {
		low = q.full.first
	}
	if q.owesLocked() {
		low = oldestAdd(low, q.fold.low)
	}
	for _, it := range q.pend.all() {
		low = oldestAdd(low, it.first)
	}
	for _, f := range q.fly {
		low = oldestAdd(low, f.low)
	}
	if low == 0 {
		return q.stats.events
	}
	return low - 1
}

// oldestAdd returns the older of two Add numbers, 0 standing for none.
func oldestAdd(a, b uint64) uint64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// Done hands back a batch returned by Next with the result of syncing it.
// On success the batch is forgotten and the retry hold-off reset. On
// failure its paths go back to pending with their attempt count raised,
// except those a newer change has superseded meanwhile (the newer change
// wins), and the next cut is held off by an exponential backoff. A failed
// full batch is requested again. Done for a batch that is not in flight is
// logged and ignored.
//
// Done returns the number up to which every Add (see Queue.Add) has been
// tried once: handed out by a batch that is now done, whatever its result,
// folded into an ancestor or a full sync included. It never goes back.
func (q *Queue) Done(b Batch, err error) uint64 {
	q.mu.Lock()
	f := q.landLocked(b, "Done")
	if f == nil {
		q.mu.Unlock()
		return 0
	}
	if f.gen != 0 {
		q.bound.fullDone(f.gen, err != nil)
	}
	now := q.now()
	if err == nil {
		if !f.full {
			q.runAvg += (now.Sub(f.cutAt) - q.runAvg) / 8
		}
		q.failures = 0
		q.holdUntil = time.Time{}
		t := q.triedLocked()
		q.mu.Unlock()
		return t
	}

	q.failures++
	next := q.backoffLocked()
	q.holdUntil = now.Add(next)
	q.stats.retries++
	q.requeueLocked(f, true)
	t := q.triedLocked()
	q.unlock()

	if q.opt.OnRetry != nil {
		q.opt.OnRetry(b, err, next)
	}
	return t
}

// Hold hands back a batch returned by Next that was not run (its root was
// absent). Its paths go back to pending and a full batch is requested
// again, as after a failure, but nothing counts as tried: no attempt is
// added, no retry counted, no hold-off follows. A full sync the pending
// bound asked for stays owed.
func (q *Queue) Hold(b Batch) {
	q.mu.Lock()
	f := q.landLocked(b, "Hold")
	if f == nil {
		q.mu.Unlock()
		return
	}
	if f.gen != 0 {
		q.bound.fullDone(f.gen, true)
	}
	q.requeueLocked(f, false)
	q.unlock()
}

// landLocked takes the batch b out of flight and returns its flight (nil,
// logged, when it is not in flight).
func (q *Queue) landLocked(b Batch, op string) *flight {
	f := q.fly[b.id]
	if f == nil {
		q.log.Warn("queue: a batch not in flight handed back; ignored", "op", op, "root", q.root, "paths", b.Len(), "full", b.Full)
		return nil
	}
	delete(q.fly, b.id)
	if f.full {
		q.flyFull = false
	}
	if f.extra {
		q.opt.Budget.give()
	}
	if q.opt.MaxInFlight > 1 {
		for _, e := range f.ents {
			q.busy.add(e.path, -1)
		}
		for _, p := range f.froms {
			q.busy.add(p, -1)
		}
	}
	q.wakeLocked()
	return f
}

// requeueLocked puts the paths of the landed flight f back to pending,
// except those a newer change has superseded meanwhile (the newer change
// wins) and those a full sync the pending bound owes takes in, and
// requests a full flight again. tried says that f ran (and failed): its
// attempts count. The caller unlocks with q.unlock (a collapse may be
// due).
func (q *Queue) requeueLocked(f *flight, tried bool) {
	if f.full {
		q.full.on = true
		q.full.explicit = true
		q.full.bound = q.full.bound || f.gen != 0
		q.full.reason = addReason(f.reason, q.full.reason)
		if tried {
			q.full.attempt = max(q.full.attempt, f.attempt+1)
		}
	}
	for _, e := range f.ents {
		if nt, newer := q.pend.get(e.path); newer {
			q.pend.update(e.path, func(it *item) {
				// The remote has lacked the path since the failed change.
				it.since = min(it.since, e.it.since)
				if nt.op == inotifymask.OpUpdate && e.it.moved {
					// The failed batch may have moved a directory there:
					// the newer update still syncs it with deletion.
					it.moved = true
				}
			})
			q.stats.superseded++
			continue
		}
		low := uint64(0)
		if !tried {
			low = f.low
		}
		if q.foldLocked(low) {
			continue
		}
		if tried {
			e.it.attempt++
			e.it.first = 0
			q.stats.requeued++
		} else {
			// Not tried yet: the batch's oldest Add keeps the plugin
			// watermark below it.
			e.it.first = f.low
		}
		// A retry never moves: the source's remote path may hold a newer
		// file by then.
		e.it.from = ""
		if q.pend.len() == 0 || f.since.Before(q.firstAt) {
			q.firstAt = f.since
			q.gatherAt = f.since
		}
		if q.pend.put(e.path, e.it) {
			q.collapseLocked()
		}
	}
}

// backoffLocked returns the hold-off after the q.failures-th consecutive
// failure: RetryBase doubled per failure, capped at MaxRetry, plus up to
// 10% jitter so that queues of several remotes drift apart.
func (q *Queue) backoffLocked() time.Duration {
	d := q.opt.RetryBase
	for i := 1; i < q.failures && d < q.opt.MaxRetry; i++ {
		d *= 2
	}
	d = min(d, q.opt.MaxRetry)
	return d + rand.N(d/10+1)
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
