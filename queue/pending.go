package queue

import (
	"cmp"
	"iter"
	"slices"
)

// pendingSet is the pending state of a queue: one item per path, the
// paths in first-pending order, and their cost charged to the remote's
// Bound. It owns those three together: every path it holds is in its
// order exactly once and charged once.
type pendingSet struct {
	m     map[string]item
	order []string // paths in first-pending order; order[head:]
	head  int
	peak  int   // most paths held since m was last allocated
	bytes int64 // cost of the paths held (pathCost each)
	bound *Bound
}

// keepPaths is the size up to which an emptied map and order slice are
// kept for reuse; larger ones are given back (Go maps never shrink).
const keepPaths = 1 << 14

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

// put stores it for p; a new path goes to the end of the order and is
// charged to the bound. It reports whether the bound is now exceeded.
func (s *pendingSet) put(p string, it item) bool {
	_, had := s.m[p]
	s.m[p] = it
	if had {
		return false
	}
	s.order = append(s.order, p)
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
	for _, p := range s.order[s.head:] {
		it := s.m[p]
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
	for i, p := range s.order[s.head : s.head+n] {
		ents[i] = ent{p, s.m[p]}
		s.del(p)
	}
	clear(s.order[s.head : s.head+n])
	s.head += n
	if s.head > 1024 && s.head > len(s.order)/2 {
		k := copy(s.order, s.order[s.head:])
		clear(s.order[k:])
		s.order, s.head = s.order[:k], 0
	}
	s.emptied()
	return ents
}

// takeWhere removes up to n paths for which ok holds, oldest first, and
// returns them; the others keep their order.
func (s *pendingSet) takeWhere(n int, ok func(string) bool) []ent {
	var ents []ent
	w := s.head
	for _, p := range s.order[s.head:] {
		if len(ents) < n && ok(p) {
			ents = append(ents, ent{p, s.m[p]})
			s.del(p)
			continue
		}
		s.order[w] = p
		w++
	}
	clear(s.order[w:])
	s.order = s.order[:w]
	s.emptied()
	return ents
}

func (s *pendingSet) del(p string) {
	delete(s.m, p)
	c := pathCost(p)
	s.bytes -= c
	s.bound.charge(-c)
}

// emptied resets the order of an empty set and gives back the memory of
// a storm.
func (s *pendingSet) emptied() {
	if len(s.m) > 0 {
		return
	}
	s.order, s.head = s.order[:0], 0
	if s.peak > keepPaths {
		s.m, s.peak = make(map[string]item), 0
	}
	if cap(s.order) > keepPaths {
		s.order = nil
	}
}

// clear removes every path (a full sync covers them); the memory of a
// storm is given back.
func (s *pendingSet) clear() {
	s.bound.charge(-s.bytes)
	s.bytes = 0
	clear(s.m)
	clear(s.order)
	s.emptied()
}

// release removes every path and gives back all their memory, whatever
// the set held: after a collapse nothing of it is kept.
func (s *pendingSet) release() {
	s.bound.charge(-s.bytes)
	s.bytes = 0
	s.m, s.order, s.head, s.peak = make(map[string]item), nil, 0, 0
}
