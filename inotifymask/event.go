// Event and Op: what the watcher reports, whichever backend produced it.

package inotifymask

import "path"

// Op says what happened to a path, already reduced to what the sync engine
// needs to know.
type Op uint8

const (
	// OpUpdate: the path was created, written, closed after writing, had its
	// attributes changed or was moved into the tree. Make it equal remotely.
	OpUpdate Op = iota + 1
	// OpRemove: the path was deleted or moved out of the tree.
	OpRemove
	// OpRename: OldPath was renamed to Path, both inside the same root.
	OpRename
	// OpOverflow: events for Root were lost (kernel queue overflow, a watch
	// that could not be added); the whole root must be rescanned and synced.
	OpOverflow
)

func (o Op) String() string {
	switch o {
	case OpUpdate:
		return "update"
	case OpRemove:
		return "remove"
	case OpRename:
		return "rename"
	case OpOverflow:
		return "overflow"
	}
	return "op?"
}

// Event is one change below a watch root.
type Event struct {
	// Root is the watch root exactly as configured (confxml.LocalPath.Watch).
	Root string
	// Path is relative to Root, slash-separated, with no leading "/" or "./".
	// Empty only for OpOverflow. The bytes are the kernel's: any byte but
	// NUL and "/" may appear, invalid UTF-8 included.
	Path string
	// OldPath is the previous relative path of an OpRename.
	OldPath string
	Op      Op
	// Dir is true when the path is (or, for a removal, was) a directory.
	Dir bool
	// Mask is the raw inotify mask that caused the event, for debug output
	// (0 for synthesised events such as scan results and overflows).
	Mask uint32
	// Err says why an OpOverflow happened.
	Err error
}

// Abs returns the absolute path of the event's Path.
func (e Event) Abs() string { return path.Join(e.Root, e.Path) }
