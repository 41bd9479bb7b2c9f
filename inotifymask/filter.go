// filter: the <filter> excludes and dotfile rule the backends apply to
// every path.

package inotifymask

import (
	"regexp"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
)

// filter decides which paths are never reported: the original's temp-file
// skip and the <filter> excludes (rules in the package doc).
type filter struct {
	skipTemp bool
	excludes []*regexp.Regexp
}

func newFilter(f confxml.Filter) (filter, error) {
	res, err := f.Compiled()
	if err != nil {
		return filter{}, err
	}
	return filter{skipTemp: !f.SyncDotfiles, excludes: res}, nil
}

// tempName reports the original's built-in skip for non-directories: a
// name starting with "." or ending with "~", or the name "4913".
func tempName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || name == "4913"
}

// excluded reports whether the relative path rel (no leading slash) is
// excluded: some exclude fully matches rel or "/"+rel, or, for a
// directory, rel+"/" or "/"+rel+"/". What is below an excluded directory
// is never seen, because the directory gets no watch.
func (f *filter) excluded(rel string, dir bool) bool {
	if len(f.excludes) == 0 {
		return false
	}
	slashed := "/" + rel
	for _, re := range f.excludes {
		if re.MatchString(rel) || re.MatchString(slashed) {
			return true
		}
		if dir && (re.MatchString(rel+"/") || re.MatchString(slashed+"/")) {
			return true
		}
	}
	return false
}

// hidden reports whether a path is never reported: a temp name (for a
// non-directory, unless SyncDotfiles) or an excluded path.
func (f *filter) hidden(rel string, dir bool) bool {
	if !dir && f.skipTemp && tempName(baseName(rel)) {
		return true
	}
	return f.excluded(rel, dir)
}
