// The tree of watched directories, shared by the kernel backends: the
// nodes keyed by the backend's id for each watched directory, the paths
// they give, and the kernelWatches interface through which the tree adds,
// identifies and removes watches without knowing the kernel's interface.

package inotifymask

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// dirID is a kernel backend's name for one watched directory (inotify:
// its watch descriptor). The backend hands ids out; the tree only maps
// them to nodes.
type dirID int32

// kernelWatches is what a kernel backend does for the tree. Errors wrap
// the system call's errno: ENOSPC when the watch limit is reached, ENOENT
// or ENOTDIR when no directory is there.
type kernelWatches interface {
	// watchRoot adds (or finds) the watch of the root directory abs,
	// following abs if it is a symlink.
	watchRoot(abs string) (dirID, error)
	// watchChild adds (or finds) the watch of the directory name in the
	// open directory parent, whose absolute path is abs; a symlink is not
	// followed.
	watchChild(parent *os.File, name, abs string) (dirID, error)
	// identify returns the id of the open directory f (opened at abs),
	// adding its watch if it has none, as a root's when root.
	identify(f *os.File, abs string, root bool) (dirID, error)
	// unwatch removes the watch id; one the kernel dropped already is no
	// error.
	unwatch(id dirID)
}

// dirNode is one watched directory. Paths are not stored: a node knows
// its name and parent, so a renamed directory moves with everything below
// it and no path can go stale.
type dirNode struct {
	id       dirID
	gen      uint32
	name     string
	parent   *dirNode
	tree     *rootTree // set on a root's node only
	children map[string]*dirNode
}

// isRoot reports whether n is the node of a root.
func (n *dirNode) isRoot() bool { return n.tree != nil && n.parent == nil }

// locate returns the node's tree and relative path.
func (n *dirNode) locate() (*rootTree, string) {
	if n.parent == nil {
		return n.tree, ""
	}
	var stack [16]string
	names := stack[:0]
	size := 0
	for ; n.parent != nil; n = n.parent {
		names = append(names, n.name)
		size += len(n.name) + 1
	}
	var sb strings.Builder
	sb.Grow(size)
	for i := len(names) - 1; i >= 0; i-- {
		sb.WriteString(names[i])
		if i > 0 {
			sb.WriteByte('/')
		}
	}
	return n.tree, sb.String()
}

// contains reports whether d is n or below it.
func (n *dirNode) contains(d *dirNode) bool {
	for ; d != nil; d = d.parent {
		if d == n {
			return true
		}
	}
	return false
}

// unlink detaches n from its parent.
func (n *dirNode) unlink() {
	if n.parent != nil {
		if n.parent.children[n.name] == n {
			delete(n.parent.children, n.name)
		}
		n.parent = nil
	}
}

// rootTree is one watch root: its path, its node while it is watched, and
// while it is gone why (roots_linux.go).
type rootTree struct {
	idx  int
	abs  string // cleaned
	node *dirNode

	// Set while the root is gone (removed, moved away, unmounted, or
	// refused by Options.RootCheck).
	gone      bool
	unmounted bool
	bareDev   uint64 // device found at abs right after an unmount
	bareKnown bool
	why       string
	since     time.Time
	nagged    time.Time
	// checked is when Options.RootCheck last passed the watched root.
	checked time.Time
}

// errNoWatch wraps a failure to add (or look up) the watch of a directory
// that could be opened.
var errNoWatch = errors.New("inotifymask: cannot watch")

// errStale says that the directory at the path the tree gives for a node
// is not that node's directory (or there is none): a rename of an
// ancestor has not been processed yet.
var errStale = errors.New("inotifymask: directory is not where the tree says (rename not processed yet)")

// watchTree keeps every directory below the roots watched under its
// current path: the node tree, the roots' lifecycle, deferred attaches,
// walks and the self-check. A kernel backend embeds it, supplies k, and
// calls it from the one goroutine that applies its events.
type watchTree struct {
	w *Watcher
	k kernelWatches
	// lazy is set by a backend that sees every directory of a marked file
	// system without a watch of its own (fanotify): the tree then holds
	// only the directories events named, and their ancestors, each found
	// when first named; nothing is walked to be watched, and a directory
	// the tree does not hold is not unwatched.
	lazy bool

	// Owned by New's goroutine until the backend's start returns, then by
	// the goroutine that applies events.
	nodes      map[dirID]*dirNode
	trees      []*rootTree
	gen        uint32
	limitHit   bool
	deferred   map[attachKey]*attachReq
	retryRound uint64

	nwatches atomic.Int64

	// What Stats reads of the owning goroutine's state.
	statMu      sync.Mutex
	statMissing []MissingRoot
	statDefer   int
	// absentReq carries Watcher.RootAbsent's requests to the owning
	// goroutine: the index of a root and why.
	absentMu  sync.Mutex
	absentReq map[int]string
	absentC   chan struct{}
}

// init sets up an empty tree for the roots of w with the indexes roots,
// watched through k.
func (wt *watchTree) init(w *Watcher, k kernelWatches, roots []int) {
	wt.w, wt.k = w, k
	wt.nodes = make(map[dirID]*dirNode)
	wt.deferred = make(map[attachKey]*attachReq)
	wt.absentC = make(chan struct{}, 1)
	for _, i := range roots {
		wt.trees = append(wt.trees, &rootTree{idx: i, abs: w.roots[i]})
	}
}

func (wt *watchTree) watches() int { return int(wt.nwatches.Load()) }

