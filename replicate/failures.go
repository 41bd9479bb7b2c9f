package replicate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// DefaultMaxRetry caps the hold-off between two tries of a failed batch:
// a remote that comes back is noticed within this time, at the price of
// one cheap failing rsync per queue every two seconds while it is down
// (a refused connection costs a fork and a few milliseconds).
const DefaultMaxRetry = 2 * time.Second

// Reasons of the full syncs that bring a remote back to the source after
// a loss of track: they send everything, crontab excludes included.
const (
	ReasonUnclean = "unclean stop"
	ReasonFailLog = "failLog"
)

// errStopped is recorded in the failLog for a remote that still had
// changes to send when sersync2 stopped.
var errStopped = errors.New("replicate: sersync2 stopped before these changes were synced")

// failLogInterval is how often the failLog is replayed: timeToExecute
// minutes, at least failog.MinInterval (0 means every minute).
func failLogInterval(cfg confxml.Config) time.Duration {
	return max(cfg.Sersync.FailLog.Interval, failog.MinInterval)
}

// failLogExposed reports whether the failLog sits in a directory every user
// may write (failog.Exposed), for --check, with a better path for it in
// stateDir.
func failLogExposed(cfg confxml.Config, stateDir string) (dir, better string, exposed bool) {
	p := cfg.Sersync.FailLog.Path
	dir, exposed = failog.Exposed(p)
	return dir, failog.BetterPath(stateDir, p), exposed
}

// openFailLog opens the failLog for every rsync target (sync mode).
func (e *Engine) openFailLog() error {
	var ts []rsyncexec.Target
	for _, r := range e.remotes {
		if r.rsync {
			ts = append(ts, r.target)
		}
	}
	fl := e.cfg.Sersync.FailLog
	l, err := failog.Open(fl.Path, ts, failog.Options{
		Interval:  fl.Interval,
		StateDir:  e.opts.StateDir,
		Recursive: e.cfg.Sersync.Rsync.Recursive(),
		Log:       e.log,
	})
	if err != nil {
		return err
	}
	e.faillog = l
	return nil
}

// openState opens the state file and, after an unclean stop, asks for a
// full sync of every root to every remote.
func (e *Engine) openState(path string) error {
	st, prev, err := failog.OpenState(path)
	if err != nil {
		return err
	}
	e.state, e.prevUnclean = st, prev.Unclean
	switch {
	case prev.Unclean:
		e.log.Warn("the previous run did not stop cleanly: full sync of every root to every remote",
			"state_file", path, "previous", prev.Detail)
		e.RequestFullSync(ReasonUnclean)
	case prev.First:
		e.log.Info("no earlier run recorded in the state file", "state_file", path)
	default:
		e.log.Info("the previous run stopped cleanly", "state_file", path, "previous", prev.Detail)
	}
	return nil
}

// targetOf returns the target a batch is run with: a full sync that
// recovers lost track, or replaces changes a collapse dropped, sends
// everything, the crontab's excludes included.
func targetOf(r *remote, b queue.Batch) rsyncexec.Target {
	t := r.target
	if b.Full && len(t.CrontabExcludes) > 0 {
		for reason := range strings.SplitSeq(b.Reason, ",") {
			if reason == ReasonUnclean || reason == ReasonFailLog || reason == queue.ReasonPendingBound {
				t.CrontabExcludes = nil
			}
		}
	}
	return t
}

// account tells the failLog how a batch ended: a success clears the
// entries it made moot; a failure after the first retry is recorded (the
// changes stay queued and are retried in memory as well). A remote whose
// entries collapsed into a full sync gets one.
func (e *Engine) account(r *remote, t rsyncexec.Target, b queue.Batch, started time.Time, err error) {
	if e.faillog == nil {
		return
	}
	if err == nil {
		if ferr := e.faillog.Synced(t, b, started); ferr != nil {
			e.log.Error("failLog not updated", "file", e.faillog.Path(), "err", ferr)
		}
		return
	}
	if b.Attempt < 1 || errors.Is(err, context.Canceled) || rsyncexec.DeletionsStopped(err) {
		return
	}
	collapsed, ferr := e.faillog.Fail(t, b, err)
	if ferr != nil {
		e.log.Error("failLog not written; the changes stay queued in memory", "file", e.faillog.Path(), "err", ferr)
	}
	if collapsed {
		r.queues[0].RequestFull(ReasonFailLog)
	}
}

