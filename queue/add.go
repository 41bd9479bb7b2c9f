// Changes in: Add merges each watcher event into the pending set (the
// latest change of a path wins), and notes a rename for a Move.

package queue

import "github.com/sersync-go/sersync2/inotifymask"

// Add records one watcher event. Update and remove replace whatever is
// pending for the path (last op wins); a rename is a remove of OldPath
// followed by an update of Path; an overflow requests a full sync, spaced
// out while overflows keep coming. Any other Op is treated as an update
// ("make the path equal"), never dropped; a change of the root itself
// (empty Path) requests a full sync. Add after Close does nothing.
// Event.Root is not looked at: the caller routes events to the queue of
// their root.
//
// Add returns the number of this call, counting from 1 (0 after Close):
// Batch.Through says which calls a batch has handed out.
func (q *Queue) Add(ev inotifymask.Event) uint64 {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0
	}
	q.stats.events++
	n := q.stats.events
	newPaths := q.newPaths
	var logOverflow, logRoot bool
	switch ev.Op {
	case inotifymask.OpOverflow:
		logOverflow = q.overflowLocked(n)
	case inotifymask.OpRemove:
		logRoot = q.putLocked(ev.Path, inotifymask.OpRemove, ev.Dir, n)
	case inotifymask.OpRename:
		if ev.OldPath != ev.Path && ev.OldPath != "" && ev.Path != "" {
			var origin string
			if q.opt.Moves {
				origin = q.originLocked(ev.OldPath)
			}
			q.putLocked(ev.OldPath, inotifymask.OpRemove, ev.Dir, n)
			q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
			q.movedLocked(ev.Path, origin)
			break
		}
		logRoot = q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
	default:
		logRoot = q.putLocked(ev.Path, inotifymask.OpUpdate, ev.Dir, n)
	}
	if q.opt.Adaptive {
		q.pace.note(q.now(), q.newPaths-newPaths)
	}
	// A waiting Next that sleeps until a deadline is woken only when this
	// change can make a batch leave earlier: no wake-up per event.
	if q.wantAdd || logRoot || logOverflow || q.pend.len() >= q.opt.MaxBatch || q.opt.Adaptive && q.pend.len() == holdPaths {
		q.wakeLocked()
	}
	q.unlock()
	if logOverflow {
		q.log.Warn("event overflow, full sync requested", "root", q.root, "err", ev.Err)
	}
	if logRoot {
		q.log.Warn("event for the watch root itself, full sync requested", "root", q.root, "op", ev.Op.String())
	}
	return n
}

// putLocked merges one change of p, made by Add number n (0: none), into
// the pending set, or folds it into the full sync owed to the remote
// after a collapse. A change of the root itself (empty path) becomes a
// full sync request, reported true.
func (q *Queue) putLocked(p string, op inotifymask.Op, dir bool, n uint64) bool {
	if p == "" {
		first := !q.full.on || !q.full.explicit
		q.requestFullLocked("root")
		if q.full.first == 0 {
			q.full.first = n
		}
		return first
	}
	if q.foldLocked(n) {
		return false
	}
	q.seq++
	it, ok := q.pend.get(p)
	if ok {
		q.stats.merged++
	} else {
		now := q.now()
		it.since = now.UnixNano()
		if q.pend.len() == 0 {
			q.firstAt = now
			q.gatherAt = q.firstAt
		}
		if n != 0 {
			q.newPaths++
		}
	}
	it.seq, it.op, it.dir = q.seq, op, dir
	if it.first == 0 {
		it.first = n
	}
	if op == inotifymask.OpRemove {
		it.from, it.moved = "", false
		if dir {
			it.rmSeq = q.seq
		}
	}
	if q.pend.put(p, it) {
		q.collapseLocked()
	}
	return false
}

// originLocked returns where the remote copy of old, about to be renamed,
// came from: old itself when nothing is pending for it (the remote holds
// this very file, synced), the source of the rename that brought it when
// that is all that is pending, and "" when old changed otherwise since the
// last batch (the remote copy may be another file that had the name: no
// move).
func (q *Queue) originLocked(old string) string {
	it, ok := q.pend.get(old)
	switch {
	case !ok:
		return old
	case it.op == inotifymask.OpUpdate:
		return it.from
	}
	return ""
}

// movedLocked records that the update pending for p came by a rename from
// origin.
func (q *Queue) movedLocked(p, origin string) {
	if origin == p {
		origin = ""
	}
	q.pend.update(p, func(it *item) { it.from, it.moveSeq = origin, q.seq })
}
