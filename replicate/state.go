package replicate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/inotifymask"
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
	// away follows a local target's absence; nil for other remotes.
	away   *targetAway
	queues []*queue.Queue
	// inFlight is how many batches each queue may have in flight: the
	// remote runs that many workers per queue.
	inFlight int

	batches, runs, paths, failures counter
	movesDone, movesFailed         counter
	// carried are queue counters of the same remote in the engine this
	// one replaced (Service.Reload), added to its queues' own.
	carriedEvents, carriedRetries uint64
	carriedCollapses              uint64
	out                           outcomes
	full                          fullProgress

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
	r.movesDone.Add(uint64(res.MovesDone))
	r.movesFailed.Add(uint64(res.MovesFailed))
	r.paths.Add(uint64(b.Len()))
	if res.Err != nil {
		r.failures.Add(1)
	}
	now := time.Now()
	if r.rsync {
		r.out.add(b, res, now)
	}
	r.mu.Lock()
	r.last = Result{At: now, Took: res.Elapsed, Full: b.Full, Paths: b.Len(), Err: res.Err}
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
	// EventsRead counts the raw events read from the kernel.
	EventsRead uint64
	// WatchLimitErrors counts directories left unwatched because the
	// watch limit (fs.inotify.max_user_watches) was reached.
	WatchLimitErrors uint64
	// Plugin is the plugin told of changes ("" when none);
	// PluginDelivered and PluginFailed count the changes handed to it and
	// those it failed on, PluginDropped those it never heard of (see
	// PluginStats).
	Plugin                                       string
	PluginDelivered, PluginFailed, PluginDropped uint64
	// Reloads and ReloadFailures count configuration reloads (Service).
	Reloads, ReloadFailures uint64
	// RsyncWaiting is the number of rsync runs waiting for one of the -n
	// slots.
	RsyncWaiting int
	// Threads and QueuesPerRemote are the effective -n and --queues.
	Threads, QueuesPerRemote int
	// Roots lists the watched directories, Absent those of them that are
	// not their recorded file system (or gone): nothing is synced from
	// them until they are back.
	Roots  []string
	Absent []AbsentRoot
	// Backends says which kernel backend watches each root, and why.
	Backends []inotifymask.RootBackend
	// Targets lists the local targets (<localtarget>), AbsentTargets
	// those of them that are not their recorded file system (or gone):
	// nothing is written to them until they are back.
	Targets       []string
	AbsentTargets []AbsentTarget
	// FailLog counts the failLog's entries and what happened to them:
	// changes that kept failing after a retry (zero in plugin-only mode).
	FailLog failog.Stats
}

// RemoteState is the state of one remote of one root.
type RemoteState struct {
	Root   string
	Remote string // rsync destination; "" in plugin-only mode
	// Pending counts paths waiting for a batch, InFlight paths being
	// synced; FullPending is set while a full sync is requested or running.
	Pending, InFlight int
	FullPending       bool
	// PendingSince is when the oldest change not yet synced (pending or in
	// flight, failed ones included) started to wait; zero when the remote
	// is up to date. Its age is the replication lag (Lag).
	PendingSince time.Time
	// Batches, RsyncRuns and Paths count what was tried, Failures the
	// batches that failed (and were put back for a retry).
	Batches, RsyncRuns, Paths, Failures uint64
	// Overflows counts event overflows of the root (each one a full sync).
	Overflows uint64
	// MovesDone and MovesFailed count renames done on the remote over ssh
	// instead of sending the data again, and those that failed there
	// (their data was sent).
	MovesDone, MovesFailed uint64
	// Events counts the changes routed to this remote, Retries its failed
	// batches put back for a retry, Collapses the times its pending
	// changes passed their bound and collapsed into one full sync.
	Events, Retries, Collapses uint64
	// FullSync is the running full sync's progress, nil when none runs.
	FullSync *FullSyncProgress
	// SyncedPaths counts the paths of successful batches (sync mode).
	SyncedPaths uint64
	// Runs counts rsync processes by kind and exit status.
	Runs []RunCount
	// Last is the most recent batch's result (zero before the first),
	// LastFailure and LastSuccess the most recent failed and successful
	// ones' (sync mode).
	Last, LastFailure, LastSuccess Result
}

// Lag is how long the oldest pending change of r has been waiting at now
// (0 when none waits).
func (r RemoteState) Lag(now time.Time) time.Duration {
	if r.PendingSince.IsZero() {
		return 0
	}
	return max(now.Sub(r.PendingSince), 0)
}

// Failing reports whether the remote's most recent batch failed.
func (r RemoteState) Failing() bool { return r.Last.Err != nil }

// State returns the engine's current state.
func (e *Engine) State() State {
	s := State{Threads: e.opts.Threads, QueuesPerRemote: e.queues, Roots: e.roots}
	if e.watcher != nil {
		ws := e.watcher.Stats()
		s.Watches, s.Overflows, s.EventsRead, s.WatchLimitErrors = ws.Watches, ws.Overflows, ws.EventsRead, ws.WatchLimitErrors
		s.Absent = ws.Missing
		s.Backends = e.watcher.Backends()
	}
	s.Overflows += e.carried.overflows
	s.EventsRead += e.carried.eventsRead
	if e.plugin != nil {
		s.Plugin = e.plugin.Name()
	}
	ps := e.notes.stats()
	s.PluginDelivered = ps.Delivered + e.carried.pluginDelivered
	s.PluginFailed = ps.Failed + e.carried.pluginFailed
	s.PluginDropped = ps.Dropped + e.carried.pluginDropped
	if e.runner != nil {
		s.RsyncWaiting = e.runner.Waiting()
	}
	if e.faillog != nil {
		s.FailLog = e.faillog.Stats()
	}
	s.AbsentTargets = e.absentTargets()
	for _, r := range e.remotes {
		if r.target.Remote.Local() {
			s.Targets = append(s.Targets, r.dest)
		}
		rs := RemoteState{Root: r.root, Remote: r.dest, Batches: r.batches.Load(), RsyncRuns: r.runs.Load(),
			Paths: r.paths.Load(), Failures: r.failures.Load(), Overflows: e.ov[r.root].Load(),
			Events: r.carriedEvents, Retries: r.carriedRetries, Collapses: r.carriedCollapses, MovesDone: r.movesDone.Load(), MovesFailed: r.movesFailed.Load()}
		rs.Runs, rs.LastFailure, rs.LastSuccess, rs.SyncedPaths = r.out.snapshot()
		rs.FullSync = r.full.get()
		for _, q := range r.queues {
			qs := q.Stats()
			rs.Events += qs.Events
			rs.Retries += qs.Retries
			rs.Collapses += qs.Collapses
			rs.Pending += qs.Pending
			rs.InFlight += qs.InFlightPaths
			rs.FullPending = rs.FullPending || qs.FullPending || qs.InFlightFull
			for _, t := range []time.Time{qs.PendingSince, qs.InFlightSince} {
				if !t.IsZero() && (rs.PendingSince.IsZero() || t.Before(rs.PendingSince)) {
					rs.PendingSince = t
				}
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
		t.Retries += r.Retries
		t.Collapses += r.Collapses
		t.Events += r.Events
		t.MovesDone += r.MovesDone
		t.MovesFailed += r.MovesFailed
	}
	return t
}
