// The raw inotify backend: the inotify fd, the goroutine that applies
// what the reader (reader_linux.go) queued, and the kernelWatches the
// shared tree (tree_linux.go) adds, identifies and removes watches with.
// Applying the events is events_linux.go.

package inotifymask

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// On Linux Options.Backend chooses the backend of each root.
const defaultKind = kindAuto

// kernelMask returns the mask every watch below a root is added with: the
// bits the toggles ask for plus what keeping the tree right needs.
func kernelMask(t confxml.Inotify) uint32 {
	m := uint32(unix.IN_CREATE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
		unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK)
	if t.Delete {
		m |= unix.IN_DELETE
	}
	if t.CloseWrite {
		m |= unix.IN_CLOSE_WRITE
	}
	if t.Attrib {
		m |= unix.IN_ATTRIB
	}
	if t.Modify {
		m |= unix.IN_MODIFY
	}
	return m
}

// rootMask returns the mask of a root's own watch: the root itself may be
// a symlink (it is followed), and its removal or move is logged.
func rootMask(t confxml.Inotify) uint32 {
	return kernelMask(t)&^unix.IN_DONT_FOLLOW | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
}

// inotifyBackend watches with raw inotify. Two goroutines: read drains
// the fd into raw, process applies the events to the tree and emits into
// the Watcher's queue, which Next empties.
type inotifyBackend struct {
	watchTree

	kernelReader

	mask     uint32
	rootMask uint32
	viaFD    bool // /proc/self/fd resolves paths relative to open directories

	raw    fifo[rawEvent]
	checks chan chan CheckReport

	// Owned by process, as the tree is.
	pending *pendingMove
	// closes: see closeIndex.
	closes closeIndex
}

func newInotifyBackend(w *Watcher, roots []int) (backend, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.EMFILE) {
			return nil, fmt.Errorf("inotifymask: inotify_init1 (raise sysctl fs.inotify.max_user_instances): %w", err)
		}
		return nil, fmt.Errorf("inotifymask: inotify_init1: %w", err)
	}
	b := &inotifyBackend{
		mask:     kernelMask(w.opts.Inotify),
		rootMask: rootMask(w.opts.Inotify),
		raw:      newFifo[rawEvent](),
		checks:   make(chan chan CheckReport),
	}
	if err := b.kernelReader.init(w, fd, "inotify"); err != nil {
		return nil, err
	}
	b.watchTree.init(w, b, roots)
	var st unix.Stat_t
	b.viaFD = unix.Stat("/proc/self/fd", &st) == nil
	return b, nil
}

func (b *inotifyBackend) start() error { return b.run(b.read, b.process) }

func (b *inotifyBackend) checkRequests() chan<- chan CheckReport { return b.checks }

// process applies raw events to the tree and emits (watchTree.serve).
func (b *inotifyBackend) process() {
	pairTimer := time.NewTimer(time.Hour)
	pairTimer.Stop()
	var batch []rawEvent
	b.serve(&b.kernelReader, b.raw.ready, b.checks,
		func() bool { return b.drain(&batch, pairTimer) }, b.checkTrees)
}

// drain applies every raw event queued; false means the watcher closes.
func (b *inotifyBackend) drain(batch *[]rawEvent, pairTimer *time.Timer) bool {
	for {
		*batch = b.raw.take(*batch)
		b.closes.index(len(*batch), func(i int) (dirID, string, bool) {
			ev := &(*batch)[i]
			return dirID(ev.wd), ev.name, ev.mask&unix.IN_CLOSE_WRITE != 0
		}, b.w.opts.Inotify.CloseWrite)
		for i := range *batch {
			b.closes.applying = i
			b.handle(&(*batch)[i])
			(*batch)[i] = rawEvent{}
			if b.w.closing() {
				return false
			}
		}
		b.w.addBacklog(-len(*batch))
		if b.pending == nil {
			return true
		}
		// A MOVED_FROM ended what was read: its MOVED_TO, if any, is
		// queued right behind it, so wait only briefly.
		pairTimer.Reset(b.w.tune.pairWait)
		select {
		case <-b.raw.ready:
			pairTimer.Stop()
			continue
		case <-pairTimer.C:
			b.flushPending()
		case <-b.w.done:
			return false
		}
		return true
	}
}

func (b *inotifyBackend) watchRoot(abs string) (dirID, error) {
	return b.inotifyAdd(abs, abs, b.rootMask)
}

func (b *inotifyBackend) watchChild(parent *os.File, name, abs string) (dirID, error) {
	path := abs
	if b.viaFD {
		path = fdPath(parent, name)
	}
	return b.inotifyAdd(path, abs, b.mask)
}

// identify adds a watch to f: the kernel returns the watch descriptor
// the directory already has, if any. Through /proc/self/fd it is the
// opened directory's, wherever it was moved since.
func (b *inotifyBackend) identify(f *os.File, abs string, root bool) (dirID, error) {
	path := abs
	if b.viaFD {
		path = fdPath(f, ".")
	}
	mask := b.mask
	if root {
		mask = b.rootMask
	}
	wd, err := unix.InotifyAddWatch(b.fd, path, mask)
	if err != nil {
		return -1, err
	}
	return dirID(wd), nil
}

func (b *inotifyBackend) unwatch(id dirID) {
	// EINVAL when the kernel already dropped it: fine.
	_, _ = unix.InotifyRmWatch(b.fd, uint32(id))
}

// inotifyAdd adds a watch on path, which is abs or a path to the same
// directory through /proc/self/fd.
func (b *inotifyBackend) inotifyAdd(path, abs string, mask uint32) (dirID, error) {
	var wd int
	err := b.w.tune.addWatch(abs, func() (err error) {
		wd, err = unix.InotifyAddWatch(b.fd, path, mask)
		return err
	})
	if err != nil {
		return -1, err
	}
	b.w.debug("add watch: %s return wd is: %d", abs, wd)
	return dirID(wd), nil
}

// fdPath names entry name of the open directory f through /proc, so it
// resolves in that directory wherever it has been moved since.
func fdPath(f *os.File, name string) string {
	return fdLink(f.Fd()) + "/" + name
}
