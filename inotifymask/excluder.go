// Excluder: the <filter> exclude rule for callers outside the watcher.

package inotifymask

import "github.com/sersync-go/sersync2/confxml"

// Excluder returns the <filter> exclude rule as a predicate on a path
// relative to a root (no leading slash), for full syncs that must skip what
// the watcher never reports. It does not apply the temp-file skip: full
// syncs send dotfiles, as the original's -r and crontab did. It returns nil
// when the filter is off or empty.
func Excluder(f confxml.Filter) (func(rel string, dir bool) bool, error) {
	flt, err := newFilter(f)
	if err != nil {
		return nil, err
	}
	if len(flt.excludes) == 0 {
		return nil, nil
	}
	return flt.excluded, nil
}
