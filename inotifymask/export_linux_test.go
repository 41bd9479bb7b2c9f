package inotifymask

// Test hooks into the raw inotify backend.

// pauseReader parks the goroutine that reads the inotify fd: from then on
// events stay in the kernel queue (which may overflow).
func (w *Watcher) pauseReader() { w.b.(*inotifyBackend).pause() }

// resumeReader lets the reader read again.
func (w *Watcher) resumeReader() { w.b.(*inotifyBackend).resume() }

// injectRaw queues raw events as if read from the kernel.
func (w *Watcher) injectRaw(evs ...rawEvent) {
	w.addBacklog(len(evs))
	w.b.(*inotifyBackend).raw.push(evs...)
}

// rootPolls counts the rounds in which missing roots were looked for.
func (w *Watcher) rootPolls() uint64 { return w.b.(*inotifyBackend).polls.Load() }
