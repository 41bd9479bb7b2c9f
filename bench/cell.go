//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/sersync-go/sersync2/internal/rsyncd"
)

// cell is one (tool, workload) run: its own directory, source, daemon and
// target.
type cell struct {
	ctx  context.Context // the run's: a long prepare stops when it ends
	cfg  config
	size sizes  // the workload's dimensions (cfg.size, adjusted by the workload)
	dir  string // everything of the cell lives below it, but the targets
	// targetDir holds the targets' daemons and modules: dir, or a
	// directory of its own below config.targetWork.
	targetDir string
	src       string
	d         *rsyncd.Daemon // the first target's daemon
	dst       string         // the first target's module directory
	// targets are the remotes the tools sync to, each a daemon of its
	// own: one for W1-W7, several for the fan-out case.
	targets  []*target
	names    []string
	seed     uint64
	workload string
	// state a workload keeps between run and collect
	bigCloseOff int64
	w7          *w7State
	toolPID     int           // the tool's process while the workload runs (0: none)
	ownEnd      time.Duration // the tool's own CPU after the settle window
	sshMark     [2]int64      // the ssh relay's byte counts when the workload started
	fan         *fanState
	dirsBuilt   dirsInfo
}

// result is one cell's figures; one JSON line each.
type result struct {
	Time      time.Time `json:"time"`
	Host      string    `json:"host"`
	Quick     bool      `json:"quick"`
	Rep       int       `json:"rep"`
	Tool      string    `json:"tool"`
	Workload  string    `json:"workload"`
	Files     int       `json:"files"`
	WorkloadS float64   `json:"workload_s"` // how long the workload itself ran
	Converged bool      `json:"converged"`
	// ConvergeS is the time from the end of the workload until the
	// target first equalled the source (for the floor: the rsync's wall
	// time); -1 when it did not within TimeoutS.
	ConvergeS float64 `json:"converge_s"`
	TimeoutS  float64 `json:"timeout_s"`
	// RsyncProcs counts the daemon's "connect from" lines from the start
	// of the workload until the tool stopped; RsyncProcsTotal includes
	// the start-up sync.
	RsyncProcs      int  `json:"rsync_procs"`
	RsyncProcsTotal int  `json:"rsync_procs_total"`
	ToolRsyncRuns   *int `json:"tool_rsync_runs,omitempty"` // as sersync2's log says
	// CPUS is the CPU time of the tool's process tree (the tool and every
	// rsync it ran) during the workload, convergence and settle window:
	// max(rusage after SIGTERM, /proc sample before it) minus the sample
	// taken when the workload started.
	CPUS        float64 `json:"cpu_s"`
	CPURusageS  float64 `json:"cpu_rusage_s"`
	CPUSampledS float64 `json:"cpu_sampled_s"`
	CPUBaseS    float64 `json:"cpu_base_s"`
	// CPUOwnS is the part of CPUSampledS the tool's own processes used
	// (not its rsync children), since they started.
	CPUOwnS float64 `json:"cpu_own_s"`
	// CPUOwnWorkS is the tool's own CPU from the start of the workload
	// to the end of the settle window: the cost of the workload's events.
	CPUOwnWorkS float64 `json:"cpu_own_work_s"`
	// PeakRSSMiB is the sum of VmHWM of the tool's own processes (not its
	// rsync children) just before it was stopped.
	PeakRSSMiB float64  `json:"peak_rss_mib"`
	Missing    int      `json:"missing"`
	Extra      int      `json:"extra"`
	Different  int      `json:"different"`
	Stable     bool     `json:"stable"` // stayed equal through the settle window
	DiffSample []string `json:"diff_sample,omitempty"`
	// W5: transfers of the big file in the whole cell and those the
	// daemon logged after the writer closed it.
	BigTransfers           *int          `json:"big_transfers,omitempty"`
	BigTransfersAfterClose *int          `json:"big_transfers_after_close,omitempty"`
	W7                     []phaseResult `json:"w7,omitempty"`
	// Outside counts, in the noise case, the entries on the target that
	// are not the root's writer's: anything from outside the root that
	// reached the remote. More than 0 is a correctness failure.
	Outside *int `json:"outside,omitempty"`
	// The ssh cases: bytes through ssh from the start of the workload
	// until the tool stopped, to the remote (up) and back (down).
	SSHBytesUp   *int64 `json:"ssh_bytes_up,omitempty"`
	SSHBytesDown *int64 `json:"ssh_bytes_down,omitempty"`
	// The fan-out case: figures per remote, and the most rsync processes
	// the tool ran at once (sampled every 10 ms).
	PerRemote      []remoteConv `json:"per_remote,omitempty"`
	MaxRsyncAtOnce int          `json:"max_rsync_at_once,omitempty"`
	// The big-tree case: directories, time to build the tree (both
	// sides), start → watches in place, start → start-up done (the initial
	// sync included), watches the tool reported, its Go heap after the
	// start-up (sersync2 only) and RSS per directory, the kernel's memory
	// per watch (object sizes: the floor; and the measured growth of the
	// slab), the files written during the start-up.
	Dirs            int     `json:"dirs,omitempty"`
	BuildS          float64 `json:"build_s,omitempty"`
	WatchesS        float64 `json:"watches_s,omitempty"`
	ReadyS          float64 `json:"ready_s,omitempty"`
	Watches         int     `json:"watches,omitempty"`
	HeapBytes       int64   `json:"heap_bytes,omitempty"`
	HeapPerDirB     float64 `json:"heap_per_dir_b,omitempty"`
	RSSPerDirB      float64 `json:"rss_per_dir_b,omitempty"`
	KernelPerWatchB int     `json:"kernel_per_watch_b,omitempty"`
	SlabPerWatchB   float64 `json:"slab_per_watch_b,omitempty"`
	DuringWritten   int     `json:"during_written,omitempty"`
	WriterCovered   bool    `json:"writer_covered,omitempty"` // the writer ran until the tool was ready
	Pwned           bool    `json:"pwned"`                    // a file named PWNED appeared: a name ran as shell code
	Error           string  `json:"error,omitempty"`
	Env             env     `json:"env"`
}

