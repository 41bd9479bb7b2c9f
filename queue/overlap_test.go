package queue

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// treeModel is a file tree of versioned files; directories exist by the
// files below them. Paths are relative, slash-separated.
type treeModel map[string]int

// subtree returns p and everything below it.
func (m treeModel) subtree(p string) treeModel {
	out := treeModel{}
	for k, v := range m {
		if k == p || isUnder(k, p) {
			out[k] = v
		}
	}
	return out
}

func (m treeModel) drop(p string) {
	for k := range m {
		if k == p || isUnder(k, p) {
			delete(m, k)
		}
	}
}

// sender applies batches to a model remote the way rsyncexec's runs do,
// including the race that matters: each entry's local state is read when
// the batch starts and written when it ends, so two batches syncing
// related paths at once could leave the older state behind.
type sender struct {
	mu     sync.Mutex
	local  treeModel
	remote treeModel
	moves  bool // do the batch's Moves on the remote first
	moved  int
}

// start reads what each entry of b will write: the local subtree of the
// path now. It also does the moves, which run before the rsyncs.
func (s *sender) start(b Batch) (ups, rms []treeModel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Full {
		// rsync lists the whole tree when it starts (--delete).
		return []treeModel{maps.Clone(s.local)}, nil
	}
	if s.moves {
		for _, m := range b.Moves {
			src := s.remote.subtree(m.From)
			if len(src) == 0 || len(s.remote.subtree(m.To)) > 0 && m.Dir {
				continue // nothing to move, or mv -T onto a non-empty directory: fails
			}
			s.remote.drop(m.From)
			s.remote.drop(m.To)
			for k, v := range src {
				s.remote[m.To+strings.TrimPrefix(k, m.From)] = v
			}
			s.moved++
		}
	}
	for _, e := range b.Updates {
		ups = append(ups, s.local.subtree(e.Path))
	}
	for _, e := range b.Removes {
		rms = append(rms, s.local.subtree(e.Path))
	}
	return ups, rms
}

// finish writes what start read. An update adds (it deletes nothing,
// except for a Replaced entry: synced with deletion); a removal makes the
// path equal to what start read. With fail set only every other entry is
// written, as an interrupted rsync.
func (s *sender) finish(b Batch, ups, rms []treeModel, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Full {
		if !fail {
			s.remote = maps.Clone(ups[0])
			return
		}
		for i, k := range slices.Sorted(maps.Keys(ups[0])) {
			if i%2 == 0 {
				s.remote[k] = ups[0][k]
			}
		}
		return
	}
	for i, e := range b.Updates {
		if fail && i%2 == 1 {
			continue
		}
		if len(ups[i]) == 0 || e.Replaced {
			s.remote.drop(e.Path) // gone since: rsyncexec sends it as a removal
		}
		maps.Copy(s.remote, ups[i])
	}
	for i, e := range b.Removes {
		if fail && i%2 == 0 {
			continue
		}
		s.remote.drop(e.Path)
		maps.Copy(s.remote, rms[i])
	}
}

// TestOverlapConverges drives a queue with several batches in flight and
// the adaptive hold against the model sender, with renames of files and
// populated directories, rm -rf, writes and failures, from seeded random
// sequences. The invariant: once the queue drains, the remote equals the
// local tree (no path synced out of order by overlapping batches, no move
// that loses or corrupts data). A failure prints the seed;
// SERSYNC_QUEUE_SEED=N replays one.
func TestOverlapConverges(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if s := os.Getenv("SERSYNC_QUEUE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds = []uint64{n}
	}
	// Whether batches overlap in one run depends on the machine's load;
	// over all runs they must have.
	var overlapped atomic.Int64
	t.Cleanup(func() {
		if !t.Failed() && overlapped.Load() == 0 {
			t.Error("no run had batches overlap: the test did not exercise what it is for")
		}
	})
	for _, seed := range seeds {
		for _, v := range []struct{ adaptive, moves, engine, bound bool }{{false, false, false, false}, {false, true, false, false}, {true, true, false, false}, {true, true, true, false}, {true, true, true, true}} {
			t.Run(fmt.Sprintf("seed=%d/adaptive=%v/moves=%v/engine=%v/bound=%v", seed, v.adaptive, v.moves, v.engine, v.bound), func(t *testing.T) {
				t.Parallel()
				overlapped.Add(int64(overlapRun(t, seed, v.adaptive, v.moves, v.engine, v.bound)))
			})
		}
	}
}

var opsShown = 400

