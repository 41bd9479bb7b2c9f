// fifo: the unbounded counted hand-off between the watcher's goroutines.

package inotifymask

import (
	"sync"

	internalfifo "github.com/sersync-go/sersync2/internal/fifo"
)

// fifo is an unbounded queue between one producer goroutine and one
// consumer goroutine: internal/fifo's FIFO under a mutex. The producer
// never blocks (the buffer grows); ready holds a token whenever items may
// be waiting.
type fifo[T any] struct {
	mu    sync.Mutex
	items internalfifo.FIFO[T]
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
	q.items.Push(vs...)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued and keeps spare (emptied) as the next
// buffer, so two slices alternate without allocating.
func (q *fifo[T]) take(spare []T) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.Take(spare)
}
