package replicate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rootid"
)

// AbsentRoot is a watch root that is not its recorded file system (or is
// gone), why, and since when: nothing is synced from it until it is back.
type AbsentRoot = inotifymask.MissingRoot

// RootsFile is the file of the state directory dir that records the
// identity of each watch root of the configuration file config (see
// rootid), next to its state file.
func RootsFile(dir, config string) string {
	return strings.TrimSuffix(failog.StateFile(dir, config), ".state") + ".roots"
}

// AcceptRoot records the file system at the watch root or local target
// root of cfg now as that path's own, in the state directory dir
// (--accept-root): the one way to say that the data really moved to
// another file system. A running sersync2 sees it within a second. It
// returns the identity recorded and the record it replaced (nil when
// none).
func AcceptRoot(cfg confxml.Config, dir, root string) (rootid.ID, *rootid.Record, error) {
	for _, lp := range cfg.WatchRoots("") {
		if filepath.Clean(lp.Watch) == filepath.Clean(root) {
			return rootid.Accept(RootsFile(dir, cfg.Path), lp.Watch)
		}
	}
	for _, t := range localTargets(cfg.WatchRoots("")) {
		if t == filepath.Clean(root) {
			return rootid.Accept(RootsFile(dir, cfg.Path), t)
		}
	}
	return rootid.ID{}, nil, fmt.Errorf("replicate: %s is not a watch root or a local target of %s", root, cfg.Path)
}

// rootIdentities reports what is recorded and found for every watch root
// of cfg, then for every local target (--check), recording nothing.
func rootIdentities(cfg confxml.Config, dir string) ([]rootid.Report, error) {
	var roots []string
	for _, lp := range cfg.WatchRoots("") {
		roots = append(roots, lp.Watch)
	}
	targets := localTargets(cfg.WatchRoots(""))
	reps, err := rootid.Inspect(RootsFile(dir, cfg.Path), append(roots, targets...))
	if err != nil {
		return nil, err
	}
	for i := len(roots); i < len(reps); i++ {
		var ae *rootid.AbsentError
		if errors.As(reps[i].Err, &ae) {
			ae.Target = true
		}
	}
	return reps, nil
}

// localTargets returns the directories of the local targets of roots, in
// configuration order.
func localTargets(roots []confxml.LocalPath) []string {
	var out []string
	for _, lp := range roots {
		for _, r := range lp.Remotes {
			if r.Local() {
				out = append(out, r.Dir)
			}
		}
	}
	return out
}

// openIdentities starts following the identity of every root (sync mode):
// recorded in the state directory, or for this run only without one.
func (e *Engine) openIdentities() error {
	file := ""
	if e.opts.StateDir != "" && !e.opts.DryRun {
		file = RootsFile(e.opts.StateDir, e.cfg.Path)
	}
	ids, err := rootid.OpenWithTargets(file, e.roots, localTargets(e.cfg.WatchRoots("")), e.log)
	if err != nil {
		return err
	}
	e.ids = ids
	for _, root := range e.roots {
		e.gates[root] = &gate{}
	}
	for _, r := range e.remotes {
		if r.target.Remote.Local() {
			r.away = &targetAway{}
		}
	}
	return nil
}

// presence returns the check rsyncexec makes before each process of a
// batch of r (RunOptions.Present): r's root, and its local target, are
// still their recorded file systems. nil without identities.
func (e *Engine) presence(r *remote) func() error {
	if e.ids == nil {
		return nil
	}
	return func() error {
		if err := e.ids.Check(r.root); err != nil {
			return err
		}
		if r.away != nil {
			return e.ids.Check(r.dest)
		}
		return nil
	}
}

// present is the guard every batch passes before it starts (each process
// of it is checked again, see presence): it reports whether r's root
// is its recorded file system now. When it is not, the batch is handed
// back untried (its changes stay pending, nothing counts as a failure or
// goes to the failLog), the root's workers wait until the watcher reports
// it back (with a full sync), and the watcher is told, so that it stops
// watching what is at the path and looks for the root.
func (e *Engine) present(r *remote, q *queue.Queue, b queue.Batch) bool {
	if e.ids == nil {
		return true
	}
	err := e.ids.Check(r.root)
	if err == nil {
		return e.targetPresent(r, q, b)
	}
	q.Hold(b)
	if e.gates[r.root].shut() {
		e.log.Warn("syncs of the watch root held: it is absent; its changes are kept until it is back, then it is synced in full",
			"root", r.root, "remote", r.dest, "paths", b.Len(), "full", b.Full, "reason", b.Reason, "err", err)
	}
	e.watcher.RootAbsent(r.root, err.Error())
	return false
}

// rootBack opens the gate of a root the watcher reports back, once the
// full sync that event asks for is queued.
func (e *Engine) rootBack(root string) {
	if g := e.gates[root]; g != nil {
		g.open()
	}
}

// waitPresent blocks while the gate of r's root is shut; false when ctx
// ended first.
func (e *Engine) waitPresent(ctx context.Context, r *remote) bool {
	if r.away != nil && !r.away.gate.wait(ctx) {
		return false
	}
	g := e.gates[r.root]
	if g == nil {
		return true
	}
	return g.wait(ctx)
}

// gate holds the workers of an absent root.
type gate struct {
	mu sync.Mutex
	// opened is closed when the gate opens again; nil while it is open.
	opened chan struct{}
}

// shut closes the gate; it reports whether it was open.
func (g *gate) shut() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened != nil {
		return false
	}
	g.opened = make(chan struct{})
	return true
}

// isShut reports whether the gate is shut.
func (g *gate) isShut() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.opened != nil
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened != nil {
		close(g.opened)
		g.opened = nil
	}
}

func (g *gate) wait(ctx context.Context) bool {
	g.mu.Lock()
	c := g.opened
	g.mu.Unlock()
	if c == nil {
		return true
	}
	select {
	case <-c:
		return true
	case <-ctx.Done():
		return false
	}
}
