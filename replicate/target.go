package replicate

import (
	"context"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/queue"
)

// targetPoll is how often an absent local target is looked at again.
const targetPoll = time.Second

// AbsentTarget is a local target that is not its recorded file system (the
// bare mount point of an unmounted disk, another file system, or gone),
// why, and since when: nothing is written to it until it is back.
type AbsentTarget struct {
	Root   string // the watch root pushed to it
	Target string // its directory
	Reason string
	Since  time.Time
}

// targetAway follows the absence of one local target: gate holds the
// remote's workers while it is absent.
type targetAway struct {
	gate gate

	mu     sync.Mutex
	since  time.Time // zero while present
	reason string
}

func (a *targetAway) set(reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.since.IsZero() {
		a.since = time.Now()
	}
	a.reason = reason
}

func (a *targetAway) clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.since, a.reason = time.Time{}, ""
}

func (a *targetAway) get() (since time.Time, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.since, a.reason
}

// targetPresent is present's guard for the other end: it reports whether
// r's local target is its recorded file system now (true for a remote
// that is not local). When it is not, the batch is handed back untried, as
// for an absent root, and r's workers wait until watchTarget finds it
// back: rsync would otherwise write the whole tree into the bare mount
// point of an unmounted disk, or create a target that is gone.
func (e *Engine) targetPresent(r *remote, q *queue.Queue, b queue.Batch) bool {
	if r.away == nil {
		return true
	}
	err := e.ids.Check(r.dest)
	if err == nil {
		return true
	}
	q.Hold(b)
	r.away.set(err.Error())
	if r.away.gate.shut() {
		e.log.Warn("syncs to the local target held: it is absent; changes are kept until it is back, then it is synced in full",
			"root", r.root, "remote", r.dest, "paths", b.Len(), "full", b.Full, "reason", b.Reason, "err", err)
	}
	return false
}

// watchTarget looks at r's local target every targetPoll while its gate is
// shut; once the target is back it asks for a full sync of it (what
// changed while it was away, on either side, is not known otherwise), then
// opens the gate. It returns when ctx ends.
func (e *Engine) watchTarget(ctx context.Context, r *remote) {
	tick := time.NewTicker(targetPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !r.away.gate.isShut() || e.ids.Check(r.dest) != nil {
			continue
		}
		since, _ := r.away.get()
		r.queues[0].RequestFull("local target back")
		r.away.clear()
		r.away.gate.open()
		e.log.Info("local target back: full sync follows", "root", r.root, "remote", r.dest, "absent_for", time.Since(since).Round(time.Second))
	}
}

// absentTargets lists the local targets absent now.
func (e *Engine) absentTargets() []AbsentTarget {
	var out []AbsentTarget
	for _, r := range e.remotes {
		if r.away == nil {
			continue
		}
		if since, why := r.away.get(); !since.IsZero() {
			out = append(out, AbsentTarget{Root: r.root, Target: r.dest, Reason: why, Since: since})
		}
	}
	return out
}
