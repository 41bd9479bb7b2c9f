// Package fifo provides FIFO, a first-in first-out queue of values in one
// slice: the buffer between two stages (the watcher's reader and its event
// loop, plugin delivery, the socket plugin's sender).
//
// A FIFO is not safe for concurrent use: its user guards it with the mutex
// that also guards the user's own state, and wakes its consumer its own
// way (a token channel next to the FIFO). It is unbounded; a user that
// needs a bound checks Len before Push.
//
// Memory is given back by one rule, so that a burst does not pin its
// buffer for the life of the process: popped slots are zeroed at once
// (what they point to can be collected), the popped head of a long buffer
// is compacted away, and a buffer that drains (by Pop, DeleteFunc or
// Clear), or that Take gets back as a spare, is kept for reuse only up to
// Keep items.
package fifo

import (
	"iter"
	"slices"
)

// Keep is the largest capacity, in items, a drained FIFO keeps for its
// next items; a larger buffer is released. Below it, a FIFO in steady use
// appends without allocating.
const Keep = 1 << 14

// compactAt is how many popped slots may lead the buffer before the items
// left are moved to its start (when they are also fewer than the popped):
// pushes then reuse the space rather than grow the buffer.
const compactAt = 1024

// FIFO is a first-in first-out queue. The zero value is an empty FIFO
// ready to use.
type FIFO[T any] struct {
	items []T
	head  int // items[:head] are popped (and zeroed)
}

// Len returns the number of items queued.
func (q *FIFO[T]) Len() int { return len(q.items) - q.head }

// Push appends vs, in order, at the back.
func (q *FIFO[T]) Push(vs ...T) { q.items = append(q.items, vs...) }

// Cap returns the capacity, in items, of the buffer the FIFO holds.
func (q *FIFO[T]) Cap() int { return cap(q.items) }

// Front returns the oldest item without removing it; the FIFO must not be
// empty.
func (q *FIFO[T]) Front() T { return q.items[q.head] }

// All yields the queued items, oldest first, without removing them. The
// FIFO must not change while the iteration runs.
func (q *FIFO[T]) All() iter.Seq[T] { return slices.Values(q.items[q.head:]) }

// Pop removes and returns the oldest item; the FIFO must not be empty.
func (q *FIFO[T]) Pop() T {
	var zero T
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		q.reset(q.items)
	case q.head > compactAt && q.head > len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

// DeleteFunc removes the items for which del returns true; the others
// keep their order. del is called once per item, oldest first, so it may
// count or collect what it removes.
func (q *FIFO[T]) DeleteFunc(del func(T) bool) {
	w := q.head
	for _, v := range q.items[q.head:] {
		if !del(v) {
			q.items[w] = v
			w++
		}
	}
	clear(q.items[w:])
	q.items = q.items[:w]
	if q.head == w {
		q.reset(q.items)
	}
}

// Clear removes every item.
func (q *FIFO[T]) Clear() {
	clear(q.items)
	q.reset(q.items)
}

// Take removes every item and returns them, oldest first, in a slice the
// caller owns. The FIFO goes on in spare, a slice the caller is done with
// (typically the one the previous Take returned), emptied: two slices
// alternate between producer and consumer without allocating.
func (q *FIFO[T]) Take(spare []T) []T {
	items := q.items[q.head:]
	clear(spare)
	q.reset(spare)
	return items
}

// reset makes buf, emptied, the FIFO's buffer, or none when it is larger
// than Keep.
func (q *FIFO[T]) reset(buf []T) {
	q.items, q.head = buf[:0], 0
	if cap(buf) > Keep {
		q.items = nil
	}
}
