//go:build linux

package main

import (
	"bytes"
	"context"
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

	"github.com/sersync-go/sersync2/internal/hostile"
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
	s.w7 = []phase{{100, time.Second}}
	s.readyTimeout, s.stopTimeout = 20*time.Second, 20*time.Second
	return config{bin: bin, work: t.TempDir(), quick: true, reps: 1, timeout: 20 * time.Second,
		settle: 300 * time.Millisecond, size: s, out: io.Discard,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// TestCellsSersync2 runs tiny W1, W6 and W7 cells for our binary only and
// checks that every figure was measured and the mirror is exact.
func TestCellsSersync2(t *testing.T) {
	needTools(t, "rsync", "go")
	cfg := tinyConfig(t, buildSersync2(t))
	cfg.tools = []string{toolOurs}
	e, err := probeEnv(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	names, err := hostile.Read("../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, wl := range []string{"W1", "W6", "W7"} {
		t.Run(wl, func(t *testing.T) {
			r := runCell(context.Background(), cfg, e, names, toolOurs, wl)
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
				t.Errorf("sersync2 logged %v rsync runs, the daemon saw %d connections", r.ToolRsyncRuns, r.RsyncProcsTotal)
			}
			if r.CPUS <= 0 || r.PeakRSSMiB < 1 {
				t.Errorf("cpu_s=%v peak_rss_mib=%v", r.CPUS, r.PeakRSSMiB)
			}
			if r.Pwned {
				t.Error("a file named PWNED appeared")
			}
			if wl == "W7" {
				if len(r.W7) != 1 {
					t.Fatalf("W7 phases = %d", len(r.W7))
				}
				p := r.W7[0]
				if p.Written != 100 || p.Lost != 0 || p.Observed+p.Unobserved != 100 || p.Observed == 0 {
					t.Errorf("W7 phase: %+v", p)
				}
				if p.P50Ms < 0 || p.P99Ms < p.P50Ms || p.MaxMs < p.P99Ms {
					t.Errorf("W7 percentiles: %+v", p)
				}
			}
		})
	}
	if dirs, _ := filepath.Glob(filepath.Join(cfg.work, "sersync-bench-*")); len(dirs) != 0 {
		t.Errorf("cell directories left behind: %v", dirs)
	}
}

// TestDiffCountsCanFail: the correctness columns see a missing, an extra
// and a different file, and waitEqual gives up at its deadline.
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

// TestBaseRunsWhereOursRuns: the other binary takes part in exactly the
// workloads sersync2 does, SSH-W3's comparison included.
func TestBaseRunsWhereOursRuns(t *testing.T) {
	for _, wl := range allWorkloads {
		if got, want := workloads[wl].runs(toolOursBase), workloads[wl].runs(toolOurs); got != want {
			t.Errorf("%s: runs(%s) = %v, runs(%s) = %v", wl, toolOursBase, got, toolOurs, want)
		}
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
