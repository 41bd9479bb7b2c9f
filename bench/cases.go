//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The fan-out case: fanFiles files written evenly over fanOver into ten
// directories, synced to fanRemotes daemons, the last of them behind a
// slow link. Every target watches its directories for arrivals, so each
// remote's convergence is the arrival of its last file, not a poll.

const fanDirs = 10

func fanDir(k int) string { return fmt.Sprintf("p%d", k) }

func prepareFan(c *cell) error {
	for k := range fanDirs {
		if err := os.Mkdir(filepath.Join(c.src, fanDir(k)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// fanState is the fan-out bookkeeping: when each file was closed, when it
// arrived on each target, when the writer ended.
type fanState struct {
	closeAt []int64 // per file: unix ns after close(2)
	written int
	end     time.Time
	watches []*arrivalWatch // per target
}

func runFan(ctx context.Context, c *cell) error {
	s := c.size
	st := &fanState{closeAt: make([]int64, s.fanFiles)}
	c.fan = st
	for _, t := range c.targets {
		dirs := make([]string, fanDirs)
		sizes := make([][]int64, fanDirs)
		for k := range fanDirs {
			dirs[k] = filepath.Join(t.dst, fanDir(k))
			sizes[k] = st.closeAt // only the length is used
		}
		w, err := watchArrivals(dirs, sizes)
		if err != nil {
			return err
		}
		st.watches = append(st.watches, w)
	}
	content := newFiller(c.seed).bytes(1024)
	rate := float64(s.fanFiles) / s.fanOver.Seconds()
	i, err := pace(ctx, nil, s.fanFiles, rate, 10*time.Millisecond, time.Time{}, func(i int) error {
		binary.LittleEndian.PutUint64(content, uint64(i))
		if err := writeFile(filepath.Join(c.src, fanDir(i%fanDirs), w7Name(i)), content); err != nil {
			return err
		}
		st.closeAt[i] = time.Now().UnixNano()
		return nil
	})
	st.written, st.end = i, time.Now()
	return err
}

// collectFan turns each target's arrivals into its convergence (arrival of
// its last file after the writer ended; -1 when a file never arrived) and
// its p99 per-file latency.
func collectFan(c *cell, r *result) error {
	st := c.fan
	if st == nil {
		return errors.New("fan-out did not run")
	}
	for ti, w := range st.watches {
		w.Close()
		rc := remoteConv{Remote: ti + 1, Slow: c.targets[ti].slow}
		var last int64
		var lat []float64
		for i := range st.written {
			arr := w.arrivals[i%fanDirs][i]
			if arr == 0 {
				// Unobserved: on the target (settle checked the mirror)
				// or lost; either way no latency.
				if _, err := os.Lstat(filepath.Join(c.targets[ti].dst, fanDir(i%fanDirs), w7Name(i))); err != nil {
					rc.Lost++
				}
				continue
			}
			last = max(last, arr)
			lat = append(lat, float64(arr-st.closeAt[i])/1e6)
		}
		rc.ConvergeS = -1
		if rc.Lost == 0 {
			rc.ConvergeS = max(0, float64(last-st.end.UnixNano())/1e9)
		}
		rc.P99Ms = percentile(lat, 99)
		r.PerRemote = append(r.PerRemote, rc)
	}
	return nil
}

// The big-tree case: a tree of dirsN leaf directories (and their parents)
// with dirsFilesPer empty files each, built identically in the source and
// the target, so that the start-up sync has nothing to send. The tool
// starts while a writer adds dirsDuring files at random leaves; the cell
// reports when the watches were in place, the tool's memory, and whether
// every file written during the start-up reached the target.

// dirsFanout is the number of entries per level of a 3-level tree of n
// leaves.
// dirsPace is the writer's interval during the start-up.
const dirsPace = 10 * time.Millisecond

func dirsFanout(n int) int { return max(1, int(math.Ceil(math.Cbrt(float64(n))))) }

func leafDir(i, f int) string {
	return fmt.Sprintf("t%d/m%d/l%d", i/(f*f), (i/f)%f, i%f)
}

// treeTime is the modification time of every entry of the built tree, the
// same on both sides so that the start-up sync finds nothing to do.
var treeTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// prepareDirs builds the tree in the source and in every target's module,
// four workers at a time. Every entry gets treeTime (a child's times do
// not change its parent's, so the order does not matter).
func prepareDirs(c *cell) error {
	t0 := time.Now()
	n, f := c.size.dirsN, dirsFanout(c.size.dirsN)
	roots := append([]string{c.src}, c.dsts()...)
	const workers = 4
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			errs[w] = buildLeaves(c.ctx, roots, w, workers, n, f, c.size.dirsFilesPer)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.dirsBuilt = dirsInfo{build: time.Since(t0)}
	return nil
}

// buildLeaves creates leaves w, w+step, … of the tree below every root,
// with their parents and files, all timed treeTime. It stops early when
// ctx ends.
func buildLeaves(ctx context.Context, roots []string, w, step, n, f, files int) error {
	for i := w; i < n; i += step {
		if i%1024 == w && ctx.Err() != nil {
			return ctx.Err()
		}
		leaf := leafDir(i, f)
		for _, root := range roots {
			d := filepath.Join(root, leaf)
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			for j := range files {
				p := filepath.Join(d, "x"+strconv.Itoa(j))
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					return err
				}
				if err := os.Chtimes(p, treeTime, treeTime); err != nil {
					return err
				}
			}
		}
	}
	// Directory times once everything below exists.
	for i := w; i < n; i += step {
		leaf := leafDir(i, f)
		dirs := []string{leaf}
		if i%f == 0 {
			dirs = append(dirs, filepath.Dir(leaf))
		}
		if i%(f*f) == 0 {
			dirs = append(dirs, filepath.Dir(filepath.Dir(leaf)))
		}
		for _, root := range roots {
			for _, d := range dirs {
				if err := os.Chtimes(filepath.Join(root, d), treeTime, treeTime); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// dirsInfo is what prepareDirs built.
type dirsInfo struct {
	build time.Duration
}

var (
	heapLive   = regexp.MustCompile(`msg="sersync2 started".* heap_live_bytes=(\d+)`)
	watchCount = regexp.MustCompile(`msg="sersync2 started".* watches=(\d+)`)
)

// dirsCell runs the big-tree case for one tool: start it with a writer
// running, measure the start-up and the memory, then check that every
// file written meanwhile reached the target.
func (c *cell) dirsCell(ctx context.Context, tool string, r result) result {
	fail := func(err error) result {
		r.Error = err.Error()
		return r
	}
	f := dirsFanout(c.size.dirsN)
	r.Dirs = countDirs(c.size.dirsN, f)
	r.BuildS = secs(c.dirsBuilt.build)
	r.KernelPerWatchB = kernelPerWatch()
	slab0 := meminfo("Slab")

	// The writer: a file at a random leaf every dirsPace until the tool
	// is ready (the whole time its watches are being set up), at most
	// dirsDuring files; WriterCovered says whether it lasted.
	stop := make(chan struct{})
	var written []string
	var wg sync.WaitGroup
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(c.seed, 7))
		tick := time.NewTicker(dirsPace)
		defer tick.Stop()
		for k := range c.size.dirsDuring {
			rel := filepath.Join(leafDir(rng.IntN(c.size.dirsN), f), fmt.Sprintf("during-%05d", k))
			if err := writeFile(filepath.Join(c.src, rel), []byte(rel)); err != nil {
				return
			}
			written = append(written, rel)
			select {
			case <-stop:
				return
			case <-tick.C: // the writer's pace
			}
		}
	})
	t0 := time.Now()
	t, err := startTool(ctx, c, tool)
	close(stop)
	wg.Wait()
	if err != nil {
		return fail(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			t.kill()
		}
	}()
	r.ReadyS = secs(time.Since(t0))
	r.WatchesS = secs(t.watchesAt)
	if t.watchesAt == 0 {
		r.WatchesS = r.ReadyS // the tool says nothing earlier
	}
	r.SlabPerWatchB = float64(meminfo("Slab")-slab0) / float64(r.Dirs)
	out := t.out.String()
	if m := heapLive.FindStringSubmatch(out); m != nil {
		r.HeapBytes, _ = strconv.ParseInt(m[1], 10, 64)
		r.HeapPerDirB = float64(r.HeapBytes) / float64(r.Dirs)
	}
	if m := watchCount.FindStringSubmatch(out); m != nil {
		r.Watches, _ = strconv.Atoi(m[1])
	}
	r.DuringWritten = len(written)
	r.WriterCovered = len(written) < c.size.dirsDuring
	base, err := sampleTree(t.pid())
	if err != nil {
		return fail(err)
	}

	// Every file written during the start-up must reach every target.
	tEnd := time.Now()
	deadline := tEnd.Add(c.cfg.timeout)
	for {
		missing := 0
		for _, rel := range written {
			for _, d := range c.dsts() {
				if b, err := os.ReadFile(filepath.Join(d, rel)); err != nil || string(b) != rel {
					missing++
				}
			}
		}
		r.Missing = missing
		if missing == 0 {
			r.Converged, r.ConvergeS, r.Stable = true, secs(time.Since(tEnd)), true
			break
		}
		if time.Now().After(deadline) {
			r.DiffSample = []string{fmt.Sprintf("%d of %d files written during the start-up not on the target", missing, len(written))}
			break
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(100 * time.Millisecond): // polling interval
		}
	}
	end, sampleErr := sampleTree(t.pid())
	ruCPU, stopErr := t.stop(c.size.stopTimeout)
	stopped = true
	if sampleErr != nil {
		return fail(sampleErr)
	}
	r.CPUS = secs(max(ruCPU, end.cpu))
	r.CPUOwnS = secs(end.own)
	r.CPUBaseS = secs(base.cpu)
	r.PeakRSSMiB = float64(end.rss) / (1 << 20)
	r.RSSPerDirB = float64(end.rss) / float64(r.Dirs)
	if c.cfg.toolLogs != "" {
		name := fmt.Sprintf("%s-DIRS-%s.log", r.Time.Format("20060102T150405"), tool)
		_ = os.WriteFile(filepath.Join(c.cfg.toolLogs, name), []byte(out), 0o644)
	}
	if stopErr != nil {
		return fail(stopErr)
	}
	return r
}

// countDirs is the number of directories of the tree of n leaves with
// fan-out f: the leaves and their parents.
func countDirs(n, f int) int {
	mids := map[string]bool{}
	tops := map[string]bool{}
	for i := range n {
		m := filepath.Dir(leafDir(i, f))
		mids[m] = true
		tops[filepath.Dir(m)] = true
	}
	return n + len(mids) + len(tops)
}

// kernelPerWatch is the kernel's memory for one inotify watch, the floor
// below any watcher: an inotify_inode_mark and an fsnotify_mark_connector
// (object sizes from /sys/kernel/slab; 0 when unreadable). The watched
// inode and its dentry stay cached as long as the watch exists, on top.
func kernelPerWatch() int {
	n := 0
	for _, s := range []string{"inotify_inode_mark", "fsnotify_mark_connector"} {
		b, err := os.ReadFile(filepath.Join("/sys/kernel/slab", s, "object_size"))
		if err != nil {
			return 0
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		n += v
	}
	return n
}

// meminfo returns a /proc/meminfo value in bytes (0 when absent).
func meminfo(key string) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v * 1024
			}
		}
	}
	return 0
}

const maxWatchesFile = "/proc/sys/fs/inotify/max_user_watches"

// raiseWatchLimit makes sure fs.inotify.max_user_watches allows need
// watches on top of what other programs hold, and returns a function that
// puts the old value back. It says what it did on log.
func raiseWatchLimit(cfg config, need int) (restore func(), err error) {
	b, err := os.ReadFile(maxWatchesFile)
	if err != nil {
		return func() {}, fmt.Errorf("inotify limit: %w", err)
	}
	cur, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return func() {}, fmt.Errorf("inotify limit: %w", err)
	}
	want := need + 200_000 // room for the other tools and the harness's own watches
	if cur >= want {
		return func() {}, nil
	}
	if err := os.WriteFile(maxWatchesFile, []byte(strconv.Itoa(want)), 0o644); err != nil {
		return func() {}, fmt.Errorf("the big-tree case needs fs.inotify.max_user_watches >= %d (now %d); as root: sysctl -w fs.inotify.max_user_watches=%d: %w", want, cur, want, err)
	}
	fmt.Fprintf(cfg.out, "bench: raised fs.inotify.max_user_watches from %d to %d for the big-tree case (restored at the end)\n", cur, want)
	return func() {
		if err := os.WriteFile(maxWatchesFile, []byte(strconv.Itoa(cur)), 0o644); err == nil {
			fmt.Fprintf(cfg.out, "bench: fs.inotify.max_user_watches restored to %d\n", cur)
		}
	}, nil
}
