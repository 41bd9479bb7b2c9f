package replicate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/plugins"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rootid"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// DefaultThreads is the default of -n, the bound on rsync processes running
// at once (the original's default thread count).
const DefaultThreads = rsyncexec.DefaultSlots

// DefaultMaxPending is the default of Options.MaxPending.
const DefaultMaxPending = queue.DefaultMaxPending

// DefaultWatcher is the backend of each root when none is asked for:
// fanotify where it can watch the root, which needs no watch per
// directory and no inotify limit, inotify elsewhere.
const DefaultWatcher = inotifymask.BackendAuto

// shutdownGrace is how long in-flight rsyncs and plugin runs may go on
// after Run's context ends before they are stopped too.
const shutdownGrace = 10 * time.Second

// ErrWatcherStopped is returned by Run when the watcher ended on its own
// (its file descriptor failed): changes are no longer seen, so the process
// should stop and be restarted rather than run on blind.
var ErrWatcherStopped = errors.New("replicate: the watcher stopped: changes are no longer seen")

// Options are the engine's settings that do not come from confxml.xml.
type Options struct {
	// Plugin is -m NAME: plugin-only mode, no rsync. "" is sync mode.
	Plugin string
	// successor is set by Service.Reload: the engine takes the failLog
	// and the state file over from the one it replaces (takeOver) instead
	// of opening them while that one still writes them.
	successor bool
	// Threads bounds the rsync processes running at once (-n); <= 0 means
	// DefaultThreads.
	Threads int
	// Queues is how many queues each remote of each root has; <= 0 means
	// DefaultQueues, or 1 over ssh with deletion on (a rename between two
	// top-level entries stays in one queue, so it can be done on the
	// remote; batches of disjoint paths still overlap on a slow link). It
	// is capped by Threads.
	// Plugin-only mode always has one.
	Queues int
	// MinDelay makes every sync-mode queue wait this long after a change
	// before cutting a batch (see queue.Options.MinDelay).
	MinDelay time.Duration
	// Eager (--batching eager) turns the adaptive batching of sync-mode
	// queues off: a batch leaves as soon as the queue's previous one is
	// done, one at a time.
	// Otherwise queues hold batches under load (queue.Options.Adaptive)
	// and keep up to MaxInFlight disjoint batches in flight.
	Eager bool
	// Watcher is the kernel backend asked for (--watcher); "" is
	// DefaultWatcher.
	Watcher inotifymask.Backend
	// SyncAll (-r) requests a full sync of every root to every remote as
	// soon as Run starts.
	SyncAll bool
	// Rsync is the rsync binary; "" means "rsync" from PATH.
	Rsync string
	// RetryBase is the hold-off after a failed batch, doubling per
	// failure up to MaxRetry; <= 0 means queue.DefaultRetryBase.
	RetryBase time.Duration
	// SummaryEvery is how often a Service logs its summary line while
	// there is work; <= 0 means DefaultSummaryEvery.
	SummaryEvery time.Duration
	// Terminal, when set, is a terminal on which a Service redraws the
	// progress of running full syncs every second; otherwise it logs it
	// every ProgressEvery (<= 0: DefaultProgressEvery).
	Terminal      io.Writer
	ProgressEvery time.Duration
	// MaxRetry caps that hold-off; <= 0 means DefaultMaxRetry.
	MaxRetry time.Duration
	// MaxPending is the budget in bytes of the changes one remote of one
	// root may have pending; past it they collapse into one full sync of
	// the remote (queue.Bound). <= 0 means DefaultMaxPending.
	MaxPending int64
	// StateDir holds the state file that tells a clean stop from a crash,
	// one per configuration file (failog.StateFile); after an unclean stop
	// every root gets a full sync to every remote. "" turns this off. Sync
	// mode only.
	StateDir string
	// MaxDelete, when above 0, limits how many remote paths one full sync
	// deletes (rsync --max-delete; rsyncexec.Target.MaxDelete). A full
	// sync stopped by it is not retried.
	MaxDelete int
	// DryRun (--dry-run) watches and batches as usual but runs nothing:
	// every rsync command and ssh rename session is logged with its paths
	// instead (rsyncexec.Runner.Pretend), no plugin is started, and
	// neither the failLog, the state file nor the roots' identities are
	// written. Sync mode only.
	DryRun bool
	// NoRemoteMoves turns off renames on ssh remotes (see
	// rsyncexec.RunOptions.NoMoves): renamed data is sent again.
	NoRemoteMoves bool
	// Log receives the structured log; nil discards it.
	Log *slog.Logger
	// Console is where the original's stdout lines go. With <debug
	// start="true"> the engine writes its debug lines there (watches and raw
	// events, rsync commands and their output, plugin commands). Use
	// Engine.Console to write to it while the engine runs. nil discards.
	Console io.Writer
}

