package rootid

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
)

// The reasons a root is absent. An *AbsentError wraps one of them.
var (
	// ErrGone: there is no directory at the root's path.
	ErrGone = errors.New("the root directory is not there")
	// ErrBareMountPoint: the root was a mount point and its file system is
	// not mounted; the directory under it is there.
	ErrBareMountPoint = errors.New("its file system is not mounted (the bare mount point is there)")
	// ErrOtherFS: another file system (or another directory of it) is at
	// the root's path.
	ErrOtherFS = errors.New("another file system is there")
	// ErrUnverified: nothing is recorded yet and the root looks like an
	// unmounted mount point (see Suspicious); it is not recorded until it
	// no longer does, or an operator accepts it.
	ErrUnverified = errors.New("nothing recorded yet and it looks like an unmounted mount point")
	// ErrUnsupported: identities cannot be taken on this system.
	ErrUnsupported = errors.New("rootid: file system identities are not supported on this system")
)

// ID is the identity of the file system a root lives on. The zero ID
// identifies nothing.
type ID struct {
	// FSID is statfs's f_fsid in hex; "" when the file system gives 0.
	FSID string `json:"fsid,omitempty"`
	// UUID is the file system UUID from /dev/disk/by-uuid; "" when unknown
	// (no udev, or not a block device).
	UUID string `json:"uuid,omitempty"`
	// Type is the file system type from the mount table (ext4, xfs, nfs4).
	Type string `json:"type"`
	// Source is the mount source (/dev/sdb1, server:/export). Device names
	// may change between boots, so it counts only when FSID is "".
	Source string `json:"source,omitempty"`
	// MountRoot is the directory of the file system mounted where the root
	// lives: "/" unless that mount is a bind mount or a btrfs subvolume.
	MountRoot string `json:"mount_root"`
	// MountPoint says that the root directory is itself a mount point.
	MountPoint bool `json:"mount_point"`
}

// String describes the identity for logs and --check.
func (id ID) String() string {
	var b strings.Builder
	b.WriteString(cmp.Or(id.Type, "?"))
	if id.UUID != "" {
		b.WriteString(" uuid=" + id.UUID)
	}
	if id.FSID != "" {
		b.WriteString(" fsid=" + id.FSID)
	}
	if id.FSID == "" || id.UUID == "" {
		b.WriteString(" source=" + cmp.Or(id.Source, "?"))
	}
	if id.MountRoot != "" && id.MountRoot != "/" {
		b.WriteString(" mount_root=" + id.MountRoot)
	}
	if id.MountPoint {
		b.WriteString(" (mount point)")
	}
	return b.String()
}

// Compare tells whether cur, found at a root's path now, is the file
// system recorded in rec: nil when it is, else the reason it is not
// (ErrBareMountPoint or ErrOtherFS). Whatever cannot be told apart counts
// as another file system.
func Compare(rec, cur ID) error {
	switch {
	case rec.MountPoint && !cur.MountPoint:
		return ErrBareMountPoint
	case rec.MountPoint != cur.MountPoint, rec.Type != cur.Type, rec.MountRoot != cur.MountRoot:
		return ErrOtherFS
	case rec.UUID != "" && cur.UUID != "":
		// The UUID outlives a device renumbering, which changes xfs's
		// f_fsid.
		if rec.UUID != cur.UUID {
			return ErrOtherFS
		}
		return nil
	case rec.FSID != "":
		if rec.FSID != cur.FSID {
			return ErrOtherFS
		}
		return nil
	case rec.Source != "" && cur.FSID == "" && rec.Source == cur.Source:
		// No f_fsid (NFS): the server and export are what is left.
		return nil
	}
	return ErrOtherFS
}

// AbsentError says why a root is absent, with what was recorded and found.
type AbsentError struct {
	Root   string
	Reason error // ErrGone, ErrBareMountPoint, ErrOtherFS or ErrUnverified
	Want   ID    // recorded (zero with ErrUnverified)
	Got    ID    // found (zero with ErrGone)
	Detail string
	// Target says that Root is a local target (a directory replicated
	// to) rather than a watch root.
	Target bool
}

func (e *AbsentError) Error() string {
	what := "watch root"
	if e.Target {
		what = "local target"
	}
	s := fmt.Sprintf("%s %s is absent: %v", what, e.Root, e.Reason)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Got.Type != "" && e.Want.Type != "" {
		s += fmt.Sprintf(": recorded %s, found %s", e.Want, e.Got)
	}
	return s
}

func (e *AbsentError) Unwrap() error { return e.Reason }
