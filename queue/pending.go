// The pending set: the item of each path waiting for a batch, and the
// type that keeps the paths, their first-pending order and their charge
// to the Bound together.

package queue

import (
	"cmp"
	"iter"
	"slices"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/fifo"
)

// item is the pending state of one path.
type item struct {
	seq uint64 // sequence number of the latest event for the path
	// rmSeq is the sequence number of the latest removal of the path as a
	// directory (0 if none). It survives a later update (delete+create),
	// so changes below the old directory stay covered by its removal.
	rmSeq uint64
	// first is the number of the oldest Add merged into the item that no
	// batch has handed out yet (0 once handed out: a failed path put back
	// has been tried).
	first uint64
	// since is when the path became pending (Unix nanoseconds): a merged
	// change and a failed batch keep it, so it says how long the remote
	// has lacked the path.
	since   int64
	attempt int32
	op      inotifymask.Op // OpUpdate or OpRemove
	dir     bool
	// from is where the content of an update came from by a rename ("" if
	// it did not, or if the source's remote copy may not be this file):
	// the batch's Move. moveSeq orders the moves of a batch. moved is set
	// once a batch that moved a directory here failed: until synced, it is
	// synced with deletion.
	from    string
	moveSeq uint64
	moved   bool
}

// replaced reports whether the item is an update of a path that was
// removed as a directory since it became pending (Entry.Replaced).
func (it item) replaced() bool { return it.rmSeq != 0 && it.op == inotifymask.OpUpdate }

// covers reports whether the item can make entries below it redundant.
func (it item) covers() bool { return it.dir || it.rmSeq != 0 }

type ent struct {
	path string
	it   item
}

// pendingSet is the pending state of a queue: one item per path, the
// paths in first-pending order, and their cost charged to the remote's
// Bound. It owns those three together: every path it holds is in its
// order exactly once and charged once. Nothing else touches the map or
// the order.
//
// The order is a fifo.FIFO, so it gives its memory back by the FIFO's
// rule; the map follows the same rule (a map that held more than
// fifo.Keep paths is replaced once empty, since Go maps never shrink).
type pendingSet struct {
	m     map[string]item
	order fifo.FIFO[string] // the paths of m in first-pending order
	peak  int               // most paths held since m was last allocated
	bytes int64             // cost of the paths held (pathCost each)
	bound *Bound
}

func newPendingSet(b *Bound) pendingSet {
	return pendingSet{m: make(map[string]item), bound: b}
}

func (s *pendingSet) len() int { return len(s.m) }

func (s *pendingSet) get(p string) (item, bool) {
	it, ok := s.m[p]
	return it, ok
}

// all yields every path held with its item, in no order.
func (s *pendingSet) all() iter.Seq2[string, item] {
	return func(yield func(string, item) bool) {
		for p, it := range s.m {
			if !yield(p, it) {
				return
			}
		}
	}
}

// inOrder yields every path held with its item, in first-pending order.
func (s *pendingSet) inOrder() iter.Seq2[string, item] {
	return func(yield func(string, item) bool) {
		for p := range s.order.All() {
			if !yield(p, s.m[p]) {
				return
			}
		}
	}
}

// low returns the oldest Add merged into a held item and not handed out
// yet (item.first), 0 when there is none.
func (s *pendingSet) low() uint64 {
	var low uint64
	for _, it := range s.m {
		low = oldestAdd(low, it.first)
	}
	return low
}

// put stores it for p; a new path goes to the end of the order and is
// charged to the bound. It reports whether the bound is now exceeded.
func (s *pendingSet) put(p string, it item) bool {
	_, had := s.m[p]
	s.m[p] = it
	if had {
		return false
	}
	s.order.Push(p)
	s.peak = max(s.peak, len(s.m))
	c := pathCost(p)
	s.bytes += c
	return s.bound.charge(c)
}

// update changes the item of p if p is held.
func (s *pendingSet) update(p string, f func(*item)) {
	if it, ok := s.m[p]; ok {
		f(&it)
		s.m[p] = it
	}
}

// oldest returns up to n paths with their items, those pending the
// longest first (by item.since, then by order). A failed batch's paths
// are put back at the end of the order with their older since, so the
// order alone does not say it: the whole order is scanned, keeping a
// buffer of at most 2n candidates.
func (s *pendingSet) oldest(n int) []ent {
	if n <= 0 || len(s.m) == 0 {
		return nil
	}
	bySince := func(a, b ent) int { return cmp.Compare(a.it.since, b.it.since) }
	var (
		ents  []ent
		limit int64 // once n are kept, only older ones can enter
		full  bool
	)
	for p, it := range s.inOrder() {
		if full && it.since >= limit {
			continue
		}
		ents = append(ents, ent{p, it})
		if len(ents) == 2*n {
			slices.SortStableFunc(ents, bySince)
			ents, limit, full = ents[:n], ents[n-1].it.since, true
		}
	}
	slices.SortStableFunc(ents, bySince)
	return ents[:min(n, len(ents))]
}

// takeOldest removes up to n paths, oldest first, and returns them.
func (s *pendingSet) takeOldest(n int) []ent {
	n = min(n, len(s.m))
	ents := make([]ent, n)
	for i := range ents {
		p := s.order.Pop()
		ents[i] = ent{p, s.m[p]}
		s.del(p)
	}
	s.emptied()
	return ents
}

// takeWhere removes up to n paths for which ok holds, oldest first, and
// returns them; the others keep their order. It is the one removal from
// the middle of the order, so it filters the order in place
// (fifo.FIFO.DeleteFunc) in one pass over the paths held.
func (s *pendingSet) takeWhere(n int, ok func(string) bool) []ent {
	var ents []ent
	s.order.DeleteFunc(func(p string) bool {
		if len(ents) == n || !ok(p) {
			return false
		}
		ents = append(ents, ent{p, s.m[p]})
		s.del(p)
		return true
	})
	s.emptied()
	return ents
}

// del removes p from the map and gives back its charge; the caller
// removes it from the order.
func (s *pendingSet) del(p string) {
	delete(s.m, p)
	c := pathCost(p)
	s.bytes -= c
	s.bound.charge(-c)
}

// emptied gives back the map of a storm once the set is empty (the
// order, drained, has given back its buffer by the same rule).
func (s *pendingSet) emptied() {
	if len(s.m) == 0 && s.peak > fifo.Keep {
		s.m, s.peak = make(map[string]item), 0
	}
}

// clear removes every path (a full sync covers them); the memory of a
// storm is given back.
func (s *pendingSet) clear() {
	s.bound.charge(-s.bytes)
	s.bytes = 0
	clear(s.m)
	s.order.Clear()
	s.emptied()
}

// release removes every path and gives back all their memory, whatever
// the set held: after a collapse nothing of it is kept.
func (s *pendingSet) release() {
	s.bound.charge(-s.bytes)
	s.bytes = 0
	s.m, s.order, s.peak = make(map[string]item), fifo.FIFO[string]{}, 0
}
