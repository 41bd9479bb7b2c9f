// When a batch may leave: Next waits for it; tryCutLocked decides, with
// the retry hold-off, overflow spacing, MinDelay, the adaptive hold and
// the batches in flight, and cuts.

package queue

import (
	"context"
	"time"
)

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
