// Watcher, its Options, Stats and Check, and the backend interface the
// kernel backends implement; what the backends share to emit Events.

package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sersync-go/sersync2/confxml"
)

var (
	// ErrOverflow is the Err of an OpOverflow caused by the kernel event
	// queue overflowing (IN_Q_OVERFLOW): events were lost.
	ErrOverflow = errors.New("inotifymask: kernel event queue overflowed (raise sysctl fs.inotify.max_queued_events)")
	// ErrWatchLimit is the Err of an OpOverflow (and wrapped in the error of
	// New) when a directory could not be watched because the inotify watch
	// limit is reached (ENOSPC).
	ErrWatchLimit = errors.New("inotifymask: inotify watch limit reached (raise sysctl fs.inotify.max_user_watches)")
	// ErrRootOverlap is returned by New when one watch root contains another.
	ErrRootOverlap = errors.New("inotifymask: watch roots overlap")
	// ErrReadFailed is the Err of the OpOverflow sent for every root when
	// reading events failed and the watcher stopped watching.
	ErrReadFailed = errors.New("inotifymask: reading events failed; watching stopped")
	// ErrRootReturned is the Err of the OpOverflow sent when a watch root
	// that had disappeared (removed, moved away, unmounted) is back and
	// watched again: what changed while it was away is unknown.
	ErrRootReturned = errors.New("inotifymask: watch root is back after it disappeared")
	// ErrUnwatched is the Err of the OpOverflow sent when a directory could
	// not be watched for longer than the watcher waits for a pending rename
	// to explain it: the root was walked again.
	ErrUnwatched = errors.New("inotifymask: a new directory could not be watched; root walked again")
	// ErrClosed is returned by Next once Close was called.
	ErrClosed = errors.New("inotifymask: watcher closed")
)

// Options configures a Watcher.
type Options struct {
	// Roots are the absolute watch roots (every <localpath watch=…>). Each
	// is its own tree; Events carry the root as written here. Roots must
	// not contain one another.
	Roots []string
	// Inotify holds the eight <inotify> toggles (see the package doc for
	// what each one being off means).
	Inotify confxml.Inotify
	// Filter holds the <filter> excludes and SyncDotfiles.
	Filter confxml.Filter
	// Debug, when non-nil, receives the original's debug lines:
	// "add watch: PATH return wd is: WD" for every watch added and
	// "inotify wd:WD\tname:NAME\tmask:MASK" for every raw event before
	// filtering. It is called from the watcher's goroutines, one line at a
	// time.
	Debug func(line string)
	// Logger receives warnings and errors; nil discards them.
	Logger *slog.Logger
	// Backend is the kernel backend asked for ("" is inotify); see
	// Backend's values and Watcher.Backends.
	Backend Backend
	// RootCheck, when set, says whether the directory at a root's path
	// is the root's own file system (nil) or why not. A root it refuses
	// is absent: not watched, and looked for every second until it passes
	// again, then watched and walked again and reported with an
	// OpOverflow (ErrRootReturned), as a root that was removed. It is
	// asked at the start, every second for each watched root (a file
	// system mounted over a watched directory gives no event), and while a
	// root is missing (raw inotify only). Without it, a root that is back
	// after an unmount counts as back unless it is on the device of the
	// bare mount point seen at the unmount.
	RootCheck func(root string) error
}

// MissingRoot is a root that is missing, and why.
type MissingRoot struct {
	Root   string // as configured
	Reason string
	Since  time.Time
}

// Stats is a snapshot of a Watcher's counters.
type Stats struct {
	// Watches is the number of directories watched now.
	Watches int
	// Overflows counts kernel queue overflows (each one rescanned every
	// root and sent one OpOverflow per root).
	Overflows uint64
	// WatchLimitErrors counts directories that could not be watched because
	// of the watch limit (ENOSPC).
	WatchLimitErrors uint64
	// EventsRead counts raw events read from the kernel (fsnotify events
	// with the fsnotify backend).
	EventsRead uint64
	// EventsSent counts events handed out by Next.
	EventsSent uint64
	// Backlog is the number of raw events not yet processed plus events not
	// yet handed out; MaxBacklog is its highest value so far.
	Backlog    int
	MaxBacklog int
	// MissingRoots lists the roots (as configured) that disappeared and
	// have not come back yet, Missing the same with why and since when.
	MissingRoots []string
	Missing      []MissingRoot
	// Deferred is the number of directories waiting to be watched until
	// the renames that moved them are processed.
	Deferred int
}

