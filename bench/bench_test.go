//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/mnt"
)

// needTools skips (or, with SERSYNC_TEST_NO_SKIP=1, fails) when a program
// the harness drives is not installed.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			msg := n + " is not installed (make deps)"
			if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
				t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
			}
			t.Skip(msg)
		}
	}
}

// buildSersync2 builds the binary under test into a temporary directory.
func buildSersync2(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sersync2")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/sersync2").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ../cmd/sersync2: %v\n%s", err, out)
	}
	return bin
}

func tinyConfig(t *testing.T, bin string) config {
	t.Helper()
	s := fullSizes()
	s.w1Files, s.w1Dirs = 200, 4
	s.w7 = []phase{{Rate: 100, Dur: time.Second}}
	s.readyTimeout, s.stopTimeout = 20*time.Second, 20*time.Second
	return config{bin: bin, work: t.TempDir(), quick: true, reps: 1, timeout: 20 * time.Second,
		settle: 300 * time.Millisecond, size: s, out: io.Discard,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// needFanotify skips (or, with SERSYNC_TEST_NO_SKIP=1, fails) when the
// fanotify backend cannot watch the temporary directory, saying why.
func needFanotify(t *testing.T) {
	t.Helper()
	if err := inotifymask.FanotifyUsable(os.TempDir()); err != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("%v (SERSYNC_TEST_NO_SKIP=1)", err)
		}
		t.Skip(err)
	}
}

// checkMirror fails t unless the cell ran, converged and left an exact
// mirror, with sersync2's rsync runs and the daemon's connections in
// agreement.
func checkMirror(t *testing.T, cfg config, r result) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("cell error: %s", r.Error)
	}
	if !r.Converged || r.ConvergeS < 0 || r.ConvergeS > cfg.timeout.Seconds() {
		t.Errorf("converged=%v converge_s=%v", r.Converged, r.ConvergeS)
	}
	if r.Missing+r.Extra+r.Different != 0 || !r.Stable {
		t.Errorf("mirror: missing=%d extra=%d different=%d stable=%v %q", r.Missing, r.Extra, r.Different, r.Stable, r.DiffSample)
	}
	if r.RsyncProcs < 1 || r.RsyncProcs > r.Files {
		t.Errorf("rsync_procs = %d for %d files", r.RsyncProcs, r.Files)
	}
	if r.RsyncProcsTotal != r.RsyncProcs+1 {
		// sersync2 -r does exactly one start-up rsync.
		t.Errorf("rsync_procs_total = %d, want rsync_procs+1 = %d", r.RsyncProcsTotal, r.RsyncProcs+1)
	}
	if r.ToolRsyncRuns == nil || *r.ToolRsyncRuns != r.RsyncProcsTotal {
		t.Errorf("%s logged %v rsync runs, the daemon saw %d connections", r.Tool, r.ToolRsyncRuns, r.RsyncProcsTotal)
	}
	if r.CPUS <= 0 || r.PeakRSSMiB < 1 {
		t.Errorf("cpu_s=%v peak_rss_mib=%v", r.CPUS, r.PeakRSSMiB)
	}
	if r.Pwned {
		t.Error("a file named PWNED appeared")
	}
}

// checkBackend fails t unless the tool's log of the cell (kept in
// cfg.toolLogs) says it watched with the backend its name promises.
func checkBackend(t *testing.T, cfg config, wl, tool string) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(cfg.toolLogs, "*-"+wl+"-"+tool+".log"))
	if err != nil || len(logs) != 1 {
		t.Fatalf("logs of %s %s: %q, %v", wl, tool, logs, err)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{toolOurs: "backend=inotify", toolOursFan: "backend=fanotify"}[tool]
	if !strings.Contains(string(b), `msg="watch root backend"`) || !strings.Contains(string(b), want) {
		t.Errorf("%s %s: the log does not say %s:\n%s", wl, tool, want, tail(string(b), 2000))
	}
}

// checkPhase fails t unless a W7 phase lost nothing, saw arrivals and has
// ordered percentiles.
func checkPhase(t *testing.T, p phaseResult, written int) {
	t.Helper()
	if p.Written != written || p.Lost != 0 || p.Observed+p.Unobserved != written || p.Observed == 0 {
		t.Errorf("W7 phase: %+v", p)
	}
	if p.P50Ms < 0 || p.P95Ms < p.P50Ms || p.P99Ms < p.P95Ms || p.MaxMs < p.P99Ms {
		t.Errorf("W7 percentiles: %+v", p)
	}
}

