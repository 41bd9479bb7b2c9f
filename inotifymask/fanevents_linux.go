// Decoding fanotify events and applying them to the tree: each names its
// directory by handle, which the tree knows when the directory is below
// a root, and its entry by name; a rename carries both ends. The
// self-check's part that only fanotify has: every root's file system is
// marked and every directory's handle opens at the tree's path.

package inotifymask

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fanEvent is one decoded fanotify event.
type fanEvent struct {
	mask uint64
	// dir is the handle key (see handleKey) of the directory, name the
	// entry's name in it ("." for an event on the directory itself). For a
	// rename they are the old ends, toDir and toName the new ones.
	dir, name     string
	toDir, toName string
}

// fanMetaSize is the size of struct fanotify_event_metadata.
const fanMetaSize = int(unsafe.Sizeof(unix.FanotifyEventMetadata{}))

// decodeFan appends the events in buf to dst. A truncated event ends
// decoding (the kernel returns whole events only).
func decodeFan(buf []byte, dst []fanEvent) []fanEvent {
	for len(buf) >= fanMetaSize {
		evLen := int(binary.NativeEndian.Uint32(buf[0:4]))
		metaLen := int(binary.NativeEndian.Uint16(buf[6:8]))
		if evLen < fanMetaSize || evLen > len(buf) || metaLen < fanMetaSize || metaLen > evLen {
			break
		}
		ev := fanEvent{mask: binary.NativeEndian.Uint64(buf[8:16])}
		if fd := int32(binary.NativeEndian.Uint32(buf[16:20])); fd >= 0 {
			unix.Close(int(fd)) // not asked for; never leak one
		}
		for info := buf[metaLen:evLen]; len(info) >= 4; {
			typ := info[0]
			n := int(binary.NativeEndian.Uint16(info[2:4]))
			if n < 4 || n > len(info) {
				break
			}
			key, name := decodeFid(info[4:n])
			switch typ {
			case unix.FAN_EVENT_INFO_TYPE_DFID_NAME, unix.FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
				ev.dir, ev.name = key, name
			case unix.FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
				ev.toDir, ev.toName = key, name
			}
			info = info[n:]
		}
		dst = append(dst, ev)
		buf = buf[evLen:]
	}
	return dst
}

// decodeFid splits the body of a fid record with a name: the fsid and
// file handle (the key), then the NUL-terminated name.
func decodeFid(rec []byte) (key, name string) {
	if len(rec) < 16 {
		return "", ""
	}
	end := 16 + int(binary.NativeEndian.Uint32(rec[8:12]))
	if end > len(rec) {
		return "", ""
	}
	nm := rec[end:]
	if i := bytes.IndexByte(nm, 0); i >= 0 {
		nm = nm[:i]
	}
	return string(rec[:end]), string(nm)
}

// node returns the tree's node of the directory with handle key, nil
// when the tree does not hold it (see dirOf).
func (b *fanotifyBackend) node(key string) *dirNode {
	id, ok := b.ids[key]
	if !ok {
		return nil
	}
	return b.nodes[id]
}

// handle applies one decoded event. Events about directories outside the
// roots stop at the first map lookup.
func (b *fanotifyBackend) handle(ev *fanEvent) {
	switch {
	case ev.mask == maskReadFailed:
		for _, t := range b.trees {
			b.w.overflow(t.idx, ErrReadFailed)
		}
		return
	case ev.mask&unix.FAN_Q_OVERFLOW != 0:
		b.w.log.Warn("fanotify event queue overflowed; rescanning every root on it")
		b.overflowed()
		return
	}
	parent := b.dirOf(ev.dir)
	dir := ev.mask&unix.FAN_ONDIR != 0
	// The bits fanotify shares with inotify have the same values.
	m := uint32(ev.mask) &^ unix.FAN_RENAME
	if ev.mask&unix.FAN_RENAME != 0 {
		to := b.dirOf(ev.toDir)
		if dir && to != nil {
			// The directory may come from outside or from an excluded
			// name: what is below it can be in the tree now.
			clear(b.outside)
		}
		b.fanDebug(parent, ev.name, m|unix.IN_MOVED_FROM)
		b.fanDebug(to, ev.toName, m|unix.IN_MOVED_TO)
		switch {
		case parent == nil && to == nil:
		case parent == nil:
			t, prel := to.locate()
			b.movedIn(t, to, joinRel(prel, ev.toName), ev.toName, dir, m|unix.IN_MOVED_TO)
		case to == nil:
			b.movedOut(parent, ev.name, dir, m|unix.IN_MOVED_FROM)
		default:
			b.renamed(parent, ev.name, dir, m|unix.IN_MOVED_FROM, to, ev.toName, m|unix.IN_MOVED_TO)
		}
		return
	}
	if parent == nil {
		return
	}
	b.fanDebug(parent, ev.name, m)
	if ev.name == "." {
		b.fanSelf(parent, m)
		return
	}
	t, prel := parent.locate()
	rel := joinRel(prel, ev.name)
	// The kernel merges the events of one name while they wait to be
	// read: a creation and a deletion merged are replayed in the order
	// that leaves the entry as it is now.
	const dirent = unix.IN_CREATE | unix.IN_DELETE
	created := func() {
		b.created(t, parent, rel, ev.name, dir, m&^unix.IN_DELETE, b.closes.later(parent.id, ev.name))
	}
	deleted := func() {
		b.deleted(t, parent, rel, ev.name, dir, m&^(unix.IN_CREATE|unix.IN_MODIFY|unix.IN_ATTRIB|unix.IN_CLOSE_WRITE))
	}
	// A change merged with a removal came before it: nothing is left to
	// change after one.
	changed := func() {
		if m&(unix.IN_MODIFY|unix.IN_ATTRIB|unix.IN_CLOSE_WRITE) != 0 {
			b.changed(t, rel, dir, m)
		}
	}
	switch m & dirent {
	case unix.IN_DELETE:
		changed()
		deleted()
	case dirent:
		if !exists(absPath(t.abs, rel)) {
			created()
			changed()
			deleted()
			return
		}
		deleted()
		created()
		changed()
	case unix.IN_CREATE:
		created()
		changed()
	default:
		changed()
	}
}

