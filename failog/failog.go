package failog

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
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

// Log is the failLog of one sersync2 process: the entries (set), the file
// (store), and what joins them: every change to the entries is written
// whole, with the blocks of the file that are not ours kept. Its methods
// are safe for concurrent use.
type Log struct {
	opt     Options
	now     func() time.Time
	log     *slog.Logger
	targets map[key]rsyncexec.Target

	mu      sync.Mutex
	set     *set
	file    *store
	fullCmd map[key]string // rendered full command, per remote
	next    time.Time      // next Due
	others  int
	dirty   bool // the file lags behind memory (a write failed)
	st      Stats
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
		opt: o, now: o.Now, log: o.Log,
		targets: map[key]rsyncexec.Target{},
		fullCmd: map[key]string{},
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	var keys []key
	for _, t := range targets {
		l.targets[keyOf(t)] = t
		keys = append(keys, keyOf(t))
	}
	l.set = newSet(keys, o.MaxEntries, o.Recursive)
	l.file = newStore(path, o.StateDir, o.LockWait, l.log)
	l.next = l.now().Add(o.Interval)
	if dir, ok := Exposed(path); ok {
		l.log.Warn("failLog in a directory every user may write; a private directory is safer",
			"file", path, "dir", dir, "suggested", BetterPath(o.StateDir, path))
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	unlock, lockErr := l.file.lock(o.LockWait)
	if lockErr != nil && !errors.Is(lockErr, ErrLockBusy) {
		return nil, lockErr
	}
	if lockErr == nil {
		defer unlock()
	}
	data, err := l.file.read(true)
	if err != nil {
		return nil, err
	}
	if lockErr == nil {
		l.file.removeTemps()
	}
	var converted, kept int
	for _, b := range parse(data) {
		switch {
		case b.e != nil && l.set.mine(b.e.key()):
			l.set.load(*b.e)
		case b.e != nil:
			kept++
		default:
			if n := l.set.adopt(b.raw, l.now()); n > 0 {
				converted++
			} else {
				kept++
			}
		}
	}
	for _, c := range l.set.settle() {
		l.collapsed(c)
	}
	if n := l.set.count(); n > 0 {
		l.log.Warn("failLog holds changes not yet synced; they are replayed now", "file", path, "entries", n)
	}
	if converted > 0 {
		l.log.Warn("failLog holds lines of an older sersync2; their roots get a full sync", "file", path, "blocks", converted)
	}
	if kept > 0 {
		l.log.Warn("failLog holds entries of other remotes or other lines; kept, not replayed", "file", path, "blocks", kept)
	}
	if lockErr != nil {
		l.file.lockFailed(lockErr, o.LockWait)
		l.dirty = true
		l.st.WriteErrs++
		l.log.Error("failLog not written: its lock is held by another process; the entries stay in memory and are written at the next change or replay",
			"file", path, "lock", l.file.lockFile, "err", lockErr)
		return l, nil
	}
	if err := l.writeHeld(); err != nil {
		return nil, err
	}
	return l, nil
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
	if !l.set.mine(k) {
		return false, fmt.Errorf("%w: %s to %s", ErrUnknownTarget, k.root, k.remote)
	}
	now := l.now()
	errno := errnoOf(err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Recorded++
	r := l.set.fail(k, b, errno, now)
	if r.newFull {
		l.log.Warn("full sync recorded in the failLog", "file", l.file.path, "root", k.root, "remote", k.remote, "errno", errno)
	}
	if r.added > 0 {
		l.log.Warn("changes recorded in the failLog", "file", l.file.path, "root", k.root, "remote", k.remote,
			"new", r.added, "entries", r.entries, "errno", errno)
	}
	if r.collapsed > 0 {
		l.collapsed(collapse{k, r.collapsed})
	}
	return r.collapsed > 0, l.writeLocked()
}

// collapsed counts and logs a collapse into a full-sync entry.
func (l *Log) collapsed(c collapse) {
	l.st.Collapses++
	l.log.Warn("too many failLog entries for one remote; collapsed into one full sync",
		"file", l.file.path, "root", c.root, "remote", c.remote, "entries", c.entries, "max", l.opt.MaxEntries)
}

// Synced tells the Log that batch b reached target t; started is a time
// taken before its rsync started (after the queue handed the batch out).
// The entries of b's paths go, and those below a directory of b that the
// sync covered. A full batch run with t (which must not carry crontab
// excludes: those paths were not sent) removes every entry of the remote
// recorded before started; later ones stay, to be replayed.
func (l *Log) Synced(t rsyncexec.Target, b queue.Batch, started time.Time) error {
	k := keyOf(t)
	if !l.set.mine(k) {
		return fmt.Errorf("%w: %s to %s", ErrUnknownTarget, k.root, k.remote)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	removed, told := l.set.synced(t, b, started)
	if !told || removed == 0 && (!l.dirty || l.file.backingOff()) {
		// Nothing changed; a file that lags behind waits for the lock's
		// backoff to end rather than fail (and be logged) at every batch.
		return nil
	}
	l.st.Cleared += uint64(removed)
	if removed > 0 {
		l.log.Info("failLog entries synced", "file", l.file.path, "root", k.root, "remote", k.remote, "cleared", removed, "left", len(l.set.paths[k]))
	}
	return l.writeLocked()
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
	return l.set.entries()
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
		l.file.endBackoff()
		if err := l.writeLocked(); err != nil {
			l.log.Error("failLog not written; the entries stay in memory and are written at the next change or replay",
				"file", l.file.path, "err", err)
		}
	}
	return l.set.entries()
}

// NextReplay returns when Due will next hand entries out.
func (l *Log) NextReplay() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Path returns the failLog's file name.
func (l *Log) Path() string { return l.file.path }

// Stats returns the counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.st
	s.Entries, s.Full, s.Others = l.set.count(), len(l.set.full), l.others
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
	l.file.endBackoff()
	return l.writeLocked()
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
	wait := l.file.nextWait()
	unlock, err := l.file.lock(wait)
	if err != nil {
		l.file.lockFailed(err, wait)
		return err
	}
	defer unlock()
	return l.writeHeld()
}

// writeHeld is writeLocked for a caller that also holds the file lock.
func (l *Log) writeHeld() error {
	data, err := l.file.read(false)
	if err != nil {
		return err
	}
	var blocks []string
	for _, e := range l.set.entries() {
		blocks = append(blocks, l.entryText(e))
	}
	l.others = 0
	for _, b := range parse(data) {
		switch {
		case b.e != nil && l.set.mine(b.e.key()):
			// memory holds the current state of our entries
		case b.e != nil:
			blocks = append(blocks, b.raw)
			l.others++
		default:
			blocks = append(blocks, commented(b.raw))
			l.others++
		}
	}
	return l.file.write(render(blocks))
}

// entryText renders one entry of a configured target: #errno line, the
// #sersync2 line, the rsync command (for a full sync with a filter, one
// that deletes nothing: ByHandFullCommand; for a directory with a filter,
// the run that keeps out what the filter excludes below it now).
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
		cmd = rsyncexec.Commands(t, nil, []queue.Entry{e.QueueEntry()}, 1)[0].String()
	default:
		cmd = rsyncexec.Commands(t, []queue.Entry{e.QueueEntry()}, nil, 1)[0].String()
	}
	return e.errnoLine() + "\n" + e.metaLine() + "\n" + cmd + "\n"
}
