//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// fanGoal is how much more per-event CPU and latency the fanotify backend
// may cost than inotify, and how much the noise outside the root may add
// to the latency in the root.
const fanGoal = 1.2

// dirsGoalSize is the big tree the fanotify start-up goals are for: the
// directories of 1,000,000 leaves (countDirs(1_000_000, 100)).
const dirsGoalSize = 1_010_100

// ratio formats a/b, "-" when either is unknown or b is 0.
func ratio(a, b float64) (float64, string) {
	if math.IsNaN(a) || math.IsNaN(b) || a < 0 || b <= 0 {
		return math.NaN(), "-"
	}
	r := a / b
	return r, fmt.Sprintf("%.2f×", r)
}

// phaseOf returns the phase of r at rate (with or without noise).
func phaseOf(r result, rate int, noisy bool) (phaseResult, bool) {
	for _, p := range r.W7 {
		if p.Rate == rate && (p.Noise > 0) == noisy {
			return p, true
		}
	}
	return phaseResult{}, false
}

// phaseMedian is medianMs of f over the repetitions' phase at rate; NaN
// when no repetition has the phase.
func phaseMedian(a agg, rate int, noisy bool, f func(phaseResult) float64) float64 {
	return medianMs(a, func(r result) float64 {
		p, ok := phaseOf(r, rate, noisy)
		if !ok {
			return math.NaN()
		}
		return f(p)
	})
}

// w1OwnUsPerFile is the tool's own CPU per file of W1 (NaN when the cell
// predates the measure).
func w1OwnUsPerFile(r result) float64 {
	if r.CPUOwnWorkS <= 0 || r.Files == 0 {
		return math.NaN()
	}
	return r.CPUOwnWorkS / float64(r.Files) * 1e6
}

// printFanCompare writes the fanotify backend's figures next to
// inotify's: W1's per-file CPU and convergence, W7's per-file CPU and
// latency at every rate.
func printFanCompare(w io.Writer, aggs []agg) {
	w1i, ok1 := find(aggs, "W1", toolOurs)
	w1f, ok2 := find(aggs, "W1", toolOursFan)
	w7i, ok3 := find(aggs, "W7", toolOurs)
	w7f, ok4 := find(aggs, "W7", toolOursFan)
	haveW1 := ok1 && ok2 && len(w1i.ok()) > 0 && len(w1f.ok()) > 0
	haveW7 := ok3 && ok4 && len(w7i.ok()) > 0 && len(w7f.ok()) > 0
	if !haveW1 && !haveW7 {
		return
	}
	fmt.Fprintf(w, "\nfanotify vs inotify (%s ÷ %s, medians over repetitions; own CPU = sersync2's own processes, its rsync children left out):\n", toolOursFan, toolOurs)
	if haveW1 {
		ci, cf := w1i.medianOf(w1OwnUsPerFile), w1f.medianOf(w1OwnUsPerFile)
		vi, _, _ := w1i.convergeS()
		vf, _, _ := w1f.convergeS()
		_, rc := ratio(cf, ci)
		_, rv := ratio(vf, vi)
		fmt.Fprintf(w, "  W1 (%d files): own CPU per file %s vs %s µs = %s; convergence %s vs %s s = %s\n",
			w1i.ok()[0].Files, fmtS1(cf), fmtS1(ci), rc, fmtS(vf), fmtS(vi), rv)
	}
	if !haveW7 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  W7 rate/s\town µs/file inotify\tfanotify\t×\tp50 ms inotify\tfanotify\t×\tp99 ms inotify\tfanotify\t×")
	for _, p := range w7i.ok()[0].W7 {
		row := fmt.Sprintf("  %d", p.Rate)
		for _, col := range []struct {
			f   func(phaseResult) float64
			fmt func(float64) string
		}{
			{func(p phaseResult) float64 { return p.OwnCPUUsPerFile }, fmtS1},
			{func(p phaseResult) float64 { return p.P50Ms }, fmtMs},
			{func(p phaseResult) float64 { return p.P99Ms }, fmtMs},
		} {
			vi, vf := phaseMedian(w7i, p.Rate, false, col.f), phaseMedian(w7f, p.Rate, false, col.f)
			_, r := ratio(vf, vi)
			row += fmt.Sprintf("\t%s\t%s\t%s", col.fmt(vi), col.fmt(vf), r)
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
}

// printNoise writes the noise case: per tool the latency in the root
// without and with the writer outside it, and the entries from outside
// the root on the target.
func printNoise(w io.Writer, aggs []agg) {
	rows := rowsOf(aggs, "NOISE")
	if len(rows) == 0 {
		return
	}
	var quiet, noisy phaseResult
	for _, a := range rows {
		if len(a.ok()) > 0 {
			for _, p := range a.ok()[0].W7 {
				if p.Noise > 0 {
					noisy = p
				} else {
					quiet = p
				}
			}
			break
		}
	}
	fmt.Fprintf(w, "\nNOISE: %d files/s in the root, quiet, then with %d files/s asked of a writer outside the root on the same file system "+
		"(close on the source → renamed into place on the target, ms, median over repetitions; outside = entries on the target that are not the root's, must be 0):\n\n",
		quiet.Rate, noisy.Noise)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\tquiet p50\tp95\tnoisy p50\tp95\tnoisy÷quiet p50\tp95\tnoise files/s\town µs/file quiet\tnoisy\tlost\toutside\tnotes")
	for _, a := range rows {
		if len(a.ok()) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", a.tool, a.notes())
			continue
		}
		n := noiseFigures(a, quiet.Rate)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%d\t%d\t%s\n", a.tool,
			fmtMs(n.quiet50), fmtMs(n.quiet95), fmtMs(n.noisy50), fmtMs(n.noisy95), n.r50, n.r95, n.noiseRate,
			fmtS1(n.ownQuiet), fmtS1(n.ownNoisy), n.lost, n.outside, a.notes())
	}
	tw.Flush()
}

