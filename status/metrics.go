package status

import (
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions. Every figure comes from one state snapshot taken
// per scrape; counters are the engine's own and survive reloads.
var (
	labelsRemote = []string{"root", "remote"}

	descInfo           = prometheus.NewDesc("sersync2_build_info", "Always 1; the labels say which sersync2 runs: its version, VCS revision (\"\" when none was recorded), whether the tree had changes, and the Go version.", []string{"version", "revision", "modified", "goversion"}, nil)
	descEventsRead     = prometheus.NewDesc("sersync2_events_read_total", "Raw inotify events read from the kernel.", nil, nil)
	descOverflows      = prometheus.NewDesc("sersync2_overflows_total", "Kernel event queue overflows of a watch root (each one makes a full sync).", []string{"root"}, nil)
	descTargetAbsent   = prometheus.NewDesc("sersync2_target_absent", "1 while the local target (<localtarget>) is not its recorded file system (unmounted disk, another file system, gone): nothing is written to it.", labelsRemote, nil)
	descRootAbsent     = prometheus.NewDesc("sersync2_root_absent", "1 while the watch root is not its recorded file system (unmounted disk, another file system, gone): nothing is synced from it.", []string{"root"}, nil)
	descWatches        = prometheus.NewDesc("sersync2_watches", "Directories watched (inotify watches held, or directories fanotify's marks report on).", nil, nil)
	descWatchBackend   = prometheus.NewDesc("sersync2_watch_backend", "Always 1; the label backend says which kernel backend watches the root: inotify or fanotify.", []string{"root", "backend"}, nil)
	descMaxWatches     = prometheus.NewDesc("sersync2_max_user_watches", "The kernel's per-user inotify watch limit (fs.inotify.max_user_watches).", nil, nil)
	descWatchLimitErrs = prometheus.NewDesc("sersync2_watch_limit_errors_total", "Directories left unwatched because the watch limit was reached.", nil, nil)
	descRsyncWaiting   = prometheus.NewDesc("sersync2_rsync_waiting", "rsync runs waiting for one of the -n slots.", nil, nil)
	descReloads        = prometheus.NewDesc("sersync2_reloads_total", "Configuration reloads applied (SIGHUP).", nil, nil)
	descReloadFailures = prometheus.NewDesc("sersync2_reload_failures_total", "Configuration reloads refused (SIGHUP with a bad file).", nil, nil)
	descPluginOK       = prometheus.NewDesc("sersync2_plugin_deliveries_total", "Changes handed to the plugin.", []string{"plugin"}, nil)
	descPluginFailed   = prometheus.NewDesc("sersync2_plugin_failures_total", "Changes the plugin failed on.", []string{"plugin"}, nil)
	descFailLog        = prometheus.NewDesc("sersync2_faillog_entries", "Entries in the failLog now (changes still failing after a retry; a collapsed remote counts one).", nil, nil)
	descFailLogAdded   = prometheus.NewDesc("sersync2_faillog_recorded_total", "Failures recorded in the failLog.", nil, nil)
	descFailLogCleared = prometheus.NewDesc("sersync2_faillog_cleared_total", "failLog entries removed because they were synced or made moot.", nil, nil)
	descFailLogErrs    = prometheus.NewDesc("sersync2_faillog_write_errors_total", "Failed writes of the failLog file (the entries stay in memory).", nil, nil)
	descPluginDropped  = prometheus.NewDesc("sersync2_plugin_dropped_total", "Changes the plugin never heard of (delivery backlog full, or stopped first).", []string{"plugin"}, nil)

	descPending     = prometheus.NewDesc("sersync2_pending_changes", "Changed paths waiting for a batch.", labelsRemote, nil)
	descInFlight    = prometheus.NewDesc("sersync2_in_flight_changes", "Changed paths being synced now.", labelsRemote, nil)
	descFullPending = prometheus.NewDesc("sersync2_full_sync_pending", "1 while a full sync is requested or running.", labelsRemote, nil)
	descLag         = prometheus.NewDesc("sersync2_lag_seconds", "Age of the oldest change not yet on the remote (replication lag); 0 when up to date.", labelsRemote, nil)
	descFullBytes   = prometheus.NewDesc("sersync2_full_sync_bytes", "Bytes the running full sync transferred so far (0 when none runs).", labelsRemote, nil)
	descFullRatio   = prometheus.NewDesc("sersync2_full_sync_progress_ratio", "rsync's estimate of how far the running full sync is, 0 to 1 (0 when none runs).", labelsRemote, nil)
	descFailing     = prometheus.NewDesc("sersync2_remote_failing", "1 when the remote's most recent batch failed.", labelsRemote, nil)
	descLastSuccess = prometheus.NewDesc("sersync2_last_success_timestamp_seconds", "When the remote's most recent successful batch ended (Unix time; 0 before the first).", labelsRemote, nil)
	descChanges     = prometheus.NewDesc("sersync2_changes_total", "Changes routed to the remote's queues.", labelsRemote, nil)
	descBatches     = prometheus.NewDesc("sersync2_batches_total", "Batches synced or tried, full syncs included.", labelsRemote, nil)
	descFailed      = prometheus.NewDesc("sersync2_failed_batches_total", "Batches that failed.", labelsRemote, nil)
	descRetries     = prometheus.NewDesc("sersync2_retries_total", "Failed batches put back for a retry.", labelsRemote, nil)
	descCollapses   = prometheus.NewDesc("sersync2_queue_collapses_total", "Times the remote's pending changes passed their bound and collapsed into one full sync.", labelsRemote, nil)
	descPaths       = prometheus.NewDesc("sersync2_paths_tried_total", "Paths in batches tried, failed ones included.", labelsRemote, nil)
	descSynced      = prometheus.NewDesc("sersync2_synced_paths_total", "Paths in batches synced successfully (a full sync counts as none).", labelsRemote, nil)
	descMoves       = prometheus.NewDesc("sersync2_remote_moves_total", "Renames run on the remote over ssh instead of sending the data again, by result (done, failed: the data was sent).", []string{"root", "remote", "result"}, nil)
	descRuns        = prometheus.NewDesc("sersync2_rsync_runs_total", "rsync processes by kind (changes, full) and exit status (-1: none).", []string{"root", "remote", "kind", "exit"}, nil)
)

// collector turns one state snapshot per scrape into metrics.
type collector struct{ s *Server }

var _ prometheus.Collector = collector{}

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.src.State()
	now := time.Now()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	count := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	b := c.s.opts.Build
	gauge(descInfo, 1, b.Version, b.Revision, strconv.FormatBool(b.Modified), b.GoVersion)
	count(descEventsRead, st.EventsRead)
	gauge(descWatches, float64(st.Watches))
	absent := map[string]bool{}
	for _, a := range st.Absent {
		absent[a.Root] = true
	}
	for _, root := range st.Roots {
		v := 0.0
		if absent[root] {
			v = 1
		}
		gauge(descRootAbsent, v, root)
	}
	for _, wb := range st.Backends {
		gauge(descWatchBackend, 1, wb.Root, string(wb.Backend))
	}
	away := map[string]bool{}
	for _, a := range st.AbsentTargets {
		away[a.Target] = true
	}
	for _, r := range st.Remotes {
		if slices.Contains(st.Targets, r.Remote) {
			v := 0.0
			if away[r.Remote] {
				v = 1
			}
			gauge(descTargetAbsent, v, r.Root, r.Remote)
		}
	}
	gauge(descMaxWatches, float64(c.s.maxWatches()))
	count(descWatchLimitErrs, st.WatchLimitErrors)
	gauge(descRsyncWaiting, float64(st.RsyncWaiting))
	count(descReloads, st.Reloads)
	count(descReloadFailures, st.ReloadFailures)
	gauge(descFailLog, float64(st.FailLog.Entries))
	count(descFailLogAdded, st.FailLog.Recorded)
	count(descFailLogCleared, st.FailLog.Cleared)
	count(descFailLogErrs, st.FailLog.WriteErrs)
	if st.Plugin != "" {
		count(descPluginOK, st.PluginDelivered, st.Plugin)
		count(descPluginFailed, st.PluginFailed, st.Plugin)
		count(descPluginDropped, st.PluginDropped, st.Plugin)
	}
	roots := map[string]bool{}
	for _, r := range st.Remotes {
		if !roots[r.Root] {
			roots[r.Root] = true
			count(descOverflows, r.Overflows, r.Root)
		}
		l := []string{r.Root, r.Remote}
		gauge(descPending, float64(r.Pending), l...)
		gauge(descInFlight, float64(r.InFlight), l...)
		gauge(descFullPending, b2f(r.FullPending), l...)
		gauge(descLag, r.Lag(now).Seconds(), l...)
		gauge(descFailing, b2f(r.Failing()), l...)
		var fb, fr float64
		if p := r.FullSync; p != nil {
			fb, fr = float64(p.Bytes), float64(p.Percent)/100
		}
		gauge(descFullBytes, fb, l...)
		gauge(descFullRatio, fr, l...)
		last := 0.0
		if at := r.LastSuccess.At; !at.IsZero() {
			last = float64(at.UnixNano()) / 1e9
		}
		gauge(descLastSuccess, last, l...)
		count(descChanges, r.Events, l...)
		count(descBatches, r.Batches, l...)
		count(descFailed, r.Failures, l...)
		count(descRetries, r.Retries, l...)
		count(descCollapses, r.Collapses, l...)
		count(descPaths, r.Paths, l...)
		count(descSynced, r.SyncedPaths, l...)
		count(descMoves, r.MovesDone, r.Root, r.Remote, "done")
		count(descMoves, r.MovesFailed, r.Root, r.Remote, "failed")
		for _, rc := range r.Runs {
			count(descRuns, rc.N, r.Root, r.Remote, rc.Kind, strconv.Itoa(rc.Exit))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
