package failog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// set holds the entries of this configuration's remotes and the rules
// that change them: which entries one remote of one root has, when they
// collapse into one full-sync entry, what a success clears, and what is
// handed out for replay. It touches no file, takes no lock, reads no
// clock and logs nothing: the Log holds it under its mutex, tells it the
// time, and writes and logs what it reports.
type set struct {
	maxEntries int  // path entries of one remote before the collapse
	recursive  bool // a synced directory update covers the updates below it
	keys       map[key]bool
	paths      map[key]map[string]*Entry // per remote: path -> entry
	full       map[key]*Entry            // per remote: its full-sync entry
}

func newSet(keys []key, maxEntries int, recursive bool) *set {
	s := &set{maxEntries: maxEntries, recursive: recursive, keys: map[key]bool{},
		paths: map[key]map[string]*Entry{}, full: map[key]*Entry{}}
	for _, k := range keys {
		s.keys[k] = true
	}
	return s
}

// mine reports whether k is a remote of this configuration.
func (s *set) mine(k key) bool { return s.keys[k] }

// load adds e, or folds it into the entry of the same path (or the
// full-sync entry) already held: the earliest first failure, the failure
// counts added up, and the latest failure's operation and errno.
func (s *set) load(e Entry) {
	k := e.key()
	var slot **Entry
	if e.Op == Full {
		p := s.full[k]
		slot = &p
		defer func() { s.full[k] = *slot }()
	} else {
		m := s.paths[k]
		if m == nil {
			m = map[string]*Entry{}
			s.paths[k] = m
		}
		p := m[e.Path]
		slot = &p
		defer func() { m[e.Path] = *slot }()
	}
	old := *slot
	if old == nil {
		*slot = &e
		return
	}
	old.First = minTime(old.First, e.First)
	old.Failures += e.Failures
	if !e.Last.Before(old.Last) {
		old.Last, old.Errno, old.Op, old.Dir, old.Replaced = e.Last, e.Errno, e.Op, e.Dir, e.Replaced
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) && !b.IsZero() || a.IsZero() {
		return b
	}
	return a
}

// adopt turns a block of the original binary that names one of our roots
// into full-sync entries, failed at now, for the remotes of that root,
// and reports how many it made.
func (s *set) adopt(raw string, now time.Time) int {
	errno := -1
	var root string
	for line := range strings.Lines(raw) {
		line = strings.TrimRight(line, "\n")
		var status int
		if _, err := fmt.Sscanf(line, "#errno %d", &status); err == nil && status > 0 && status%256 == 0 {
			errno = status / 256 // the original's wait status
		}
		for k := range s.keys {
			if strings.HasPrefix(line, "cd "+k.root+" && ") || strings.HasPrefix(line, rsyncexec.Shell(nil, k.root, nil)) {
				root = k.root
			}
		}
	}
	if root == "" {
		return 0
	}
	n := 0
	for k := range s.keys {
		if k.root == root {
			s.load(Entry{Root: k.root, Remote: k.remote, Op: Full, Errno: errno, Failures: 1, First: now, Last: now})
			n++
		}
	}
	return n
}

// collapse is one remote's path entries replaced by a full-sync entry.
type collapse struct {
	key
	entries int // path entries before
}

// settle applies the bounds to what load gathered: a remote with a
// full-sync entry keeps no path entries, and one past maxEntries
// collapses.
func (s *set) settle() []collapse {
	var out []collapse
	for k := range s.paths {
		if s.full[k] != nil {
			s.absorb(k)
		} else if n := s.collapseIfFull(k); n > 0 {
			out = append(out, collapse{k, n})
		}
	}
	return out
}

// recorded is what fail did.
type recorded struct {
	// full: the failure is in the remote's full-sync entry; newFull: that
	// entry is new (not so after a collapse, which reports it below).
	full, newFull bool
	// added counts the new path entries; entries the remote's path
	// entries after them, before a collapse.
	added, entries int
	// collapsed counts the path entries this failure made collapse into
	// a full-sync entry, 0 when there was no collapse.
	collapsed int
}

// fail records that batch b failed for the remote k at now with rsync
// exit code errno. Every path of b gets an entry, or refreshes its own; a
// full batch, or a remote with a full-sync entry, refreshes that entry
// instead; past maxEntries the remote's path entries collapse into one.
// A path rsyncexec would refuse gets no entry: there is nothing to replay.
func (s *set) fail(k key, b queue.Batch, errno int, now time.Time) recorded {
	base := Entry{Root: k.root, Remote: k.remote, Errno: errno, Failures: 1, First: now, Last: now}
	if b.Full || s.full[k] != nil {
		had := s.full[k] != nil
		e := base
		e.Op = Full
		s.load(e)
		s.absorb(k)
		return recorded{full: true, newFull: !had}
	}
	var r recorded
	for _, list := range []struct {
		op Op
		es []queue.Entry
	}{{Remove, b.Removes}, {Update, b.Updates}} {
		for _, qe := range list.es {
			e := base
			e.Op, e.Path, e.Dir, e.Replaced = list.op, qe.Path, qe.Dir, qe.Replaced && list.op == Update
			if rsyncexec.CleanRel(e.Path) != nil {
				continue
			}
			if s.paths[k] == nil || s.paths[k][e.Path] == nil {
				r.added++
			}
			s.load(e)
		}
	}
	r.entries = len(s.paths[k])
	r.collapsed = s.collapseIfFull(k)
	return r
}