// forBackends runs f for sersync2 on either backend, a subtest each; the
// fanotify one is skipped where fanotify cannot watch (and fails under
// SERSYNC_TEST_NO_SKIP=1). The tools' logs are kept in cfg.toolLogs.
func forBackends(t *testing.T, cfg config, f func(t *testing.T, cfg config, e env, tool string)) {
	t.Helper()
	cfg.tools = []string{toolOurs, toolOursFan}
	cfg.toolLogs = t.TempDir()
	e, err := probeEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range cfg.tools {
		t.Run(tool, func(t *testing.T) {
			if tool == toolOursFan {
				needFanotify(t)
			}
			f(t, cfg, e, tool)
		})
	}
}

// TestCellsSersync2 runs tiny W1, W6 and W7 cells for our binary on
// either backend and checks that every figure was measured and the
// mirror is exact.
func TestCellsSersync2(t *testing.T) {
	needTools(t, "rsync", "go")
	names, err := hostile.Read("../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t, buildSersync2(t))
	forBackends(t, cfg, func(t *testing.T, cfg config, e env, tool string) {
		for _, wl := range []string{"W1", "W6", "W7"} {
			t.Run(wl, func(t *testing.T) {
				r := runCell(context.Background(), cfg, e, names, tool, wl)
				checkMirror(t, cfg, r)
				checkBackend(t, cfg, wl, tool)
				if wl == "W7" {
					if len(r.W7) != 1 {
						t.Fatalf("W7 phases = %d", len(r.W7))
					}
					checkPhase(t, r.W7[0], 100)
				}
			})
		}
	})
	if dirs, _ := filepath.Glob(filepath.Join(cfg.work, "sersync-bench-*")); len(dirs) != 0 {
		t.Errorf("cell directories left behind: %v", dirs)
	}
}

// TestCellNoise runs a tiny noise cell on either backend: both phases
// measured, the writer outside the root wrote, and nothing of it reached
// the target.
func TestCellNoise(t *testing.T) {
	needTools(t, "rsync", "go")
	cfg := tinyConfig(t, buildSersync2(t))
	cfg.size.noise = noisePhases(100, time.Second, 1000)
	forBackends(t, cfg, func(t *testing.T, cfg config, e env, tool string) {
		r := runCell(context.Background(), cfg, e, nil, tool, "NOISE")
		checkMirror(t, cfg, r)
		checkBackend(t, cfg, "NOISE", tool)
		if len(r.W7) != 2 {
			t.Fatalf("NOISE phases = %d, want quiet and noisy", len(r.W7))
		}
		for i, p := range r.W7 {
			checkPhase(t, p, 100)
			if noisy := i == 1; (p.Noise > 0) != noisy || (p.NoiseWritten > 0) != noisy {
				t.Errorf("phase %d: noise %d, noise written %d", i, p.Noise, p.NoiseWritten)
			}
		}
		if n := r.W7[1].NoiseWritten; n < 1 || n > 1000 {
			t.Errorf("the noise writer wrote %d files; want some and at most the 1,000 its phase asks for", n)
		}
		if r.Outside == nil || *r.Outside != 0 {
			t.Errorf("outside = %v, want 0", r.Outside)
		}
	})
}

// TestOutsideEntries: the target scan counts whatever is not the root
// writer's directories and files.
func TestOutsideEntries(t *testing.T) {
	phases := noisePhases(100, time.Second, 1000)
	dst := t.TempDir()
	for _, p := range []string{"p100/f-0000001", "p100-noise/f-0000002"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, sample, err := outsideEntries(dst, phases); err != nil || n != 0 {
		t.Fatalf("clean target: %d outside (%q), %v", n, sample, err)
	}
	for _, p := range []string{"n-0001", "noise/n-0002", "p100/n-0003", "p100-noise/f-1"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dst, "p100", "f-0000009"), 0o755); err != nil {
		t.Fatal(err)
	}
	// n-0001, noise, noise/n-0002, p100/n-0003, p100-noise/f-1 and the
	// directory p100/f-0000009.
	if n, sample, err := outsideEntries(dst, phases); err != nil || n != 6 || len(sample) != 5 {
		t.Errorf("outsideEntries = %d, %q, %v; want 6 and 5 samples", n, sample, err)
	}
}

// TestCellsDirs runs a tiny big-tree cell on either backend: the start-up
// is timed, the memory read and every file written meanwhile arrives.
func TestCellsDirs(t *testing.T) {
	needTools(t, "rsync", "go")
	cfg := tinyConfig(t, buildSersync2(t))
	cfg.size.dirsN, cfg.size.dirsFilesPer, cfg.size.dirsDuring, cfg.size.dirsReady = 300, 1, 200, 20*time.Second
	forBackends(t, cfg, func(t *testing.T, cfg config, e env, tool string) {
		r := runCell(context.Background(), cfg, e, nil, tool, "DIRS")
		if r.Error != "" {
			t.Fatalf("cell error: %s", r.Error)
		}
		checkBackend(t, cfg, "DIRS", tool)
		if r.Dirs != countDirs(300, dirsFanout(300)) || r.WatchesS <= 0 || r.ReadyS < r.WatchesS {
			t.Errorf("dirs=%d watches_s=%v ready_s=%v", r.Dirs, r.WatchesS, r.ReadyS)
		}
		if r.HeapBytes <= 0 || r.PeakRSSMiB < 1 {
			t.Errorf("heap=%d rss=%v", r.HeapBytes, r.PeakRSSMiB)
		}
		if !r.Converged || r.Missing != 0 || r.DuringWritten == 0 {
			t.Errorf("converged=%v missing=%d of %d written during the start-up", r.Converged, r.Missing, r.DuringWritten)
		}
	})
}

// TestFanotifySkipped: where fanotify cannot watch the work directory (a
// ramfs gives no file handles) the fanotify tool is left out, with the
// reason.
func TestFanotifySkipped(t *testing.T) {
	work := t.TempDir()
	if err := unix.Mount("ramfs", work, "ramfs", 0, ""); err != nil {
		mnt.Skip(t, fmt.Sprintf("mounting a ramfs needs CAP_SYS_ADMIN: %v", err))
	}
	t.Cleanup(func() { _ = unix.Unmount(work, 0) })
	var out bytes.Buffer
	cfg := config{bin: "/bin/true", hostile: "../testdata/rsyncexec/hostile-names.txt", work: work,
		tools: []string{toolOursFan}, workloads: []string{"W1"}, out: &out, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := benchmark(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no tool left") {
		t.Errorf("benchmark with only the fanotify tool = %v, want no tool left", err)
	}
	if !strings.Contains(out.String(), toolOursFan+" skipped: ") || !strings.Contains(out.String(), "file handles") {
		t.Errorf("output %q does not say why %s was skipped", out.String(), toolOursFan)
	}
}

// TestCellBaseBin runs a tiny W1 cell of the -base-bin tool (here the same
// build) and checks it is measured like sersync2 and its version recorded.
func TestCellBaseBin(t *testing.T) {
	needTools(t, "rsync", "go")
	cfg := tinyConfig(t, buildSersync2(t))
	cfg.baseBin = cfg.bin
	cfg.tools = []string{toolOurs, toolOursBase}
	e, err := probeEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Sersync2Base == "" || e.Sersync2Base != e.Sersync2 {
		t.Errorf("base version %q, sersync2 version %q", e.Sersync2Base, e.Sersync2)
	}
	r := runCell(context.Background(), cfg, e, nil, toolOursBase, "W1")
	if r.Error != "" {
		t.Fatalf("cell error: %s", r.Error)
	}
	if r.Tool != toolOursBase || !r.Converged || r.Missing+r.Extra+r.Different != 0 {
		t.Errorf("tool=%s converged=%v missing=%d extra=%d different=%d", r.Tool, r.Converged, r.Missing, r.Extra, r.Different)
	}
	if r.ToolRsyncRuns == nil || *r.ToolRsyncRuns != r.RsyncProcsTotal {
		t.Errorf("sersync2-base logged %v rsync runs, the daemon saw %d connections", r.ToolRsyncRuns, r.RsyncProcsTotal)
	}
}

// TestBaseRunsWhereOursRuns: the other binary and the fanotify backend
// take part in exactly the workloads sersync2 does, SSH-W3's comparison
// and the noise case included.
func TestBaseRunsWhereOursRuns(t *testing.T) {
	for _, tool := range []string{toolOursBase, toolOursFan} {
		for _, wl := range allWorkloads {
			if got, want := workloads[wl].runs(tool), workloads[wl].runs(toolOurs); got != want {
				t.Errorf("%s: runs(%s) = %v, runs(%s) = %v", wl, tool, got, toolOurs, want)
			}
		}
	}
	if workloads["NOISE"].runs(toolLsyncd1) || workloads["NOISE"].runs(toolFloor) {
		t.Error("NOISE compares sersync2's backends only")
	}
}

func TestBaseBinFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"base tool without a binary", []string{"-tools", "sersync2-base"}, "needs -base-bin"},
		{"unknown tool", []string{"-tools", "sersync3"}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tt.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) = %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
			}
		})
	}
}