func secs(d time.Duration) float64 { return d.Seconds() }

// runCell runs one cell and never panics on a tool's failure: errors go
// into the result.
func runCell(ctx context.Context, cfg config, e env, names []string, tool, wlName string) (r result) {
	wl := workloads[wlName]
	r = result{Time: time.Now().UTC(), Host: e.Host, Quick: cfg.quick, Tool: tool, Workload: wlName,
		TimeoutS: secs(cfg.timeout), ConvergeS: -1, Env: e}
	fail := func(err error) result {
		r.Error = err.Error()
		return r
	}
	dir, err := os.MkdirTemp(cfg.work, "sersync-bench-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	targetDir := dir
	if cfg.targetWork != "" {
		if targetDir, err = os.MkdirTemp(cfg.targetWork, "sersync-bench-targets-"); err != nil {
			return fail(err)
		}
		defer os.RemoveAll(targetDir)
	}
	c := &cell{ctx: ctx, cfg: cfg, size: wl.sizes(cfg), workload: wlName, dir: dir, targetDir: targetDir,
		src: filepath.Join(dir, "src"), names: names, seed: uint64(time.Now().UnixNano())}
	r.Files = wl.files(c.size, names)
	if err := os.Mkdir(c.src, 0o755); err != nil {
		return fail(err)
	}
	defer c.closeTargets()
	if err := c.startTargets(wl); err != nil {
		return fail(err)
	}
	defer c.cleanup()
	if err := wl.prepare(c); err != nil {
		return fail(fmt.Errorf("%s prepare: %w", wlName, err))
	}
	if wl.dirs {
		return c.dirsCell(ctx, tool, r)
	}

	if tool == toolFloor {
		return c.floor(ctx, wl, r)
	}

	t, err := startTool(ctx, c, tool)
	if err != nil {
		return fail(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			t.kill()
		}
	}()
	ok, _, err := waitEqual(ctx, c.src, c.dsts(), time.Now().Add(c.size.readyTimeout), nil)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(fmt.Errorf("%s: start-up sync did not mirror the source within %v", tool, c.size.readyTimeout))
	}
	base, err := sampleTree(t.pid())
	if err != nil {
		return fail(err)
	}
	logOffs, err := c.logSizes()
	if err != nil {
		return fail(err)
	}
	var peak *procPeak
	if wl.fan {
		peak = watchProcs(t.pid())
	}

	if t := c.targets[0]; t.ssh != nil {
		c.sshMark[0], c.sshMark[1] = t.proxy.Bytes()
	}
	c.toolPID = t.pid()
	t0 := time.Now()
	runErr := wl.run(ctx, c)
	tEnd := time.Now()
	r.WorkloadS = secs(tEnd.Sub(t0))
	if runErr != nil {
		return fail(fmt.Errorf("%s run: %w", wlName, runErr))
	}
	ok, at, err := waitEqual(ctx, c.src, c.dsts(), tEnd.Add(cfg.timeout), nil)
	if err != nil {
		return fail(err)
	}
	if peak != nil {
		r.MaxRsyncAtOnce = peak.stop()
	}
	r.Converged = ok
	if ok {
		r.ConvergeS = secs(at.Sub(tEnd))
	}
	stable, diff, err := settle(ctx, c.src, c.dsts(), cfg.settle)
	if err != nil {
		return fail(err)
	}
	r.Stable = ok && stable
	r.Missing, r.Extra, r.Different, r.DiffSample = diff.Missing, diff.Extra, diff.Different, diff.Sample

	end, sampleErr := sampleTree(t.pid())
	ruCPU, stopErr := t.stop(c.size.stopTimeout)
	stopped = true
	if sampleErr != nil {
		return fail(sampleErr)
	}
	r.CPURusageS, r.CPUSampledS, r.CPUBaseS, r.CPUOwnS = secs(ruCPU), secs(end.cpu), secs(base.cpu), secs(end.own)
	r.CPUOwnWorkS = secs(end.own - base.own)
	c.ownEnd = end.own
	if cfg.toolLogs != "" {
		name := fmt.Sprintf("%s-%s-%s.log", r.Time.Format("20060102T150405"), wlName, tool)
		if err := os.WriteFile(filepath.Join(cfg.toolLogs, name), []byte(t.out.String()), 0o644); err != nil {
			return fail(err)
		}
	}
	r.CPUS = secs(max(ruCPU, end.cpu) - base.cpu)
	r.PeakRSSMiB = float64(end.rss) / (1 << 20)
	if isOurs(tool) {
		n := ourRsyncRuns(t.out.String())
		r.ToolRsyncRuns = &n
	}
	if r.RsyncProcs, err = c.connects(logOffs); err != nil {
		return fail(err)
	}
	if r.RsyncProcsTotal, err = c.connects(nil); err != nil {
		return fail(err)
	}
	if wl.collect != nil {
		if err := wl.collect(c, &r); err != nil {
			return fail(fmt.Errorf("%s collect: %w", wlName, err))
		}
	}
	r.Pwned = c.pwned()
	if stopErr != nil {
		return fail(stopErr)
	}
	return r
}

