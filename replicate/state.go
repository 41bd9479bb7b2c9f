package replicate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

type counter = atomic.Uint64

// remote is one destination of one watch root: its rsync target (none in
// plugin-only mode), its queues with one worker each, and its figures.
type remote struct {
	root   string
	dest   string // rsync destination, "" in plugin-only mode
	target rsyncexec.Target
	rsync  bool
	queues []*queue.Queue

	batches, runs, paths, failures counter

	// fullGate makes a full sync exclusive among the remote's queues:
	// batches hold it shared while their rsync runs, a full sync alone.
	fullGate sync.RWMutex

	mu   sync.Mutex
	last Result
}

// Result is the outcome of one batch.
type Result struct {
	At    time.Time     // when it ended
	Took  time.Duration // rsync time (0 in plugin-only mode)
	Full  bool          // a full sync
	Paths int
	Err   error
}

// exclusive holds the remote's full-sync gate for one rsync run: alone
// for a full sync, shared otherwise. It returns the release.
func (r *remote) exclusive(full bool) func() {
	if full {
		r.fullGate.Lock()
		return r.fullGate.Unlock
	}
	r.fullGate.RLock()
	return r.fullGate.RUnlock
}

func (r *remote) record(b queue.Batch, res rsyncexec.Result) {
	r.batches.Add(1)
	r.runs.Add(uint64(res.Runs))
	r.paths.Add(uint64(b.Len()))
	if res.Err != nil {
		r.failures.Add(1)
	}
	r.mu.Lock()
	r.last = Result{At: time.Now(), Took: res.Elapsed, Full: b.Full, Paths: b.Len(), Err: res.Err}
	r.mu.Unlock()
}

// State is a point-in-time view of the engine, for logs, metrics and
// status pages.
type State struct {
	// Remotes holds one entry per watch root and remote, in configuration
	// order (in plugin-only mode, one per root with an empty Remote).
	Remotes []RemoteState
	// Watches is the number of directories watched, over all roots.
	Watches int
	// Overflows counts kernel event queue overflows, over all roots.
	Overflows uint64
	// RsyncWaiting is the number of rsync runs waiting for one of the -n
	// slots.
	RsyncWaiting int
	// Threads and QueuesPerRemote are the effective -n and --queues.
	Threads, QueuesPerRemote int
	// Roots lists the watched directories.
	Roots []string
}

// RemoteState is the state of one remote of one root.
type RemoteState struct {
	Root   string
	Remote string // rsync destination; "" in plugin-only mode
	// Pending counts paths waiting for a batch, InFlight paths being
	// synced; FullPending is set while a full sync is requested or running.
	Pending, InFlight int
	FullPending       bool
	// PendingSince is when changes started to wait without a break (zero
	// when none wait): its age is the oldest pending change's.
	PendingSince time.Time
	// Batches, RsyncRuns and Paths count what was tried, Failures the
	// batches that failed (and were put back for a retry).
	Batches, RsyncRuns, Paths, Failures uint64
	// Overflows counts event overflows of the root (each one a full sync).
	Overflows uint64
	// Last is the most recent batch's result (zero before the first).
	Last Result
}

// State returns the engine's current state.
func (e *Engine) State() State {
	s := State{Threads: e.opts.Threads, QueuesPerRemote: e.queues, Roots: e.roots}
	if e.watcher != nil {
		ws := e.watcher.Stats()
		s.Watches, s.Overflows = ws.Watches, ws.Overflows
	}
	if e.runner != nil {
		s.RsyncWaiting = e.runner.Waiting()
	}
	for _, r := range e.remotes {
		rs := RemoteState{Root: r.root, Remote: r.dest, Batches: r.batches.Load(), RsyncRuns: r.runs.Load(),
			Paths: r.paths.Load(), Failures: r.failures.Load(), Overflows: e.ov[r.root].Load()}
		for _, q := range r.queues {
			qs := q.Stats()
			rs.Pending += qs.Pending
			rs.InFlight += qs.InFlightPaths
			rs.FullPending = rs.FullPending || qs.FullPending || qs.InFlightFull
			if !qs.PendingSince.IsZero() && (rs.PendingSince.IsZero() || qs.PendingSince.Before(rs.PendingSince)) {
				rs.PendingSince = qs.PendingSince
			}
		}
		r.mu.Lock()
		rs.Last = r.last
		r.mu.Unlock()
		s.Remotes = append(s.Remotes, rs)
	}
	return s
}

// Total adds up the figures of every remote (Root, Remote, Last and
// PendingSince are left empty).
func (s State) Total() RemoteState {
	var t RemoteState
	for _, r := range s.Remotes {
		t.Pending += r.Pending
		t.InFlight += r.InFlight
		t.Batches += r.Batches
		t.RsyncRuns += r.RsyncRuns
		t.Paths += r.Paths
		t.Failures += r.Failures
	}
	return t
}
