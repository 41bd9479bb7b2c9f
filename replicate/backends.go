package replicate

import (
	"cmp"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
)

// watcher is the backend asked of the watcher: "" is DefaultWatcher.
func (o Options) watcher() inotifymask.Backend { return cmp.Or(o.Watcher, DefaultWatcher) }

// rootBackend is the backend that will watch one root, or why the backend
// asked for cannot (err).
type rootBackend struct {
	inotifymask.RootBackend
	err error
}

// rootBackends says which backend will watch each root of cfg in an engine
// started with o. It decides as that engine's watcher will
// (inotifymask.ChooseBackend) and watches nothing.
func rootBackends(cfg confxml.Config, o Options) []rootBackend {
	var rbs []rootBackend
	for _, lp := range cfg.WatchRoots(o.Plugin) {
		rb, err := inotifymask.ChooseBackend(o.watcher(), lp.Watch)
		rbs = append(rbs, rootBackend{rb, err})
	}
	return rbs
}

// InotifyNeeded reports whether an engine started with cfg and o may watch
// a root with inotify, so that the inotify limits concern it: false only
// when fanotify will watch every root.
func InotifyNeeded(cfg confxml.Config, o Options) bool {
	for _, rb := range rootBackends(cfg, o) {
		if rb.err != nil || rb.Backend != inotifymask.BackendFanotify {
			return true
		}
	}
	return false
}
