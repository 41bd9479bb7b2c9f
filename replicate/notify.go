package replicate

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/fifo"
	"github.com/sersync-go/sersync2/plugins"
	"github.com/sersync-go/sersync2/queue"
)

// Plugin delivery.
//
// The plugin hears of every change the watcher reported, once, unfolded:
// the queues fold changes for rsync (a directory update covers its files),
// but the notifier keeps its own copy of each event. An event waits until
// the first attempt to sync it to every remote of its root is over,
// success or not, as the original ran the plugin after each event's
// rsyncs whatever their result; retries never tell the plugin again.
//
// How "first attempt over" is known: the engine adds every routed event to
// queue i of each remote of the root (the same i for all of them, since
// all remotes route alike) and keeps the Add numbers with the event in the
// root's waiting line i. When a batch of a queue is done, queue.Done
// says up to which Add everything was tried; the events at the head
// of line i whose Add numbers are covered in every remote are released.
// Lines keep the watcher's order, so changes of one top-level entry (and
// so of one path) are released in order.
//
// Released changes go to PluginWorkers delivery goroutines, each path
// always to the same one, so a path's changes reach the plugin in order
// while different paths are handled in parallel. Delivery never blocks
// syncing: the watcher's events are handed over without waiting, and
// memory is bounded by MaxPluginBacklog (see there).
const (
	// PluginWorkers bounds the plugin runs at once (commands running,
	// CDN requests in flight).
	PluginWorkers = 4
	// MaxPluginBacklog bounds the memory of plugin delivery: the changes
	// waiting for their rsyncs plus those waiting for the plugin, counted
	// as their path bytes plus pluginChangeCost each, about 64 MiB in
	// all (some 400,000 changes of 80-byte paths). A change that would
	// pass it is dropped, counted and logged: the plugin never hears of
	// it. Syncing is not affected.
	MaxPluginBacklog = 64 << 20
	// pluginChangeCost is what one change costs besides its path: the
	// Change, its slot in two lines and the Add numbers.
	pluginChangeCost = 96
	// pluginBehindAt is the number of changes waiting for the plugin at
	// which delivery logs that it is behind.
	pluginBehindAt = 1000
)

// PluginStats counts plugin delivery (all zero when no plugin runs).
type PluginStats struct {
	// Waiting is the number of changes waiting for the first sync attempt
	// of every remote; Queued those released and waiting for the plugin.
	Waiting, Queued int
	// Delivered counts changes handed to the plugin (Failed of them
	// returned an error); Dropped those the plugin never heard of because
	// MaxPluginBacklog was reached or the engine stopped first.
	Delivered, Failed, Dropped uint64
	// Behind counts the times delivery fell pluginBehindAt changes behind.
	Behind uint64
}

// note is one routed event waiting for its rsyncs: the changes it tells
// the plugin and, per remote of its root, its Add number in that remote's
// queue.
type note struct {
	changes []plugins.Change
	adds    []uint64
	cost    int64
}

// rootNotes is the plugin delivery state of one watch root.
type rootNotes struct {
	watch string            // the watch path the plugin is told
	lines []fifo.FIFO[note] // per queue index, under notifier.mu
	marks [][]uint64        // [remote][queue]: Add numbers tried so far
}

type laneRef struct {
	root          *rootNotes
	remote, queue int
}

type deliveryWorker struct {
	changes fifo.FIFO[plugins.Change] // under notifier.mu
	ready   chan struct{}
}

// notifier tells the plugin of every change once its rsyncs were tried.
type notifier struct {
	plugin plugins.Plugin
	log    *slog.Logger
	limit  int64

	mu      sync.Mutex
	roots   map[string]*rootNotes
	lanes   map[*queue.Queue]laneRef
	workers []*deliveryWorker
	used    int64
	closed  bool
	st      PluginStats
	// dropping and behind are set while an episode of drops or of a
	// long delivery backlog lasts, so each is logged once.
	dropping, behind bool
	dropStart        uint64
}

func newNotifier(p plugins.Plugin, log *slog.Logger, workers int, limit int64) *notifier {
	n := &notifier{plugin: p, log: log.With("plugin", p.Name()), limit: limit,
		roots: map[string]*rootNotes{}, lanes: map[*queue.Queue]laneRef{}}
	for range workers {
		n.workers = append(n.workers, &deliveryWorker{ready: make(chan struct{}, 1)})
	}
	return n
}

// addRoot registers a root, the watch path the plugin is told for it, and
// its remotes (each with the same number of queues).
func (n *notifier) addRoot(root, watch string, rs []*remote, queues int) {
	rn := &rootNotes{watch: watch, lines: make([]fifo.FIFO[note], queues)}
	for j, r := range rs {
		rn.marks = append(rn.marks, make([]uint64, len(r.queues)))
		for i, q := range r.queues {
			n.lanes[q] = laneRef{rn, j, i}
		}
	}
	n.roots[root] = rn
}

// changesOf is the plugin's view of one routed event, as the original
// formed it: an update or a remove of the path, a rename as the remove of
// the old path and the update of the new one. Overflows and the root
// itself tell the plugin nothing (the original never ran it for full
// syncs).
func changesOf(watch string, ev inotifymask.Event) []plugins.Change {
	if ev.Path == "" {
		return nil
	}
	switch ev.Op {
	case inotifymask.OpRemove:
		return []plugins.Change{{Abs: plugins.AbsPath(watch, ev.Path), Dir: ev.Dir, Removed: true}}
	case inotifymask.OpRename:
		if ev.OldPath == "" || ev.OldPath == ev.Path {
			break
		}
		return []plugins.Change{{Abs: plugins.AbsPath(watch, ev.OldPath), Dir: ev.Dir, Removed: true},
			{Abs: plugins.AbsPath(watch, ev.Path), Dir: ev.Dir}}
	case inotifymask.OpOverflow:
		return nil
	}
	return []plugins.Change{{Abs: plugins.AbsPath(watch, ev.Path), Dir: ev.Dir}}
}

