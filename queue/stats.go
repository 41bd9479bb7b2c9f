// Stats: the counters and point-in-time state of a queue.

package queue

import "time"

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