// TestDiffCountsCanFail: the correctness columns see a missing, an extra
// and a different file, and waitEqual gives up at its deadline.
func TestDiffCountsCanFail(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(src, "same", "x")
	write(dst, "same", "x")
	mt := time.Now().Add(-time.Hour)
	for _, d := range []string{src, dst} {
		if err := os.Chtimes(filepath.Join(d, "same"), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	eq, err := cheapEqual(src, dst)
	if err != nil || !eq {
		t.Fatalf("equal trees: cheapEqual = %v, %v", eq, err)
	}
	write(src, "only-src", "a")
	write(dst, "only-dst", "b")
	write(src, "nl\nname", "1")
	write(dst, "nl\nname", "2")
	d, err := fullDiff(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if d.Missing != 1 || d.Extra != 1 || d.Different != 1 {
		t.Errorf("diff counts = %+v, want 1/1/1", d)
	}
	ok, _, err := waitEqual(context.Background(), src, []string{dst}, time.Now().Add(100*time.Millisecond), nil)
	if err != nil || ok {
		t.Errorf("waitEqual on different trees = %v, %v", ok, err)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       procInfo
	}{
		{"plain", "123 (rsync) S 45 123 45 0 -1 4194304 100 0 0 0 7 3 2 1 20 0 1 0 100 0 0",
			procInfo{pid: 123, ppid: 45, comm: "rsync", ticks: 13, own: 10}},
		{"comm with spaces and parens", "9 (a) b (c) R 1 9 9 0 -1 0 0 0 0 0 100 200 300 400 20 0 1 0",
			procInfo{pid: 9, ppid: 1, comm: "a) b (c", ticks: 1000, own: 300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseStat([]byte("1 (x) S 0")); err == nil {
		t.Error("short line: no error")
	}
}

// TestSampleTreeSelf: the sampler sees this process's CPU and memory.
func TestSampleTreeSelf(t *testing.T) {
	deadline := time.Now().Add(5 * time.Second)
	var s treeSample
	for x := 0; time.Now().Before(deadline); x++ { // burn at least two clock ticks
		var err error
		if s, err = sampleTree(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if s.cpu >= 20*time.Millisecond {
			break
		}
		for i := range 1_000_000 {
			x ^= i
		}
	}
	if s.cpu < 20*time.Millisecond || s.rss <= 0 || len(s.procs) == 0 || s.procs[0].pid != os.Getpid() {
		t.Errorf("sample of self: cpu=%v rss=%d procs=%d", s.cpu, s.rss, len(s.procs))
	}
}

func TestConnects(t *testing.T) {
	log := strings.Join([]string{
		"2026/01/01 00:00:00 [10] rsyncd version 3.5.0 starting, listening on port 1",
		"2026/01/01 00:00:00 [11] connect from localhost (127.0.0.1)", // a bare probe
		"2026/01/01 00:00:01 [12] connect from localhost (127.0.0.1)",
		"2026/01/01 00:00:01 [12] rsync to www/ from u@localhost (127.0.0.1)",
		"2026/01/01 00:00:01 [13] connect from localhost (127.0.0.1)",
		"2026/01/01 00:00:01 [12] recv www a",
		"2026/01/01 00:00:01 [13] auth failed on module www from localhost (127.0.0.1)",
		"",
	}, "\n")
	if got := connects([]byte(log)); got != 2 {
		t.Errorf("connects = %d, want 2", got)
	}
}

func TestPercentile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"empty", nil, 50, -1},
		{"median of 1..100", seq(100), 50, 50},
		{"p99 of 1..100", seq(100), 99, 99},
		{"max", seq(100), 100, 100},
		{"p99 on a lost file", append(seq(99), inf), 100, -1},
		{"p50 despite a lost file", append(seq(99), inf), 50, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("percentile = %v, want %v", got, tt.want)
			}
		})
	}
}

func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[n-1-i] = float64(i + 1) // reversed: percentile sorts
	}
	return xs
}

