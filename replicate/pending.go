package replicate

import (
	"slices"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/queue"
)

// PendingPath is one path a remote still lacks: a change not synced yet,
// waiting or being synced.
type PendingPath struct {
	Path   string // relative to the root, the kernel's bytes unchanged
	Dir    bool
	Remove bool // the path is to be removed on the remote, else updated
	// Since is when the path became pending; a failed batch's paths keep
	// it. Attempts counts the failed syncs of the change so far.
	Since    time.Time
	Attempts int
	InFlight bool // part of a batch being synced now
}

// RemotePending is what one remote of one root still lacks.
type RemotePending struct {
	Root, Remote string
	// Total counts the paths pending or in flight (a path can be both: in
	// flight and changed again).
	Total int
	// Full says a full sync of the root is requested, owed or running: it
	// covers every path, listed or not.
	Full bool
	// Paths are those that have waited longest, oldest first.
	Paths []PendingPath
}

// Pending returns, for every remote of every root in the order of
// State.Remotes, the n paths that have waited longest over all its
// queues, oldest first. n <= 0 lists no path, only the totals.
func (e *Engine) Pending(n int) []RemotePending {
	out := make([]RemotePending, 0, len(e.remotes))
	for _, r := range e.remotes {
		rp := RemotePending{Root: r.root, Remote: r.dest}
		var items []queue.Item
		for _, q := range r.queues {
			qs := q.Stats()
			rp.Total += qs.Pending + qs.InFlightPaths
			s := q.Oldest(n)
			rp.Full = rp.Full || s.Full
			items = append(items, s.Items...)
		}
		slices.SortStableFunc(items, queue.OldestFirst)
		for _, it := range items[:min(len(items), max(n, 0))] {
			rp.Paths = append(rp.Paths, PendingPath{Path: it.Path, Dir: it.Dir, Remove: it.Op == inotifymask.OpRemove,
				Since: it.Since, Attempts: it.Attempt, InFlight: it.InFlight})
		}
		out = append(out, rp)
	}
	return out
}

// Pending returns the running engine's pending paths (Engine.Pending).
func (s *Service) Pending(n int) []RemotePending { return s.Engine().Pending(n) }
