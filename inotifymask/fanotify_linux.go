// The fanotify backend: one filesystem mark per file system holding a
// root (or mounted below one) reports every change on it with the handle
// of the directory and the entry's name, so nothing is watched per
// directory: no watch limit, no walk before the roots are watched, no
// watch to add before a new directory is read. The shared tree
// (tree_linux.go) is lazy: it holds the directories events named, found
// by handle when first named (fancache_linux.go). Changes outside the
// roots arrive too and are dropped at a map lookup. Applying the events
// is fanevents_linux.go.

package inotifymask

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// fanInitFlags are fanotify_init's flags: notification only, each event
// names its directory by handle and its entry by name, and the queue has
// no length limit (no event is lost for want of room).
const fanInitFlags = unix.FAN_CLASS_NOTIF | unix.FAN_REPORT_DFID_NAME |
	unix.FAN_UNLIMITED_QUEUE | unix.FAN_CLOEXEC | unix.FAN_NONBLOCK

// fanMask returns the mask of the filesystem marks: what keeping the tree
// right needs (creations, deletions, renames with both ends in one
// event, for directories too) plus the bits the toggles ask for.
func fanMask(t confxml.Inotify) uint64 {
	// The toggles' bits have the same values in fanotify as in inotify.
	toggles := kernelMask(t) & (unix.IN_CLOSE_WRITE | unix.IN_ATTRIB | unix.IN_MODIFY)
	return uint64(toggles) | unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_RENAME | unix.FAN_ONDIR
}

// fanRootMask is the mask of the inode mark on each root: its removal or
// move is logged, and the root is looked for until it is back.
const fanRootMask = unix.FAN_DELETE_SELF | unix.FAN_MOVE_SELF | unix.FAN_ONDIR

// FanotifyUsable says whether the fanotify backend can watch the
// directory root, nil if so, else an error wrapping ErrNoFanotify that
// says why: the process may not use fanotify (it needs CAP_SYS_ADMIN),
// the kernel is older than 5.17 (directory handles with names and rename
// events), or the root's file system gives no file handles.
func FanotifyUsable(root string) error {
	fd, err := unix.FanotifyInit(fanInitFlags, unix.O_RDONLY)
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: fanotify_init: the process lacks CAP_SYS_ADMIN: %w", ErrNoFanotify, err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w: fanotify_init: the kernel does not report directory handles with names (Linux >= 5.9): %w", ErrNoFanotify, err)
	case err != nil:
		return fmt.Errorf("%w: fanotify_init: %w", ErrNoFanotify, err)
	}
	defer unix.Close(fd)
	if _, _, err := handleKey(unix.AT_FDCWD, root, unix.AT_SYMLINK_FOLLOW, nil); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoFanotify, root, err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fanMask(confxml.Inotify{}), unix.AT_FDCWD, root); err != nil {
		why := "fanotify_mark"
		if errors.Is(err, unix.EINVAL) {
			why = "fanotify_mark: the kernel has no rename events (Linux >= 5.17)"
		}
		return fmt.Errorf("%w: %s: %s: %w", ErrNoFanotify, root, why, err)
	}
	return nil
}

// errNoFsid says that a file system gives handles but no fsid, so its
// events could not be told from another's.
var errNoFsid = errors.New("the file system has no fsid")

