package failog

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// Defaults for zero Options fields.
const (
	// DefaultMaxEntries is how many entries one remote of one root may
	// have before they collapse into one full-sync entry. At a few hundred
	// bytes an entry the file stays well under a megabyte per remote.
	DefaultMaxEntries = 1000
	// MinInterval is the replay period used when timeToExecute is 0 (the
	// original then ran the file at every idle minute).
	MinInterval = time.Minute
)

// ErrUnknownTarget is returned by Fail and Synced for a target that was
// not given to Open.
var ErrUnknownTarget = errors.New("failog: target not configured")

// Options tune a Log. The zero value is usable.
type Options struct {
	// Interval is timeToExecute: how often Due hands the entries out for
	// replay. <= 0 means MinInterval.
	Interval time.Duration
	// MaxEntries is the threshold of the collapse into a full-sync entry,
	// per remote of a root. <= 0 means DefaultMaxEntries.
	MaxEntries int
	// StateDir is the state directory (--state-dir), which holds the lock
	// file (LockFile) the writers of this failLog serialise on, so that
	// two sersync2 sharing one failLog do not drop each other's entries.
	// "" takes no lock: only this process's writes are serialised. That
	// is safe for this process's entries, which it holds in memory and
	// writes whole at every change (each write replaces the file
	// atomically); another process sharing the file can lose its newest
	// entries until its own next write. There is no other place for the
	// lock: next to the failLog, in /tmp, any user could create and hold
	// it. sersync2 always passes a state directory.
	StateDir string
	// LockWait bounds the wait for that lock; <= 0 means
	// DefaultLockWait. When it runs out the write fails with ErrLockBusy,
	// the entries stay in memory, and the next change, replay (Due) or
	// Close writes them.
	LockWait time.Duration
	// Recursive says the rsync parameters recurse (-a or -r): a synced
	// update of a directory then covers the updates below it.
	Recursive bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives warnings (mode tightened, entries recorded, collapses);
	// nil discards them.
	Log *slog.Logger
}

// Stats are the Log's counters, for the engine's metrics.
type Stats struct {
	Entries   int    // entries of this configuration's remotes in the file now
	Full      int    // of them, full-sync entries (collapsed remotes)
	Others    int    // blocks kept for other remotes or as comments
	Recorded  uint64 // failures recorded since Open
	Cleared   uint64 // entries removed because they were synced or made moot
	Collapses uint64 // times a remote's entries collapsed into a full-sync entry
	WriteErrs uint64 // failed writes of the file (the entries stay in memory)
}

// Log is the failLog of one sersync2 process. Its methods are safe for
// concurrent use.
type Log struct {
	path    string
	opt     Options
	now     func() time.Time
	log     *slog.Logger
	targets map[key]rsyncexec.Target

	mu      sync.Mutex
	paths   map[key]map[string]*Entry // per remote: path -> entry
	full    map[key]*Entry            // per remote: its full-sync entry
	fullCmd map[key]string            // rendered full command, per remote
	next    time.Time                 // next Due
	others  int
	dirty   bool // the file lags behind memory (a write failed)
	st      Stats
	// lockFile is LockFile in Options.StateDir, "" without one;
	// busyUntil ends the backoff after a wait for it ran out (nextWait).
	lockFile  string
	busyUntil time.Time
}