func TestLuaString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tmp/x", `"/tmp/x"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"nl\nx\xff", `"nl\010x\255"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := luaString(tt.in); got != tt.want {
				t.Errorf("luaString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestPick(t *testing.T) {
	got, err := pick("w7, w1", allWorkloads)
	if err != nil || strings.Join(got, ",") != "W1,W7" {
		t.Errorf("pick = %v, %v", got, err)
	}
	if _, err := pick("W9", allWorkloads); err == nil {
		t.Error("unknown workload accepted")
	}
	if got := rotate([]string{"a", "b", "c"}, 4); strings.Join(got, "") != "bca" {
		t.Errorf("rotate = %v", got)
	}
}

// TestDelayProxy: a round trip through the proxy takes at least twice its
// one-way delay, and the data arrives intact in both directions.
func TestDelayProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // the echo server, ended by ln.Close
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	const delay = 20 * time.Millisecond
	p, err := startDelayProxy("127.0.0.1:0", ln.Addr().String(), delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", net.JoinHostPort(p.IP(), strconv.Itoa(p.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("sersync2 "), 10_000)
	t0 := time.Now()
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < 2*delay {
		t.Errorf("round trip took %v, want at least %v", took, 2*delay)
	}
	if !bytes.Equal(got, msg) {
		t.Error("data changed on the way")
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestPace: a writer far behind its rate still ends at once when told,
// at its hard stop, or when the run ends; else it makes all n calls.
func TestPace(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		hardStop time.Time
		stopAt   int // close stop in call stopAt (-1: never)
		n        int
		want     int
		wantErr  error
	}{
		{"all calls", context.Background(), time.Time{}, -1, 1000, 1000, nil},
		{"told to stop while behind", context.Background(), time.Time{}, 99, 1 << 40, 100, nil},
		{"hard stop passed", context.Background(), time.Now().Add(-time.Second), -1, 1 << 40, 0, nil},
		{"run ended", canceled, time.Time{}, -1, 1 << 40, 0, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop := make(chan struct{})
			calls := 0
			got, err := pace(tt.ctx, stop, tt.n, 1e12, time.Millisecond, tt.hardStop, func(i int) error {
				if i != calls {
					t.Fatalf("call %d, want %d", i, calls)
				}
				calls++
				if i == tt.stopAt {
					close(stop)
				}
				return nil
			})
			if got != tt.want || calls != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("pace = %d, %v after %d calls; want %d, %v", got, err, calls, tt.want, tt.wantErr)
			}
		})
	}
}

