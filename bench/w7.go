//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// w7State is W7's bookkeeping: when each file was closed on the source and
// when it was renamed into place on the target.
type w7State struct {
	phases  []phase
	closeAt [][]int64 // per phase, per file: unix ns after close(2); 0 = not written
	written []int
	took    []time.Duration
	watch   *arrivalWatch
	ownAt   []time.Duration // the tool's own CPU when each phase started
	// noisy phases: files the writer outside the root wrote, and how
	// long it ran
	noiseWritten []int
	noiseTook    []time.Duration
}

func phaseDir(p phase) string {
	if p.Noise > 0 {
		return fmt.Sprintf("p%d-noise", p.Rate)
	}
	return fmt.Sprintf("p%d", p.Rate)
}

func w7Name(i int) string { return fmt.Sprintf("f-%07d", i) }

// prepareW7 creates one directory per phase, so that they exist on the
// target (and can be watched) before the clock starts.
func prepareW7(c *cell) error {
	for _, p := range c.size.w7 {
		if err := os.Mkdir(filepath.Join(c.src, phaseDir(p)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func runW7(ctx context.Context, c *cell) error {
	s := c.size
	st := &w7State{phases: s.w7}
	c.w7 = st
	var dirs []string
	for _, p := range s.w7 {
		n := p.Rate * int(p.Dur/time.Second)
		st.closeAt = append(st.closeAt, make([]int64, n))
		dirs = append(dirs, filepath.Join(c.dst, phaseDir(p)))
	}
	// The tools' start-up sync made the target directories; with nothing
	// watching (the floor) they are made here, empty, so that the arrival
	// watch has something to watch.
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	if st.watch, err = watchArrivals(dirs, st.closeAt); err != nil {
		return err
	}
	content := newFiller(c.seed).bytes(s.w7FileSize)
	for pi, p := range s.w7 {
		n := len(st.closeAt[pi])
		dir := filepath.Join(c.src, phaseDir(p))
		if c.toolPID != 0 {
			s, err := sampleTree(c.toolPID)
			if err != nil {
				return err
			}
			st.ownAt = append(st.ownAt, s.own)
		}
		var noise *noiseWriter
		if p.Noise > 0 {
			noise = startNoise(ctx, c, p)
		}
		start := time.Now()
		// A writer that cannot keep the rate stops at 3× the phase's
		// duration; what it wrote is what is measured.
		i, err := pace(ctx, nil, n, float64(p.Rate), 5*time.Millisecond, start.Add(3*p.Dur), func(i int) error {
			binary.LittleEndian.PutUint64(content, uint64(i))
			if err := writeFile(filepath.Join(dir, w7Name(i)), content); err != nil {
				return err
			}
			st.closeAt[pi][i] = time.Now().UnixNano()
			return nil
		})
		st.written = append(st.written, i)
		st.took = append(st.took, time.Since(start))
		if noise != nil {
			written, took, noiseErr := noise.stop()
			st.noiseWritten = append(st.noiseWritten, written)
			st.noiseTook = append(st.noiseTook, took)
			err = errors.Join(err, noiseErr)
		} else {
			st.noiseWritten = append(st.noiseWritten, 0)
			st.noiseTook = append(st.noiseTook, 0)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pace calls write(0), write(1), … write(n-1) at rate calls per second,
// catching up every tick, and returns how many calls it made: n, or fewer
// when hardStop (if not zero) passed, stop was closed or ctx ended (then
// with ctx's error). A writer that falls behind writes what is due at
// once, and still ends at once when told or at hardStop.
func pace(ctx context.Context, stop <-chan struct{}, n int, rate float64, tick time.Duration, hardStop time.Time, write func(i int) error) (int, error) {
	start := time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	ended := func() (bool, error) {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-stop:
			return true, nil
		default:
			return !hardStop.IsZero() && !time.Now().Before(hardStop), nil
		}
	}
	i := 0
	for i < n {
		due := min(n, int(time.Since(start).Seconds()*rate)+1)
		for ; i < due; i++ {
			if end, err := ended(); end {
				return i, err
			}
			if err := write(i); err != nil {
				return i, err
			}
		}
		if i < n {
			select {
			case <-ctx.Done():
				return i, ctx.Err()
			case <-stop:
				return i, nil
			case <-t.C: // the workload's pace
			}
		}
	}
	return i, nil
}

// phaseResult is W7's figures for one rate.
type phaseResult struct {
	Rate         int     `json:"rate"`
	Written      int     `json:"written"`
	AchievedRate float64 `json:"achieved_rate"`
	Observed     int     `json:"observed"` // arrivals the target watch saw
	// Percentiles of close→arrival over every written file; a lost file
	// counts as never arriving, and -1 means the percentile falls on one.
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Lost files are not on the target after convergence (or the
	// timeout) and the settle window.
	Lost int `json:"lost"`
	// Unobserved files are on the target but the watch saw no arrival
	// (its own queue overflowed); they are left out of the percentiles.
	Unobserved int `json:"unobserved"`
	Overflows  int `json:"watch_overflows"`
	// OwnCPUUsPerFile is the tool's own CPU (rsync children left out)
	// from the phase's start to the next phase's (the last: to the end of
	// the settle window), per file written.
	OwnCPUUsPerFile float64 `json:"own_cpu_us_per_file,omitempty"`
	// The noise case's noisy phase: the files per second asked of the
	// writer outside the root, what it wrote and its rate.
	Noise         int     `json:"noise,omitempty"`
	NoiseWritten  int     `json:"noise_written,omitempty"`
	NoiseAchieved float64 `json:"noise_achieved_rate,omitempty"`
}

func collectW7(c *cell, r *result) error {
	st := c.w7
	if st == nil || st.watch == nil {
		return errors.New("W7 did not run")
	}
	st.watch.Close()
	for pi, p := range st.phases {
		present := map[string]bool{}
		ents, err := os.ReadDir(filepath.Join(c.dst, phaseDir(p)))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range ents {
			present[e.Name()] = true
		}
		pr := phaseResult{Rate: p.Rate, Written: st.written[pi], Overflows: st.watch.overflows,
			Noise: p.Noise, NoiseWritten: st.noiseWritten[pi]}
		if st.took[pi] > 0 {
			pr.AchievedRate = float64(pr.Written) / st.took[pi].Seconds()
		}
		if st.noiseTook[pi] > 0 {
			pr.NoiseAchieved = float64(pr.NoiseWritten) / st.noiseTook[pi].Seconds()
		}
		var lat []float64 // ms; +Inf for a lost file
		for i := range pr.Written {
			arr := st.watch.arrivals[pi][i]
			switch {
			case !present[w7Name(i)]:
				pr.Lost++
				lat = append(lat, math.Inf(1))
			case arr == 0:
				pr.Unobserved++
			default:
				pr.Observed++
				lat = append(lat, float64(arr-st.closeAt[pi][i])/1e6)
			}
		}
		pr.P50Ms, pr.P95Ms, pr.P99Ms, pr.MaxMs = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), percentile(lat, 100)
		if pi < len(st.ownAt) && pr.Written > 0 {
			next := c.ownEnd
			if pi+1 < len(st.ownAt) {
				next = st.ownAt[pi+1]
			}
			pr.OwnCPUUsPerFile = float64((next - st.ownAt[pi]).Microseconds()) / float64(pr.Written)
		}
		r.W7 = append(r.W7, pr)
	}
	return nil
}

// percentile returns the nearest-rank p-th percentile of xs (sorted in
// place); -1 when it is +Inf (a lost file) or there is no data.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	slices.Sort(xs)
	k := int(math.Ceil(p/100*float64(len(xs)))) - 1
	k = min(max(k, 0), len(xs)-1)
	if math.IsInf(xs[k], 1) {
		return -1
	}
	return xs[k]
}

// arrivalWatch timestamps files appearing in target directories: rsync
// writes a temporary dot-file and renames it into place (IN_MOVED_TO); a
// tool writing in place shows as IN_CLOSE_WRITE. The first arrival of each
// file counts. Its reader goroutine is owned by the watch: Close stops it
// and waits.
type arrivalWatch struct {
	f         *os.File
	phaseOf   map[int32]int
	arrivals  [][]int64 // written only by the reader until Close returns
	overflows int
	done      chan struct{}
}

func watchArrivals(dirs []string, sizes [][]int64) (*arrivalWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("target watch: %w", err)
	}
	a := &arrivalWatch{f: os.NewFile(uintptr(fd), "inotify"), phaseOf: map[int32]int{}, done: make(chan struct{})}
	for i, d := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, d, syscall.IN_MOVED_TO|syscall.IN_CLOSE_WRITE)
		if err != nil {
			a.f.Close()
			return nil, fmt.Errorf("target watch %s: %w", d, err)
		}
		a.phaseOf[int32(wd)] = i
		a.arrivals = append(a.arrivals, make([]int64, len(sizes[i])))
	}
	go a.read()
	return a, nil
}

func (a *arrivalWatch) read() {
	defer close(a.done)
	buf := make([]byte, 1<<20)
	for {
		n, err := a.f.Read(buf)
		if err != nil {
			return // closed
		}
		now := time.Now().UnixNano()
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+nameLen]), "\x00")
			off += syscall.SizeofInotifyEvent + nameLen
			if mask&syscall.IN_Q_OVERFLOW != 0 {
				a.overflows++
				continue
			}
			pi, ok := a.phaseOf[wd]
			if !ok || !strings.HasPrefix(name, "f-") {
				continue // temporary files are dot-files
			}
			i, err := strconv.Atoi(name[2:])
			if err != nil || i < 0 || i >= len(a.arrivals[pi]) {
				continue
			}
			if a.arrivals[pi][i] == 0 {
				a.arrivals[pi][i] = now
			}
		}
	}
}

// Close stops the reader and waits for it. It is idempotent.
func (a *arrivalWatch) Close() {
	_ = a.f.Close()
	<-a.done
}