// noiseSummary is one tool's noise case over its repetitions.
type noiseSummary struct {
	quiet50, quiet95, noisy50, noisy95 float64
	x50, x95                           float64 // noisy ÷ quiet; NaN when unknown
	r50, r95                           string
	noiseRate                          float64 // achieved
	noiseAsked                         int
	ownQuiet, ownNoisy                 float64
	lost, outside                      int
}

func noiseFigures(a agg, rate int) noiseSummary {
	var n noiseSummary
	p50 := func(p phaseResult) float64 { return p.P50Ms }
	p95 := func(p phaseResult) float64 { return p.P95Ms }
	own := func(p phaseResult) float64 { return p.OwnCPUUsPerFile }
	n.quiet50, n.quiet95 = phaseMedian(a, rate, false, p50), phaseMedian(a, rate, false, p95)
	n.noisy50, n.noisy95 = phaseMedian(a, rate, true, p50), phaseMedian(a, rate, true, p95)
	n.x50, n.r50 = ratio(n.noisy50, n.quiet50)
	n.x95, n.r95 = ratio(n.noisy95, n.quiet95)
	n.noiseRate = phaseMedian(a, rate, true, func(p phaseResult) float64 { return p.NoiseAchieved })
	if p, ok := phaseOf(a.ok()[0], rate, true); ok {
		n.noiseAsked = p.Noise
	}
	n.ownQuiet, n.ownNoisy = phaseMedian(a, rate, false, own), phaseMedian(a, rate, true, own)
	n.lost = a.maxOf(func(r result) int {
		lost := 0
		for _, p := range r.W7 {
			lost += p.Lost
		}
		return lost
	})
	n.outside = a.maxOf(outside)
	return n
}

// outside is r's count of entries from outside the root on the target.
func outside(r result) int {
	if r.Outside == nil {
		return 0
	}
	return *r.Outside
}