// handleKey returns the key fanotify events name the directory path
// (relative to dirfd) with: its file system's fsid, then the file handle
// as the kernel reports it (length, type, bytes). fsids, when given,
// caches the fsid of each mount id.
func handleKey(dirfd int, path string, flags int, fsids map[int][8]byte) (string, [8]byte, error) {
	h, mnt, err := unix.NameToHandleAt(dirfd, path, flags)
	if err != nil {
		return "", [8]byte{}, fmt.Errorf("name_to_handle_at: the file system gives no file handles: %w", err)
	}
	fsid, ok := fsids[mnt]
	if !ok {
		var st unix.Statfs_t
		p := path
		if dirfd != unix.AT_FDCWD {
			p = fdLink(uintptr(dirfd)) + "/" + path
		}
		if err := unix.Statfs(p, &st); err != nil {
			return "", [8]byte{}, fmt.Errorf("statfs: %w", err)
		}
		binary.NativeEndian.PutUint32(fsid[0:4], uint32(st.Fsid.Val[0]))
		binary.NativeEndian.PutUint32(fsid[4:8], uint32(st.Fsid.Val[1]))
		if fsid == ([8]byte{}) {
			return "", [8]byte{}, errNoFsid
		}
		if fsids != nil {
			fsids[mnt] = fsid
		}
	}
	b := h.Bytes()
	key := make([]byte, 16+len(b))
	copy(key, fsid[:])
	binary.NativeEndian.PutUint32(key[8:12], uint32(len(b)))
	binary.NativeEndian.PutUint32(key[12:16], uint32(h.Type()))
	copy(key[16:], b)
	return string(key), fsid, nil
}

// fanotifyBackend watches with fanotify: read drains the fd into raw,
// process applies the events to the tree and emits.
type fanotifyBackend struct {
	watchTree
	kernelReader

	mask   uint64
	raw    fifo[fanEvent]
	checks chan chan CheckReport

	// Owned by the goroutine that owns the tree. ids names each
	// directory the tree asked about by its handle key; keys is the
	// reverse. fsids caches each mount's fsid, marked the file systems
	// with a mark. mounts lists, per file system, the directories its
	// handles are opened through: the roots on it and the mount points
	// below them. outside holds the handles found outside every root (or
	// excluded, or gone): see dirOf.
	ids     map[string]dirID
	keys    map[dirID]string
	nextID  dirID
	fsids   map[int][8]byte
	marked  map[[8]byte]bool
	mounts  map[[8]byte][]string
	reals   map[string]string // each root's real path, by its cleaned path
	outside map[string]struct{}

	// closes: see closeIndex.
	closes closeIndex
}

func newFanotifyBackend(w *Watcher, roots []int) (backend, error) {
	fd, err := unix.FanotifyInit(fanInitFlags, unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("inotifymask: fanotify_init: %w", err)
	}
	b := &fanotifyBackend{
		mask:    fanMask(w.opts.Inotify),
		raw:     newFifo[fanEvent](),
		checks:  make(chan chan CheckReport),
		ids:     make(map[string]dirID),
		keys:    make(map[dirID]string),
		fsids:   make(map[int][8]byte),
		marked:  make(map[[8]byte]bool),
		mounts:  make(map[[8]byte][]string),
		reals:   make(map[string]string),
		outside: make(map[string]struct{}),
	}
	if err := b.kernelReader.init(w, fd, "fanotify"); err != nil {
		return nil, err
	}
	b.watchTree.init(w, b, roots)
	b.lazy = true
	return b, nil
}

func (b *fanotifyBackend) start() error { return b.run(b.read, b.process) }

func (b *fanotifyBackend) checkRequests() chan<- chan CheckReport { return b.checks }

// read queues what the fanotify fd holds on the raw queue.
func (b *fanotifyBackend) read() {
	var evs []fanEvent
	b.loop(func(buf []byte) (int, bool) {
		evs = decodeFan(buf, evs[:0])
		b.w.eventsRead.Add(uint64(len(evs)))
		b.w.addBacklog(len(evs))
		b.raw.push(evs...)
		n := len(evs)
		clear(evs)
		return n, false
	}, func() {
		b.w.addBacklog(1)
		b.raw.push(fanEvent{mask: maskReadFailed})
	})
}

