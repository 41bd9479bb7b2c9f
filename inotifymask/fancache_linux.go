// The fanotify backend's directory cache: the tree holds the directories
// events named, each found by its handle the first time (open it through
// a directory of its file system, read where it is, walk down to it from
// its root), and the handles found outside every root are remembered
// apart, so a busy directory elsewhere costs one map lookup per event.
// Both are bounded. A renamed directory keeps its handle, so its node
// moves with the rename event and everything below it stays right.

package inotifymask

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/mountinfo"
)

// dirOf returns the tree's node of the directory with handle key, found
// by its handle the first time an event names it; nil for a directory
// outside every root, below an excluded one, or gone. Those are
// remembered in outside until a directory moves into a tree or a root is
// watched again: only then can one of them be in a tree.
func (b *fanotifyBackend) dirOf(key string) *dirNode {
	if n := b.node(key); n != nil {
		return n
	}
	if _, ok := b.outside[key]; ok || len(key) < 16 {
		return nil
	}
	n, err := b.lookup(key)
	if err != nil {
		return nil
	}
	if n == nil {
		b.outside[key] = struct{}{}
	}
	return n
}

// lookupTries is how often a directory that moves while it is looked up
// is looked up again before its roots are synced in full instead.
const lookupTries = 3

// lookup finds the directory with handle key: where it is now, and, when
// that is below a root, its node, with the nodes of the directories
// between them. nil and no error: it is outside every root, excluded, or
// gone (a handle that no longer opens, or opens a removed directory,
// names one whose removal events tell the rest). An error means it kept
// moving while it was looked up; the roots it may be in are then synced
// in full, never guessed at.
func (b *fanotifyBackend) lookup(key string) (*dirNode, error) {
	fsid := keyFsid(key)
	h := keyHandle(key)
	var err error
	for range lookupTries {
		var t *rootTree
		var rel string
		if t, rel, err = b.locate(fsid, h); err == nil {
			if t == nil {
				return nil, nil
			}
			var n *dirNode
			if n, err = b.attachPath(t, rel); err == nil {
				return n, nil
			}
		}
	}
	for _, t := range b.trees {
		if t.node != nil && !t.gone && keyFsid(b.keys[t.node.id]) == fsid {
			b.w.log.Warn("a directory named by a change kept moving while it was looked up; syncing the root in full",
				"root", t.abs, "err", err)
			b.w.overflow(t.idx, ErrUnwatched)
		}
	}
	return nil, err
}

// locate returns the watched root the directory with handle h (on the
// file system fsid) is in now, and its path relative to it; no root and
// no error when it is in none, or gone.
func (b *fanotifyBackend) locate(fsid [8]byte, h unix.FileHandle) (*rootTree, string, error) {
	for _, mp := range b.mounts[fsid] {
		path, err := handlePath(mp, h)
		switch {
		case errors.Is(err, unix.ESTALE):
			return nil, "", nil
		case errors.Is(err, errStale):
			return nil, "", err
		case err != nil:
			continue // that way in is gone; another may do
		}
		if t, rel, ok := b.treeOf(path); ok {
			return t, rel, nil
		}
	}
	return nil, "", nil
}

// keyHandle is the file handle in a handle key (see handleKey).
func keyHandle(key string) unix.FileHandle {
	return unix.NewFileHandle(int32(binary.NativeEndian.Uint32([]byte(key[12:16]))), []byte(key[16:]))
}

