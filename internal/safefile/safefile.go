// Package safefile opens files that may live where other users can write
// (/tmp, /run/lock, a service's working directory): never through a
// symbolic link, and only a regular file of this process's user. A link
// planted there would make the caller write into its target, a FIFO would
// block it, and another user's file would let that user hold or read what
// the caller writes; each is refused and left as it is.
package safefile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Errors Open wraps, with the path and what was found.
var (
	ErrSymlink    = errors.New("is a symbolic link; it is not followed (remove it)")
	ErrNotRegular = errors.New("is not a regular file; it is left alone")
	ErrNotOwn     = errors.New("a file of another user is left alone")
)

// Open opens path with flag (os.O_CREATE creates it with perm), adding
// O_NOFOLLOW, O_NONBLOCK (a FIFO must not block the open) and O_CLOEXEC,
// then refuses anything but a regular file owned by this process's user.
// Nothing is written before these checks. The error of a refused link
// also wraps the system's ELOOP.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s %w: %w", path, ErrSymlink, err)
	}
	if errors.Is(err, syscall.ENXIO) {
		// A FIFO opened for writing only, with no reader.
		return nil, fmt.Errorf("%s %w: %w", path, ErrNotRegular, err)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, fmt.Errorf("%s %w (%s)", path, ErrNotRegular, fi.Mode().Type())
	case st != nil && int(st.Uid) != os.Geteuid():
		f.Close()
		return nil, fmt.Errorf("%s belongs to uid %d, not to this user (uid %d): %w", path, st.Uid, os.Geteuid(), ErrNotOwn)
	}
	return f, nil
}