// fanSelf handles an event on a directory of the tree itself.
func (b *fanotifyBackend) fanSelf(n *dirNode, m uint32) {
	switch {
	case n.isRoot() && m&unix.IN_DELETE_SELF != 0:
		b.rootGone(n.tree, "it was removed", false)
	case n.isRoot() && m&unix.IN_MOVE_SELF != 0:
		b.rootGone(n.tree, "it was moved away", false)
	case !n.isRoot() && m&unix.IN_ATTRIB != 0:
		t, rel := n.locate()
		b.changed(t, rel, true, m)
	}
}

// fanDebug writes the original's raw event line for an event of a
// directory in the tree.
func (b *fanotifyBackend) fanDebug(n *dirNode, name string, m uint32) {
	if b.w.opts.Debug != nil && n != nil {
		b.w.debug("fanotify dir:%d\tname:%s\tmask:%d", n.id, name, m)
	}
}

// exists reports whether there is an entry at abs.
func exists(abs string) bool {
	var st unix.Stat_t
	return unix.Lstat(abs, &st) == nil
}

// checkHandles adds to r what only fanotify can get wrong: a root (or a
// file system mounted below one) whose file system has no mark, as the
// kernel lists the marks, is unwatched, and a directory of the tree whose
// handle does not open (through a directory of its file system) at the
// path the tree gives is stale.
func (b *fanotifyBackend) checkHandles(r *CheckReport) {
	devs, err := markedDevs(b.fd)
	if err != nil {
		b.w.log.Warn("watch check: cannot list the fanotify marks", "err", err)
	}
	for _, dirs := range b.mounts {
		for _, dir := range dirs {
			var st unix.Stat_t
			if unix.Stat(dir, &st) != nil || b.isGone(dir) {
				continue // gone since: its events, or the root's check, tell
			}
			if !devs[st.Dev] {
				r.Unwatched = append(r.Unwatched, dir)
			}
		}
	}
	for _, n := range b.nodes {
		if t, rel, ok := b.where(n); ok && !b.opensAt(b.keys[n.id], absPath(b.reals[t.abs], rel)) {
			r.Stale = append(r.Stale, absPath(t.abs, rel))
		}
	}
}

// isGone reports whether dir is a root that is gone.
func (b *fanotifyBackend) isGone(dir string) bool {
	for _, t := range b.trees {
		if t.abs == dir {
			return t.gone
		}
	}
	return false
}

// markedDevs returns the devices of the file systems the fanotify fd
// fd has a filesystem mark on, from /proc/self/fdinfo ("fanotify
// sdev:..." lines; an inode mark's line starts "fanotify ino:"). The
// kernel writes a device as major<<20 | minor.
func markedDevs(fd int) (map[uint64]bool, error) {
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return nil, err
	}
	devs := make(map[uint64]bool)
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "fanotify sdev:")
		if !ok {
			continue
		}
		hex, _, _ := strings.Cut(rest, " ")
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("fdinfo line %q: %w", line, err)
		}
		devs[unix.Mkdev(uint32(v>>20), uint32(v&0xfffff))] = true
	}
	return devs, nil
}

// opensAt reports whether the directory with handle key opens through a
// directory of its file system and is at path.
func (b *fanotifyBackend) opensAt(key, path string) bool {
	if len(key) < 16 {
		return false
	}
	fsid := keyFsid(key)
	h := keyHandle(key)
	for _, mp := range b.mounts[fsid] {
		if got, err := handlePath(mp, h); err == nil {
			return got == path
		}
	}
	return false
}

// fdLink is the /proc link of the open file descriptor fd.
func fdLink(fd uintptr) string {
	return "/proc/self/fd/" + strconv.Itoa(int(fd))
}

// keyFsid is the fsid a handle key (see handleKey) starts with.
func keyFsid(key string) (fsid [8]byte) {
	copy(fsid[:], key)
	return fsid
}