// TestFanReport: the fanotify comparison, the noise table and their goals
// are judged from the cells: within 1.2× met, beyond it missed, an entry
// from outside the root a failed cell.
func TestFanReport(t *testing.T) {
	ok := func(tool, wl string, phases ...phaseResult) result {
		return result{Tool: tool, Workload: wl, Rep: 1, Files: 100, Converged: true, Stable: true, W7: phases}
	}
	quiet := func(p50, p95 float64) phaseResult {
		return phaseResult{Rate: 200, Written: 100, P50Ms: p50, P95Ms: p95, P99Ms: p95, MaxMs: p95, OwnCPUUsPerFile: 10}
	}
	noisy := func(p50, p95 float64) phaseResult {
		p := quiet(p50, p95)
		p.Noise, p.NoiseWritten, p.NoiseAchieved = 5000, 25000, 4990
		return p
	}
	two, none := 2, 0
	fanNoise := ok(toolOursFan, "NOISE", quiet(20, 40), noisy(30, 40))
	fanNoise.Outside = &two
	oursNoise := ok(toolOurs, "NOISE", quiet(20, 40), noisy(22, 44))
	oursNoise.Outside = &none
	results := []result{
		ok(toolOurs, "W7", phaseResult{Rate: 200, Written: 100, P50Ms: 20, P99Ms: 50, OwnCPUUsPerFile: 10},
			phaseResult{Rate: 2000, Written: 100, P50Ms: 40, P99Ms: 100, OwnCPUUsPerFile: 5}),
		ok(toolOursFan, "W7", phaseResult{Rate: 200, Written: 100, P50Ms: 22, P99Ms: 55, OwnCPUUsPerFile: 11},
			phaseResult{Rate: 2000, Written: 100, P50Ms: 40, P99Ms: 100, OwnCPUUsPerFile: 7}),
		oursNoise, fanNoise,
		{Tool: toolOursFan, Workload: "DIRS", Rep: 1, Converged: true, Stable: true, Dirs: dirsGoalSize,
			WatchesS: 1.5, ReadyS: 30, PeakRSSMiB: 35, HeapBytes: 20 << 20, HeapPerDirB: 20.76, DuringWritten: 10, WriterCovered: true},
	}
	var out bytes.Buffer
	printReport(&out, tinyConfig(t, ""), env{}, results, 0, 0)
	for _, want := range []string{
		"W7 at 200 files/s: fanotify own CPU per file ≤ 1.2× inotify: 11.0 vs 10.0 µs = 1.10× — met",
		"W7 at 200 files/s: fanotify latency ≤ 1.2× inotify: p50 22 vs 20 ms = 1.10×, p99 55 vs 50 ms = 1.10× — met",
		"W7 at 2000 files/s: fanotify own CPU per file ≤ 1.2× inotify: 7.0 vs 5.0 µs = 1.40× — MISSED",
		"W7 at 2000 files/s: fanotify latency ≤ 1.2× inotify: p50 40 vs 40 ms = 1.00×, p99 100 vs 100 ms = 1.00× — met",
		"NOISE sersync2 latency with noise outside the root ≤ 1.2× quiet (200 files/s in the root, 4990 files/s outside): p50 20 → 22 ms = 1.10×, p95 40 → 44 ms = 1.10× — met\n",
		"NOISE sersync2-fanotify latency with noise outside the root ≤ 1.2× quiet (200 files/s in the root, 4990 files/s outside): p50 20 → 30 ms = 1.50×, p95 40 → 40 ms = 1.00× — MISSED\n",
		"NOISE nothing from outside the root on the target: sersync2 0, sersync2-fanotify 2 — MISSED",
		"OUTSIDE: rep 1: 2 entries on the target from outside the root",
		"DIRS fanotify (1010100 dirs) ready ≤ 2 s: 1.50 s — met",
		"DIRS fanotify RSS ≤ 40 MiB: 35.0 MiB (Go heap 21 B per directory) — met",
		"0 missing/extra/different in every sersync2 and sersync2-fanotify cell: MISSED (1 cells: sersync2-fanotify NOISE rep 1)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", out.String())
	}
}

