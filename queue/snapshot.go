// The state handed over or shown: Snapshot and Oldest list what the
// queue still owes its remote; Restore takes an item of another queue's
// Snapshot back in (a configuration reload).

package queue

import (
	"slices"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

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
