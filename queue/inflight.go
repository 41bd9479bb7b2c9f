package queue

import "strings"

// busyPaths indexes the paths of the batches in flight, so that a batch
// cut while others are in flight takes only paths disjoint from theirs: no
// path equal to, above or below one being synced (Options.MaxInFlight).
type busyPaths struct {
	exact map[string]int // in-flight entries at the path
	under map[string]int // in-flight entries strictly below the path
}

func (bp *busyPaths) add(p string, d int) {
	if bp.exact == nil {
		bp.exact, bp.under = make(map[string]int), make(map[string]int)
	}
	bump(bp.exact, p, d)
	for a := parent(p); a != ""; a = parent(a) {
		bump(bp.under, a, d)
	}
}

func bump(m map[string]int, k string, d int) {
	if n := m[k] + d; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}

// conflicts reports whether p is, is below, or is above an in-flight path.
func (bp *busyPaths) conflicts(p string) bool {
	if len(bp.exact) == 0 {
		return false
	}
	if bp.exact[p] > 0 || bp.under[p] > 0 {
		return true
	}
	for a := parent(p); a != ""; a = parent(a) {
		if bp.exact[a] > 0 {
			return true
		}
	}
	return false
}

// parent returns the directory of p, "" at the top.
func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}
