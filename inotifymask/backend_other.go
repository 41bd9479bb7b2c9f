//go:build !linux

// Off Linux: no raw inotify backend.

package inotifymask

import (
	"errors"
	"fmt"
)

// Without Linux the fsnotify backend is the only one.
const defaultKind = kindFsnotify

func newInotifyBackend(*Watcher, []int) (backend, error) {
	return nil, errors.New("inotifymask: raw inotify needs Linux")
}

// kernelReader reads a Linux notification fd: there is none without
// Linux.
type kernelReader struct{}

// readEvents is never called without Linux (the raw backend's read).
func readEvents(*kernelReader, []byte) (int, error) {
	return 0, errors.New("inotifymask: no kernel reader without Linux")
}

func newFanotifyBackend(*Watcher, []int) (backend, error) {
	return nil, errors.New("inotifymask: fanotify needs Linux")
}

// FanotifyUsable says that fanotify cannot watch root: it needs Linux.
func FanotifyUsable(root string) error {
	return fmt.Errorf("%w: %s: fanotify needs Linux", ErrNoFanotify, root)
}
