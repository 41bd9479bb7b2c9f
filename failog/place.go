package failog

import (
	"os"
	"path/filepath"
)

// DefaultDir is the failLog's suggested directory when no state
// directory is known: root's state directory.
const DefaultDir = "/var/lib/sersync2"

// Exposed reports whether the failLog at path sits in a directory every
// user may write (as /tmp) and reach: one above it that others cannot
// enter closes it to them. There, another user can create names before
// sersync2 does, and an operator runs the file by hand, often as root.
// dir is that directory, links resolved. A directory that cannot be
// examined counts as not exposed: Open reports the real problem.
func Exposed(path string) (dir string, exposed bool) {
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", false
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", false
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o002 == 0 {
		return dir, false
	}
	for a := filepath.Dir(dir); ; a = filepath.Dir(a) {
		fi, err := os.Stat(a)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return dir, false
		}
		if a == filepath.Dir(a) {
			return dir, true
		}
	}
}

// BetterPath suggests a place for the failLog at path: the same name in
// the state directory, which sersync2 creates for its owner only and which
// survives a reboot; DefaultDir without one.
func BetterPath(stateDir, path string) string {
	if stateDir == "" {
		stateDir = DefaultDir
	}
	return filepath.Join(stateDir, filepath.Base(path))
}
