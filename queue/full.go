// The full-sync request: what asked for the next full sync of the root
// (RequestFull, the root itself changing, an overflow), and the spacing
// of overflow-driven ones.

package queue

import (
	"strings"
	"time"
)

// fullRequest is the full sync asked for and not yet cut; its reasons
// and attempts add up until it is.
type fullRequest struct {
	on       bool
	explicit bool // requested by RequestFull or a failed full: not spaced
	overflow bool // requested (also) by an overflow
	bound    bool // requested (also) by a collapse: changes fold into it
	reason   string
	attempt  int
	first    uint64 // the oldest Add that asked for it (overflow, root)
}

// overflowState spaces the full syncs overflows ask for: the spacing
// doubles while overflows keep coming and resets after OverflowQuiet.
type overflowState struct {
	interval  time.Duration // spacing after the next overflow-driven full
	notBefore time.Time     // earliest cut of an overflow-driven full
	last      time.Time     // time of the latest overflow
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
