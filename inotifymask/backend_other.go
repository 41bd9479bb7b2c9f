//go:build !linux

// Off Linux: no raw inotify backend.

package inotifymask

import (
	"errors"
	"os"
)

// Without Linux the fsnotify backend is the only one.
const defaultKind = kindFsnotify

func newInotifyBackend(*Watcher) (backend, error) {
	return nil, errors.New("inotifymask: raw inotify needs Linux")
}

// readEvents is never called without Linux (the raw backend's read).
func readEvents(f *os.File, buf []byte) (int, error) { return f.Read(buf) }
