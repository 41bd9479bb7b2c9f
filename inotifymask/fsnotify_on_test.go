//go:build !linux || sersync_fsnotify

package inotifymask

const fsnotifyBuilt = true

// fsnotifyIdle reports whether w's fsnotify backend (if it is one) has
// sent every quiet-period write.
func fsnotifyIdle(w *Watcher) bool {
	b, ok := w.b.(*fsnotifyBackend)
	return !ok || b.npending.Load() == 0 && b.q.len() == 0
}

// len returns the number of queued items.
func (q *fifo[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.Len()
}