// replay hands failLog entries back to their remotes' queues as changes
// (a full-sync entry as a full sync). They leave the file once synced.
func (e *Engine) replay(entries []failog.Entry, why string) {
	if len(entries) == 0 {
		return
	}
	byKey := map[[2]string]*remote{}
	for _, r := range e.remotes {
		if r.rsync {
			byKey[[2]string{r.root, r.dest}] = r
		}
	}
	n := 0
	for _, en := range entries {
		r := byKey[[2]string{en.Root, en.Remote}]
		if r == nil {
			continue
		}
		n++
		if en.Op == failog.Full {
			r.queues[0].RequestFull(ReasonFailLog)
			continue
		}
		evs := []inotifymask.Event{{Root: en.Root, Path: en.Path, Op: inotifymask.OpUpdate, Dir: en.Dir}}
		switch {
		case en.Op == failog.Remove:
			evs[0].Op = inotifymask.OpRemove
		case en.Replaced:
			// Removed as a directory and created again: the queue marks
			// the update Replaced, which syncs it with deletion.
			evs = append([]inotifymask.Event{{Root: en.Root, Path: en.Path, Op: inotifymask.OpRemove, Dir: true}}, evs...)
		}
		for _, ev := range evs {
			xs, k := route(ev, len(r.queues))
			for _, x := range xs[:k] {
				r.queues[x.queue].Add(x.ev)
			}
		}
	}
	e.log.Info("failLog entries replayed", "why", why, "entries", n, "file", e.faillog.Path())
}

// replayLoop replays the failLog every timeToExecute minutes until ctx
// ends; entries left by an earlier run go at once.
func (e *Engine) replayLoop(ctx context.Context) {
	e.replay(e.faillog.Entries(), "left by an earlier run")
	for {
		t := time.NewTimer(time.Until(e.faillog.NextReplay()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case now := <-t.C:
			e.replay(e.faillog.Due(now), "timeToExecute")
		}
	}
}

// closeFailLog runs after every worker stopped: a remote that still has
// changes to send gets a full-sync entry, so the next start sends them
// (and anything changed meanwhile); then the state file says whether this
// stop was clean.
func (e *Engine) closeFailLog(watcherStopped bool) {
	if e.handedOver.Load() {
		// A reload: the successor takes the pending changes and the state
		// file; nothing is owed at this stop.
		if e.faillog != nil {
			if err := e.faillog.Close(); err != nil {
				e.log.Error("failLog not written at reload", "file", e.faillog.Path(), "err", err)
			}
		}
		return
	}
	clean := !watcherStopped
	if e.faillog != nil {
		for _, r := range e.remotes {
			if !r.rsync {
				continue
			}
			pending := false
			for _, q := range r.queues {
				st := q.Stats()
				pending = pending || st.Pending > 0 || st.InFlight > 0 || st.FullPending
			}
			if !pending {
				continue
			}
			if _, err := e.faillog.Fail(r.target, queue.Batch{Root: r.root, Full: true, Reason: ReasonFailLog}, errStopped); err != nil {
				e.log.Error("failLog not written at stop", "file", e.faillog.Path(), "err", err)
				clean = false
			}
		}
		if err := e.faillog.Close(); err != nil {
			e.log.Error("failLog not written at stop", "file", e.faillog.Path(), "err", err)
			clean = false
		}
	}
	if e.state == nil {
		return
	}
	if clean {
		if err := e.state.MarkClean(); err != nil {
			e.log.Error("state file not marked clean; the next start does a full sync", "err", err)
		}
	}
	e.state.Close()
}
