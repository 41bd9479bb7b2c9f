package queue

import (
	"slices"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// counters are the monotonic parts of Stats, kept under Queue.mu.
type counters struct {
	events, merged, covered, batches, fulls, overflows uint64
	retries, requeued, superseded, collapses, folded   uint64
}

// Stats is a point-in-time view of a queue's state and counters.
type Stats struct {
	Pending       int  // paths waiting for a batch
	FullPending   bool // a full sync is requested and not yet cut, or owed for changes this queue folded (Bound)
	InFlight      int  // batches handed out by Next and not yet Done (up to MaxInFlight)
	InFlightPaths int  // paths of the in-flight batches
	InFlightFull  bool // a full sync is in flight
	// PendingSince is when paths last started to be pending without a
	// break (zero when none are): the age of the oldest pending change,
	// or older when a capped batch left newer ones behind. Changes folded
	// into a full sync after a collapse count until it was tried.
	PendingSince time.Time
	// InFlightSince is when the oldest change of the in-flight batches
	// started to wait (zero when none is in flight). A failed batch's
	// paths keep that time when they go back to pending, so the older of
	// the two is how long the remote has been behind.
	InFlightSince time.Time

	Events     uint64 // calls of Add (overflows included)
	Merged     uint64 // changes that landed on a path already pending
	Covered    uint64 // pending paths dropped at a cut: an ancestor or a full sync covered them
	Batches    uint64 // batches cut, full ones included
	FullSyncs  uint64 // full batches cut
	Overflows  uint64 // overflow events added
	Retries    uint64 // failed batches (Done with an error)
	Requeued   uint64 // paths put back to pending after a failure
	Superseded uint64 // failed paths not put back because a newer change was pending
	// Collapses counts the times this queue found the remote's pending
	// paths past their Bound and collapsed them into one full sync;
	// Folded the changes folded into such a full sync instead of being
	// stored.
	Collapses, Folded uint64
}

// Stats returns the queue's current state and counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Stats{
		Pending:     q.pend.len(),
		FullPending: q.full.on || q.owesLocked(),
		Events:      q.stats.events,
		Merged:      q.stats.merged,
		Covered:     q.stats.covered,
		Batches:     q.stats.batches,
		FullSyncs:   q.stats.fulls,
		Overflows:   q.stats.overflows,
		Retries:     q.stats.retries,
		Requeued:    q.stats.requeued,
		Superseded:  q.stats.superseded,
		Collapses:   q.stats.collapses,
		Folded:      q.stats.folded,
	}
	if q.pend.len() > 0 {
		s.PendingSince = q.firstAt
	}
	if q.owesLocked() && (s.PendingSince.IsZero() || q.fold.since.Before(s.PendingSince)) {
		s.PendingSince = q.fold.since
	}
	s.InFlight = len(q.fly)
	s.InFlightFull = q.flyFull
	for _, f := range q.fly {
		s.InFlightPaths += len(f.ents)
		if s.InFlightSince.IsZero() || f.since.Before(s.InFlightSince) {
			s.InFlightSince = f.since
		}
	}
	return s
}

// Item is one path the queue still owes the remote.
type Item struct {
	Entry
	Op       inotifymask.Op // OpUpdate or OpRemove
	Attempt  int            // failed attempts so far
	InFlight bool           // part of the batch being synced
	// Since is when the path became pending: the remote has lacked its
	// change since then (a failed batch's paths keep it).
	Since time.Time
}

func (e ent) item(inFlight bool) Item {
	return Item{Entry: Entry{Path: e.path, Dir: e.it.dir, Replaced: e.it.replaced() || e.it.moved}, Op: e.it.op, Attempt: int(e.it.attempt),
		InFlight: inFlight, Since: time.Unix(0, e.it.since)}
}

// Snapshot is everything a queue still owes its remote: what a crash
// journal or failLog would need to record to lose nothing.
type Snapshot struct {
	// Full is true when a full sync is requested or in flight, or owed
	// to the remote for changes this queue folded into it (a collapse);
	// Reason says why, as Batch.Reason would.
	Full         bool
	FullAttempt  int
	FullInFlight bool
	Reason       string
	// Items are the pending and in-flight paths in tree order. A path can
	// appear twice: in flight and pending again with a newer change.
	Items []Item
}

// Snapshot returns the pending and in-flight state of the queue.
func (q *Queue) Snapshot() Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.fullLocked()
	s.Items = make([]Item, 0, q.pend.len())
	for _, f := range q.fly {
		for _, e := range f.ents {
			s.Items = append(s.Items, e.item(true))
		}
	}
	for p, it := range q.pend.all() {
		s.Items = append(s.Items, ent{p, it}.item(false))
	}
	slices.SortStableFunc(s.Items, func(a, b Item) int {
		if c := treeCompare(a.Path, b.Path); c != 0 {
			return c
		}
		return inFlightFirst(a, b)
	})
	return s
}

// Oldest returns what Snapshot does, but of the items only the n that
// have waited longest, oldest first (by Since; on a tie in flight first,
// then pending in the order they became pending). It is the answer to
// "what has not reached the remote yet" for people: when Full is set,
// a full sync covers every path, listed or not. Its cost grows with the
// number of paths pending, not with n.
func (q *Queue) Oldest(n int) Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.fullLocked()
	if n <= 0 {
		return s
	}
	for _, f := range q.fly {
		for _, e := range f.ents {
			s.Items = append(s.Items, e.item(true))
		}
	}
	for _, e := range q.pend.oldest(n) {
		s.Items = append(s.Items, e.item(false))
	}
	slices.SortStableFunc(s.Items, OldestFirst)
	if len(s.Items) > n {
		s.Items = slices.Clip(s.Items[:n])
	}
	return s
}

// fullLocked returns a Snapshot with the full-sync facts only.
func (q *Queue) fullLocked() Snapshot {
	var s Snapshot
	if q.full.on {
		s.Full = true
		s.FullAttempt = q.full.attempt
		s.Reason = q.full.reason
	}
	if q.owesLocked() {
		s.Full = true
		s.Reason = addReason(s.Reason, ReasonPendingBound)
	}
	for _, f := range q.fly {
		if f.full {
			s.Full, s.FullInFlight = true, true
			s.FullAttempt = max(s.FullAttempt, f.attempt)
			s.Reason = addReason(s.Reason, f.reason)
		}
	}
	return s
}

// OldestFirst orders items as Oldest lists them: by Since, in flight
// first on a tie. Sorted stably, pending items of one queue keep the
// order they became pending in.
func OldestFirst(a, b Item) int {
	if c := a.Since.Compare(b.Since); c != 0 {
		return c
	}
	return inFlightFirst(a, b)
}

func inFlightFirst(a, b Item) int {
	switch {
	case a.InFlight == b.InFlight:
		return 0
	case a.InFlight:
		return -1
	}
	return 1
}
