package replicate

import (
	"strings"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// DefaultQueues is how many queues (and so rsyncs in flight) one remote of
// one root has unless Options.Queues says otherwise; -n bounds it further.
// Measured with make bench W1 (10,000 files): 1 queue converged 0.76 s
// after the burst with 15 rsync runs, 2 queues 0.34 s with 141 runs and
// less CPU than lsyncd, 4 queues 0.34 s with 277 runs and more CPU.
const DefaultQueues = 2

// MaxInFlight is how many batches of disjoint paths a queue may have in
// flight at once under adaptive batching (capped by -n): over a slow link
// a change waits for an eighth of a session rather than a whole one.
const MaxInFlight = 8

// SlowRun is the recent batch duration from which a queue's batches
// overlap: on a LAN a batch is over in tens of milliseconds and waiting for
// it costs less than another rsync session.
const SlowRun = 200 * time.Millisecond

// A remote's changes are split over its queues by the first path component
// (the top-level entry of the root). A path and all its ancestors and
// descendants share that component, so they always meet in the same queue,
// where batches never hold related paths at once, which keeps their order
// (see docs/queue.md); different top-level entries
// have nothing to order between them and sync in parallel. Whole-root work
// (full syncs, overflows) goes to queue 0.

// routed is an event and the index of the queue it goes to.
type routed struct {
	queue int
	ev    inotifymask.Event
}

// queueOf returns the queue of rel among n queues: the 32-bit FNV-1a hash
// of its first component, modulo n.
func queueOf(rel string, n int) int {
	if n <= 1 {
		return 0
	}
	top, _, _ := strings.Cut(rel, "/")
	return int(fnv1a(top) % uint32(n))
}

// fnv1a is hash/fnv's New32a over s, without its allocations.
func fnv1a(s string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime
	}
	return h
}

// route returns the queue(s) of n an event goes to, in the first k
// elements of the array (no allocation per event). A rename across queues
// becomes a remove of the old path in one and an update of the new path
// in the other.
func route(ev inotifymask.Event, n int) (xs [2]routed, k int) {
	switch {
	case ev.Op == inotifymask.OpOverflow || ev.Path == "":
		return [2]routed{{0, ev}}, 1
	case ev.Op == inotifymask.OpRename:
		from, to := queueOf(ev.OldPath, n), queueOf(ev.Path, n)
		if from == to {
			return [2]routed{{to, ev}}, 1
		}
		rm := ev
		rm.Op, rm.Path, rm.OldPath = inotifymask.OpRemove, ev.OldPath, ""
		up := ev
		up.Op, up.OldPath = inotifymask.OpUpdate, ""
		return [2]routed{{from, rm}, {to, up}}, 2
	}
	return [2]routed{{queueOf(ev.Path, n), ev}}, 1
}