// handlePath opens the directory with handle h through the directory
// mount (open_by_handle_at takes no O_PATH descriptor of it) and returns
// its absolute path. ESTALE: no such directory any more, or removed and
// only still open somewhere. errStale: what is at that path is not it
// (it moved in between).
func handlePath(mount string, h unix.FileHandle) (string, error) {
	mfd, err := unix.Open(mount, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	fd, err := unix.OpenByHandleAt(mfd, h, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	unix.Close(mfd)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	path, err := os.Readlink(fdLink(uintptr(fd)))
	if err != nil {
		return "", err
	}
	var st, at unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if st.Nlink == 0 {
		return "", unix.ESTALE
	}
	if unix.Lstat(path, &at) != nil || st.Dev != at.Dev || st.Ino != at.Ino {
		return "", errStale
	}
	return path, nil
}

// treeOf returns the watched root path is in, and path relative to it.
func (b *fanotifyBackend) treeOf(path string) (*rootTree, string, bool) {
	for _, t := range b.trees {
		real, ok := b.reals[t.abs]
		if t.gone || t.node == nil || !ok || !mountinfo.Within(path, real) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(path, real), "/")
		return t, rel, true
	}
	return nil, "", false
}

// attachPath returns the node of the directory rel below t, adding the
// nodes of every directory from the root down to it that the tree does
// not hold. Each is named relative to its parent, opened and checked to
// be the one named, so a rename meanwhile is an error, not a wrong node.
// nil and no error: rel is below an excluded directory, or in another
// root's tree.
func (b *fanotifyBackend) attachPath(t *rootTree, rel string) (*dirNode, error) {
	n := t.node
	if rel == "" {
		return n, nil
	}
	f, err := b.openNode(n, t.abs)
	if err != nil {
		return nil, err
	}
	cur := ""
	for name := range strings.SplitSeq(rel, "/") {
		crel := joinRel(cur, name)
		if b.w.filter.excluded(crel, true) {
			f.Close()
			return nil, nil
		}
		c, err := b.addChild(t, n, f, name, crel)
		if err != nil {
			f.Close()
			if errors.Is(err, ErrRootOverlap) || errors.Is(err, unix.ELOOP) {
				return nil, nil
			}
			return nil, err
		}
		fd, err := unix.Openat(int(f.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		f.Close()
		if err != nil {
			return nil, err
		}
		f = os.NewFile(uintptr(fd), absPath(t.abs, crel))
		if id, err := b.identify(f, "", false); err != nil || id != c.id {
			f.Close()
			return nil, errStale
		}
		n, cur = c, crel
	}
	f.Close()
	return n, nil
}

// addMount records dir as a directory the handles of the file system of
// the handle key are opened through.
func (b *fanotifyBackend) addMount(key, dir string) {
	fsid := keyFsid(key)
	for _, d := range b.mounts[fsid] {
		if d == dir {
			return
		}
	}
	b.mounts[fsid] = append(b.mounts[fsid], dir)
}

// watchedRoot records the root abs, whose node has the handle key: where
// it really is (a root may be a symlink; events name real paths), the
// file systems mounted below it, marked so their changes are seen too.
// A file system there that gives no file handles is not watched: logged.
func (b *fanotifyBackend) watchedRoot(abs, key string) {
	b.addMount(key, abs)
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return // gone again: its events tell
	}
	b.reals[abs] = real
	ms, err := mountinfo.Read(mountinfo.Self)
	if err != nil {
		b.w.log.Warn("cannot read the mount table; file systems mounted below the root are not watched", "root", abs, "err", err)
		return
	}
	for _, m := range ms {
		if m.Point == real || !mountinfo.Within(m.Point, real) {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(m.Point, real), "/")
		if b.w.filter.excluded(rel, true) {
			continue
		}
		id, err := b.idAt(unix.AT_FDCWD, m.Point, unix.AT_SYMLINK_FOLLOW, m.Point)
		if err != nil {
			b.w.log.Warn("a file system mounted below a root cannot be watched with fanotify; changes on it are not seen (watch it as a root of its own with --watcher inotify)",
				"root", abs, "mount", m.Point, "type", m.FSType, "err", err)
			continue
		}
		b.addMount(b.keys[id], m.Point)
		b.forget(id)
	}
}

// bound keeps the cache within tune.fanCache directories: past it the
// tree starts again from its roots (events find again what they name),
// unless a deferred attach still holds a node. The outside set is
// bounded the same way. Fresh maps give the memory back.
func (b *fanotifyBackend) bound() {
	limit := b.w.tune.fanCache
	if len(b.outside) > limit {
		b.outside = make(map[string]struct{})
	}
	if len(b.nodes) <= limit+len(b.trees) || len(b.deferred) > 0 {
		return
	}
	nodes := make(map[dirID]*dirNode, len(b.trees))
	ids := make(map[string]dirID, len(b.trees))
	keys := make(map[dirID]string, len(b.trees))
	for _, t := range b.trees {
		if n := t.node; n != nil {
			n.children = nil
			nodes[n.id] = n
			ids[b.keys[n.id]] = n.id
			keys[n.id] = b.keys[n.id]
		}
	}
	b.nodes, b.ids, b.keys = nodes, ids, keys
	b.nwatches.Store(int64(len(nodes)))
	b.w.debug("fanotify cache: started again from the roots (%d directories)", limit)
}
