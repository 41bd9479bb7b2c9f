// Which kernel backend watches each root, and the backend that splits the
// roots between two of them (inotify for roots fanotify cannot watch).

package inotifymask

import (
	"errors"
	"fmt"
	"slices"
)

// Backend names a kernel backend, as --watcher takes it.
type Backend string

const (
	// BackendInotify watches every directory with an inotify watch; it
	// works everywhere on Linux (the default of Options.Backend; sersync2's
	// is auto).
	BackendInotify Backend = "inotify"
	// BackendFanotify watches each root's file system with one fanotify
	// mark: no watch per directory, no watch limit. It needs
	// CAP_SYS_ADMIN, Linux >= 5.17 and a file system that gives file
	// handles (FanotifyUsable).
	BackendFanotify Backend = "fanotify"
	// BackendAuto picks fanotify for each root it can watch, inotify for
	// the others.
	BackendAuto Backend = "auto"
)

// ParseBackend checks a --watcher value.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case BackendInotify, BackendFanotify, BackendAuto:
		return b, nil
	}
	return "", fmt.Errorf("inotifymask: watcher %q: want auto, inotify or fanotify", s)
}

// ErrNoFanotify wraps why fanotify cannot watch a root (the error of New
// when fanotify was asked for).
var ErrNoFanotify = errors.New("inotifymask: fanotify cannot watch this root")

// String returns the backend's name; "" is inotify.
func (b Backend) String() string {
	if b == "" {
		return string(BackendInotify)
	}
	return string(b)
}

// Set sets the backend from a --watcher value (pflag.Value).
func (b *Backend) Set(s string) error {
	v, err := ParseBackend(s)
	if err == nil {
		*b = v
	}
	return err
}

// Type names the values a flag takes (pflag.Value).
func (b *Backend) Type() string { return "BACKEND" }

// RootBackend says which backend watches a root, and why.
type RootBackend struct {
	Root    string // as configured
	Backend Backend
	Reason  string
}

// ChooseBackend says which backend watches root when b is asked for:
// an error (wrapping ErrNoFanotify) when fanotify is asked for and cannot
// watch it.
func ChooseBackend(b Backend, root string) (RootBackend, error) {
	rb := RootBackend{Root: root, Backend: BackendInotify, Reason: "asked for"}
	switch b {
	case "", BackendInotify:
		return rb, nil
	case BackendFanotify:
		if err := FanotifyUsable(root); err != nil {
			return rb, err
		}
		return RootBackend{Root: root, Backend: BackendFanotify, Reason: "asked for"}, nil
	}
	if err := FanotifyUsable(root); err != nil {
		rb.Reason = err.Error()
		return rb, nil
	}
	return RootBackend{Root: root, Backend: BackendFanotify,
		Reason: "CAP_SYS_ADMIN, a kernel with fanotify names and renames, a file system with file handles"}, nil
}

// Backends says which backend watches each root, and why.
func (w *Watcher) Backends() []RootBackend { return slices.Clone(w.chosen) }

// startBackends chooses a backend for each root and creates what watches
// them: one backend, or a splitBackend when the roots need both.
func (w *Watcher) startBackends(kind backendKind) error {
	byKind := map[backendKind][]int{}
	var order []backendKind
	add := func(k backendKind, i int) {
		if byKind[k] == nil {
			order = append(order, k)
		}
		byKind[k] = append(byKind[k], i)
	}
	for i, r := range w.opts.Roots {
		k := kind
		rb := RootBackend{Root: r, Backend: BackendInotify, Reason: "asked for"}
		switch kind {
		case kindFanotify:
			rb.Backend = BackendFanotify
		case kindFsnotify:
			rb.Backend = "fsnotify"
		case kindAuto:
			var err error
			rb, err = ChooseBackend(w.opts.Backend, r)
			if err != nil {
				return err
			}
			k = kindInotify
			if rb.Backend == BackendFanotify {
				k = kindFanotify
			}
		}
		w.chosen = append(w.chosen, rb)
		add(k, i)
		w.log.Info("watch root backend", "root", r, "backend", rb.Backend, "reason", rb.Reason)
	}
	var parts []backend
	for _, k := range order {
		var b backend
		var err error
		switch k {
		case kindInotify:
			b, err = newInotifyBackend(w, byKind[k])
		case kindFanotify:
			b, err = newFanotifyBackend(w, byKind[k])
		default:
			b, err = newFsnotifyBackend(w)
		}
		if err != nil {
			for _, p := range parts {
				_ = p.close()
			}
			return err
		}
		parts = append(parts, b)
	}
	w.b = parts[0]
	if len(parts) > 1 {
		w.b = &splitBackend{w: w, parts: parts, checks: make(chan chan CheckReport), owner: byKind, order: order}
	}
	return nil
}

// splitBackend runs a backend per kind, each over its own roots.
type splitBackend struct {
	w      *Watcher
	parts  []backend
	order  []backendKind // parts[i] is of kind order[i]
	owner  map[backendKind][]int
	checks chan chan CheckReport
}

func (s *splitBackend) start() error {
	for _, p := range s.parts {
		if err := p.start(); err != nil {
			return err
		}
	}
	s.w.wg.Add(1)
	go s.serveChecks()
	return nil
}

func (s *splitBackend) interrupt() {
	for _, p := range s.parts {
		p.interrupt()
	}
}

func (s *splitBackend) close() error {
	var errs []error
	for _, p := range s.parts {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

func (s *splitBackend) watches() int {
	n := 0
	for _, p := range s.parts {
		n += p.watches()
	}
	return n
}

func (s *splitBackend) checkRequests() chan<- chan CheckReport { return s.checks }

// serveChecks answers each Check with the reports of every part merged.
func (s *splitBackend) serveChecks() {
	defer s.w.wg.Done()
	for {
		var reply chan CheckReport
		select {
		case reply = <-s.checks:
		case <-s.w.done:
			return
		}
		var all CheckReport
		for _, p := range s.parts {
			sub := make(chan CheckReport, 1)
			select {
			case p.checkRequests() <- sub:
			case <-s.w.done:
				return
			}
			var r CheckReport
			select {
			case r = <-sub:
			case <-s.w.done:
				return
			}
			all.Dirs += r.Dirs
			all.Watches += r.Watches
			all.Covered += r.Covered
			all.Unwatched = append(all.Unwatched, r.Unwatched...)
			all.Stale = append(all.Stale, r.Stale...)
			all.MissingRoots = append(all.MissingRoots, r.MissingRoots...)
		}
		slices.Sort(all.Unwatched)
		slices.Sort(all.Stale)
		reply <- all
	}
}

func (s *splitBackend) missing() ([]MissingRoot, int) {
	var roots []MissingRoot
	n := 0
	for _, p := range s.parts {
		r, d := p.missing()
		roots = append(roots, r...)
		n += d
	}
	return roots, n
}

func (s *splitBackend) markAbsent(idx int, why string) {
	for i, k := range s.order {
		if slices.Contains(s.owner[k], idx) {
			s.parts[i].markAbsent(idx, why)
		}
	}
}
