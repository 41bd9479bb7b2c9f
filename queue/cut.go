// Cutting a batch: a full sync clears the pending set; otherwise paths
// are taken from it (the oldest, or with batches in flight those disjoint
// from theirs), pruned (prune.go), and handed out with their moves.

package queue

import (
	"cmp"
	"slices"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// cutFullLocked hands out the full sync requested: it covers, and clears,
// everything pending.
func (q *Queue) cutFullLocked(now time.Time) Batch {
	since := now
	if q.pend.len() > 0 {
		since = q.firstAt
	}
	low := oldestAdd(q.full.first, q.pend.low())
	q.stats.covered += uint64(q.pend.len())
	q.pend.clear()
	var gen uint64
	if q.full.bound {
		gen = q.bound.cutFull()
	}
	if q.full.overflow {
		q.ov.notBefore = now.Add(q.ov.interval)
		q.ov.interval = min(2*q.ov.interval, q.opt.MaxBackoff)
	}
	q.lastID++
	f := &flight{id: q.lastID, full: true, reason: q.full.reason, attempt: q.full.attempt, since: since, cutAt: now, low: low, gen: gen}
	q.fly[f.id] = f
	q.flyFull = true
	q.full = fullRequest{}
	q.stats.batches++
	q.stats.fulls++
	return Batch{Root: q.root, Full: true, Reason: f.reason, Attempt: f.attempt, id: f.id}
}

// cutLocked takes up to MaxBatch pending paths, oldest first, drops those
// an ancestor in the same batch covers, and hands out the rest. With
// batches in flight it takes only paths disjoint from theirs (and nothing
// below a path it leaves); it reports false when there is none.
func (q *Queue) cutLocked(now time.Time) (Batch, bool) {
	since := q.firstAt
	var ents []ent
	if len(q.fly) == 0 {
		ents = q.takeLocked()
	} else {
		ents = q.takeDisjointLocked()
		if len(ents) == 0 {
			return Batch{}, false
		}
	}
	if q.pend.len() > 0 {
		q.gatherAt = now
	}

	var low uint64
	for _, e := range ents {
		low = oldestAdd(low, e.it.first)
	}
	kept := prune(ents, q.opt.Recursive)
	q.stats.covered += uint64(len(ents) - len(kept))
	q.lastID++
	b := Batch{Root: q.root, id: q.lastID}
	b.Moves = q.movesLocked(ents, kept)
	for i, e := range kept {
		if e.it.op == inotifymask.OpRemove {
			b.Removes = append(b.Removes, Entry{Path: e.path, Dir: e.it.dir})
		} else {
			if e.it.dir && e.it.from != "" && slices.ContainsFunc(b.Moves, func(m Move) bool { return m.To == e.path }) {
				kept[i].it.moved = true
			}
			b.Updates = append(b.Updates, Entry{e.path, e.it.dir, e.it.replaced() || kept[i].it.moved})
		}
		b.Attempt = max(b.Attempt, int(e.it.attempt))
	}
	f := &flight{id: b.id, ents: kept, attempt: b.Attempt, since: since, cutAt: now, low: low}
	if q.opt.MaxInFlight > 1 {
		for _, e := range kept {
			q.busy.add(e.path, 1)
		}
		for _, m := range b.Moves {
			f.froms = append(f.froms, m.From)
			q.busy.add(m.From, 1)
		}
	}
	q.fly[f.id] = f
	q.stats.batches++
	return b, true
}

// takeLocked takes up to MaxBatch pending paths, oldest first.
func (q *Queue) takeLocked() []ent {
	return q.pend.takeOldest(q.opt.MaxBatch)
}

// takeDisjointLocked takes up to MaxBatch pending paths, oldest first,
// that neither touch a path in flight (equal, above or below it) nor lie
// below a pending path that does; the others stay pending in their order.
func (q *Queue) takeDisjointLocked() []ent {
	held := make(map[string]bool)
	for p := range q.pend.all() {
		if q.busy.conflicts(p) {
			held[p] = true
		}
	}
	below := func(p string) bool {
		for a := parent(p); a != ""; a = parent(a) {
			if held[a] {
				return true
			}
		}
		return false
	}
	return q.pend.takeWhere(q.opt.MaxBatch, func(p string) bool {
		return !held[p] && (len(held) == 0 || !below(p))
	})
}

// movesLocked returns the renames behind the batch's updates, oldest
// first, among the entries taken (ents) and kept. A move is made only
// when the removal of its source leaves in the same batch: then nothing
// newer has been synced to the source's remote path since the rename (a
// later file there leaves with or after that removal), so the remote copy
// moved is the file renamed. It leaves out moves that depend on each
// other (a swap a <-> b moved one after the other would destroy a
// source): for those the sender sends the data as for any update.
func (q *Queue) movesLocked(ents, kept []ent) []Move {
	if !q.opt.Moves {
		return nil
	}
	type seqMove struct {
		Move
		seq uint64
	}
	var ms []seqMove
	var removed map[string]bool
	for _, e := range kept {
		if e.it.op != inotifymask.OpUpdate || e.it.from == "" {
			continue
		}
		if removed == nil {
			removed = make(map[string]bool)
			for _, r := range ents {
				if r.it.op == inotifymask.OpRemove {
					removed[r.path] = true
				}
			}
		}
		if removed[e.it.from] && !q.busy.conflicts(e.it.from) {
			ms = append(ms, seqMove{Move{From: e.it.from, To: e.path, Dir: e.it.dir}, e.it.moveSeq})
		}
	}
	if len(ms) == 0 {
		return nil
	}
	from := make(map[string]int, len(ms))
	to := make(map[string]int, len(ms))
	for _, m := range ms {
		from[m.From]++
		to[m.To]++
	}
	slices.SortFunc(ms, func(a, b seqMove) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Move, 0, len(ms))
	for _, m := range ms {
		if to[m.From] > 0 || from[m.To] > 0 || from[m.From] > 1 {
			continue
		}
		out = append(out, m.Move)
	}
	return out
}