// Engine is one running replication pipeline. Build it with New, then call
// Run once.
type Engine struct {
	cfg     confxml.Config
	opts    Options
	log     *slog.Logger
	console *outbuf.Writer

	roots   []string
	watcher *inotifymask.Watcher
	runner  *rsyncexec.Runner // nil in plugin-only mode
	echo    io.Writer         // the console when debug is on, else nil
	plugin  plugins.Plugin    // nil when no plugin runs
	notes   *notifier         // nil when no plugin runs
	remotes []*remote
	byRoot  map[string][]*remote
	queues  int // per remote
	ov      map[string]*counter

	// carried are the watcher's and the plugin delivery's counters of the
	// engines this one replaced (Service.Reload).
	carried struct{ eventsRead, overflows, pluginDelivered, pluginFailed, pluginDropped uint64 }
	faillog *failog.Log   // nil in plugin-only mode
	state   *failog.State // nil without Options.StateDir
	// prevUnclean: the state file said the previous run stopped uncleanly.
	prevUnclean bool
	// handedOver is set when a reload hands this engine's pending changes
	// and state file to its successor: stopping then records nothing.
	handedOver atomic.Bool
	// ids follows the identity of every root, gates holds the workers of
	// an absent one (sync mode; nil otherwise).
	ids   *rootid.Tracker
	gates map[string]*gate
}

