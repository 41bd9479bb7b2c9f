//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// agg is the cells of one (workload, tool) over the repetitions.
type agg struct {
	workload, tool string
	cells          []result
}

func (a agg) ok() []result {
	var out []result
	for _, r := range a.cells {
		if r.Error == "" {
			out = append(out, r)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// convergeS is the median convergence over the repetitions that
// converged, and how many did.
func (a agg) convergeS() (float64, int, int) {
	var xs []float64
	n := 0
	for _, r := range a.ok() {
		n++
		if r.Converged {
			xs = append(xs, r.ConvergeS)
		}
	}
	return median(xs), len(xs), n
}

func (a agg) medianOf(f func(result) float64) float64 {
	var xs []float64
	for _, r := range a.ok() {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func (a agg) maxOf(f func(result) int) int {
	m := 0
	for _, r := range a.ok() {
		m = max(m, f(r))
	}
	return m
}

func group(results []result) []agg {
	var out []agg
	idx := map[string]int{}
	for _, r := range results {
		k := r.Workload + "\x00" + r.Tool
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, agg{workload: r.Workload, tool: r.Tool})
		}
		out[i].cells = append(out[i].cells, r)
	}
	// Workload order, then the tools in the fixed order of allTools.
	slices.SortStableFunc(out, func(x, y agg) int {
		if c := strings.Compare(x.workload, y.workload); c != 0 {
			return c
		}
		return slices.Index(allTools, x.tool) - slices.Index(allTools, y.tool)
	})
	return out
}

func find(aggs []agg, wl, tool string) (agg, bool) {
	for _, a := range aggs {
		if a.workload == wl && a.tool == tool {
			return a, true
		}
	}
	return agg{}, false
}

func fmtS(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtMs(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case x < 0:
		return "never"
	default:
		return fmt.Sprintf("%.0f", x)
	}
}

// notes lists what the numbers do not show.
func (a agg) notes() string {
	var n []string
	for _, r := range a.cells {
		if r.Error != "" {
			n = append(n, fmt.Sprintf("rep %d ERROR: %s", r.Rep, oneLine(r.Error, 160)))
		}
	}
	ok := a.ok()
	if len(ok) == 0 {
		return strings.Join(n, "; ")
	}
	if _, conv, total := a.convergeS(); conv < total {
		n = append(n, fmt.Sprintf("NOT CONVERGED in %d/%d (timeout %.0fs)", total-conv, total, ok[0].TimeoutS))
	}
	unstable := 0
	for _, r := range ok {
		if r.Converged && !r.Stable {
			unstable++
		}
	}
	if unstable > 0 {
		n = append(n, fmt.Sprintf("target changed after convergence in %d", unstable))
	}
	for _, r := range ok {
		if r.BigTransfers != nil {
			n = append(n, fmt.Sprintf("big file transfers %d (%d after close)", *r.BigTransfers, *r.BigTransfersAfterClose))
		}
		if r.Pwned {
			n = append(n, "PWNED: a file name ran as shell code")
		}
		if outside(r) > 0 {
			n = append(n, fmt.Sprintf("OUTSIDE: rep %d: %d entries on the target from outside the root", r.Rep, outside(r)))
		}
	}
	if isOurs(a.tool) && a.workload == "W1" {
		var runs []string
		for _, r := range ok {
			if r.ToolRsyncRuns != nil {
				runs = append(runs, fmt.Sprint(*r.ToolRsyncRuns))
			}
		}
		if len(runs) > 0 {
			n = append(n, a.tool+" logged "+strings.Join(runs, "/")+" rsync runs (incl. -r)")
		}
	}
	if a.maxOf(func(r result) int { return r.Missing + r.Extra + r.Different }) > 0 {
		for _, r := range ok {
			if len(r.DiffSample) > 0 {
				n = append(n, "e.g. "+oneLine(r.DiffSample[0], 120))
				break
			}
		}
	}
	return strings.Join(n, "; ")
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// printReport writes the tables, the W1 ratios and the targets.
func printReport(w io.Writer, cfg config, e env, results []result, hostile int, took time.Duration) {
	mode := "full"
	if cfg.quick {
		mode = "quick (BENCH_QUICK=1)"
	}
	fmt.Fprintf(w, "\nsersync2 side-by-side benchmark — %s, %s mode, %d repetition(s) (W1: %d; figures are medians), %s\n",
		e.Date, mode, cfg.reps, cfg.w1Reps, took.Round(time.Second))
	fmt.Fprintf(w, "machine: %d cores, %s, Linux %s\n", e.NProc, e.CPU, e.Kernel)
	fmt.Fprintf(w, "tools: %s | %s | %s | %s\n", e.Sersync2, e.Rsync, e.Lsyncd, e.Inotifywait)
	if e.Sersync2Base != "" {
		fmt.Fprintf(w, "%s: %s\n", toolOursBase, e.Sersync2Base)
	}
	if e.FanotifySkipped != "" {
		fmt.Fprintf(w, "%s skipped: %s\n", toolOursFan, e.FanotifySkipped)
	}
	if e.TargetsApart {
		fmt.Fprintln(w, "targets: on another file system than the sources (-target-work)")
	} else {
		fmt.Fprintf(w, "targets: on the sources' file system (%s also reads and drops rsync's writes on them; -target-work puts them apart)\n", toolOursFan)
	}
	s := cfg.size
	fmt.Fprintf(w, "workloads: W1 %d×%d KiB files in %d dirs; W2 %d chains mkdir -p depth %d + a file per level; "+
		"W3 rename a %d-file dir + %d files; W4 delete a %d-file subtree; W5 %d MiB in 1 MiB chunks over %v; "+
		"W6 %d hostile names (file + dir each); W7 %s; NOISE %s\n",
		s.w1Files, s.w1FileSize/1024, s.w1Dirs, s.w2Chains, s.w2Depth, s.w3DirFiles, s.w3Files, s.w4Files,
		s.w5Chunks, s.w5Over, hostile, w7Desc(s.w7), w7Desc(s.noise))
	fmt.Fprintf(w, "wl s = how long the workload ran (the writer shares 2 cores with the tool); "+
		"converge = seconds from the end of the workload until target == source (floor: the plain rsync's wall time); "+
		"procs = rsync connections the daemon logged during the workload; CPU = tool + its rsync children, of it tool = the tool's own processes; "+
		"RSS = peak of the tool's own processes; m/e/d = missing/extra/different after a %v settle window.\n\n", cfg.settle)

	aggs := group(results)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "wl\ttool\twl s\tconverge s\tprocs\tCPU s\tof it tool s\tRSS MiB\tm/e/d\tnotes")
	for _, a := range aggs {
		conv, nc, nt := a.convergeS()
		cs := fmtS(conv)
		if nt > 0 && nc < nt {
			cs = fmt.Sprintf(">%.0f (%d/%d)", a.ok()[0].TimeoutS, nt-nc, nt)
			if nc > 0 {
				cs = fmtS(conv) + fmt.Sprintf(" (%d/%d timeout)", nt-nc, nt)
			}
		}
		if len(a.ok()) == 0 {
			cs = "error"
		}
		own := a.medianOf(func(r result) float64 { return r.CPUOwnS })
		if a.tool == toolFloor {
			own = math.NaN()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\t%s\n", a.workload, a.tool,
			fmtS(a.medianOf(func(r result) float64 { return r.WorkloadS })), cs,
			fmtS0(a.medianOf(func(r result) float64 { return float64(r.RsyncProcs) })),
			fmtS(a.medianOf(func(r result) float64 { return r.CPUS })), fmtS(own),
			fmtS1(a.rss()),
			a.maxOf(func(r result) int { return r.Missing }), a.maxOf(func(r result) int { return r.Extra }),
			a.maxOf(func(r result) int { return r.Different }), a.notes())
	}
	tw.Flush()

	if hasW7(aggs) {
		fmt.Fprintf(w, "\nW7 per-file latency, close on the source → renamed into place on the target (ms; median over repetitions; lost = not on the target at the end):\n\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "wl\ttool\trate/s\tachieved/s\tfiles\tp50 ms\tp99 ms\tmax ms\tlost\tunobserved\town µs/file")
		for _, a := range aggs {
			if !strings.HasSuffix(a.workload, "W7") || len(a.ok()) == 0 {
				continue
			}
			for pi := range a.ok()[0].W7 {
				ph := func(r result) phaseResult {
					if pi < len(r.W7) {
						return r.W7[pi]
					}
					return phaseResult{}
				}
				p := ph(a.ok()[0])
				if a.tool == toolFloor { // nothing watching: only the writer's rate means something
					fmt.Fprintf(tw, "%s\t%s (writer alone)\t%d\t%.0f\t%d\t-\t-\t-\t-\t-\t-\n", a.workload, a.tool, p.Rate,
						a.medianOf(func(r result) float64 { return ph(r).AchievedRate }), p.Written)
					continue
				}
				own := "-"
				if p.OwnCPUUsPerFile > 0 {
					own = fmt.Sprintf("%.1f", a.medianOf(func(r result) float64 { return ph(r).OwnCPUUsPerFile }))
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%d\t%s\t%s\t%s\t%d\t%d\t%s\n", a.workload, a.tool, p.Rate,
					a.medianOf(func(r result) float64 { return ph(r).AchievedRate }), p.Written,
					fmtMs(medianMs(a, func(r result) float64 { return ph(r).P50Ms })),
					fmtMs(medianMs(a, func(r result) float64 { return ph(r).P99Ms })),
					fmtMs(medianMs(a, func(r result) float64 { return ph(r).MaxMs })),
					a.maxOf(func(r result) int { return ph(r).Lost }), a.maxOf(func(r result) int { return ph(r).Unobserved }), own)
			}
		}
		tw.Flush()
	}
	printFanCompare(w, aggs)
	printNoise(w, aggs)
	printFan(w, aggs)
	printDirs(w, aggs)
	printTargets(w, aggs)
}

// medianMs is a median where -1 ("never") sorts above every real value;
// NaN values are left out.
func medianMs(a agg, f func(result) float64) float64 {
	var xs []float64
	for _, r := range a.ok() {
		v := f(r)
		if math.IsNaN(v) {
			continue // not measured in this repetition
		}
		if v < 0 {
			v = math.Inf(1)
		}
		xs = append(xs, v)
	}
	m := median(xs)
	if math.IsInf(m, 1) {
		return -1
	}
	return m
}

// rss is the median peak RSS; NaN for the floor, whose RSS is not measured.
func (a agg) rss() float64 {
	if a.tool == toolFloor {
		return math.NaN()
	}
	return a.medianOf(func(r result) float64 { return r.PeakRSSMiB })
}

func fmtS0(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.0f", x)
}

func fmtS1(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f", x)
}

func w7Desc(ps []phase) string {
	var parts []string
	for _, p := range ps {
		d := fmt.Sprintf("%d files/s for %v", p.Rate, p.Dur)
		if p.Noise > 0 {
			d += fmt.Sprintf(" with %d files/s written outside the root", p.Noise)
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, ", then ")
}

func hasW7(aggs []agg) bool {
	for _, a := range aggs {
		if strings.HasSuffix(a.workload, "W7") {
			return true
		}
	}
	return false
}

// printTargets states each performance target (docs/benchmarks.md) as
// met or missed, and by how much.
func printTargets(w io.Writer, aggs []agg) {
	fmt.Fprintf(w, "\nTargets, sersync2 in this run:\n")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	ours, haveOurs := find(aggs, "W1", toolOurs)
	floor, haveFloor := find(aggs, "W1", toolFloor)
	if haveOurs {
		oc, nc, nt := ours.convergeS()
		if nc < nt || nt == 0 {
			fmt.Fprintf(w, "  W1 convergence: sersync2 did not converge in %d/%d repetitions\n", nt-nc, nt)
		} else {
			if haveFloor {
				fc, _, _ := floor.convergeS()
				ratio := oc / fc
				fmt.Fprintf(w, "  W1 convergence ≤ 1.5× floor: %.2fs vs floor %.2fs = %.2f× — %s", oc, fc, ratio, verdict(ratio <= 1.5))
				if ratio > 1.5 {
					fmt.Fprintf(w, " (by %.2fs, %.0f%% over)", oc-1.5*fc, (ratio/1.5-1)*100)
				}
				fmt.Fprintln(w)
			}
			bestTool, best, peers := "", math.Inf(1), 0
			for _, t := range allTools {
				if !isPeer(t) {
					continue
				}
				if a, ok := find(aggs, "W1", t); ok {
					peers++
					c, n, total := a.convergeS()
					if n == total && n > 0 && c < best {
						best, bestTool = c, t
					}
				}
			}
			if bestTool != "" {
				ratio := oc / best
				fmt.Fprintf(w, "  W1 convergence ≤ 0.5× best peer: %.2fs vs %s %.2fs = %.2f× — %s", oc, bestTool, best, ratio, verdict(ratio <= 0.5))
				if ratio > 0.5 {
					fmt.Fprintf(w, " (by %.2fs)", oc-0.5*best)
				}
				fmt.Fprintln(w)
			} else if peers > 0 {
				fmt.Fprintln(w, "  W1 convergence ≤ 0.5× best peer: no peer converged in every repetition")
			}
		}
		procs := ours.medianOf(func(r result) float64 { return float64(r.RsyncProcs) })
		files := float64(ours.cells[0].Files)
		fmt.Fprintf(w, "  W1 rsync processes ≤ 1%% of files: %.0f for %.0f files = %.2f%% — %s\n", procs, files, procs/files*100, verdict(procs <= files/100))
	}
	if a, ok := find(aggs, "W7", toolOurs); ok && len(a.ok()) > 0 {
		for pi, p := range a.ok()[0].W7 {
			var limit float64
			switch p.Rate {
			case 200:
				limit = 250
			case 2000:
				limit = 2000
			default:
				continue
			}
			p99 := medianMs(a, func(r result) float64 {
				if pi < len(r.W7) {
					return r.W7[pi].P99Ms
				}
				return -1
			})
			lost := a.maxOf(func(r result) int { return r.W7[pi].Lost })
			ok := p99 >= 0 && p99 < limit && (p.Rate != 2000 || lost == 0)
			fmt.Fprintf(w, "  W7 at %d files/s: p99 < %.0f ms%s: p99 %s ms, lost %d — %s", p.Rate, limit,
				map[bool]string{true: ", 0 lost", false: ""}[p.Rate == 2000], fmtMs(p99), lost, verdict(ok))
			if !ok && p99 >= limit {
				fmt.Fprintf(w, " (by %.0f ms)", p99-limit)
			}
			fmt.Fprintln(w)
		}
	}
	printCaseTargets(w, aggs, verdict)
	printFanTargets(w, aggs, verdict)
	if a, ok := find(aggs, "W5", toolOurs); ok {
		for _, r := range a.ok() {
			if r.BigTransfersAfterClose != nil {
				fmt.Fprintf(w, "  W5 exactly one transfer of the big file after close: %d after close, %d in all — %s\n",
					*r.BigTransfersAfterClose, *r.BigTransfers, verdict(*r.BigTransfers == 1 && *r.BigTransfersAfterClose == 1))
			}
		}
	}
	bad := 0
	var where []string
	for _, a := range aggs {
		if a.tool != toolOurs && a.tool != toolOursFan {
			continue
		}
		for _, r := range a.cells {
			if r.Error != "" || r.Missing+r.Extra+r.Different > 0 || !r.Converged || r.Pwned || outside(r) > 0 {
				bad++
				where = append(where, fmt.Sprintf("%s %s rep %d", r.Tool, r.Workload, r.Rep))
			}
		}
	}
	fmt.Fprintf(w, "  0 missing/extra/different in every %s and %s cell: %s", toolOurs, toolOursFan, verdict(bad == 0))
	if bad > 0 {
		fmt.Fprintf(w, " (%d cells: %s)", bad, strings.Join(where, ", "))
	}
	fmt.Fprintln(w)
	var peers []string
	for _, a := range aggs {
		if !isPeer(a.tool) && a.tool != toolFloor {
			continue
		}
		for _, r := range a.cells {
			if r.Error != "" || r.Missing+r.Extra+r.Different > 0 || !r.Converged {
				peers = append(peers, fmt.Sprintf("%s %s", a.tool, r.Workload))
			}
		}
	}
	if len(peers) > 0 {
		fmt.Fprintf(w, "  (peer cells with differences, errors or no convergence: %s)\n", strings.Join(peers, ", "))
	}
}