// floor runs the workload with no tool watching, then one plain rsync of
// the final tree into the empty module.
func (c *cell) floor(ctx context.Context, wl workload, r result) result {
	t0 := time.Now()
	if err := wl.run(ctx, c); err != nil {
		r.Error = fmt.Sprintf("%s run: %v", r.Workload, err)
		return r
	}
	r.WorkloadS = secs(time.Since(t0))
	wall, cpu, err := floorRsync(ctx, c)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Converged, r.ConvergeS = true, secs(wall)
	r.CPUS, r.CPURusageS = secs(cpu), secs(cpu)
	diff, err := fullDiff(c.src, c.dst)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Stable = diff.total() == 0
	r.Missing, r.Extra, r.Different, r.DiffSample = diff.Missing, diff.Extra, diff.Different, diff.Sample
	if r.RsyncProcs, err = c.connects(nil); err != nil {
		r.Error = err.Error()
		return r
	}
	r.RsyncProcsTotal = r.RsyncProcs
	if wl.collect != nil {
		if err := wl.collect(c, &r); err != nil {
			r.Error = fmt.Sprintf("%s collect: %v", r.Workload, err)
			return r
		}
	}
	r.Pwned = c.pwned()
	return r
}

// cleanup releases what a workload left running (target watches).
func (c *cell) cleanup() {
	if c.w7 != nil && c.w7.watch != nil {
		c.w7.watch.Close()
	}
	if c.fan != nil {
		for _, w := range c.fan.watches {
			w.Close()
		}
	}
}

func fileSize(p string) (int64, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// readLogFrom returns the daemon log from byte offset off.
func readLogFrom(p string, off int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	return io.ReadAll(f)
}

// countConnects counts client connections (one per rsync process, of any
// tool) in the daemon log from byte offset off: "connect from" lines whose
// daemon process logged anything after it. A bare TCP probe (rsyncd.Start
// checks the port that way, and its line may be written after Start
// returned) logs nothing else and is left out.
func countConnects(p string, off int64) (int, error) {
	b, err := readLogFrom(p, off)
	if err != nil {
		return 0, err
	}
	return connects(b), nil
}

func connects(log []byte) int {
	lines := map[string]int{} // daemon pid → lines after its "connect from"
	var order []string
	for _, line := range bytes.Split(log, []byte("\n")) {
		i := bytes.IndexByte(line, '[')
		j := bytes.Index(line, []byte("] "))
		if i < 0 || j < i {
			continue
		}
		pid := string(line[i+1 : j])
		if bytes.HasPrefix(line[j+2:], []byte("connect from ")) {
			if _, ok := lines[pid]; !ok {
				order = append(order, pid)
			}
			lines[pid] = 0
			continue
		}
		if n, ok := lines[pid]; ok {
			lines[pid] = n + 1
		}
	}
	n := 0
	for _, pid := range order {
		if lines[pid] > 0 {
			n++
		}
	}
	return n
}

// countRecv counts "recv www REL" transfer lines from byte offset off.
func countRecv(p string, off int64, rel string) (int, error) {
	b, err := readLogFrom(p, off)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if i := bytes.Index(line, []byte("] ")); i >= 0 && string(line[i+2:]) == "recv www "+rel {
			n++
		}
	}
	return n, nil
}

var ourRuns = regexp.MustCompile(`msg=stopped .*rsync_runs=(\d+)`)

// ourRsyncRuns returns the rsync runs sersync2 counted in its last line,
// the start-up full sync included.
func ourRsyncRuns(log string) int {
	m := ourRuns.FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// pwned reports whether a file named PWNED exists below the cell's
// directories: a hostile name was run as shell code by some tool.
func (c *cell) pwned() bool {
	return pwned(c.dir) || (c.targetDir != c.dir && pwned(c.targetDir))
}

// pwned reports whether a file named PWNED exists below dir.
func pwned(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "PWNED" {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
