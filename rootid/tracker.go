package rootid

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Tracker answers, for each watch root, whether the file system recorded
// for it is at its path. A root with nothing recorded gets its identity
// recorded the first time it is checked, unless it looks like an unmounted
// mount point. All methods are safe for concurrent use.
type Tracker struct {
	file string // "" keeps the records in memory only
	log  *slog.Logger

	mu    sync.Mutex
	stamp fileStamp
	roots map[string]*rootState
}

type rootState struct {
	// target: the path is a local target, which is written to, not a
	// watch root; only messages differ.
	target bool
	rec    *Record // nil: nothing recorded
	// The last full probe's verdict, good while the root's signature is
	// sig; probed is false when there is none to reuse.
	sig     signature
	verdict error
	probed  bool
	warned  string // the suspicion last logged
}

// Open reads the records of file ("" keeps them in memory only, for this
// run) for roots. An unreadable or corrupt file is an error: the records
// are what keeps a mirror safe, and guessing would not be.
func Open(file string, roots []string, log *slog.Logger) (*Tracker, error) {
	return OpenWithTargets(file, roots, nil, log)
}

// OpenWithTargets is Open for watch roots and local targets: a local
// target (a directory on another disk or an NFS mount that sersync2
// writes to) is guarded as a root is, so that nothing is written into the
// bare mount point of an unmounted disk. Its records share the file, by
// path; a path is either a root or a target.
func OpenWithTargets(file string, roots, targets []string, log *slog.Logger) (*Tracker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{file: file, log: log, roots: map[string]*rootState{}}
	for _, r := range roots {
		t.roots[r] = &rootState{}
	}
	for _, r := range targets {
		t.roots[r] = &rootState{target: true}
	}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// reload reads the file again when it changed since it was last read (an
// operator accepted a root): the verdicts of changed records are dropped.
func (t *Tracker) reload() error {
	if t.file == "" {
		return nil
	}
	st := stampOf(t.file)
	if st == t.stamp {
		return nil
	}
	recs, err := load(t.file)
	if err != nil {
		return err
	}
	t.stamp = st
	// A root the file no longer lists keeps the record this run holds:
	// a file removed or rewritten by hand makes nothing present.
	for path, r := range t.roots {
		if rec, ok := recs[path]; ok && (r.rec == nil || *r.rec != rec) {
			r.rec, r.probed = &rec, false
		}
	}
	return nil
}

// Check returns nil when the file system recorded for root is at its path
// (recording it first when nothing is recorded and the root does not look
// like an unmounted mount point), else an *AbsentError saying why not. A
// cheap look (open, statx, statfs) decides while the root's mount stays
// the same; the mount table is read only when it changed. Roots Open was
// not given, and systems without identities, are always present.
func (t *Tracker) Check(root string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.roots[root]
	if r == nil {
		return nil
	}
	err := t.check(root, r)
	if ae, ok := err.(*AbsentError); ok && r.target && !ae.Target {
		c := *ae // a cached verdict is shared: never changed in place
		c.Target = true
		err = &c
	}
	return err
}

func (t *Tracker) check(root string, r *rootState) error {
	if err := t.reload(); err != nil {
		// The records cannot be read now: nothing can be proven.
		return &AbsentError{Root: root, Reason: ErrOtherFS, Detail: err.Error()}
	}
	sig, _, err := look(root, false)
	if errors.Is(err, ErrUnsupported) {
		return nil
	}
	if err != nil {
		r.probed = false
		return lookErr(root, r.rec, err)
	}
	if r.probed && sig == r.sig {
		return r.verdict
	}
	f, err := probe(root)
	if err != nil {
		r.probed = false
		return lookErr(root, r.rec, err)
	}
	if r.rec == nil {
		if why, hold := suspicious(root, f); why != "" {
			if r.warned != why {
				r.warned = why
				msg := "watch root looks like an unmounted mount point: its identity is not recorded until it no longer does"
				if r.target {
					msg = "local target looks like an unmounted mount point: its identity is not recorded until it no longer does"
				}
				t.log.Warn(msg, "root", root, "why", why, "synced", !hold, "accept_with", "--accept-root "+root)
			}
			// Not cached: files written to it or a mount over it end the
			// suspicion without changing anything a look sees.
			if hold {
				return &AbsentError{Root: root, Reason: ErrUnverified, Got: f.id, Detail: why}
			}
			return nil
		}
		rec := Record{ID: f.id, Recorded: time.Now().UTC().Truncate(time.Second)}
		r.rec = &rec
		if t.file != "" {
			if err := store(t.file, root, rec); err != nil {
				t.log.Error("watch root identity not saved: it is checked for this run only", "root", root, "err", err)
			}
			t.stamp = stampOf(t.file)
		}
		msg := "watch root identity recorded"
		if r.target {
			msg = "local target identity recorded"
		}
		t.log.Info(msg, "root", root, "identity", f.id.String())
	}
	r.sig, r.probed, r.verdict = sig, true, nil
	if why := Compare(r.rec.ID, f.id); why != nil {
		r.verdict = &AbsentError{Root: root, Reason: why, Want: r.rec.ID, Got: f.id}
	}
	return r.verdict
}

// lookErr turns a failed look at root into its AbsentError.
func lookErr(root string, rec *Record, err error) error {
	e := &AbsentError{Root: root, Reason: ErrGone, Detail: err.Error()}
	if rec != nil {
		e.Want = rec.ID
	}
	if !gone(err) {
		// Not a missing directory (permission, I/O): still no proof.
		e.Reason = ErrOtherFS
	}
	return e
}

// Report is what Inspect found about one root, for --check.
type Report struct {
	Root string
	// Recorded is the recorded identity, nil when none is.
	Recorded *Record
	// Found is the identity at the root's path now (zero when none).
	Found ID
	// Err is nil when Found matches Recorded, else an *AbsentError; with
	// nothing recorded it is non-nil only when the root would be held.
	Err error
	// Suspicion says why a root with nothing recorded looks like an
	// unmounted mount point ("" when it does not).
	Suspicion string
}

// Inspect reports the identity state of every root without recording
// anything.
func Inspect(file string, roots []string) ([]Report, error) {
	recs := map[string]Record{}
	if file != "" {
		var err error
		if recs, err = load(file); err != nil {
			return nil, err
		}
	}
	var out []Report
	for _, root := range roots {
		rp := Report{Root: root}
		if rec, ok := recs[root]; ok {
			rp.Recorded = &rec
		}
		f, err := probe(root)
		switch {
		case errors.Is(err, ErrUnsupported):
		case err != nil:
			rp.Err = lookErr(root, rp.Recorded, err)
		case rp.Recorded != nil:
			rp.Found = f.id
			if why := Compare(rp.Recorded.ID, f.id); why != nil {
				rp.Err = &AbsentError{Root: root, Reason: why, Want: rp.Recorded.ID, Got: f.id}
			}
		default:
			rp.Found = f.id
			var hold bool
			if rp.Suspicion, hold = suspicious(root, f); hold {
				rp.Err = &AbsentError{Root: root, Reason: ErrUnverified, Got: f.id, Detail: rp.Suspicion}
			}
		}
		out = append(out, rp)
	}
	return out, nil
}

// Accept records the identity found at root now as root's, replacing any
// earlier record: the one way to tell sersync2 that the data really moved
// to another file system. A running sersync2 sees the new record within
// a second. It returns the identity recorded and the one it replaced
// (nil when none).
func Accept(file, root string) (ID, *Record, error) {
	if file == "" {
		return ID{}, nil, errors.New("rootid: accept: no state directory")
	}
	f, err := probe(root)
	if err != nil {
		return ID{}, nil, fmt.Errorf("rootid: accept %s: %w", root, err)
	}
	recs, err := load(file)
	if err != nil {
		return ID{}, nil, err
	}
	var prev *Record
	if rec, ok := recs[root]; ok {
		prev = &rec
	}
	rec := Record{ID: f.id, Recorded: time.Now().UTC().Truncate(time.Second), Accepted: true}
	if err := store(file, root, rec); err != nil {
		return ID{}, nil, err
	}
	return f.id, prev, nil
}