// TestCellTargetWork: with -target-work on another file system the
// targets' daemons and modules live there, the cell runs as usual, and
// nothing of it is left behind.
func TestCellTargetWork(t *testing.T) {
	needTools(t, "rsync", "go")
	cfg := tinyConfig(t, buildSersync2(t))
	cfg.targetWork = t.TempDir()
	mnt.Tmpfs(t, cfg.targetWork)
	cfg.tools = []string{toolOurs}
	e, err := probeEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !e.TargetsApart {
		t.Errorf("targets on a tmpfs, sources in %s: not reported apart", cfg.work)
	}
	c := &cell{cfg: cfg, size: cfg.size, dir: t.TempDir(), targetDir: cfg.targetWork}
	if err := c.startTargets(workloads["W1"]); err != nil {
		t.Fatal(err)
	}
	dst := c.dst
	c.closeTargets()
	if !strings.HasPrefix(dst, cfg.targetWork+"/") {
		t.Errorf("target module %s is not below -target-work %s", dst, cfg.targetWork)
	}
	if err := os.RemoveAll(filepath.Join(cfg.targetWork, "rsyncd-1")); err != nil {
		t.Fatal(err)
	}
	r := runCell(context.Background(), cfg, e, nil, toolOurs, "W1")
	checkMirror(t, cfg, r)
	if left, _ := os.ReadDir(cfg.targetWork); len(left) != 0 {
		t.Errorf("left in -target-work: %v", left)
	}
}