// New checks rsync (sync mode), starts the plugin and the watcher, and
// builds the queues: when it returns without error, every directory below
// every root is watched and changes are kept until Run sends them. On error
// everything it started is stopped again.
func New(ctx context.Context, cfg confxml.Config, opts Options) (_ *Engine, err error) {
	if opts.Threads <= 0 {
		opts.Threads = DefaultThreads
	}
	if opts.Queues <= 0 {
		opts.Queues = DefaultQueues
		if cfg.Sersync.Rsync.SSH.Enabled && cfg.Inotify.Delete && !opts.NoRemoteMoves {
			opts.Queues = 1
		}
	}
	if opts.Console == nil {
		opts.Console = io.Discard
	}
	e := &Engine{cfg: cfg, opts: opts, log: opts.Log, console: outbuf.NewWriter(opts.Console), byRoot: map[string][]*remote{}, ov: map[string]*counter{},
		gates: map[string]*gate{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Debug {
		e.echo = e.console
	}
	roots := cfg.WatchRoots(opts.Plugin)
	if len(roots) == 0 {
		return nil, errors.New("replicate: nothing to watch")
	}
	if opts.Plugin == "" && cfg.Sersync.Plugin.TakesOverWatch() && roots[0].Watch != cfg.Sersync.LocalPaths[0].Watch {
		e.log.Warn("the plugin's watch directory replaces the first <localpath>, as the original did",
			"plugin", cfg.Sersync.Plugin.Name, "configured", cfg.Sersync.LocalPaths[0].Watch, "watching", roots[0].Watch)
	}

	var exclude func(string, bool) bool
	if opts.Plugin == "" {
		if _, err := rsyncexec.Probe(ctx, opts.Rsync); err != nil {
			return nil, err
		}
		if exclude, err = inotifymask.Excluder(cfg.Filter); err != nil {
			return nil, err
		}
		e.runner = rsyncexec.NewRunner(opts.Rsync, opts.Threads, e.log)
		if opts.DryRun {
			e.runner.Pretend()
		}
	}
	if opts.DryRun && cfg.Sersync.Plugin.Enabled {
		e.log.Info("dry run: the plugin is not run", "plugin", cfg.Sersync.Plugin.Name)
	}
	if name := e.pluginName(); name != "" {
		if e.plugin, err = plugins.New(name, cfg, e.log, e.echo); err != nil {
			return nil, err
		}
		e.notes = newNotifier(e.plugin, e.log, PluginWorkers, MaxPluginBacklog)
		defer func() {
			if err != nil {
				e.plugin.Close()
			}
		}()
	}
	e.build(roots, exclude)
	if e.runner != nil {
		if err := e.openIdentities(); err != nil {
			return nil, err
		}
	}
	if e.runner != nil && !opts.successor && !opts.DryRun {
		if err := e.openFailLog(); err != nil {
			return nil, err
		}
		if opts.StateDir != "" {
			if err := e.openState(failog.StateFile(opts.StateDir, cfg.Path)); err != nil {
				return nil, err
			}
			defer func() {
				if err != nil {
					// Nothing was accepted: the next start finds the state
					// this one found.
					if !e.prevUnclean {
						_ = e.state.MarkClean()
					}
					e.state.Close()
				}
			}()
		}
	}

	wo := inotifymask.Options{Roots: e.roots, Inotify: cfg.Inotify, Filter: cfg.Filter, Logger: e.log, Backend: opts.watcher()}
	if e.ids != nil {
		wo.RootCheck = e.ids.Check
	}
	if e.echo != nil {
		wo.Debug = func(line string) { fmt.Fprintln(e.console, line) }
	}
	if e.watcher, err = inotifymask.New(wo); err != nil {
		return nil, err
	}
	if opts.SyncAll && e.runner != nil {
		e.RequestFullSync("-r")
	}
	return e, nil
}

// pluginName is the plugin that runs: -m's, or <sersync><plugin>'s.
func (e *Engine) pluginName() string {
	if e.opts.Plugin != "" {
		return e.opts.Plugin
	}
	if e.opts.DryRun {
		return ""
	}
	if e.cfg.Sersync.Plugin.Enabled {
		return e.cfg.Sersync.Plugin.Name
	}
	return ""
}

// build creates the remotes of every root and their queues.
func (e *Engine) build(roots []confxml.LocalPath, exclude func(string, bool) bool) {
	pluginWatch := e.cfg.PluginWatch(e.pluginName())
	e.queues = min(e.opts.Queues, e.opts.Threads)
	qo := queue.Options{
		Recursive:   e.cfg.Sersync.Rsync.Recursive(),
		MinDelay:    e.opts.MinDelay,
		Adaptive:    !e.opts.Eager,
		MaxInFlight: min(MaxInFlight, e.opts.Threads),
		SlowRun:     SlowRun,
		RetryBase:   e.opts.RetryBase,
		MaxRetry:    cmp.Or(e.opts.MaxRetry, DefaultMaxRetry),
		Log:         e.log,
	}
	if e.runner == nil {
		// Every path matters to a plugin: nothing below an updated
		// directory is folded into it, and one queue keeps every change in
		// order.
		e.queues, qo.Recursive, qo.MinDelay, qo.Adaptive, qo.MaxInFlight = 1, false, 0, false, 1
	}
	// Each remote may have one batch per queue in flight, and its fair
	// share of the rsync slots (-n) beyond that in extra batches, so that
	// a slow remote's overlapping batches leave the others their slots.
	remotes := 0
	for _, lp := range roots {
		remotes += len(lp.Remotes)
	}
	extra := e.opts.Threads/max(remotes, 1) - e.queues
	for i, lp := range roots {
		e.roots = append(e.roots, lp.Watch)
		e.ov[lp.Watch] = &counter{}
		var rs []*remote
		if e.runner == nil {
			rs = []*remote{{root: lp.Watch}}
		}
		for _, r := range lp.Remotes {
			rs = append(rs, &remote{root: lp.Watch, target: target(e.cfg, lp.Watch, r, exclude, e.opts.MaxDelete), rsync: true})
		}
		for _, r := range rs {
			if r.rsync {
				r.dest = rsyncexec.Destination(r.target)
			}
			o := qo
			o.OnRetry = func(b queue.Batch, err error, next time.Duration) {
				e.log.Warn("sync failed; will retry", "root", r.root, "remote", r.dest, "paths", b.Len(), "full", b.Full,
					"attempt", b.Attempt+1, "retry_in", next.Round(time.Millisecond), "err", err)
			}
			if e.opts.Eager {
				o.MaxInFlight = 1
			}
			o.Budget, o.Pace = queue.NewBudget(extra), queue.NewPace()
			if r.rsync {
				o.Bound = queue.NewBound(e.opts.MaxPending)
				o.Log = e.log.With("remote", r.dest)
			}
			// Over ssh a rename can be done on the remote (rsyncexec runs
			// the batch's Moves first); with deletion off the mirror keeps
			// the old name, so nothing is moved. A local target's runs send
			// renamed data.
			o.Moves = r.rsync && !r.target.Remote.Local() && e.cfg.Sersync.Rsync.SSH.Enabled && e.cfg.Inotify.Delete
			for range e.queues {
				r.queues = append(r.queues, queue.New(lp.Watch, o))
			}
			r.inFlight = o.MaxInFlight
		}
		e.remotes = append(e.remotes, rs...)
		e.byRoot[lp.Watch] = rs
		if e.notes != nil {
			// The first root may be the plugin's own watch, told as
			// configured.
			watch := lp.Watch
			if i == 0 {
				watch = pluginWatch
			}
			e.notes.addRoot(lp.Watch, watch, rs, e.queues)
		}
	}
}

// target builds the rsync target of one remote of one root.
func target(cfg confxml.Config, root string, r confxml.Remote, exclude func(string, bool) bool, maxDelete int) rsyncexec.Target {
	t := rsyncexec.Target{
		Root:      root,
		Remote:    r,
		Rsync:     cfg.Sersync.Rsync,
		Delete:    cfg.Inotify.Delete,
		MaxDelete: maxDelete,
		Exclude:   exclude,
	}
	if cfg.Sersync.Crontab.Enabled && cfg.Sersync.Crontab.FilterEnabled {
		t.CrontabExcludes = cfg.Sersync.Crontab.Exclude
	}
	return t
}

// CheckReport is what CheckWatches found (see inotifymask.CheckReport).
type CheckReport = inotifymask.CheckReport

// CheckWatches runs the watcher's self-check: it compares the directories
// below every root with the watches held (SIGUSR2).
func (e *Engine) CheckWatches(ctx context.Context) (CheckReport, error) {
	return e.watcher.Check(ctx)
}

// RequestFullSync asks for a full sync of every root to every remote (-r,
// the crontab, a signal). It returns at once; the syncs run as soon as
// each remote's current batch is done. It does nothing in plugin-only mode.
func (e *Engine) RequestFullSync(reason string) {
	if e.runner == nil {
		return
	}
	for _, r := range e.remotes {
		r.queues[0].RequestFull(reason)
	}
}

// Run replicates until ctx ends, then stops taking changes, lets running
// rsyncs and plugin runs finish (up to 10 s), logs what was done and what
// is left, and returns nil. It returns ErrWatcherStopped when the watcher
// ended on its own. Run is called once.
func (e *Engine) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if e.plugin != nil {
		defer e.plugin.Close()
	}
	defer e.watcher.Close()
	// Rsyncs keep running for a grace period after ctx ends.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()

	var wg, delivery sync.WaitGroup
	if e.notes != nil {
		for _, w := range e.notes.workers {
			delivery.Go(func() { e.notes.deliver(runCtx, w) })
		}
	}
	for _, r := range e.remotes {
		for _, q := range r.queues {
			// One worker per batch the queue may have in flight.
			for range r.inFlight {
				wg.Go(func() { e.work(ctx, runCtx, r, q) })
			}
		}
		if r.away != nil {
			wg.Go(func() { e.watchTarget(ctx, r) })
		}
	}
	wg.Go(func() {
		e.dispatch(ctx)
		cancel(ErrWatcherStopped)
	})
	if e.faillog != nil {
		wg.Go(func() { e.replayLoop(ctx) })
	}
	// <crontab schedule="N"> is a full sync every N minutes.
	sched := cron.New()
	if c := e.cfg.Sersync.Crontab; c.Enabled && e.runner != nil {
		if _, err := sched.AddFunc("@every "+c.Schedule.String(), func() { e.RequestFullSync("crontab") }); err != nil {
			e.log.Error("crontab not scheduled", "schedule", c.Schedule, "err", err)
		}
	}
	sched.Start()

	<-ctx.Done()
	<-sched.Stop().Done()
	e.log.Info("stopping: finishing in-flight rsyncs", "grace", shutdownGrace)
	e.watcher.Close()
	for _, r := range e.remotes {
		for _, q := range r.queues {
			q.Close()
		}
	}
	stopped := make(chan struct{})
	go func() {
		wg.Wait()
		// Every batch is done: what the plugin may still hear of is
		// released; the rest never will be.
		e.notes.close()
		delivery.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		cancelRuns()
		<-stopped
	}
	e.notes.finish()
	e.closeFailLog(errors.Is(context.Cause(ctx), ErrWatcherStopped))
	st := e.State()
	t := st.Total()
	e.log.Info("stopped", "batches", t.Batches, "rsync_runs", t.RsyncRuns, "paths", t.Paths, "faillog_entries", st.FailLog.Entries,
		"failed_batches", t.Failures, "overflows", st.Overflows, "unsynced_paths", t.Pending+t.InFlight)
	if err := context.Cause(ctx); errors.Is(err, ErrWatcherStopped) {
		return err
	}
	return nil
}

// dispatch fans every watcher event out to each remote of its root, to the
// queue route picks. It takes what the watcher queued all at once, so a
// burst costs one wake-up, not one per event. It returns when ctx ends or
// the watcher stops.
func (e *Engine) dispatch(ctx context.Context) {
	var evs []inotifymask.Event
	for {
		var err error
		if evs, err = e.watcher.Next(ctx, evs); err != nil {
			return
		}
		for _, ev := range evs {
			e.dispatchOne(ev)
		}
	}
}

// dispatchOne hands one watcher event to the queues of its root's
// remotes.
func (e *Engine) dispatchOne(ev inotifymask.Event) {
	if ev.Op == inotifymask.OpOverflow {
		if c := e.ov[ev.Root]; c != nil {
			c.Add(1)
		}
		e.log.Warn("events lost; full sync of the root follows", "root", ev.Root, "err", ev.Err)
	}
	defer func() {
		if ev.Op == inotifymask.OpOverflow && errors.Is(ev.Err, inotifymask.ErrRootReturned) {
			e.rootBack(ev.Root)
		}
	}()
	rs := e.byRoot[ev.Root]
	xs, n := route(ev, e.queues)
	for _, x := range xs[:n] {
		var adds []uint64
		if e.notes != nil {
			adds = make([]uint64, len(rs))
		}
		for j, r := range rs {
			a := r.queues[x.queue].Add(x.ev)
			if adds != nil {
				adds[j] = a
			}
		}
		// The plugin hears of the event, unfolded, once every remote
		// tried it.
		e.notes.add(ev.Root, x.queue, adds, x.ev)
	}
}

// work is the worker of one queue of a remote: it syncs each batch, hands
// it back, and tells plugin delivery that the batch's changes were tried.
func (e *Engine) work(ctx, runCtx context.Context, r *remote, q *queue.Queue) {
	for {
		if !e.waitPresent(ctx, r) {
			return
		}
		b, err := q.Next(ctx)
		if err != nil {
			return
		}
		if r.rsync && !e.present(r, q, b) {
			continue
		}
		var res rsyncexec.Result
		if r.rsync {
			// A full sync of a remote runs alone: a batch of another queue
			// that ran while the full sync's rsync was listing the tree
			// could be undone by it (a removed directory sent again, a
			// new file deleted by --delete) with no later event to fix it.
			t, started := targetOf(r, b), time.Now()
			unlock := r.exclusive(b.Full)
			res = e.runner.Run(runCtx, t, b, e.runOptions(r, b))
			unlock()
			e.fullDone(r, b, res)
			if errors.Is(res.Err, rsyncexec.ErrNotPresent) && !e.present(r, q, b) {
				// The root or the target went away during the batch: what
				// is left of it waits, untried, as when it is found away
				// before the batch.
				continue
			}
			e.account(r, t, b, started, res.Err)
			if res.Err != nil && !rsyncexec.Retryable(res.Err) {
				e.log.Error("rsync failed and retrying will not help until the cause is fixed", "root", r.root, "remote", r.dest, "err", res.Err)
			} else if res.Err == nil {
				e.log.Debug("synced", "root", r.root, "remote", r.dest, "full", b.Full, "reason", b.Reason,
					"updates", len(b.Updates), "removes", len(b.Removes), "rsync_runs", res.Runs, "remote_moves", res.MovesDone, "took", res.Elapsed.Round(time.Millisecond))
			}
		}
		r.record(b, res)
		done := res.Err
		if rsyncexec.DeletionsStopped(done) {
			// Sent but for deletions past --max-delete: another run would
			// delete as many again, so the batch is not handed back for a
			// retry (nor to the failLog); the error above asks the operator.
			done = nil
		}
		// Success or not, the first attempt of these changes is over.
		e.notes.attempted(q, q.Done(b, done))
		if b.Full {
			// It also covered what the remote's other queues folded
			// into it when their pending changes collapsed.
			for _, o := range r.queues {
				if o != q {
					e.notes.attempted(o, o.Tried())
				}
			}
		}
	}
}