// printFanTargets states the fanotify backend's goals: per-event CPU and
// latency within fanGoal of inotify at 200 and 2,000 files/s, the noise
// outside the root adding at most fanGoal to the latency in it (for each
// backend) and never reaching the remote, and the start-up on the big
// tree.
func printFanTargets(w io.Writer, aggs []agg, verdict func(bool) string) {
	ino, ok1 := find(aggs, "W7", toolOurs)
	fan, ok2 := find(aggs, "W7", toolOursFan)
	if ok1 && ok2 && len(ino.ok()) > 0 && len(fan.ok()) > 0 {
		for _, rate := range []int{200, 2000} {
			own := func(p phaseResult) float64 { return p.OwnCPUUsPerFile }
			ci, cf := phaseMedian(ino, rate, false, own), phaseMedian(fan, rate, false, own)
			if math.IsNaN(ci) && math.IsNaN(cf) {
				continue // no phase at this rate
			}
			x, r := ratio(cf, ci)
			fmt.Fprintf(w, "  W7 at %d files/s: fanotify own CPU per file ≤ %.1f× inotify: %s vs %s µs = %s — %s\n",
				rate, fanGoal, fmtS1(cf), fmtS1(ci), r, verdict(x <= fanGoal))
			line := fmt.Sprintf("  W7 at %d files/s: fanotify latency ≤ %.1f× inotify:", rate, fanGoal)
			ok := true
			for i, f := range []func(phaseResult) float64{
				func(p phaseResult) float64 { return p.P50Ms },
				func(p phaseResult) float64 { return p.P99Ms },
			} {
				li, lf := phaseMedian(ino, rate, false, f), phaseMedian(fan, rate, false, f)
				x, r := ratio(lf, li)
				ok = ok && x <= fanGoal
				line += fmt.Sprintf(" %s %s vs %s ms = %s", []string{"p50", "p99"}[i], fmtMs(lf), fmtMs(li), r)
				if i == 0 {
					line += ","
				}
			}
			fmt.Fprintf(w, "%s — %s\n", line, verdict(ok))
		}
	}
	var outsideBy []string
	clean := true
	for _, tool := range []string{toolOurs, toolOursFan} {
		a, ok := find(aggs, "NOISE", tool)
		if !ok || len(a.ok()) == 0 {
			continue
		}
		rate := 0
		for _, p := range a.ok()[0].W7 {
			rate = p.Rate
		}
		n := noiseFigures(a, rate)
		short := ""
		if asked := float64(n.noiseAsked); n.noiseRate < 0.9*asked {
			short = fmt.Sprintf(" (the writer outside reached %.0f of the %d files/s asked: less noise than the goal is for)", n.noiseRate, n.noiseAsked)
		}
		fmt.Fprintf(w, "  NOISE %s latency with noise outside the root ≤ %.1f× quiet (%d files/s in the root, %.0f files/s outside): p50 %s → %s ms = %s, p95 %s → %s ms = %s — %s%s\n",
			tool, fanGoal, rate, n.noiseRate, fmtMs(n.quiet50), fmtMs(n.noisy50), n.r50, fmtMs(n.quiet95), fmtMs(n.noisy95), n.r95,
			verdict(n.x50 <= fanGoal && n.x95 <= fanGoal), short)
		outsideBy = append(outsideBy, fmt.Sprintf("%s %d", tool, n.outside))
		clean = clean && n.outside == 0 && len(a.ok()) == len(a.cells)
	}
	if len(outsideBy) > 0 {
		fmt.Fprintf(w, "  NOISE nothing from outside the root on the target: %s — %s\n", strings.Join(outsideBy, ", "), verdict(clean))
	}
	if a, ok := find(aggs, "DIRS", toolOursFan); ok && len(a.ok()) > 0 {
		r := a.ok()[0]
		judge := func(ok bool) string {
			if r.Dirs < dirsGoalSize {
				return fmt.Sprintf("not judged: the goal is for %d directories", dirsGoalSize)
			}
			return verdict(ok)
		}
		fmt.Fprintf(w, "  DIRS fanotify (%d dirs) ready ≤ 2 s: %.2f s — %s\n", r.Dirs, r.WatchesS, judge(r.WatchesS <= 2))
		heap := "-"
		if r.HeapBytes > 0 {
			heap = fmt.Sprintf("%.0f", r.HeapPerDirB)
		}
		fmt.Fprintf(w, "  DIRS fanotify RSS ≤ 40 MiB: %.1f MiB (Go heap %s B per directory) — %s\n", r.PeakRSSMiB, heap, judge(r.PeakRSSMiB <= 40))
		dirsNothingLost(w, "DIRS fanotify", r, verdict)
	}
}
