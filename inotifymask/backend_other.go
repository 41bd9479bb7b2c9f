//go:build !linux

package inotifymask

import "errors"

// Without Linux the fsnotify backend is the only one.
const defaultKind = kindFsnotify

func newInotifyBackend(*Watcher) (backend, error) {
	return nil, errors.New("inotifymask: raw inotify needs Linux")
}