// overlapRun runs one sequence; engine sets the options as the replicate
// engine does (overlap only after slow batches, a shared budget, and
// phases where every batch fails, as with a remote down); bound makes
// the pending budget so small that the down phases collapse the queue
// into full syncs. It returns how many batches it saw overlap others.
func overlapRun(t *testing.T, seed uint64, adaptive, moves, engine, bound bool) int {
	rng := rand.New(rand.NewPCG(seed, 99))
	s := &sender{local: treeModel{}, remote: treeModel{}, moves: moves}
	opt := Options{
		Recursive: true, Adaptive: adaptive, MaxInFlight: 4, Moves: moves,
		RetryBase: 50 * time.Microsecond, MaxBackoff: 200 * time.Microsecond,
	}
	var down atomic.Bool
	if engine {
		opt.MaxInFlight, opt.SlowRun, opt.Budget = 8, 2*time.Millisecond, NewBudget(6)
	}
	if bound {
		opt.Bound = NewBound(40 * pathCost("a/x/"+hostile[0]+"0"))
	}
	q := New(root, opt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var batches, failed, overlapped, withMoves int
	var trace []string
	for w := range 4 {
		wg.Go(func() {
			wrng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				b, err := q.Next(ctx)
				if err != nil {
					return
				}
				ups, rms := s.start(b)
				mu.Lock()
				trace = append(trace, fmt.Sprintf("start %d: %s moves %+v", b.id, show(b), b.Moves))
				mu.Unlock()
				// The run's duration, so that batches overlap and changes
				// arrive while they run.
				time.Sleep(time.Duration(wrng.IntN(3000)) * time.Microsecond)
				runtime.Gosched()
				if st := q.Stats(); st.InFlight > 1 {
					mu.Lock()
					overlapped++
					mu.Unlock()
				}
				fail := wrng.IntN(7) == 0 || down.Load()
				s.finish(b, ups, rms, fail)
				mu.Lock()
				trace = append(trace, fmt.Sprintf("done %d fail=%v", b.id, fail))
				batches++
				if fail {
					failed++
				}
				if len(b.Moves) > 0 {
					withMoves++
				}
				mu.Unlock()
				if fail {
					q.Done(b, errRsync)
				} else {
					q.Done(b, nil)
				}
			}
		})
	}

	dirs := []string{"a", "b", "c", "a/x", "b/y", "c/z", "-d", "sp ace"}
	name := func() string {
		d := dirs[rng.IntN(len(dirs))]
		return d + "/" + hostile[rng.IntN(len(hostile))] + strconv.Itoa(rng.IntN(6))
	}
	var ops []string
	nOps, phase := 3000, 500
	if engine {
		nOps, phase = 1500, 300
	}
	for i := range nOps {
		var ev inotifymask.Event
		s.mu.Lock()
		files := slices.Sorted(maps.Keys(s.local))
		switch r := rng.IntN(20); {
		case r < 10 || len(files) == 0:
			p := name()
			if len(s.local.subtree(p)) > 1 {
				s.mu.Unlock()
				continue // a directory has that name
			}
			if blocked(s.local, p) {
				s.mu.Unlock()
				continue
			}
			s.local[p] = i
			ev = upd(p)
		case r < 13:
			p := files[rng.IntN(len(files))]
			delete(s.local, p)
			ev = rm(p)
		case r < 16: // rename a file
			from, to := files[rng.IntN(len(files))], name()
			if from == to || len(s.local.subtree(to)) > 1 || blocked(s.local, to) {
				s.mu.Unlock()
				continue
			}
			s.local[to] = s.local[from]
			delete(s.local, from)
			ev = mv(from, to, false)
		case r < 18: // rename a populated directory
			from := dirs[rng.IntN(len(dirs))]
			to := dirs[rng.IntN(len(dirs))] + "-" + strconv.Itoa(rng.IntN(3))
			sub := s.local.subtree(from)
			if len(sub) == 0 || len(s.local.subtree(to)) > 0 || isUnder(to, from) || blocked(s.local, to) {
				s.mu.Unlock()
				continue
			}
			s.local.drop(from)
			for k, v := range sub {
				s.local[to+strings.TrimPrefix(k, from)] = v
			}
			ev = mv(from, to, true)
		default: // rm -rf a directory
			d := dirs[rng.IntN(len(dirs))]
			if len(s.local.subtree(d)) == 0 {
				s.mu.Unlock()
				continue
			}
			s.local.drop(d)
			ev = rmDir(d)
		}
		s.mu.Unlock()
		ops = append(ops, fmt.Sprintf("%d: %v %q %q", i, ev.Op, ev.OldPath, ev.Path))
		if engine {
			if i%phase == 0 {
				down.Store(!down.Load()) // the remote goes down, or comes back
			}
			// The pace of a busy writer (1,000 changes/s), so that the
			// hold, the failures and the overlap all come into play.
			time.Sleep(time.Millisecond)
		}
		q.Add(ev)
		if rng.IntN(100) == 0 && !down.Load() {
			waitFor(t, "the queue to drain", func() bool { st := q.Stats(); return st.Pending == 0 && st.InFlight == 0 })
		}
	}
	down.Store(false)
	waitFor(t, "the queue to drain", func() bool {
		st := q.Stats()
		return st.Pending == 0 && st.InFlight == 0 && !st.FullPending
	})
	cancel()
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !maps.Equal(s.local, s.remote) {
		var diff []string
		for k, v := range s.local {
			if rv, ok := s.remote[k]; !ok || rv != v {
				diff = append(diff, fmt.Sprintf("local %q=%d remote %d (present %v)", k, v, rv, ok))
			}
		}
		for k := range s.remote {
			if _, ok := s.local[k]; !ok {
				diff = append(diff, fmt.Sprintf("extra on remote %q", k))
			}
		}
		slices.Sort(diff)
		t.Fatalf("seed %d adaptive %v moves %v: remote diverged (replay: SERSYNC_QUEUE_SEED=%d go test -run TestOverlapConverges ./queue):\n%s\nlast ops:\n%s\nlast batches:\n%s",
			seed, adaptive, moves, seed, strings.Join(diff, "\n"), strings.Join(ops[max(0, len(ops)-opsShown):], "\n"), strings.Join(trace[max(0, len(trace)-opsShown):], "\n"))
	}
	if failed == 0 || (moves && s.moved == 0) {
		t.Fatalf("the run did not exercise failures (%d) or moves (%d)", failed, s.moved)
	}
	if st := q.Stats(); bound && st.Collapses == 0 {
		t.Fatalf("the run did not exercise collapses: %+v", st)
	}
	t.Logf("%d batches (%d with others in flight, %d failed, %d with moves, %d moves done)", batches, overlapped, failed, withMoves, s.moved)
	return overlapped
}

// blocked reports whether a file lies where p needs a directory.
func blocked(m treeModel, p string) bool {
	for a := parent(p); a != ""; a = parent(a) {
		if _, ok := m[a]; ok {
			return true
		}
	}
	return false
}
