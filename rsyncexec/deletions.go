package rsyncexec

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sersync-go/sersync2/queue"
)

// DryRunFormat is the --out-format of the dry run: rsync writes one line
// per item it would change, and "*deleting   NAME" (the "*deleting" of
// %i, its padding, the format's space) per path it would delete, NAME
// relative to the destination with a trailing "/" for a directory.
const DryRunFormat = "%i %n"

const deletingPrefix = "*deleting   "

// ParseDeletion reads one line of a dry run's output. For a deletion line
// it returns the path rsync would delete (Dir set for a directory) and ok;
// any other line gives ok false. rsync writes an unprintable byte of a
// name (a newline, a control byte, invalid UTF-8) as "\#ooo", and a
// backslash of the name that is followed by "#" and three digits as
// "\#134", so every "\#" with three octal digits is an escape and nothing
// else is. A deletion line whose name is not a clean relative path gives
// an error wrapping ErrBadPath: rsync never writes one, so the output
// cannot be trusted.
func ParseDeletion(line string) (e queue.Entry, ok bool, err error) {
	name, found := strings.CutPrefix(line, deletingPrefix)
	if !found {
		return queue.Entry{}, false, nil
	}
	name = unescapeName(name)
	dir := strings.HasSuffix(name, "/")
	trimmed := strings.TrimSuffix(name, "/")
	if CleanRel(trimmed) != nil {
		return queue.Entry{}, false, fmt.Errorf("rsyncexec: dry run deletes %q: %w", name, ErrBadPath)
	}
	return queue.Entry{Path: trimmed, Dir: dir}, true, nil
}

// unescapeName undoes rsync's "\#ooo" escapes.
func unescapeName(s string) string {
	if !strings.Contains(s, `\#`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 < len(s) && s[i+1] == '#' && isOctalByte(s[i+2:i+5]) {
			b.WriteByte((s[i+2]-'0')<<6 | (s[i+3]-'0')<<3 | (s[i+4] - '0'))
			i += 4
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isOctalByte reports whether d is three octal digits of a byte (000-377).
func isOctalByte(d string) bool {
	return d[0] >= '0' && d[0] <= '3' && d[1] >= '0' && d[1] <= '7' && d[2] >= '0' && d[2] <= '7'
}

// keeper reads a dry run's output and collects what the full run must
// keep on the remote although --delete would remove it: of each path to
// be deleted, the topmost of the path and its parent directories that the
// filter excludes. The lines of stdout and stderr (with --stderr=all rsync
// writes them there) arrive from two goroutines.
type keeper struct {
	exclude func(rel string, dir bool) bool

	mu   sync.Mutex
	dirs map[string]bool // directories asked about: excluded or not
	keep []queue.Entry
	err  error // the first line that could not be read
}

func newKeeper(exclude func(rel string, dir bool) bool) *keeper {
	return &keeper{exclude: exclude, dirs: map[string]bool{}}
}

func (k *keeper) line(s string) {
	e, ok, err := ParseDeletion(s)
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case err != nil && k.err == nil:
		k.err = err
	case ok:
		k.add(e)
	}
}

// add looks at the parents of e from the top, then e itself. rsync lists
// the content of a directory before the directory, so a parent is asked
// about once and remembered.
func (k *keeper) add(e queue.Entry) {
	p := e.Path
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		sub := p[:i]
		if i == len(p) && !e.Dir {
			if k.exclude(sub, false) {
				k.keep = append(k.keep, queue.Entry{Path: sub})
			}
			return
		}
		excluded, asked := k.dirs[sub]
		if !asked {
			excluded = k.exclude(sub, true)
			k.dirs[sub] = excluded
			if excluded {
				k.keep = append(k.keep, queue.Entry{Path: sub, Dir: true})
			}
		}
		if excluded {
			return
		}
	}
}

// result returns the paths to keep, or the error of an unreadable line.
func (k *keeper) result() ([]queue.Entry, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keep, k.err
}