// CheckReport is what Check found.
type CheckReport struct {
	// Dirs is the number of directories found below the roots (excluded
	// ones and what is below them not counted), roots included.
	Dirs int
	// Watches is the number of watches the watcher holds (fanotify: the
	// directories its tree holds).
	Watches int
	// Covered is the number of directories found that have no watch of
	// their own because their file system's fanotify mark covers them.
	// With nothing unwatched or stale, Dirs = Watches + Covered.
	Covered int
	// Unwatched lists directories (absolute paths) that exist but have no
	// watch under their path.
	Unwatched []string
	// Stale lists watches (by the absolute path the watcher has for them)
	// whose directory is not at that path.
	Stale []string
	// MissingRoots lists roots that are gone; nothing below them is checked.
	MissingRoots []string
}

// OK reports whether every directory is watched and no watch is stale.
func (r CheckReport) OK() bool { return len(r.Unwatched) == 0 && len(r.Stale) == 0 }

// Watcher watches every root recursively and queues what changed for Next.
type Watcher struct {
	opts   Options
	tune   tuning
	log    *slog.Logger
	filter filter
	roots  []string // cleaned absolute roots, parallel to opts.Roots

	out    fifo[Event]
	b      backend
	chosen []RootBackend // parallel to roots

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	overflows  atomic.Uint64
	limitErrs  atomic.Uint64
	eventsRead atomic.Uint64
	eventsSent atomic.Uint64
	backlog    atomic.Int64
	maxBacklog atomic.Int64
}

// backend is what differs between raw inotify and fsnotify.
type backend interface {
	// start adds the watches of every root (the initial walk) and starts
	// the backend's goroutines (counted in w.wg). Events that happen while
	// it runs are queued, not lost.
	start() error
	// interrupt makes the goroutines notice that w.done is closed.
	interrupt()
	// close releases the kernel resources once the goroutines returned.
	close() error
	// watches returns the number of watched directories.
	watches() int
	// checkRequests takes a reply channel; the goroutine that owns the
	// watches answers with a CheckReport once every event read so far is
	// processed.
	checkRequests() chan<- chan CheckReport
	// missing returns the roots that are gone, and the number of
	// directories waiting to be watched.
	missing() ([]MissingRoot, int)
	// markAbsent asks for the root of index idx to be treated as gone
	// for the reason why (see Watcher.RootAbsent).
	markAbsent(idx int, why string)
}

type backendKind uint8

const (
	kindDefault backendKind = iota
	kindInotify
	kindFsnotify
	kindFanotify
	// kindAuto chooses per root from Options.Backend.
	kindAuto
)

// tuning holds what tests may change; New uses defaultTuning.
type tuning struct {
	kind backendKind
	// pairWait is how long a MOVED_FROM at the end of what was read waits
	// for its MOVED_TO before it counts as a move out.
	pairWait time.Duration
	// quiet is the fsnotify backend's close_write approximation: a file is
	// reported this long after its last write.
	quiet time.Duration
	// addWatch runs add, which adds the watch of the directory abs; the
	// default just runs it. A seam: tests wrap it to observe or fail
	// watch adds.
	addWatch func(abs string, add func() error) error
	// read reads inotify events from f (raw inotify); the default is
	// readEvents. A seam: tests hold the reader with it.
	read func(r *kernelReader, buf []byte) (int, error)
	// readGap is the least time between two reads while events come
	// fast (raw inotify), readBusy how many events in 100 ms that takes
	// (<= 0: always; tests).
	readGap  time.Duration
	readBusy int
	// retryWait is how long a directory that could not be watched at the
	// path the tree gave waits before it is tried again when no event
	// arrives first; retryGiveUp is how long it is tried before the root
	// is walked again.
	retryWait   time.Duration
	retryGiveUp time.Duration
	// rootPoll is how often a root that disappeared is looked for.
	rootPoll time.Duration
	// rootNag is how often a root that is still missing is logged again.
	rootNag time.Duration
	// fanCache bounds the directories the fanotify backend keeps by
	// handle (and, apart, those it found outside every root): past it the
	// cache starts again from the roots.
	fanCache int
}

// fanCacheSize is how many directories the fanotify backend keeps by
// handle, and how many handles outside the roots it remembers: enough
// for the directories a busy tree writes in at once, while a directory
// dropped from the cache costs only a handful of system calls when an
// event names it again.
const fanCacheSize = 1 << 16

