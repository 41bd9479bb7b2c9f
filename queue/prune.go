// Pruning a batch: the tree order of paths, and dropping the entries a
// directory removal or update in the same batch makes redundant.

package queue

import (
	"cmp"
	"slices"

	"github.com/sersync-go/sersync2/inotifymask"
)

// treeCompare orders paths in tree order: byte order, except that "/"
// sorts before every other byte. A directory's descendants then follow it
// contiguously ("a", "a/x", "a/y/z", "a-b", "ab"), which plain byte order
// does not give ("-" sorts before "/").
func treeCompare(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	switch {
	case a[i] == '/':
		return -1
	case b[i] == '/':
		return 1
	}
	return cmp.Compare(a[i], b[i])
}

// isUnder reports whether p is strictly below the directory anc ("" is the
// root, above every non-empty path).
func isUnder(p, anc string) bool {
	if anc == "" {
		return p != ""
	}
	return len(p) > len(anc) && p[len(anc)] == '/' && p[:len(anc)] == anc
}

// prune sorts ents in tree order and drops the entries that a kept
// ancestor among them makes redundant:
//
//   - a pending directory removal covers every change below it older than
//     the removal (the removal deletes the whole subtree remotely);
//   - a directory removed and created again since (now an update) still
//     covers the older updates below it (those files went with the old
//     directory), but not the removes: they delete what the old directory
//     left on the remote;
//   - with recursive, an update of a directory covers every update below
//     it, older or newer (the directory is sent with its content); removes
//     below it stay, since an update deletes nothing remotely.
//
// Only kept entries cover, so nothing is dropped in favour of an entry that
// is not sent. It runs in O(n log n) path comparisons and reuses ents.
func prune(ents []ent, recursive bool) []ent {
	slices.SortFunc(ents, func(a, b ent) int { return treeCompare(a.path, b.path) })
	type frame struct {
		path string
		rm   uint64 // newest pending directory removal on the chain
		gone uint64 // newest directory removal on the chain, recreated or not
		upd  bool   // some directory on the chain is updated (recursive)
	}
	var stack []frame
	kept := ents[:0]
	for _, e := range ents {
		for len(stack) > 0 && !isUnder(e.path, stack[len(stack)-1].path) {
			stack = stack[:len(stack)-1]
		}
		var top frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		update := e.it.op == inotifymask.OpUpdate
		if e.it.seq < top.rm || (update && (top.upd || e.it.seq < top.gone)) {
			continue
		}
		kept = append(kept, e)
		if e.it.covers() {
			f := frame{path: e.path, rm: top.rm, gone: max(top.gone, e.it.rmSeq), upd: top.upd}
			if update {
				f.upd = f.upd || (recursive && e.it.dir)
			} else if e.it.dir {
				f.rm = max(f.rm, e.it.seq)
			}
			stack = append(stack, f)
		}
	}
	clear(ents[len(kept):])
	return kept
}
