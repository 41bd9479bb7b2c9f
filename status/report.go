package status

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/replicate"
)

// Report is the JSON document of /status, and what the page and the
// status file show.
type Report struct {
	Time      time.Time `json:"time"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	Roots     []string  `json:"roots"`
	// AbsentRoots are the roots that are not their recorded file system
	// (an unmounted disk, another file system, gone): nothing is synced
	// from them, their changes wait.
	AbsentRoots []AbsentRootReport `json:"absent_roots"`
	// WatchBackends says which kernel backend watches each root, and
	// why.
	WatchBackends []WatchBackendReport `json:"watch_backends"`
	// AbsentTargets are the local targets that are not their recorded
	// file system: nothing is written to them, their changes wait.
	AbsentTargets []AbsentTargetReport `json:"absent_targets"`
	// Watches is the number of directories watched; MaxUserWatches the
	// kernel's per-user limit (fs.inotify.max_user_watches, 0 when it
	// could not be read).
	Watches          int    `json:"watches"`
	MaxUserWatches   int    `json:"max_user_watches"`
	WatchLimitErrors uint64 `json:"watch_limit_errors"`
	EventsRead       uint64 `json:"events_read"`
	Overflows        uint64 `json:"overflows"`
	RsyncWaiting     int    `json:"rsync_waiting"`
	Threads          int    `json:"threads"`
	Reloads          uint64 `json:"reloads"`
	ReloadFailures   uint64 `json:"reload_failures"`
	// FailLogEntries is the number of entries in the failLog now.
	FailLogEntries int            `json:"faillog_entries"`
	Plugin         *PluginReport  `json:"plugin,omitempty"`
	Remotes        []RemoteReport `json:"remotes"`
	// LastErrors are the most recent failures of any remote, newest first.
	LastErrors []ErrorReport `json:"last_errors"`
}

// AbsentRootReport is one absent root, why, and since when.
type AbsentRootReport struct {
	Root   string    `json:"root"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// WatchBackendReport is the kernel backend of one root (inotify or
// fanotify) and why it was chosen.
type WatchBackendReport struct {
	Root    string `json:"root"`
	Backend string `json:"backend"`
	Reason  string `json:"reason"`
}

// AbsentTargetReport is one absent local target (Remote is its
// directory), why, and since when.
type AbsentTargetReport struct {
	Root   string    `json:"root"`
	Remote string    `json:"remote"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// PluginReport counts the changes handed to the plugin.
type PluginReport struct {
	Name       string `json:"name"`
	Deliveries uint64 `json:"deliveries"`
	Failures   uint64 `json:"failures"`
	Dropped    uint64 `json:"dropped"`
}

// RemoteReport is one remote of one watch root.
type RemoteReport struct {
	Root   string `json:"root"`
	Remote string `json:"remote"`
	// LagSeconds is the age of the oldest change not yet on the remote
	// (0 when it is up to date); OldestPending is that change's time.
	LagSeconds    float64     `json:"lag_seconds"`
	OldestPending *time.Time  `json:"oldest_pending,omitempty"`
	Pending       int         `json:"pending"`
	InFlight      int         `json:"in_flight"`
	FullPending   bool        `json:"full_sync_pending"`
	Failing       bool        `json:"failing"`
	Events        uint64      `json:"changes"`
	Batches       uint64      `json:"batches"`
	FailedBatches uint64      `json:"failed_batches"`
	Retries       uint64      `json:"retries"`
	PathsTried    uint64      `json:"paths_tried"`
	SyncedPaths   uint64      `json:"synced_paths"`
	RsyncRuns     uint64      `json:"rsync_runs"`
	MovesDone     uint64      `json:"remote_moves_done"`
	MovesFailed   uint64      `json:"remote_moves_failed"`
	Overflows     uint64      `json:"overflows"`
	Runs          []RunReport `json:"rsync_runs_by_exit"`
	// FullSync is the running full sync's progress (absent when none).
	FullSync *FullSyncReport `json:"full_sync,omitempty"`
	// LastSync is the most recent successful batch, LastError the most
	// recent failed one.
	LastSync  *SyncReport  `json:"last_sync,omitempty"`
	LastError *ErrorReport `json:"last_error,omitempty"`
	// PendingPaths are the paths pending or in flight that have waited
	// longest, oldest first: as many as /status?pending=N asks for,
	// shownPending on the page and in the status file; absent when none.
	// With FullPending set a full sync covers every path, listed or not.
	PendingPaths []PendingPathReport `json:"pending_paths,omitempty"`
}

// FullSyncReport is how far a running full sync is.
type FullSyncReport struct {
	Started        time.Time `json:"started"`
	Reason         string    `json:"reason"`
	Percent        int       `json:"percent"`
	Files          int       `json:"files"`
	Checked        int       `json:"checked"`
	Total          int       `json:"total"`
	Bytes          int64     `json:"bytes"`
	BytesPerSecond float64   `json:"bytes_per_second"`
	ETASeconds     float64   `json:"eta_seconds"`
}

// RunReport counts rsync processes of one kind and exit status.
type RunReport struct {
	Kind  string `json:"kind"`
	Exit  int    `json:"exit"`
	Count uint64 `json:"count"`
}

// SyncReport is one successful batch.
type SyncReport struct {
	At          time.Time `json:"at"`
	TookSeconds float64   `json:"took_seconds"`
	Full        bool      `json:"full"`
	Paths       int       `json:"paths"`
}

// ErrorReport is one failed batch.
type ErrorReport struct {
	At     time.Time `json:"at"`
	Root   string    `json:"root"`
	Remote string    `json:"remote"`
	Full   bool      `json:"full"`
	Paths  int       `json:"paths"`
	Error  string    `json:"error"`
	// Summary is Error in one short line: rsync's exit code and its
	// meaning, or the first line of the error.
	Summary string `json:"summary"`
}

// build turns a state snapshot into a Report.
func build(st replicate.State, now time.Time, version string, started time.Time, maxWatches int, errs []ErrorReport) Report {
	r := Report{Time: now, Version: version, StartedAt: started, Roots: st.Roots, Watches: st.Watches, MaxUserWatches: maxWatches,
		WatchLimitErrors: st.WatchLimitErrors, EventsRead: st.EventsRead, Overflows: st.Overflows, RsyncWaiting: st.RsyncWaiting,
		Threads: st.Threads, Reloads: st.Reloads, ReloadFailures: st.ReloadFailures, FailLogEntries: st.FailLog.Entries, Remotes: []RemoteReport{}, LastErrors: errs}
	if r.Roots == nil {
		r.Roots = []string{}
	}
	r.AbsentRoots = []AbsentRootReport{}
	for _, a := range st.Absent {
		r.AbsentRoots = append(r.AbsentRoots, AbsentRootReport{Root: a.Root, Reason: a.Reason, Since: a.Since})
	}
	r.WatchBackends = []WatchBackendReport{}
	for _, b := range st.Backends {
		r.WatchBackends = append(r.WatchBackends, WatchBackendReport{Root: b.Root, Backend: string(b.Backend), Reason: b.Reason})
	}
	r.AbsentTargets = []AbsentTargetReport{}
	for _, a := range st.AbsentTargets {
		r.AbsentTargets = append(r.AbsentTargets, AbsentTargetReport{Root: a.Root, Remote: a.Target, Reason: a.Reason, Since: a.Since})
	}
	if r.LastErrors == nil {
		r.LastErrors = []ErrorReport{}
	}
	if st.Plugin != "" {
		r.Plugin = &PluginReport{Name: st.Plugin, Deliveries: st.PluginDelivered, Failures: st.PluginFailed, Dropped: st.PluginDropped}
	}
	for _, rs := range st.Remotes {
		rr := RemoteReport{Root: rs.Root, Remote: rs.Remote, LagSeconds: rs.Lag(now).Seconds(), Pending: rs.Pending, InFlight: rs.InFlight,
			FullPending: rs.FullPending, Failing: rs.Failing(), Events: rs.Events, Batches: rs.Batches, FailedBatches: rs.Failures,
			Retries: rs.Retries, PathsTried: rs.Paths, SyncedPaths: rs.SyncedPaths, RsyncRuns: rs.RsyncRuns, Overflows: rs.Overflows, Runs: []RunReport{},
			MovesDone: rs.MovesDone, MovesFailed: rs.MovesFailed}
		if !rs.PendingSince.IsZero() {
			t := rs.PendingSince
			rr.OldestPending = &t
		}
		if p := rs.FullSync; p != nil {
			rr.FullSync = &FullSyncReport{Started: p.Started, Reason: p.Reason, Percent: p.Percent, Files: p.Files, Checked: p.Checked,
				Total: p.Total, Bytes: p.Bytes, BytesPerSecond: p.Rate(now), ETASeconds: p.ETA(now).Seconds()}
		}
		for _, c := range rs.Runs {
			rr.Runs = append(rr.Runs, RunReport{Kind: c.Kind, Exit: c.Exit, Count: c.N})
		}
		l := rs.LastSuccess
		if l.At.IsZero() && rs.Last.Err == nil {
			l = rs.Last // plugin-only mode
		}
		if !l.At.IsZero() {
			rr.LastSync = &SyncReport{At: l.At, TookSeconds: l.Took.Seconds(), Full: l.Full, Paths: l.Paths}
		}
		if f := rs.LastFailure; f.Err != nil {
			rr.LastError = errorReport(rs, f)
		}
		r.Remotes = append(r.Remotes, rr)
	}
	return r
}

func errorReport(rs replicate.RemoteState, f replicate.Result) *ErrorReport {
	return &ErrorReport{At: f.At, Root: rs.Root, Remote: rs.Remote, Full: f.Full, Paths: f.Paths, Error: f.Err.Error(), Summary: replicate.ErrorSummary(f.Err)}
}

// errorLog keeps the most recent distinct failures seen in state
// snapshots, newest first.
type errorLog struct {
	max  int
	errs []ErrorReport
}

// see records the latest failure of every remote of st not seen yet.
func (l *errorLog) see(st replicate.State) {
	for _, rs := range st.Remotes {
		if rs.LastFailure.Err == nil {
			continue
		}
		e := *errorReport(rs, rs.LastFailure)
		if slices.ContainsFunc(l.errs, func(x ErrorReport) bool {
			return x.At.Equal(e.At) && x.Root == e.Root && x.Remote == e.Remote
		}) {
			continue
		}
		l.errs = append(l.errs, e)
	}
	slices.SortStableFunc(l.errs, func(a, b ErrorReport) int { return b.At.Compare(a.At) })
	if len(l.errs) > l.max {
		l.errs = l.errs[:l.max]
	}
}

func (l *errorLog) list() []ErrorReport { return slices.Clone(l.errs) }

// MaxUserWatchesFile is where the kernel's per-user watch limit is read.
const MaxUserWatchesFile = "/proc/sys/fs/inotify/max_user_watches"

// readLimit reads an integer sysctl file; 0 when it cannot be read.
func readLimit(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

var errNotLoopback = errors.New("status: the address is not a loopback address")
