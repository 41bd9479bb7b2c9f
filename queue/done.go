// What comes back: Done and Hold land a batch; a failed or held one goes
// back to pending (requeueLocked) after a backoff; the tried watermark
// says which Adds have been tried once.

package queue

import (
	"math/rand/v2"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

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

// Tried returns what Done last returned, brought up to date: the number
// up to which every Add has been tried once. A queue whose changes were
// folded into a full sync of another queue of the remote (a collapse)
// learns here that its first attempt is over.
func (q *Queue) Tried() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.triedLocked()
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
	low = oldestAdd(low, q.pend.low())
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
