// Options, the knobs of a Queue, and the defaults of those left zero.

package queue

import (
	"log/slog"
	"time"
)

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