// where returns the tree and relative path of n, false when n is no
// longer in a watched tree.
func (wt *watchTree) where(n *dirNode) (*rootTree, string, bool) {
	top := n
	for top.parent != nil {
		top = top.parent
	}
	if top.tree == nil || top.tree.node != top || top.tree.gone {
		return nil, "", false
	}
	t, rel := n.locate()
	return t, rel, true
}

// addRoot adds (or re-adds) a root's own watch.
func (wt *watchTree) addRoot(t *rootTree, initial bool) error {
	id, err := wt.k.watchRoot(t.abs)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			wt.w.limitHit(t.abs, err)
			return fmt.Errorf("watching root %s: %w: %w", t.abs, ErrWatchLimit, err)
		}
		return fmt.Errorf("inotifymask: watching root %s: %w", t.abs, err)
	}
	if n := wt.nodes[id]; n != nil {
		if n == t.node {
			n.gen = wt.gen
			return nil
		}
		if initial || n.tree != nil {
			return fmt.Errorf("inotifymask: root %s is already watched: %w", t.abs, ErrRootOverlap)
		}
		// The root directory is now one we watched below another place.
		wt.drop(n)
	}
	if t.node != nil && wt.nodes[t.node.id] == t.node {
		// The root was replaced: its old directory is elsewhere now.
		delete(wt.nodes, t.node.id)
		wt.nwatches.Add(-1)
		wt.k.unwatch(t.node.id)
	}
	n := &dirNode{id: id, gen: wt.gen, tree: t}
	t.node = n
	wt.nodes[id] = n
	wt.nwatches.Add(1)
	return nil
}

// addChild watches the directory name of parent (open as pf), at rel.
// Failures are logged here; ENOSPC also sets limitHit.
func (wt *watchTree) addChild(t *rootTree, parent *dirNode, pf *os.File, name, rel string) (*dirNode, error) {
	abs := absPath(t.abs, rel)
	id, err := wt.k.watchChild(pf, name, abs)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			// Gone or replaced already; its own events tell the rest.
		case errors.Is(err, unix.ENOSPC):
			wt.limitHit = true
			wt.w.limitHit(abs, err)
		default:
			wt.w.log.Warn("cannot watch directory", "path", abs, "err", err)
		}
		return nil, err
	}
	if n := wt.nodes[id]; n != nil {
		n.gen = wt.gen
		if n.parent == parent && n.name == name {
			return n, nil
		}
		if n.tree != nil {
			wt.w.log.Warn("a watch root is reachable below a root (bind mount or move); not descending", "root", n.tree.abs, "path", abs)
			return nil, ErrRootOverlap
		}
		if n.contains(parent) {
			// The directory is below itself: a bind mount loop.
			wt.w.log.Warn("directory already watched above itself (bind mount loop?); not descending", "path", abs)
			return nil, unix.ELOOP
		}
		// The same directory, known at another place: a move whose
		// events are not processed yet. Where it is now is where it is.
		n.unlink()
		wt.link(parent, name, n)
		return n, nil
	}
	n := &dirNode{id: id, gen: wt.gen}
	wt.link(parent, name, n)
	wt.nodes[id] = n
	wt.nwatches.Add(1)
	return n, nil
}

// link makes n the child name of parent, dropping a stale child there.
func (wt *watchTree) link(parent *dirNode, name string, n *dirNode) {
	if old := parent.children[name]; old != nil && old != n {
		wt.drop(old)
	}
	if parent.children == nil {
		parent.children = make(map[string]*dirNode)
	}
	parent.children[name] = n
	n.parent = parent
	n.name = name
}

// drop removes the watches of n and everything below it.
func (wt *watchTree) drop(n *dirNode) {
	n.unlink()
	stack := []*dirNode{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, cc := range c.children {
			stack = append(stack, cc)
		}
		c.children = nil
		c.parent = nil
		if wt.nodes[c.id] == c {
			delete(wt.nodes, c.id)
			wt.nwatches.Add(-1)
			wt.k.unwatch(c.id)
		}
	}
}

// openNode opens n's directory at abs, the path the tree gives for it,
// and checks that what it opened is n: the kernel has n's id for it.
// errStale when it is another directory; ENOENT, ENOTDIR or ELOOP when
// nothing, or no directory, is there. Both happen while a rename of an
// ancestor has not been processed yet.
func (wt *watchTree) openNode(n *dirNode, abs string) (*os.File, error) {
	f, id, err := wt.openWatched(abs, n.isRoot())
	if err != nil {
		return nil, err
	}
	if id != n.id {
		wt.forget(id)
		f.Close()
		return nil, errStale
	}
	return f, nil
}

// openWatched opens the directory abs (a symlink is followed only for a
// root: below it a directory swapped for a symlink is not) and returns
// the id of what it opened, watched if it was not.
func (wt *watchTree) openWatched(abs string, root bool) (*os.File, dirID, error) {
	flags := os.O_RDONLY | unix.O_DIRECTORY
	if !root {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(abs, flags, 0)
	if err != nil {
		return nil, -1, err
	}
	id, err := wt.k.identify(f, abs, root)
	if err != nil {
		f.Close()
		return nil, -1, fmt.Errorf("%w %s: %w", errNoWatch, abs, err)
	}
	return f, id, nil
}

// forget removes a watch that openNode or the check added to a directory
// the tree does not know.
func (wt *watchTree) forget(id dirID) {
	if wt.nodes[id] == nil {
		wt.k.unwatch(id)
	}
}

// stillThere reports whether an error from openNode means the directory
// may be elsewhere or gone, so the attempt is deferred, not given up.
func stillThere(err error) bool {
	return errors.Is(err, errStale) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)
}
