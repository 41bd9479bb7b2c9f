//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is one invocation of the harness.
type config struct {
	bin        string   // the sersync2 binary
	baseBin    string   // a second sersync2 binary, run as toolOursBase
	binArgs    []string // extra flags for it (-sersync2-flags)
	hostile    string   // testdata/rsyncexec/hostile-names.txt
	resultsDir string   // "" writes no JSON
	toolLogs   string   // "" keeps no tool output
	work       string   // parent of the per-cell temporary directories
	// targetWork, if set, is the parent of the cells' target
	// directories (daemons and modules), e.g. on another file system
	// than work, as a real remote is.
	targetWork string
	quick      bool
	reps       int // repetitions of every workload
	w1Reps     int // repetitions of W1, whose ratios are the headline targets
	tools      []string
	workloads  []string
	timeout    time.Duration // convergence deadline after a workload ends
	settle     time.Duration // quiet window after convergence
	wanRTT     time.Duration // round trip the delay proxy adds in the WAN cases
	slowRTT    time.Duration // round trip to the fan-out case's slow remote
	size       sizes
	out        io.Writer // the table
	log        *slog.Logger
}

// sizes are the workload dimensions.
type sizes struct {
	w1Files, w1Dirs   int
	w2Chains, w2Depth int
	w3DirFiles        int // files in the renamed directory
	w3Files           int // single files renamed
	w4Files           int
	w5Chunks          int // 1 MiB chunks
	w5Over            time.Duration
	w7                []phase
	w7FileSize        int
	w1FileSize        int
	// noise is the noise case's phases: the same rate in the root, quiet
	// then with the writer outside the root.
	noise        []phase
	readyTimeout time.Duration // tool start-up and initial sync
	stopTimeout  time.Duration // SIGTERM → exit
	// fan-out: fanFiles files written evenly over fanOver to fanRemotes
	// daemons.
	fanFiles   int
	fanOver    time.Duration
	fanRemotes int
	// big tree: dirsN leaf directories (and their parents), dirsFilesPer
	// files in each, dirsDuring files written while the tool starts;
	// dirsReady bounds a tool's start-up on it.
	dirsN, dirsFilesPer, dirsDuring int
	dirsReady                       time.Duration
}

// phase is one rate step of W7 (and of the noise case).
type phase struct {
	Rate int
	Dur  time.Duration
	// Noise is the files per second a writer outside the root, on the
	// same file system, writes during the phase (0: none).
	Noise int
}

// noisePhases is the noise case: rate files per second in the root for
// d, quiet, then for d again with noise files per second written outside
// the root.
func noisePhases(rate int, d time.Duration, noise int) []phase {
	return []phase{{Rate: rate, Dur: d}, {Rate: rate, Dur: d, Noise: noise}}
}

func fullSizes() sizes {
	return sizes{
		w1Files: 10_000, w1Dirs: 100, w1FileSize: 4096,
		w2Chains: 50, w2Depth: 20,
		w3DirFiles: 1000, w3Files: 100,
		w4Files:  1000,
		w5Chunks: 200, w5Over: 5 * time.Second,
		w7:           []phase{{Rate: 200, Dur: 30 * time.Second}, {Rate: 2000, Dur: 10 * time.Second}, {Rate: 10_000, Dur: 10 * time.Second}},
		noise:        noisePhases(200, 20*time.Second, 5000),
		w7FileSize:   1024,
		readyTimeout: 60 * time.Second, stopTimeout: 30 * time.Second,
		fanFiles: 10_000, fanOver: 60 * time.Second, fanRemotes: 20,
		dirsN: 1_000_000, dirsFilesPer: 2, dirsDuring: 30_000, dirsReady: 10 * time.Minute,
	}
}

func quickSizes() sizes {
	s := fullSizes()
	s.w1Files, s.w1Dirs = 2000, 20
	s.w2Chains = 20
	s.w5Chunks, s.w5Over = 50, 2500*time.Millisecond
	s.w7 = []phase{{Rate: 200, Dur: 5 * time.Second}, {Rate: 2000, Dur: 2 * time.Second}, {Rate: 10_000, Dur: time.Second}}
	s.noise = noisePhases(200, 5*time.Second, 5000)
	s.fanFiles, s.fanOver = 2000, 12*time.Second
	s.dirsN, s.dirsFilesPer, s.dirsDuring, s.dirsReady = 20_000, 1, 3000, 3*time.Minute
	return s
}

var allTools = []string{toolOurs, toolOursFan, toolOursBase, toolOursNoMoves, toolLsyncd1, toolLsyncd0, toolLoop, toolFloor}