// readGap is the least time between two reads of the inotify fd while
// events keep coming: a burst is taken in chunks, one wake-up of the
// daemon per chunk, at most 5 ms late, well below the queue's shortest
// quiet gap (12 ms), so batching sees the same pauses.
const readGap = 5 * time.Millisecond

// readBusy is how many events in 100 ms make the reads paced: about
// 1,000 events, 500 new files, per second. Below that a wait would cost a
// wake-up of its own and save none.
const readBusy = 100

func defaultTuning() tuning {
	return tuning{
		kind: kindDefault, pairWait: 5 * time.Millisecond, quiet: 500 * time.Millisecond,
		addWatch: func(_ string, add func() error) error { return add() },
		read:     readEvents,
		readGap:  readGap, readBusy: readBusy,
		retryWait: 50 * time.Millisecond, retryGiveUp: 30 * time.Second,
		rootPoll: time.Second, rootNag: time.Minute,
		fanCache: fanCacheSize,
	}
}

// New starts watching every root of opts. It returns once every directory
// below every root is watched; changes made while it walks the trees are
// reported, not lost. Running out of watches is an error wrapping
// ErrWatchLimit.
func New(opts Options) (*Watcher, error) {
	return newWatcher(opts, defaultTuning())
}

func newWatcher(opts Options, tune tuning) (*Watcher, error) {
	if len(opts.Roots) == 0 {
		return nil, errors.New("inotifymask: no watch root")
	}
	roots := make([]string, len(opts.Roots))
	for i, r := range opts.Roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("inotifymask: watch root %q is not absolute", r)
		}
		roots[i] = filepath.Clean(r)
	}
	for i, a := range roots {
		for _, b := range roots[i+1:] {
			if within(a, b) || within(b, a) {
				return nil, fmt.Errorf("inotifymask: %q and %q: %w", a, b, ErrRootOverlap)
			}
		}
	}
	flt, err := newFilter(opts.Filter)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		opts:   opts,
		tune:   tune,
		log:    log,
		filter: flt,
		roots:  roots,
		out:    newFifo[Event](),
		done:   make(chan struct{}),
	}
	kind := tune.kind
	if kind == kindDefault {
		kind = defaultKind
	}
	if err := w.startBackends(kind); err != nil {
		return nil, err
	}
	if err := w.b.start(); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Next waits until events are queued and returns all of them, oldest
// first. It reuses buf's memory: pass the slice the previous call
// returned, whose events must no longer be used (nil is fine). Taking
// everything at once costs one wake-up per burst instead of one per
// event. Next returns ErrClosed once Close was called (events not taken
// are dropped) and ctx.Err() when ctx ends first. One goroutine at a time
// may call it.
func (w *Watcher) Next(ctx context.Context, buf []Event) ([]Event, error) {
	clear(buf)
	for {
		if w.closing() {
			return buf[:0], ErrClosed
		}
		buf = w.out.take(buf)
		if len(buf) > 0 {
			w.eventsSent.Add(uint64(len(buf)))
			w.addBacklog(-len(buf))
			return buf, nil
		}
		select {
		case <-w.out.ready:
		case <-w.done:
		case <-ctx.Done():
			return buf, ctx.Err()
		}
	}
}

// Close stops watching and waits for the watcher's goroutines; Next
// returns ErrClosed from then on. It is safe to call more than once.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.done)
		w.b.interrupt()
		w.wg.Wait()
		w.closeErr = w.b.close()
	})
	return w.closeErr
}

// Check walks every root and compares the directories it finds with the
// watches, once every event read so far has been processed. On a tree
// that is not changing, a report that is not OK is a bug: the watcher
// keeps every directory below a root watched under its current path.
// While the tree changes, directories whose events are still queued may
// be listed.
func (w *Watcher) Check(ctx context.Context) (CheckReport, error) {
	errClosed := errors.New("inotifymask: check: watcher closed")
	reply := make(chan CheckReport, 1)
	select {
	case w.b.checkRequests() <- reply:
	case <-ctx.Done():
		return CheckReport{}, ctx.Err()
	case <-w.done:
		return CheckReport{}, errClosed
	}
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return CheckReport{}, ctx.Err()
	case <-w.done:
		return CheckReport{}, errClosed
	}
}

