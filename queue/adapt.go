// The adaptive hold: the rate of changes (Pace) and how long it holds
// the next cut.

package queue

import (
	"sync"
	"time"
)

// The adaptive hold (Options.Adaptive): an idle queue sends a change at
// once; under load it holds the next cut a little so batches grow, the
// longer the busier the queue, and it lets go as soon as the changes stop
// coming. docs/queue.md "Batching and latency" has the reasoning and the
// measured trade-off.
const (
	// holdPerRate is how much longer the next cut is held per change per
	// second arriving at the queue: 0.25 ms, so 100 changes/s hold 25 ms,
	// 1,000 changes/s hold 250 ms.
	holdPerRate = 250 * time.Microsecond
	// minHoldRate is the rate below which nothing is held: a change or a
	// few reach the remote at once.
	minHoldRate = 40
	// maxHold caps the hold: a change never waits longer than this for
	// its batch to be cut (plus the time a batch in flight or a failure's
	// hold-off keeps it).
	maxHold = 250 * time.Millisecond
	// holdPaths ends a hold once that many paths are pending: a batch in
	// flight when a burst ends is then small enough that the changes
	// queued behind it (often in the same directory) are not kept long.
	holdPaths = 500
	// quietGaps is how many mean inter-arrival times without a new change
	// end a hold early: the burst is over, the batch leaves.
	quietGaps = 10
	minQuiet  = 12 * time.Millisecond
	maxQuiet  = 50 * time.Millisecond

	rateSlot  = 25 * time.Millisecond
	rateSlots = 8 // the rate is measured over the last 200 ms
)

// rateMeter counts changes in rateSlots slots of rateSlot each.
type rateMeter struct {
	slot [rateSlots]int64 // slot number (time / rateSlot) of each counter
	n    [rateSlots]uint32
}

func (m *rateMeter) add(now time.Time) {
	s := now.UnixNano() / int64(rateSlot)
	i := s % rateSlots
	if m.slot[i] != s {
		m.slot[i], m.n[i] = s, 0
	}
	m.n[i]++
}

// perSecond returns the changes per second over the last rateSlots slots.
func (m *rateMeter) perSecond(now time.Time) float64 {
	s := now.UnixNano() / int64(rateSlot)
	var sum uint32
	for i := range rateSlots {
		if s-m.slot[i] < rateSlots {
			sum += m.n[i]
		}
	}
	return float64(sum) / (rateSlots * rateSlot).Seconds()
}

// hold returns how long the next cut may be held after the batch started
// to gather, and the quiet gap that ends the hold early, at rate changes
// per second.
func hold(rate float64) (hold, quiet time.Duration) {
	if rate >= minHoldRate {
		hold = min(time.Duration(rate*float64(holdPerRate)), maxHold)
	}
	quiet = maxQuiet
	if rate > 0 {
		quiet = min(max(time.Duration(quietGaps*float64(time.Second)/rate), minQuiet), maxQuiet)
	}
	return hold, quiet
}

// Pace is the flow of changes that queues sharing it see together: the
// queues of one remote, whose changes are split by top-level entry. A
// burst that moves from one directory to the next is then one burst for
// all of them, not a pause for each queue whose directory is done. Safe
// for concurrent use; a queue without one has its own.
type Pace struct {
	mu      sync.Mutex
	rate    rateMeter
	lastNew time.Time
}

// NewPace returns a Pace to share between queues (Options.Pace).
func NewPace() *Pace { return &Pace{} }

// note records a change at now that added n new pending paths.
func (p *Pace) note(now time.Time, n int) {
	p.mu.Lock()
	for range n {
		p.rate.add(now)
	}
	p.lastNew = now
	p.mu.Unlock()
}

// read returns the rate of new paths and when the latest change came.
func (p *Pace) read(now time.Time) (float64, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate.perSecond(now), p.lastNew
}
