package inotifymask

import (
	"os"
	"sync"
	"testing"
	"time"
)

// Test seams into the watcher: the reader held, watch adds observed or
// failed, the fsnotify backend's pending writes.

// readerGate holds the raw inotify reader of one watcher while paused.
type readerGate struct {
	mu     sync.Mutex
	paused bool
	open   chan struct{} // closed when not paused
	parked chan struct{} // receives when the reader waits at the gate
}

// gates maps a watcher's inotify file to its gate.
var gates sync.Map // *os.File -> *readerGate

func gateFor(f *os.File) *readerGate {
	g, _ := gates.LoadOrStore(f, &readerGate{open: closedChan(), parked: make(chan struct{}, 1)})
	return g.(*readerGate)
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// gatedRead is testTuning's read seam: it waits at the file's gate, then
// reads.
func gatedRead(r *kernelReader, buf []byte) (int, error) {
	g := gateFor(r.file)
	g.mu.Lock()
	open, paused := g.open, g.paused
	g.mu.Unlock()
	if paused {
		select {
		case g.parked <- struct{}{}:
		default:
		}
		<-open
	}
	return readEvents(r, buf)
}

// pauseReader parks the goroutine that reads the inotify fd: from then on
// events stay in the kernel queue (which may overflow). The reader is
// resumed when the test ends at the latest.
func (w *Watcher) pauseReader(t *testing.T) {
	t.Helper()
	r := w.reader()
	g := gateFor(r.file)
	g.mu.Lock()
	g.paused, g.open = true, make(chan struct{})
	g.mu.Unlock()
	t.Cleanup(w.resumeReader)
	// Wake a read that is blocked in the kernel so that it comes back to
	// the gate; the reader clears the deadline before each read, so
	// repeat until it is parked.
	deadline := time.Now().Add(waitTimeout)
	for {
		_ = r.epFile.SetReadDeadline(time.Unix(1, 0))
		select {
		case <-g.parked:
			return
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader did not park")
		}
	}
}

// reader is the backend's reader (inotify or fanotify).
func (w *Watcher) reader() *kernelReader {
	if b, ok := w.b.(*fanotifyBackend); ok {
		return &b.kernelReader
	}
	return &w.b.(*inotifyBackend).kernelReader
}

// resumeReader lets a paused reader read again.
func (w *Watcher) resumeReader() {
	g := gateFor(w.reader().file)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused {
		g.paused = false
		close(g.open)
	}
}

// onWatch makes t call f after every watch added.
func (t *tuning) onWatch(f func(abs string)) {
	prev := t.addWatch
	t.addWatch = func(abs string, add func() error) error {
		if err := prev(abs, add); err != nil {
			return err
		}
		f(abs)
		return nil
	}
}

// failWatch makes t fail the watch add of abs with what f returns for it
// (nil: add it).
func (t *tuning) failWatch(f func(abs string) error) {
	prev := t.addWatch
	t.addWatch = func(abs string, add func() error) error {
		if err := f(abs); err != nil {
			return err
		}
		return prev(abs, add)
	}
}

// idle reports whether the backend holds nothing back: the fsnotify
// backend's quiet-period writes are all out.
func (w *Watcher) idle() bool { return fsnotifyIdle(w) }

// injectRaw queues raw events as if read from the kernel.
func (w *Watcher) injectRaw(evs ...rawEvent) {
	w.addBacklog(len(evs))
	w.b.(*inotifyBackend).raw.push(evs...)
}