// RootAbsent tells the watcher that root (as configured) was found not to
// be its file system by a check of the caller's own: the watcher drops its
// watches at once, as if the root had gone, and looks for it again with
// Options.RootCheck; when it passes, the root is watched again and an
// OpOverflow (ErrRootReturned) follows, even if the absence was brief:
// what happened meanwhile is unknown. It returns at once.
func (w *Watcher) RootAbsent(root string, why string) {
	for i, r := range w.opts.Roots {
		if r == root {
			w.b.markAbsent(i, why)
		}
	}
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() Stats {
	missing, deferred := w.b.missing()
	var roots []string
	for _, m := range missing {
		roots = append(roots, m.Root)
	}
	return Stats{
		MissingRoots:     roots,
		Missing:          missing,
		Deferred:         deferred,
		Watches:          w.b.watches(),
		Overflows:        w.overflows.Load(),
		WatchLimitErrors: w.limitErrs.Load(),
		EventsRead:       w.eventsRead.Load(),
		EventsSent:       w.eventsSent.Load(),
		Backlog:          int(w.backlog.Load()),
		MaxBacklog:       int(w.maxBacklog.Load()),
	}
}

// addBacklog counts n more (or, negative, fewer) events waiting.
func (w *Watcher) addBacklog(n int) {
	v := w.backlog.Add(int64(n))
	for {
		m := w.maxBacklog.Load()
		if v <= m || w.maxBacklog.CompareAndSwap(m, v) {
			return
		}
	}
}

// closing reports whether Close was called.
func (w *Watcher) closing() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *Watcher) debug(format string, args ...any) {
	if w.opts.Debug != nil {
		w.opts.Debug(fmt.Sprintf(format, args...))
	}
}

// emit queues ev for Next.
func (w *Watcher) emit(ev Event) {
	w.addBacklog(1)
	w.out.push(ev)
}

func (w *Watcher) update(root int, rel string, dir bool, mask uint32) {
	w.emit(Event{Root: w.opts.Roots[root], Path: rel, Op: OpUpdate, Dir: dir, Mask: mask})
}

func (w *Watcher) remove(root int, rel string, dir bool, mask uint32) {
	w.emit(Event{Root: w.opts.Roots[root], Path: rel, Op: OpRemove, Dir: dir, Mask: mask})
}

func (w *Watcher) overflow(root int, err error) {
	w.emit(Event{Root: w.opts.Roots[root], Op: OpOverflow, Err: err})
}

// walkMode says what a directory walk reports about what it finds.
type walkMode uint8

const (
	// walkSilent reports nothing: the initial walk, the rescan after an
	// overflow, a directory moved in while moveTo is off.
	walkSilent walkMode = iota
	// walkCreated: the directory was just created; what is already in it
	// arrived before its watch and is reported as OpUpdate: files always,
	// directories when createFolder is on.
	walkCreated
	// walkMovedIn: the directory was moved in (moveTo on): everything in it
	// is reported.
	walkMovedIn
	// walkChangedSince: the directory was moved in with moveTo off: only
	// what changed after the move is reported (raw inotify only).
	walkChangedSince
)

// reportScanned says whether a walk in mode m reports an entry it found.
func (w *Watcher) reportScanned(m walkMode, dir bool) bool {
	switch m {
	case walkCreated:
		return !dir || w.opts.Inotify.CreateFolder
	case walkMovedIn:
		return true
	}
	return false
}

// limitHit logs and counts a watch refused for ENOSPC.
func (w *Watcher) limitHit(abs string, err error) {
	// Logged the 1st, 2nd, 4th, 8th... time: visible, but no flood.
	if n := w.limitErrs.Add(1); n&(n-1) == 0 || w.opts.Debug != nil {
		w.log.Error("cannot watch directory: inotify watch limit reached",
			"path", abs, "sysctl", "fs.inotify.max_user_watches", "err", err)
	}
}

// joinRel joins a relative directory and a name.
func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// absPath returns the absolute path of rel below the cleaned root.
func absPath(root, rel string) string {
	switch {
	case rel == "":
		return root
	case root == "/":
		return "/" + rel
	}
	return root + "/" + rel
}

// baseName returns the last element of a relative path.
func baseName(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

// Log writes the report to log: one error line per problem, then one
// summary line ("watch check done").
func (r CheckReport) Log(log *slog.Logger) {
	for _, p := range r.Unwatched {
		log.Error("watch check: directory not watched", "path", p)
	}
	for _, p := range r.Stale {
		log.Error("watch check: watch of a gone directory", "path", p)
	}
	for _, p := range r.MissingRoots {
		log.Error("watch check: watch root is missing", "root", p)
	}
	log.Info("watch check done", "dirs", r.Dirs, "watches", r.Watches, "covered", r.Covered,
		"unwatched", len(r.Unwatched), "stale", len(r.Stale), "missing_roots", len(r.MissingRoots))
}
