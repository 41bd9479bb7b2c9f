package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
)

// DefaultSummaryEvery is how often a Service logs its summary line while
// there is work (Options.SummaryEvery).
const DefaultSummaryEvery = time.Minute

// ErrStopped is returned by Reload when the Service's Run has returned.
var ErrStopped = errors.New("replicate: the service is not running")

// Service runs one Engine at a time and replaces it with one built from a
// changed configuration on Reload (SIGHUP), handing over every change the
// old engine still owed: a remote or root that stays keeps its pending
// changes and its counters, an added one starts with a full sync, a
// removed one's pending changes are dropped and counted in the log. While
// work goes on it logs one summary line every Options.SummaryEvery.
//
// The new engine is built (its watches set up) while the old one still
// runs, so no change is missed in between; for that time the directories
// are watched twice. A configuration that cannot be built is refused and
// the old engine keeps running.
type Service struct {
	opts    Options
	log     *slog.Logger
	console io.Writer

	mu  sync.Mutex
	cur *Engine

	reloads, reloadFailures counter
	next                    chan handover
	stopped                 chan struct{}
}

// handover is a built engine waiting to replace the running one.
type handover struct {
	e    *Engine
	done chan struct{}
}

// NewService builds the first engine (see New).
func NewService(ctx context.Context, cfg confxml.Config, opts Options) (*Service, error) {
	e, err := New(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	return &Service{opts: opts, log: e.log, console: e.console, cur: e, next: make(chan handover), stopped: make(chan struct{})}, nil
}

// Engine returns the engine running now.
func (s *Service) Engine() *Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// State returns the running engine's state, with the reload counters.
func (s *Service) State() State {
	st := s.Engine().State()
	st.Reloads, st.ReloadFailures = s.reloads.Load(), s.reloadFailures.Load()
	return st
}

// RequestFullSync asks the running engine for a full sync of every root
// to every remote (SIGUSR1, see Engine.RequestFullSync).
func (s *Service) RequestFullSync(reason string) { s.Engine().RequestFullSync(reason) }

// CheckWatches runs the running engine's watcher self-check (SIGUSR2).
func (s *Service) CheckWatches(ctx context.Context) (CheckReport, error) {
	return s.Engine().CheckWatches(ctx)
}

// Reload builds an engine for cfg and, once Run has stopped the old one
// (its in-flight rsyncs finished, as at shutdown), hands it the old one's
// pending changes and runs it. It returns when the new engine runs, or
// with the error that made cfg unusable, the old engine still running.
// Options.SyncAll is not repeated.
func (s *Service) Reload(ctx context.Context, cfg confxml.Config) error {
	o := s.opts
	o.SyncAll, o.Console, o.successor = false, s.console, true
	e, err := New(ctx, cfg, o)
	if err != nil {
		s.reloadFailures.Add(1)
		return fmt.Errorf("replicate: reload refused, the running configuration stays: %w", err)
	}
	h := handover{e: e, done: make(chan struct{})}
	select {
	case s.next <- h:
	case <-s.stopped:
		e.discard()
		return ErrStopped
	case <-ctx.Done():
		e.discard()
		return ctx.Err()
	}
	<-h.done
	return nil
}

// Run runs the current engine until ctx ends (see Engine.Run), replacing
// it on Reload. It returns ErrWatcherStopped when the running engine's
// watcher ended on its own. Run is called once.
func (s *Service) Run(ctx context.Context) error {
	defer close(s.stopped)
	sumCtx, stopSum := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { s.summarize(sumCtx) })
	wg.Go(func() { s.showProgress(sumCtx) })
	defer wg.Wait()
	defer stopSum()
	for {
		e := s.Engine()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(runCtx) }()
		select {
		case err := <-done:
			cancel()
			return err
		case h := <-s.next:
			s.log.Info("reloading: the old configuration finishes its in-flight rsyncs first")
			e.handedOver.Store(true)
			cancel()
			if err := <-done; err != nil {
				s.log.Warn("the replaced engine stopped with an error", "err", err)
			}
			h.e.takeOver(e)
			moved, dropped := h.e.adopt(e)
			s.mu.Lock()
			s.cur = h.e
			s.mu.Unlock()
			s.reloads.Add(1)
			st := h.e.State()
			s.log.Info("configuration reloaded", "roots", len(st.Roots), "remotes", len(st.Remotes), "watches", st.Watches,
				"pending_kept", moved, "pending_dropped", dropped)
			close(h.done)
		}
	}
}

// discard stops what New started for an engine that will never run.
func (e *Engine) discard() {
	e.watcher.Close()
	if e.plugin != nil {
		e.plugin.Close()
	}
}

// takeOver gives a successor engine (Options.successor) the state file
// of the engine it replaces, which has stopped, and opens the failLog now
// that nothing else writes it: one owner at a time, so no entry the old
// engine recorded or cleared is overwritten from a stale copy.
func (e *Engine) takeOver(old *Engine) {
	e.state, old.state = old.state, nil
	if e.runner == nil {
		return
	}
	if err := e.openFailLog(); err != nil {
		e.log.Error("failLog not opened after the reload: failures are retried in memory only", "file", e.cfg.Sersync.FailLog.Path, "err", err)
	}
}

