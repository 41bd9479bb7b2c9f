//go:build !linux

// Off Linux: no raw inotify backend.

package inotifymask

import (
	"errors"
	"fmt"
	"os"
)

// Without Linux the fsnotify backend is the only one.
const defaultKind = kindFsnotify

func newInotifyBackend(*Watcher, []int) (backend, error) {
	return nil, errors.New("inotifymask: raw inotify needs Linux")
}

// readEvents is never called without Linux (the raw backend's read).
func readEvents(f *os.File, buf []byte) (int, error) { return f.Read(buf) }

func newFanotifyBackend(*Watcher, []int) (backend, error) {
	return nil, errors.New("inotifymask: fanotify needs Linux")
}

// FanotifyUsable says that fanotify cannot watch root: it needs Linux.
func FanotifyUsable(root string) error {
	return fmt.Errorf("%w: %s: fanotify needs Linux", ErrNoFanotify, root)
}