// process applies raw events to the tree and emits (watchTree.serve).
func (b *fanotifyBackend) process() {
	var batch []fanEvent
	b.serve(&b.kernelReader, b.raw.ready, b.checks, func() bool {
		batch = b.raw.take(batch)
		b.closes.index(len(batch), func(i int) (dirID, string, bool) {
			ev := &batch[i]
			id, ok := b.ids[ev.dir]
			return id, ev.name, ok && ev.mask&unix.FAN_CLOSE_WRITE != 0
		}, b.w.opts.Inotify.CloseWrite)
		for i := range batch {
			b.closes.applying = i
			b.handle(&batch[i])
			batch[i] = fanEvent{}
			if b.w.closing() {
				return false
			}
		}
		b.w.addBacklog(-len(batch))
		b.bound()
		return true
	}, func() CheckReport {
		r := b.checkTrees()
		b.checkHandles(&r)
		// A node the walk did not find is stale whether or not its
		// handle opens elsewhere: listed once.
		slices.Sort(r.Unwatched)
		r.Unwatched = slices.Compact(r.Unwatched)
		slices.Sort(r.Stale)
		r.Stale = slices.Compact(r.Stale)
		return r
	})
}

// intern returns the id of the directory with handle key, a new one if
// the tree never asked about it.
func (b *fanotifyBackend) intern(key string) dirID {
	if id, ok := b.ids[key]; ok {
		return id
	}
	b.nextID++
	b.ids[key] = b.nextID
	b.keys[b.nextID] = key
	return b.nextID
}

// markFS adds the filesystem mark of the file system of path (relative
// to dirfd) the first time one of its directories is asked about.
func (b *fanotifyBackend) markFS(fsid [8]byte, dirfd int, path string) error {
	if b.marked[fsid] {
		return nil
	}
	if err := unix.FanotifyMark(b.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, b.mask, dirfd, path); err != nil {
		return fmt.Errorf("fanotify_mark of the file system: %w", err)
	}
	b.marked[fsid] = true
	return nil
}

// idAt returns the id of the directory path relative to dirfd (flags as
// name_to_handle_at's), marking its file system first if needed. ENOTDIR
// when it is no directory (a symlink is one only for a root).
func (b *fanotifyBackend) idAt(dirfd int, path string, flags int, abs string) (dirID, error) {
	if flags&unix.AT_EMPTY_PATH == 0 {
		sflags := unix.AT_SYMLINK_NOFOLLOW
		if flags&unix.AT_SYMLINK_FOLLOW != 0 {
			sflags = 0
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, path, &st, sflags); err != nil {
			return -1, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return -1, unix.ENOTDIR
		}
	}
	key, fsid, err := handleKey(dirfd, path, flags, b.fsids)
	if err != nil {
		return -1, err
	}
	if err := b.markFS(fsid, dirfd, path); err != nil {
		return -1, err
	}
	id, known := b.ids[key]
	if !known {
		id = b.intern(key)
		b.w.debug("add watch: %s return wd is: %d", abs, id)
	}
	return id, nil
}

func (b *fanotifyBackend) watchRoot(abs string) (dirID, error) {
	var id dirID
	// A root watched again may be on a file system mounted anew: the old
	// superblock's mark went with it, though the fsid may be the same.
	// Every mark is placed again when next needed (one added twice is
	// one mark).
	clear(b.marked)
	err := b.w.tune.addWatch(abs, func() (err error) {
		id, err = b.idAt(unix.AT_FDCWD, abs, unix.AT_SYMLINK_FOLLOW, abs)
		if err != nil {
			return err
		}
		// The root's own removal or move is not a change below it: an
		// inode mark reports it.
		return unix.FanotifyMark(b.fd, unix.FAN_MARK_ADD, fanRootMask, unix.AT_FDCWD, abs)
	})
	if err == nil {
		// A directory found outside may be below the root that is back.
		clear(b.outside)
		b.watchedRoot(abs, b.keys[id])
	}
	return id, err
}

func (b *fanotifyBackend) watchChild(parent *os.File, name, abs string) (dirID, error) {
	var id dirID
	err := b.w.tune.addWatch(abs, func() (err error) {
		id, err = b.idAt(int(parent.Fd()), name, 0, abs)
		return err
	})
	return id, err
}

func (b *fanotifyBackend) identify(f *os.File, abs string, _ bool) (dirID, error) {
	return b.idAt(int(f.Fd()), "", unix.AT_EMPTY_PATH, abs)
}

func (b *fanotifyBackend) unwatch(id dirID) {
	if key, ok := b.keys[id]; ok {
		delete(b.keys, id)
		delete(b.ids, key)
	}
}
