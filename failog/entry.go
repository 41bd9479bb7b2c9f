package failog

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// Op is what an entry asks for.
type Op uint8

const (
	// Update makes Path equal on the remote.
	Update Op = iota + 1
	// Remove deletes Path on the remote.
	Remove
	// Full mirrors the whole root (the collapsed form of many entries).
	Full
)

var opNames = map[Op]string{Update: "update", Remove: "remove", Full: "full"}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Entry is one change not yet on one remote.
type Entry struct {
	// Root is the watch root; Remote is rsyncexec.Destination of the
	// remote ("10.0.0.2::www", "user@host:/srv/www").
	Root, Remote string
	Op           Op
	// Path is relative to Root ("" for Full); Dir is the directory flag.
	Path string
	Dir  bool
	// Replaced marks an update of a path that was removed as a directory
	// and created again (queue.Entry.Replaced): it is synced with deletion.
	Replaced bool
	// Errno is rsync's exit code of the latest failure, -1 when rsync
	// gave none (killed by a signal, or not run).
	Errno int
	// Failures counts the failures recorded; First and Last are the
	// times of the first and the latest.
	Failures    int
	First, Last time.Time
}

// QueueEntry returns the entry as the queue's type.
func (e Entry) QueueEntry() queue.Entry {
	return queue.Entry{Path: e.Path, Dir: e.Dir, Replaced: e.Replaced}
}

// metaPrefix starts the line this package reads back.
const metaPrefix = "#sersync2 "

// errnoLine is the operator's comment above the command.
func (e Entry) errnoLine() string {
	what := "rsync exit code (" + rsyncexec.ExitMeaning(e.Errno) + ")"
	if e.Errno < 0 {
		what = "no rsync exit code (rsync was killed by a signal or did not run)"
	}
	n := "1 failure"
	if e.Failures != 1 {
		n = strconv.Itoa(e.Failures) + " failures"
	}
	return fmt.Sprintf("#errno %d: %s; %s since %s", e.Errno, what, n, e.First.UTC().Format(time.RFC3339))
}

// metaLine renders the fields of e on one line: strings Go-quoted, so a
// newline or any other byte of a name stays inside the comment.
func (e Entry) metaLine() string {
	var b strings.Builder
	b.WriteString(metaPrefix)
	b.WriteString("op=" + e.Op.String())
	b.WriteString(" root=" + strconv.Quote(e.Root))
	b.WriteString(" remote=" + strconv.Quote(e.Remote))
	if e.Op != Full {
		b.WriteString(" path=" + strconv.Quote(e.Path))
	}
	if e.Dir {
		b.WriteString(" dir=true")
	}
	if e.Replaced {
		b.WriteString(" replaced=true")
	}
	b.WriteString(" errno=" + strconv.Itoa(e.Errno))
	b.WriteString(" failures=" + strconv.Itoa(e.Failures))
	b.WriteString(" first=" + e.First.UTC().Format(time.RFC3339Nano))
	b.WriteString(" last=" + e.Last.UTC().Format(time.RFC3339Nano))
	return b.String()
}

// errBadMeta is wrapped by parseMeta's errors.
var errBadMeta = errors.New("failog: not an entry line")

// parseMeta reads a line written by metaLine (without its newline).
// Unknown fields are ignored, so later versions may add some.
func parseMeta(line string) (Entry, error) {
	rest, ok := strings.CutPrefix(line, metaPrefix)
	if !ok {
		return Entry{}, errBadMeta
	}
	var e Entry
	seen := map[string]bool{}
	for rest = strings.TrimLeft(rest, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		key, val, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.Contains(key, " ") {
			return Entry{}, fmt.Errorf("%w: field %q", errBadMeta, rest)
		}
		if seen[key] {
			return Entry{}, fmt.Errorf("%w: %s twice", errBadMeta, key)
		}
		seen[key] = true
		var v string
		if strings.HasPrefix(val, `"`) {
			q, err := strconv.QuotedPrefix(val)
			if err != nil {
				return Entry{}, fmt.Errorf("%w: %s: %w", errBadMeta, key, err)
			}
			v, _ = strconv.Unquote(q)
			rest = val[len(q):]
			if rest != "" && rest[0] != ' ' {
				return Entry{}, fmt.Errorf("%w: %s: text after the quotes", errBadMeta, key)
			}
		} else {
			v, rest, _ = strings.Cut(val, " ")
		}
		if err := e.set(key, v); err != nil {
			return Entry{}, fmt.Errorf("%w: %s=%q: %w", errBadMeta, key, v, err)
		}
	}
	if err := e.check(seen); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", errBadMeta, err)
	}
	return e, nil
}

func (e *Entry) set(key, v string) error {
	var err error
	switch key {
	case "op":
		for op, name := range opNames {
			if name == v {
				e.Op = op
			}
		}
		if e.Op == 0 {
			return errors.New("unknown operation")
		}
	case "root":
		e.Root = v
	case "remote":
		e.Remote = v
	case "path":
		e.Path = v
	case "dir":
		e.Dir, err = strconv.ParseBool(v)
	case "replaced":
		e.Replaced, err = strconv.ParseBool(v)
	case "errno":
		e.Errno, err = strconv.Atoi(v)
	case "failures":
		e.Failures, err = strconv.Atoi(v)
	case "first":
		e.First, err = parseTime(v)
	case "last":
		e.Last, err = parseTime(v)
	}
	return err
}

// parseTime reads a time as metaLine writes it, in UTC.
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err
}

// check validates a parsed entry: the fields it needs are there and the
// path is one the engine may sync (relative, clean, inside the root).
func (e *Entry) check(seen map[string]bool) error {
	for _, k := range []string{"op", "root", "remote"} {
		if !seen[k] {
			return errors.New(k + " missing")
		}
	}
	if !path.IsAbs(e.Root) || e.Remote == "" || strings.ContainsRune(e.Root+e.Remote, 0) {
		return errors.New("root must be absolute and remote set")
	}
	if e.Failures < 1 {
		e.Failures = 1
	}
	if e.First.IsZero() {
		e.First = e.Last
	}
	if e.Op == Full {
		if seen["path"] {
			return errors.New("a full entry has no path")
		}
		e.Dir, e.Replaced = false, false
		return nil
	}
	if err := rsyncexec.CleanRel(e.Path); err != nil {
		return err
	}
	if e.Op == Remove {
		e.Replaced = false
	}
	return nil
}

// key identifies one remote of one root.
type key struct{ root, remote string }

func (e Entry) key() key { return key{e.Root, e.Remote} }

// keyOf returns the key of target t.
func keyOf(t rsyncexec.Target) key { return key{t.Root, rsyncexec.Destination(t)} }
