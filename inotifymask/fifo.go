// fifo: the unbounded counted hand-off between the watcher's goroutines.

package inotifymask

import "sync"

// fifo is an unbounded queue between one producer goroutine and one
// consumer goroutine. The producer never blocks (the slice grows); ready
// holds a token whenever items may be waiting.
type fifo[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{}
}

func newFifo[T any]() fifo[T] {
	return fifo[T]{ready: make(chan struct{}, 1)}
}

// push appends vs and wakes the consumer.
func (q *fifo[T]) push(vs ...T) {
	if len(vs) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, vs...)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued and keeps spare (emptied) as the next
// buffer, so two slices alternate without allocating.
func (q *fifo[T]) take(spare []T) []T {
	if cap(spare) > 1<<16 {
		spare = nil // do not keep a burst's memory forever
	}
	q.mu.Lock()
	items := q.items
	q.items = spare[:0]
	q.mu.Unlock()
	return items
}
