//go:build !sersync_fsnotify

// Linux without -tags sersync_fsnotify: no fsnotify backend.

package inotifymask

import "errors"

// The Linux binary uses raw inotify only; the fsnotify backend is built
// on Linux only with -tags sersync_fsnotify, which make test sets to run
// its contract tests here.
const fsnotifyBuilt = false

func newFsnotifyBackend(*Watcher) (backend, error) {
	return nil, errors.New("inotifymask: built without the fsnotify backend (-tags sersync_fsnotify)")
}