// add records an event routed to queue index i of every remote of root,
// with its Add number in each. It never blocks. It does nothing on a nil
// notifier (no plugin).
func (n *notifier) add(root string, i int, adds []uint64, ev inotifymask.Event) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	rn := n.roots[root]
	if rn == nil || n.closed {
		return
	}
	cs := changesOf(rn.watch, ev)
	if len(cs) == 0 {
		return
	}
	nt := note{changes: cs, adds: adds, cost: int64(8 * len(adds))}
	for _, c := range cs {
		nt.cost += int64(len(c.Abs)) + pluginChangeCost
	}
	if n.used+nt.cost > n.limit {
		n.st.Dropped += uint64(len(cs))
		if !n.dropping {
			n.dropping, n.dropStart = true, n.st.Dropped-uint64(len(cs))
			n.log.Warn("plugin backlog full: changes are dropped, the plugin will not hear of them (syncing goes on)",
				"limit_bytes", n.limit, "waiting_for_rsync", n.st.Waiting, "waiting_for_plugin", n.st.Queued, "path", cs[0].Abs)
		}
		return
	}
	n.used += nt.cost
	n.st.Waiting += len(cs)
	rn.lines[i].Push(nt)
	n.releaseLocked(rn, i)
}

// attempted records that a batch of q, tried once (whatever the result),
// covered its Adds up to through, and releases what that completes.
func (n *notifier) attempted(q *queue.Queue, through uint64) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	l, ok := n.lanes[q]
	if !ok || through <= l.root.marks[l.remote][l.queue] {
		return
	}
	l.root.marks[l.remote][l.queue] = through
	n.releaseLocked(l.root, l.queue)
}

// releaseLocked hands the ready head of rn's line i to the delivery
// workers.
func (n *notifier) releaseLocked(rn *rootNotes, i int) {
	l := &rn.lines[i]
	for l.Len() > 0 {
		nt := l.Front()
		for j, a := range nt.adds {
			// 0: the queue was closed before the event reached it; it is
			// never tried.
			if a == 0 || a > rn.marks[j][i] {
				return
			}
		}
		l.Pop()
		n.st.Waiting -= len(nt.changes)
		n.used -= int64(8 * len(nt.adds))
		for _, c := range nt.changes {
			w := n.workers[workerOf(c.Abs, len(n.workers))]
			w.changes.Push(c)
			select {
			case w.ready <- struct{}{}:
			default:
			}
		}
		n.st.Queued += len(nt.changes)
	}
	if n.st.Queued >= pluginBehindAt && !n.behind {
		n.behind = true
		n.st.Behind++
		n.log.Warn("plugin delivery is behind: changes wait for the plugin (syncing is not delayed)",
			"waiting_for_plugin", n.st.Queued, "workers", len(n.workers))
	}
}

// workerOf returns the delivery worker of the change at abs among n: the
// same hash as the queues use, so a path always meets the same worker.
func workerOf(abs string, n int) int {
	return int(fnv1a(abs) % uint32(n))
}

// deliver runs worker w until the notifier is closed and w's changes are
// handed over, or ctx ends.
func (n *notifier) deliver(ctx context.Context, w *deliveryWorker) {
	for {
		n.mu.Lock()
		if w.changes.Len() == 0 {
			closed := n.closed
			n.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-w.ready:
			case <-ctx.Done():
				return
			}
			continue
		}
		c := w.changes.Pop()
		n.mu.Unlock()

		err := ctx.Err()
		if err == nil {
			err = n.plugin.Handle(ctx, c)
		}
		n.mu.Lock()
		n.st.Queued--
		n.used -= int64(len(c.Abs)) + pluginChangeCost
		switch {
		case ctx.Err() != nil:
			n.st.Dropped++
		case err != nil:
			n.st.Delivered++
			n.st.Failed++
		default:
			n.st.Delivered++
		}
		n.endEpisodesLocked()
		n.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) {
			n.log.Warn("plugin failed", "path", c.Abs, "dir", c.Dir, "removed", c.Removed, "err", err)
		}
	}
}

// endEpisodesLocked logs the end of a drop or behind episode.
func (n *notifier) endEpisodesLocked() {
	if n.behind && n.st.Queued == 0 {
		n.behind = false
		n.log.Info("plugin delivery caught up")
	}
	if n.dropping && n.used <= n.limit/2 {
		n.dropping = false
		n.log.Warn("plugin backlog below half its limit again", "dropped", n.st.Dropped-n.dropStart)
	}
}

// close stops taking events; the workers hand over what was released and
// return. What still waits for its rsyncs is dropped and counted.
func (n *notifier) close() {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	n.st.Dropped += uint64(n.st.Waiting)
	n.st.Waiting = 0
	for _, w := range n.workers {
		select {
		case w.ready <- struct{}{}:
		default:
		}
	}
}

// finish counts what the stopped workers left as dropped and logs the
// totals; the delivery goroutines have returned.
func (n *notifier) finish() {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.st.Dropped += uint64(n.st.Queued)
	n.st.Queued = 0
	st := n.st
	n.mu.Unlock()
	n.log.Info("plugin delivery stopped", "delivered", st.Delivered, "failed", st.Failed, "dropped", st.Dropped)
}

// stats returns the counters.
func (n *notifier) stats() PluginStats {
	if n == nil {
		return PluginStats{}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.st
}
