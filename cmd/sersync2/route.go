package main

import (
	"hash/fnv"
	"strings"

	"github.com/sersync-go/sersync2/inotifymask"
)

// defaultQueues is how many queues (and so rsyncs in flight) one remote
// of one root has unless --queues says otherwise; -n bounds it further.
// Measured with make bench W1 (10,000 files): 1 queue converged 0.76 s
// after the burst with 15 rsync runs, 2 queues 0.34 s with 141 runs and
// less CPU than lsyncd, 4 queues 0.34 s with 277 runs and more CPU.
const defaultQueues = 2

// A remote's changes are split over several queues by the first path
// component (the top-level entry of the root). A path and all its
// ancestors and descendants share that component, so they always meet in
// the same queue, where one batch at a time keeps their order; different
// top-level entries have nothing to order between them and sync in
// parallel. Whole-root work (full syncs, overflows) goes to part 0.

type routed struct {
	part int
	ev   inotifymask.Event
}

// partOf returns the queue of rel among parts.
func partOf(rel string, parts int) int {
	if parts <= 1 {
		return 0
	}
	top, _, _ := strings.Cut(rel, "/")
	h := fnv.New32a()
	h.Write([]byte(top))
	return int(h.Sum32() % uint32(parts))
}

// route returns the queue(s) an event goes to. A rename across parts
// becomes a remove of the old path in one and an update of the new path in
// the other.
func route(ev inotifymask.Event, parts int) []routed {
	switch {
	case ev.Op == inotifymask.OpOverflow || ev.Path == "":
		return []routed{{0, ev}}
	case ev.Op == inotifymask.OpRename:
		from, to := partOf(ev.OldPath, parts), partOf(ev.Path, parts)
		if from == to {
			return []routed{{to, ev}}
		}
		rm := ev
		rm.Op, rm.Path, rm.OldPath = inotifymask.OpRemove, ev.OldPath, ""
		up := ev
		up.Op, up.OldPath = inotifymask.OpUpdate, ""
		return []routed{{from, rm}, {to, up}}
	}
	return []routed{{partOf(ev.Path, parts), ev}}
}