// collapseIfFull replaces the path entries of k by one full-sync entry
// when there are more than maxEntries of them, and returns how many there
// were (0: no collapse).
func (s *set) collapseIfFull(k key) int {
	n := len(s.paths[k])
	if n <= s.maxEntries {
		return 0
	}
	s.load(Entry{Root: k.root, Remote: k.remote, Op: Full, Errno: -1, Failures: 0})
	s.absorb(k)
	return n
}

// absorb folds the path entries of k into its full-sync entry.
func (s *set) absorb(k key) {
	f := s.full[k]
	for _, e := range s.paths[k] {
		f.First = minTime(f.First, e.First)
		if e.Last.After(f.Last) || f.Last.IsZero() {
			f.Last, f.Errno = e.Last, e.Errno
		}
		f.Failures = max(f.Failures, e.Failures)
	}
	f.Failures = max(f.Failures, 1)
	delete(s.paths, k)
}

// synced clears what batch b, run with t and started at started, made
// moot, and returns how many entries went. told is false when b says
// nothing about the entries: a full batch that left the crontab's
// excludes out (those paths were not sent). A full batch run with
// everything clears every entry of the remote that failed before it
// started; later ones stay, to be replayed. Another batch clears the
// entries of its paths, and those below a directory of b that the sync
// covered.
func (s *set) synced(t rsyncexec.Target, b queue.Batch, started time.Time) (removed int, told bool) {
	k := keyOf(t)
	if b.Full {
		if len(t.CrontabExcludes) > 0 {
			return 0, false
		}
		if f := s.full[k]; f != nil && !f.Last.After(started) {
			delete(s.full, k)
			removed++
		}
		for p, e := range s.paths[k] {
			if !e.Last.After(started) {
				delete(s.paths[k], p)
				removed++
			}
		}
	} else if m := s.paths[k]; len(m) > 0 {
		removed = s.clearPaths(t.Delete, m, b)
	}
	if len(s.paths[k]) == 0 {
		delete(s.paths, k)
	}
	return removed, true
}

// clearPaths removes from m the entries b made moot and returns how many;
// deleting says the remote's rsync deletes (a synced directory removal
// then covers what was below it).
func (s *set) clearPaths(deleting bool, m map[string]*Entry, b queue.Batch) int {
	removed := 0
	// coverage by a synced directory: what it covers below itself.
	type cover struct{ updates, removes bool }
	dirs := map[string]cover{}
	for _, qe := range b.Removes {
		if m[qe.Path] != nil {
			delete(m, qe.Path)
			removed++
		}
		if qe.Dir && deleting {
			dirs[qe.Path] = cover{updates: true, removes: true}
		}
	}
	for _, qe := range b.Updates {
		if m[qe.Path] != nil {
			delete(m, qe.Path)
			removed++
		}
		if qe.Dir && s.recursive {
			c := dirs[qe.Path]
			c.updates = true
			c.removes = c.removes || (qe.Replaced && deleting)
			dirs[qe.Path] = c
		}
	}
	if len(dirs) == 0 {
		return removed
	}
	for p, e := range m {
		for a := parent(p); a != ""; a = parent(a) {
			if c, ok := dirs[a]; ok && (e.Op == Update && c.updates || e.Op == Remove && c.removes) {
				delete(m, p)
				removed++
				break
			}
		}
	}
	return removed
}

// parent returns the parent of the relative path p, "" at the top.
func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return ""
}

// entries returns the entries sorted by root, remote, full-sync entry
// first, then path: the order of the file and of a replay.
func (s *set) entries() []Entry {
	var out []Entry
	for _, f := range s.full {
		out = append(out, *f)
	}
	for _, m := range s.paths {
		for _, e := range m {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Root, b.Root), cmp.Compare(a.Remote, b.Remote),
			cmp.Compare(b.Op/Full, a.Op/Full), cmp.Compare(a.Path, b.Path))
	})
	return out
}

// count returns the number of entries, full-sync ones included.
func (s *set) count() int {
	n := len(s.full)
	for _, m := range s.paths {
		n += len(m)
	}
	return n
}