// adopt takes over what old, stopped, still owed and counted: the
// engine's counters (events read, overflows, plugin deliveries), and the
// pending changes and counters of every remote both have (same root, same
// destination). A remote only e has gets a full sync (sync mode); the
// changes of a remote only old had are dropped. It returns how many
// pending paths moved and how many were dropped.
func (e *Engine) adopt(old *Engine) (moved, dropped int) {
	ost := old.State()
	e.carried.eventsRead, e.carried.overflows = ost.EventsRead, ost.Overflows
	e.carried.pluginDelivered, e.carried.pluginFailed, e.carried.pluginDropped = ost.PluginDelivered, ost.PluginFailed, ost.PluginDropped
	for root, c := range old.ov {
		if n := e.ov[root]; n != nil {
			n.Add(c.Load())
		}
	}
	type key struct{ root, dest string }
	prev := map[key]*remote{}
	for _, r := range old.remotes {
		prev[key{r.root, r.dest}] = r
	}
	for _, r := range e.remotes {
		o := prev[key{r.root, r.dest}]
		if o == nil {
			if r.rsync {
				r.queues[0].RequestFull("new in the configuration")
			}
			continue
		}
		delete(prev, key{r.root, r.dest})
		r.batches.Add(o.batches.Load())
		r.runs.Add(o.runs.Load())
		r.paths.Add(o.paths.Load())
		r.failures.Add(o.failures.Load())
		r.movesDone.Add(o.movesDone.Load())
		r.movesFailed.Add(o.movesFailed.Load())
		r.carriedEvents, r.carriedRetries, r.carriedCollapses = o.carriedEvents, o.carriedRetries, o.carriedCollapses
		for _, q := range o.queues {
			qs := q.Stats()
			r.carriedEvents += qs.Events
			r.carriedRetries += qs.Retries
			r.carriedCollapses += qs.Collapses
		}
		r.out.carry(&o.out)
		o.mu.Lock()
		r.last = o.last
		o.mu.Unlock()
		moved += r.take(o)
	}
	for _, o := range prev {
		for _, q := range o.queues {
			dropped += len(q.Snapshot().Items)
		}
	}
	return moved, dropped
}

// take hands the pending changes of o's queues to r's, routed as the
// watcher's events are, keeping their failed attempts and how long they
// have waited (queue.Restore), and returns how many paths it moved.
func (r *remote) take(o *remote) int {
	n := 0
	for _, q := range o.queues {
		st, snap := q.Stats(), q.Snapshot()
		since := st.PendingSince
		if t := st.InFlightSince; !t.IsZero() && (since.IsZero() || t.Before(since)) {
			since = t
		}
		if snap.Full {
			r.queues[0].RequestFull("kept over a reload")
			// A collapsed remote's full sync must still send everything.
			r.queues[0].RequestFull(snap.Reason)
		}
		for _, it := range snap.Items {
			ev := inotifymask.Event{Root: r.root, Path: it.Path, Op: it.Op, Dir: it.Dir}
			xs, k := route(ev, len(r.queues))
			for _, x := range xs[:k] {
				r.queues[x.queue].Restore(it, since)
			}
			n++
		}
	}
	return n
}

// summarize logs one summary line every Options.SummaryEvery while there
// is something to say: batches synced or changes pending.
func (s *Service) summarize(ctx context.Context) {
	every := s.opts.SummaryEvery
	if every <= 0 {
		every = DefaultSummaryEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	prev := s.State().Total()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := s.State()
		cur := st.Total()
		if cur.Batches == prev.Batches && cur.Pending+cur.InFlight == 0 {
			continue
		}
		now := time.Now()
		var lag time.Duration
		failing := 0
		for _, r := range st.Remotes {
			lag = max(lag, r.Lag(now))
			if r.Failing() {
				failing++
			}
		}
		s.log.Info("summary", "interval", every, "batches", cur.Batches-prev.Batches, "rsync_runs", cur.RsyncRuns-prev.RsyncRuns,
			"paths", cur.Paths-prev.Paths, "failed_batches", cur.Failures-prev.Failures, "pending", cur.Pending,
			"in_flight", cur.InFlight, "max_lag", lag.Round(time.Millisecond), "failing_remotes", failing,
			"rsync_runs_total", cur.RsyncRuns)
		prev = cur
	}
}

// ReloadFile reloads the configuration that load reads from file
// (SIGHUP). A file that does not load is refused and counted as a refused
// Reload is; either way the error is logged and the running
// configuration stays. The file's warnings are logged.
func (s *Service) ReloadFile(ctx context.Context, file string, load func() (confxml.Config, error)) {
	cfg, err := load()
	if err != nil {
		s.log.Error("reload refused: the configuration file does not load; the running configuration stays", "file", file, "err", err)
		s.reloadFailures.Add(1)
		return
	}
	for _, w := range cfg.Warnings {
		s.log.Warn("config", "file", file, "warning", w)
	}
	if err := s.Reload(ctx, cfg); err != nil {
		s.log.Error("reload refused", "file", file, "err", err)
	}
}