// defaultTools is every tool but toolOursBase, which -base-bin adds.
var defaultTools = withoutTool(allTools, toolOursBase)
var allWorkloads = []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7", "WAN-W1", "WAN-W3", "WAN-W7", "SSH-W3", "FAN", "DIRS", "NOISE"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quickEnv := os.Getenv("BENCH_QUICK")
	var (
		bin      = fs.String("bin", "./sersync2", "sersync2 binary under test")
		hostile  = fs.String("hostile", "testdata/rsyncexec/hostile-names.txt", "hostile file names, one Go-quoted name per line")
		results  = fs.String("results", "bench/results", "directory for the <date>-<host>.jsonl results (\"\" = none)")
		work     = fs.String("work", os.TempDir(), "where the per-cell source and target trees live")
		tWork    = fs.String("target-work", "", "where the per-cell targets (daemons and their modules) live instead of -work: on another file system, the fanotify backend's mark does not see rsync writing the target, as with a real remote")
		quick    = fs.Bool("quick", quickEnv != "" && quickEnv != "0", "small workloads, one repetition (default from BENCH_QUICK)")
		reps     = fs.Int("reps", 1, "repetitions of every workload")
		w1Reps   = fs.Int("w1-reps", 0, "repetitions of W1, the workload of the ratio targets (default 3, quick 1; at least -reps)")
		tools    = fs.String("tools", strings.Join(defaultTools, ","), "tools to run, comma separated (-base-bin adds "+toolOursBase+")")
		wls      = fs.String("workloads", strings.Join(allWorkloads, ","), "workloads to run, comma separated")
		timeout  = fs.Duration("timeout", 0, "convergence deadline after a workload ends (default 90s, quick 45s)")
		settle   = fs.Duration("settle", 0, "quiet window after convergence in which the target must not change (default 2s, quick 1s)")
		toolLogs = fs.String("tool-logs", "", "keep each tool's stdout/stderr in this directory")
		wanRTT   = fs.Duration("wan-rtt", 50*time.Millisecond, "round trip the delay proxy adds in the WAN cases")
		slowRTT  = fs.Duration("slow-rtt", 400*time.Millisecond, "round trip to the slow remote of the fan-out case")
		remotes  = fs.Int("fan-remotes", 0, "remotes of the fan-out case (default 20)")
		dirs     = fs.Int("dirs", 0, "leaf directories of the big-tree case (default 1,000,000, quick 20,000)")
		dirFiles = fs.Int("dir-files", -1, "files in each leaf directory of the big-tree case (default 2, quick 1)")
		logLevel = fs.String("log-level", "info", "progress log level on stderr: debug, info, warn")
		reportOf = fs.String("report", "", "print the table and targets of the cells in this results file (JSON lines of an earlier or interrupted run) instead of running anything; -quick and -w1-reps as that run had them")
		baseBin  = fs.String("base-bin", "", "a second sersync2 binary (e.g. an older build), run as the tool "+toolOursBase+" in the same cells with the same flags: -r -n 10 -o --no-tune-kernel and -sersync2-flags")
		binFlags = fs.String("sersync2-flags", "", "extra flags for sersync2, space separated (e.g. \"--batching eager --min-delay 100ms\")")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "bench: -log-level: %v\n", err)
		return 2
	}
	cfg := config{
		bin: *bin, binArgs: strings.Fields(*binFlags), hostile: *hostile, resultsDir: *results, work: *work, targetWork: *tWork, toolLogs: *toolLogs,
		quick: *quick, reps: *reps, w1Reps: *w1Reps, timeout: *timeout, settle: *settle, wanRTT: *wanRTT, slowRTT: *slowRTT,
		out: stdout,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})),
	}
	cfg.size = fullSizes()
	if cfg.quick {
		cfg.size = quickSizes()
	}
	if *remotes > 0 {
		cfg.size.fanRemotes = min(*remotes, 250)
	}
	if *dirs > 0 {
		cfg.size.dirsN = *dirs
	}
	if *dirFiles >= 0 {
		cfg.size.dirsFilesPer = *dirFiles
	}
	if cfg.reps <= 0 {
		cfg.reps = 1
	}
	if cfg.w1Reps <= 0 {
		cfg.w1Reps = 3
		if cfg.quick {
			cfg.w1Reps = 1
		}
	}
	cfg.w1Reps = max(cfg.w1Reps, cfg.reps)
	if cfg.timeout <= 0 {
		cfg.timeout = 90 * time.Second
		if cfg.quick {
			cfg.timeout = 45 * time.Second
		}
	}
	if cfg.settle <= 0 {
		cfg.settle = 2 * time.Second
		if cfg.quick {
			cfg.settle = time.Second
		}
	}
	toolList := *tools
	if *baseBin != "" && !isSet(fs, "tools") {
		toolList += "," + toolOursBase
	}
	var err error
	if cfg.tools, err = pick(toolList, allTools); err != nil {
		fmt.Fprintf(stderr, "bench: -tools: %v\n", err)
		return 2
	}
	if slices.Contains(cfg.tools, toolOursBase) {
		if *baseBin == "" {
			fmt.Fprintf(stderr, "bench: -tools %s needs -base-bin\n", toolOursBase)
			return 2
		}
		if cfg.baseBin, err = filepath.Abs(*baseBin); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 2
		}
	}
	if cfg.workloads, err = pick(*wls, allWorkloads); err != nil {
		fmt.Fprintf(stderr, "bench: -workloads: %v\n", err)
		return 2
	}
	if cfg.bin, err = filepath.Abs(cfg.bin); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *reportOf != "" {
		if err := reportFile(ctx, cfg, *reportOf); err != nil {
			fmt.Fprintf(stderr, "bench: -report: %v\n", err)
			return 1
		}
		return 0
	}
	if err := benchmark(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// isSet reports whether the command line gave flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// pick splits a comma-separated list and checks every item is known; the
// result keeps the order of known.
func pick(list string, known []string) ([]string, error) {
	want := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ok := false
		for _, k := range known {
			if strings.EqualFold(s, k) {
				want[k], ok = true, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown %q (known: %s)", s, strings.Join(known, ", "))
		}
	}
	var out []string
	for _, k := range known {
		if want[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("nothing selected")
	}
	return out, nil
}

// benchmark runs every selected cell, reps times, tools interleaved, then
// prints the table and the targets.
func benchmark(ctx context.Context, cfg config) error {
	env, names, err := probeInputs(ctx, cfg)
	if err != nil {
		return err
	}
	if env.FanotifySkipped != "" {
		fmt.Fprintf(cfg.out, "bench: %s skipped: %s\n", toolOursFan, env.FanotifySkipped)
		if cfg.tools = withoutTool(cfg.tools, toolOursFan); len(cfg.tools) == 0 {
			return errors.New("no tool left to run")
		}
	}
	var sink *jsonSink
	if cfg.resultsDir != "" {
		if sink, err = openSink(cfg.resultsDir, env); err != nil {
			return err
		}
		defer sink.Close()
	}
	if slices.Contains(cfg.workloads, "DIRS") {
		restore, err := raiseWatchLimit(cfg, countDirs(cfg.size.dirsN, dirsFanout(cfg.size.dirsN)))
		if err != nil {
			return err
		}
		defer restore()
	}
	started := time.Now()
	var results []result
reps:
	for rep := 1; rep <= max(cfg.reps, cfg.w1Reps); rep++ {
		for _, wl := range cfg.workloads {
			if rep > cfg.repsOf(wl) {
				continue
			}
			// Rotate the tool order each repetition: A B C, B C A, …
			order := rotate(cfg.tools, rep-1)
			for _, tool := range order {
				if ctx.Err() != nil {
					break reps
				}
				if !workloads[wl].runs(tool) {
					continue // e.g. a latency workload: no floor
				}
				cfg.log.Info("cell", "rep", rep, "workload", wl, "tool", tool)
				r := runCell(ctx, cfg, env, names, tool, wl)
				r.Rep = rep
				if r.Error != "" {
					cfg.log.Warn("cell failed", "workload", wl, "tool", tool, "err", r.Error)
				} else {
					cfg.log.Info("cell done", "workload", wl, "tool", tool, "converged", r.Converged,
						"converge_s", round3(r.ConvergeS), "rsync_procs", r.RsyncProcs, "cpu_s", round3(r.CPUS),
						"missing", r.Missing, "extra", r.Extra, "different", r.Different)
				}
				results = append(results, r)
				if sink != nil {
					if err := sink.Write(r); err != nil {
						return err
					}
				}
			}
		}
	}
	if ctx.Err() != nil {
		if sink != nil {
			return fmt.Errorf("%w (the cells done are in %s: go run ./bench -report %s)", ctx.Err(), sink.path, sink.path)
		}
		return ctx.Err()
	}
	printReport(cfg.out, cfg, env, results, len(names), time.Since(started))
	if sink != nil {
		fmt.Fprintf(cfg.out, "\nJSON lines appended to %s\n", sink.path)
	}
	return nil
}

// repsOf is how often wl runs: W1 and the cases with goals of their own
// (WAN, fan-out, noise) as often as W1, the big tree once.
func (c config) repsOf(wl string) int {
	switch {
	case wl == "DIRS":
		return 1
	case wl == "W1" || wl == "FAN" || wl == "NOISE" || strings.HasPrefix(wl, "WAN-"):
		return c.w1Reps
	}
	return c.reps
}

// withoutTool returns tools without tool.
func withoutTool(tools []string, tool string) []string {
	return slices.DeleteFunc(slices.Clone(tools), func(t string) bool { return t == tool })
}

func rotate(s []string, k int) []string {
	if len(s) == 0 {
		return nil
	}
	k %= len(s)
	return append(append([]string(nil), s[k:]...), s[:k]...)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
