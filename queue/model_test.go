package queue

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// TestConvergesUnderConcurrency drives a queue the way cmd/sersync2 does:
// one goroutine changes a model file system and adds the matching events,
// one worker syncs batches into a model remote and fails some of them
// (after applying part of the batch, like an interrupted rsync), and
// overflows force full syncs. Once the producer stops and the queue drains,
// the remote must equal the local tree: no change lost, none applied out of
// order, whatever the interleaving.
func TestConvergesUnderConcurrency(t *testing.T) {
	t.Parallel()
	names := append([]string{"a", "b", "c"}, hostile...)
	for i := range 150 {
		names = append(names, fmt.Sprintf("d%d/%s %03d", i%3, hostile[i%len(hostile)], i))
	}

	var fsMu sync.Mutex
	local := map[string]int{} // path -> content version
	remote := map[string]int{}
	syncPath := func(p string) { // make remote[p] equal local[p]
		if v, ok := local[p]; ok {
			remote[p] = v
		} else {
			delete(remote, p)
		}
	}

	q := New(root, Options{RetryBase: 50 * time.Microsecond, MaxBackoff: 200 * time.Microsecond, OverflowBase: 100 * time.Microsecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	var batches, failed, fulls int
	wg.Go(func() { // the worker
		for {
			b, err := q.Next(ctx)
			if err != nil {
				return
			}
			// Fail every third batch and the first try of every full sync.
			fail := batches%3 == 1 || (b.Full && b.Attempt == 0)
			fsMu.Lock()
			switch {
			case b.Full:
				fulls++
				if !fail {
					clear(remote)
					maps.Copy(remote, local)
				}
			default:
				for i, e := range slices.Concat(b.Removes, b.Updates) {
					if fail && i%2 == 1 {
						continue
					}
					syncPath(e.Path)
				}
			}
			fsMu.Unlock()
			batches++
			if fail {
				failed++
				q.Done(b, errRsync)
			} else {
				q.Done(b, nil)
			}
		}
	})

	rng := rand.New(rand.NewPCG(3, 4))
	change := func(p string, version int) { // the producer: change, then report
		fsMu.Lock()
		var ev inotifymask.Event
		_, exists := local[p]
		switch r := rng.IntN(10); {
		case r < 3 && exists:
			delete(local, p)
			ev = rm(p)
		case r == 3 && exists:
			to := names[rng.IntN(len(names))]
			v := local[p]
			delete(local, p)
			local[to] = v
			ev = mv(p, to, false)
		default:
			local[p] = version
			ev = upd(p)
		}
		fsMu.Unlock()
		q.Add(ev)
	}
	// settle waits until the worker has synced everything added so far: it
	// makes the worker interleave whatever the scheduler does.
	settle := func() {
		waitFor(t, "the worker to catch up", func() bool {
			st := q.Stats()
			return st.Pending == 0 && st.InFlight == 0 && !st.FullPending
		})
	}

	// Phase 1: random changes, an overflow now and then.
	const n = 20000
	for i := range n {
		change(names[rng.IntN(len(names))], i)
		if i%5000 == 4999 {
			q.Add(overflow())
		}
		if i%500 == 499 {
			settle()
		}
	}
	// Phase 2: the last change of half the paths, then an overflow whose
	// full sync fails once and must be retried (it covered those changes).
	half := len(names) / 2
	for i, p := range names[:half] {
		change(p, n+i)
	}
	noFull := func() bool { st := q.Stats(); return !st.FullPending && !st.InFlightFull }
	waitFor(t, "earlier full syncs to finish", noFull)
	fullsBefore := q.Stats().FullSyncs
	q.Add(overflow())
	waitFor(t, "the full sync to fail and be retried", func() bool {
		return q.Stats().FullSyncs >= fullsBefore+2 && noFull()
	})
	// Phase 3: the last change of the other half, in several batches, some
	// of which fail; nothing changes these paths afterwards.
	for i, p := range names[half:] {
		change(p, 2*n+i)
		if i%10 == 9 {
			settle()
		}
	}

	waitFor(t, "the queue to drain", func() bool {
		st := q.Stats()
		return st.Pending == 0 && st.InFlight == 0 && !st.FullPending
	})
	cancel()
	wg.Wait()

	if !maps.Equal(local, remote) {
		t.Fatalf("remote diverged from local:\n local  %v\n remote %v", local, remote)
	}
	if batches == 0 || failed == 0 || fulls == 0 {
		t.Fatalf("the run did not exercise batches (%d), failures (%d) and full syncs (%d)", batches, failed, fulls)
	}
	t.Logf("%d batches, %d failed, %d full; %+v", batches, failed, fulls, q.Stats())
}

// refItem is the naive model of one pending path.
type refItem struct {
	path      string
	op        inotifymask.Op
	dir       bool
	seq       int
	rmSeq     int // latest removal as a directory, 0 if none
	kept      bool
	processed bool
}

// referenceBatch applies the documented rules the slow, obvious way: last
// op wins per path, then an entry is dropped iff some kept ancestor covers
// it, ancestors decided before descendants, no sorting tricks and no stack.
func referenceBatch(events []inotifymask.Event, recursive bool) (updates, removes []Entry) {
	items := map[string]*refItem{}
	seq := 0
	put := func(p string, op inotifymask.Op, dir bool) {
		seq++
		it := items[p]
		if it == nil {
			it = &refItem{path: p}
			items[p] = it
		}
		it.op, it.dir, it.seq = op, dir, seq
		if op == inotifymask.OpRemove && dir {
			it.rmSeq = seq
		}
	}
	for _, ev := range events {
		switch ev.Op {
		case inotifymask.OpRemove:
			put(ev.Path, inotifymask.OpRemove, ev.Dir)
		case inotifymask.OpRename:
			if ev.OldPath != ev.Path {
				put(ev.OldPath, inotifymask.OpRemove, ev.Dir)
			}
			put(ev.Path, inotifymask.OpUpdate, ev.Dir)
		default:
			put(ev.Path, inotifymask.OpUpdate, ev.Dir)
		}
	}
	all := slices.Collect(maps.Values(items))
	// Ancestors are strictly shorter, so by length they come first.
	slices.SortFunc(all, func(a, b *refItem) int { return len(a.path) - len(b.path) })
	for _, e := range all {
		e.kept = true
		for _, a := range all {
			if !a.processed || !a.kept || !strings.HasPrefix(e.path, a.path+"/") {
				continue
			}
			removedDir := a.op == inotifymask.OpRemove && a.dir
			if (removedDir && e.seq < a.seq) ||
				(e.op == inotifymask.OpUpdate && (e.seq < a.rmSeq || (recursive && a.op == inotifymask.OpUpdate && a.dir))) {
				e.kept = false
			}
		}
		e.processed = true
	}
	// Tree order, computed independently of treeCompare.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	slices.SortFunc(all, func(a, b *refItem) int { return strings.Compare(key(a.path), key(b.path)) })
	for _, e := range all {
		if !e.kept {
			continue
		}
		if e.op == inotifymask.OpRemove {
			removes = append(removes, Entry{Path: e.path, Dir: e.dir})
		} else {
			updates = append(updates, Entry{Path: e.path, Dir: e.dir, Replaced: e.rmSeq != 0})
		}
	}
	return updates, removes
}

// fuzzNames is a small tree with shared prefixes and hostile bytes, so that
// random event sequences hit ancestors, near-misses and odd names.
var fuzzNames = []string{
	"a", "a/b", "a/b/c", "a/b/c/d", "a/bc", "a/b c", "a-b", "a/b-c/x",
	"-d\n", "-d\n/\xff", "-d\n/\xff/x", "x", "x/y",
}

// eventsFromBytes decodes fuzz input: byte 0 picks recursion, then each
// pair of bytes is (operation, name) and a rename takes one more byte.
func eventsFromBytes(data []byte) (bool, []inotifymask.Event) {
	if len(data) == 0 {
		return false, nil
	}
	recursive := data[0]&1 == 1
	var evs []inotifymask.Event
	data = data[1:]
	for len(data) >= 2 {
		op, name := data[0], fuzzNames[int(data[1])%len(fuzzNames)]
		data = data[2:]
		switch op % 6 {
		case 0:
			evs = append(evs, upd(name))
		case 1:
			evs = append(evs, updDir(name))
		case 2:
			evs = append(evs, rm(name))
		case 3:
			evs = append(evs, rmDir(name))
		case 4, 5:
			if len(data) == 0 {
				return recursive, evs
			}
			evs = append(evs, mv(name, fuzzNames[int(data[0])%len(fuzzNames)], op%6 == 5))
			data = data[1:]
		}
	}
	return recursive, evs
}

func FuzzMergeMatchesReference(f *testing.F) {
	for _, seed := range [][]byte{
		{1, 0, 0, 0, 0},
		{1, 1, 0, 0, 1, 3, 0},
		{0, 0, 3, 3, 0, 1, 0, 0, 7},
		{1, 2, 3, 2, 2, 3, 1, 3, 0},
		{1, 0, 10, 3, 8, 1, 8, 0, 9},
		{0, 5, 0, 11, 0, 12},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recursive, evs := eventsFromBytes(data)
		if len(evs) == 0 {
			return
		}
		q := New(root, Options{Recursive: recursive})
		for _, ev := range evs {
			q.Add(ev)
		}
		b := mustNext(t, q)
		wantU, wantR := referenceBatch(evs, recursive)
		if !slices.Equal(b.Updates, wantU) || !slices.Equal(b.Removes, wantR) {
			t.Fatalf("recursive=%v events %v\n got  %s\n want %s", recursive, evs, show(b), show(Batch{Updates: wantU, Removes: wantR}))
		}
		q.Done(b, errors.New("fail"))
		// After a failure every sent path is pending again, nothing else.
		if st := q.Stats(); st.Pending != b.Len() {
			t.Fatalf("pending after failure %d, want %d", st.Pending, b.Len())
		}
	})
}