// Open reads the failLog at path for the given targets (every remote of
// every watch root), creating it if needed, and returns the Log. It
// tightens a file that others may read or write to 0600 (with a warning),
// refuses a symbolic link or a non-regular file, and ignores the content
// of a file owned by another user (it is replaced at the first write).
// A lock that another process holds beyond LockWait does not stop it:
// the file is read anyway (writes replace it atomically), an error is
// logged and the file is written later (see Options.LockWait).
// Entries left by an earlier run are returned by Entries. Blocks that are
// not entries and name the directory of a watch root ("cd ROOT && ..."),
// as the original binary wrote them, become a full-sync entry for every
// remote of that root; other such blocks are kept as comments.
func Open(path string, targets []rsyncexec.Target, o Options) (*Log, error) {
	if o.Interval <= 0 {
		o.Interval = MinInterval
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	l := &Log{
		path: path, opt: o, now: o.Now, log: o.Log,
		targets: map[key]rsyncexec.Target{},
		paths:   map[key]map[string]*Entry{},
		full:    map[key]*Entry{},
		fullCmd: map[key]string{},
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range targets {
		l.targets[keyOf(t)] = t
	}
	if o.StateDir != "" {
		l.lockFile = LockFile(o.StateDir, path)
	}
	l.next = l.now().Add(o.Interval)
	if dir, ok := Exposed(path); ok {
		l.log.Warn("failLog in a directory every user may write; a private directory is safer",
			"file", path, "dir", dir, "suggested", BetterPath(o.StateDir, path))
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	unlock, lockErr := l.lock(o.LockWait)
	if lockErr != nil && !errors.Is(lockErr, ErrLockBusy) {
		return nil, lockErr
	}
	if lockErr == nil {
		defer unlock()
	}
	data, err := l.read(true)
	if err != nil {
		return nil, err
	}
	if lockErr == nil {
		removeTemps(path)
	}
	var converted, kept int
	for _, b := range parse(data) {
		switch {
		case b.e != nil && l.mine(b.e.key()):
			l.load(*b.e)
		case b.e != nil:
			kept++
		default:
			if n := l.adopt(b.raw); n > 0 {
				converted++
			} else {
				kept++
			}
		}
	}
	for k := range l.paths {
		if l.full[k] != nil {
			l.absorb(k)
		} else {
			l.collapseIfFull(k)
		}
	}
	if n := l.count(); n > 0 {
		l.log.Warn("failLog holds changes not yet synced; they are replayed now", "file", path, "entries", n)
	}
	if converted > 0 {
		l.log.Warn("failLog holds lines of an older sersync2; their roots get a full sync", "file", path, "blocks", converted)
	}
	if kept > 0 {
		l.log.Warn("failLog holds entries of other remotes or other lines; kept, not replayed", "file", path, "blocks", kept)
	}
	if lockErr != nil {
		l.lockFailed(lockErr, o.LockWait)
		l.dirty = true
		l.st.WriteErrs++
		l.log.Error("failLog not written: its lock is held by another process; the entries stay in memory and are written at the next change or replay",
			"file", path, "lock", l.lockFile, "err", lockErr)
		return l, nil
	}
	if err := l.writeHeld(); err != nil {
		return nil, err
	}
	return l, nil
}

// removeTemps removes the temporary files of a write a crash interrupted;
// the caller holds the lock, so no other writer's are among them.
func removeTemps(path string) {
	des, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "."+filepath.Base(path)+".tmp") && de.Type().IsRegular() {
			os.Remove(filepath.Join(filepath.Dir(path), de.Name()))
		}
	}
}

func (l *Log) mine(k key) bool { _, ok := l.targets[k]; return ok }

// load adds e, or folds it into the entry of the same path (or the
// full-sync entry) already held: the earliest first failure, the failure
// counts added up, and the latest failure's operation and errno.
func (l *Log) load(e Entry) {
	k := e.key()
	var slot **Entry
	if e.Op == Full {
		p := l.full[k]
		slot = &p
		defer func() { l.full[k] = *slot }()
	} else {
		m := l.paths[k]
		if m == nil {
			m = map[string]*Entry{}
			l.paths[k] = m
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
// into full-sync entries for the remotes of that root, and reports how
// many it made.
func (l *Log) adopt(raw string) int {
	errno := -1
	var root string
	for line := range strings.Lines(raw) {
		line = strings.TrimRight(line, "\n")
		var status int
		if _, err := fmt.Sscanf(line, "#errno %d", &status); err == nil && status > 0 && status%256 == 0 {
			errno = status / 256 // the original's wait status
		}
		for k := range l.targets {
			if strings.HasPrefix(line, "cd "+k.root+" && ") || strings.HasPrefix(line, rsyncexec.Shell(nil, k.root, nil)) {
				root = k.root
			}
		}
	}
	if root == "" {
		return 0
	}
	now := l.now()
	n := 0
	for k := range l.targets {
		if k.root == root {
			l.load(Entry{Root: k.root, Remote: k.remote, Op: Full, Errno: errno, Failures: 1, First: now, Last: now})
			n++
		}
	}
	return n
}

// Fail records that batch b failed for target t with err (a success, nil
// err, records nothing). Every path of b gets an entry, or refreshes its
// own; a full batch, or a remote past MaxEntries, has one full-sync entry
// instead. collapsed is true when this call replaced the remote's path
// entries by a full-sync entry: the caller must then make sure a full
// sync of the remote happens (a failed full batch is already retried).
func (l *Log) Fail(t rsyncexec.Target, b queue.Batch, err error) (collapsed bool, _ error) {
	if err == nil {
		return false, nil
	}
	k := keyOf(t)
	if !l.mine(k) {
		return false, fmt.Errorf("%w: %s to %s", ErrUnknownTarget, k.root, k.remote)
	}
	now := l.now()
	base := Entry{Root: k.root, Remote: k.remote, Errno: errnoOf(err), Failures: 1, First: now, Last: now}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Recorded++
	if b.Full || l.full[k] != nil {
		had := l.full[k] != nil
		e := base
		e.Op = Full
		l.load(e)
		l.absorb(k)
		if !had {
			l.log.Warn("full sync recorded in the failLog", "file", l.path, "root", k.root, "remote", k.remote, "errno", base.Errno)
		}
		return false, l.writeLocked()
	}
	added := 0
	for _, list := range []struct {
		op Op
		es []queue.Entry
	}{{Remove, b.Removes}, {Update, b.Updates}} {
		for _, qe := range list.es {
			e := base
			e.Op, e.Path, e.Dir, e.Replaced = list.op, qe.Path, qe.Dir, qe.Replaced && list.op == Update
			if rsyncexec.CleanRel(e.Path) != nil {
				continue // rsyncexec would refuse it; nothing to replay
			}
			if l.paths[k] == nil || l.paths[k][e.Path] == nil {
				added++
			}
			l.load(e)
		}
	}
	if added > 0 {
		l.log.Warn("changes recorded in the failLog", "file", l.path, "root", k.root, "remote", k.remote,
			"new", added, "entries", len(l.paths[k]), "errno", base.Errno)
	}
	collapsed = l.collapseIfFull(k)
	return collapsed, l.writeLocked()
}

// collapseIfFull replaces the path entries of k by one full-sync entry
// when there are more than MaxEntries of them.
func (l *Log) collapseIfFull(k key) bool {
	if len(l.paths[k]) <= l.opt.MaxEntries {
		return false
	}
	n := len(l.paths[k])
	l.load(Entry{Root: k.root, Remote: k.remote, Op: Full, Errno: -1, Failures: 0})
	l.absorb(k)
	l.st.Collapses++
	l.log.Warn("too many failLog entries for one remote; collapsed into one full sync",
		"file", l.path, "root", k.root, "remote", k.remote, "entries", n, "max", l.opt.MaxEntries)
	return true
}

// absorb folds the path entries of k into its full-sync entry.
func (l *Log) absorb(k key) {
	f := l.full[k]
	for _, e := range l.paths[k] {
		f.First = minTime(f.First, e.First)
		if e.Last.After(f.Last) || f.Last.IsZero() {
			f.Last, f.Errno = e.Last, e.Errno
		}
		f.Failures = max(f.Failures, e.Failures)
	}
	f.Failures = max(f.Failures, 1)
	delete(l.paths, k)
}

// Synced tells the Log that batch b reached target t; started is a time
// taken before its rsync started (after the queue handed the batch out).
// The entries of b's paths go, and those below a directory of b that the
// sync covered. A full batch run with t (which must not carry crontab
// excludes: those paths were not sent) removes every entry of the remote
// recorded before started; later ones stay, to be replayed.
func (l *Log) Synced(t rsyncexec.Target, b queue.Batch, started time.Time) error {
	k := keyOf(t)
	if !l.mine(k) {
		return fmt.Errorf("%w: %s to %s", ErrUnknownTarget, k.root, k.remote)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	removed := 0
	if b.Full {
		if len(t.CrontabExcludes) > 0 {
			return nil
		}
		if f := l.full[k]; f != nil && !f.Last.After(started) {
			delete(l.full, k)
			removed++
		}
		for p, e := range l.paths[k] {
			if !e.Last.After(started) {
				delete(l.paths[k], p)
				removed++
			}
		}
	} else if m := l.paths[k]; len(m) > 0 {
		removed = l.clearPaths(t, m, b)
	}
	if len(l.paths[k]) == 0 {
		delete(l.paths, k)
	}
	if removed == 0 && (!l.dirty || time.Now().Before(l.busyUntil)) {
		// Nothing changed; a file that lags behind waits for the lock's
		// backoff to end rather than fail (and be logged) at every batch.
		return nil
	}
	l.st.Cleared += uint64(removed)
	if removed > 0 {
		l.log.Info("failLog entries synced", "file", l.path, "root", k.root, "remote", k.remote, "cleared", removed, "left", len(l.paths[k]))
	}
	return l.writeLocked()
}

// clearPaths removes from m the entries b made moot and returns how many.
func (l *Log) clearPaths(t rsyncexec.Target, m map[string]*Entry, b queue.Batch) int {
	removed := 0
	// coverage by a synced directory: what it covers below itself.
	type cover struct{ updates, removes bool }
	dirs := map[string]cover{}
	for _, qe := range b.Removes {
		if m[qe.Path] != nil {
			delete(m, qe.Path)
			removed++
		}
		if qe.Dir && t.Delete {
			dirs[qe.Path] = cover{updates: true, removes: true}
		}
	}
	for _, qe := range b.Updates {
		if m[qe.Path] != nil {
			delete(m, qe.Path)
			removed++
		}
		if qe.Dir && l.opt.Recursive {
			c := dirs[qe.Path]
			c.updates = true
			c.removes = c.removes || (qe.Replaced && t.Delete)
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

// errnoOf returns the exit code of the first failed rsync run in err, -1
// when there is none.
func errnoOf(err error) int {
	if codes := rsyncexec.ExitCodes(err); len(codes) > 0 && codes[0] >= 0 {
		return codes[0]
	}
	return -1
}

// Entries returns the entries of this configuration's remotes, sorted by
// root, remote, full-sync entry first, then path.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entriesLocked()
}

func (l *Log) entriesLocked() []Entry {
	var out []Entry
	for _, f := range l.full {
		out = append(out, *f)
	}
	for _, m := range l.paths {
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

func (l *Log) count() int {
	n := len(l.full)
	for _, m := range l.paths {
		n += len(m)
	}
	return n
}

// Due returns the entries to replay when the replay period (timeToExecute)
// has passed since Open or the previous replay, and nil otherwise (also
// when there is nothing to replay). The engine feeds them back as changes;
// they leave the file when those are synced.
func (l *Log) Due(now time.Time) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		return nil
	}
	l.next = now.Add(l.opt.Interval)
	if l.dirty {
		l.busyUntil = time.Time{}
		if err := l.writeLocked(); err != nil {
			l.log.Error("failLog not written; the entries stay in memory and are written at the next change or replay",
				"file", l.path, "err", err)
		}
	}
	return l.entriesLocked()
}

// NextReplay returns when Due will next hand entries out.
func (l *Log) NextReplay() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Path returns the failLog's file name.
func (l *Log) Path() string { return l.path }

// Stats returns the counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.st
	s.Entries, s.Full, s.Others = l.count(), len(l.full), l.others
	return s
}

// Close writes the file once more if a write failed since, so the entries
// held in memory reach it. The Log must not be used afterwards.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.dirty {
		return nil
	}
	l.busyUntil = time.Time{}
	return l.writeLocked()
}

// read returns the failLog's content ("" when it does not exist). It
// refuses a symbolic link or a non-regular file; a file of another owner
// is read as empty. At Open (first) a mode that lets others in is
// tightened to 0600 with a warning.
func (l *Log) read(first bool) (string, error) {
	f, err := os.OpenFile(l.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case errors.Is(err, syscall.ELOOP):
		return "", fmt.Errorf("failog: %s is a symbolic link; refusing to use it as the failLog", l.path)
	case err != nil:
		return "", fmt.Errorf("failog: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("failog: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("failog: %s is not a regular file (%s)", l.path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		if first {
			l.log.Warn("failLog owned by another user: its content is not read and the file is replaced",
				"file", l.path, "owner_uid", st.Uid)
		}
		return "", nil
	}
	if perm := fi.Mode().Perm(); first && perm&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return "", fmt.Errorf("failog: tighten mode of %s: %w", l.path, err)
		}
		l.log.Warn("failLog was readable or writable by others; mode set to 0600", "file", l.path, "was", fmt.Sprintf("%04o", perm))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("failog: read %s: %w", l.path, err)
	}
	return string(data), nil
}

// writeLocked writes the file: the entries of this configuration's
// remotes as they are in memory, plus the blocks of the file on disk that
// belong to other remotes (kept) or are not entries (kept as comments).
// The caller holds l.mu. A failure leaves the entries in memory, marks the
// Log dirty and is returned.
func (l *Log) writeLocked() (err error) {
	defer func() {
		l.dirty = err != nil
		if err != nil {
			l.st.WriteErrs++
		}
	}()
	wait := l.nextWait()
	unlock, err := l.lock(wait)
	if err != nil {
		l.lockFailed(err, wait)
		return err
	}
	defer unlock()
	return l.writeHeld()
}

// writeHeld is writeLocked for a caller that also holds the file lock.
func (l *Log) writeHeld() error {
	data, err := l.read(false)
	if err != nil {
		return err
	}
	var blocks []string
	for _, e := range l.entriesLocked() {
		blocks = append(blocks, l.entryText(e))
	}
	l.others = 0
	for _, b := range parse(data) {
		switch {
		case b.e != nil && l.mine(b.e.key()):
			// memory holds the current state of our entries
		case b.e != nil:
			blocks = append(blocks, b.raw)
			l.others++
		default:
			blocks = append(blocks, commented(b.raw))
			l.others++
		}
	}
	return writeAtomic(l.path, render(blocks))
}

// entryText renders one entry of a configured target: #errno line, the
// #sersync2 line, the rsync command (for a full sync with a filter, one
// that deletes nothing: ByHandFullCommand).
func (l *Log) entryText(e Entry) string {
	t := l.targets[e.key()]
	t.CrontabExcludes = nil // a recovery full sync sends everything
	var cmd string
	switch {
	case e.Op == Full:
		cmd = l.fullCmd[e.key()]
		if cmd == "" {
			excluded, err := rsyncexec.ExcludedPaths(t.Root, t.Exclude)
			if err != nil {
				l.log.Warn("failLog: cannot list excluded paths for the full-sync command", "root", t.Root, "err", err)
			}
			cmd = rsyncexec.ByHandFullCommand(t, excluded).String()
			l.fullCmd[e.key()] = cmd
		}
	case e.Op == Remove || e.Replaced:
		cmd = rsyncexec.RemoveCommand(t, []queue.Entry{e.QueueEntry()}).String()
	default:
		cmd = rsyncexec.UpdateCommand(t, []queue.Entry{e.QueueEntry()}).String()
	}
	return e.errnoLine() + "\n" + e.metaLine() + "\n" + cmd + "\n"
}

// writeAtomic replaces the file at p with data: a new file in the same
// directory, mode 0600, written and fsynced, renamed over p, and the
// directory fsynced. Readers see the old or the new file, never a part.
func writeAtomic(p string, data []byte) error {
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("failog: write %s: %w", p, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return fmt.Errorf("failog: write %s: %w", p, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // the rename is durable; best effort
		d.Close()
	}
	return nil
}
