//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// spread formats the median of xs with its range and count: "0.41 (0.38–0.52, n=3)".
func spread(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	m := fmt.Sprintf(format, median(xs))
	if len(xs) == 1 {
		return m + " (n=1)"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", m, fmt.Sprintf(format, lo), fmt.Sprintf(format, hi), len(xs))
}

func (a agg) values(f func(result) float64) []float64 {
	var xs []float64
	for _, r := range a.ok() {
		if v := f(r); !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return xs
}

// fanFast is the worst convergence among the remotes that are not slow
// (+Inf when one lost files), its worst p99, and the slow remote's
// convergence.
func fanFast(r result) (conv, p99, slow float64) {
	slow = math.NaN()
	for _, rc := range r.PerRemote {
		c := rc.ConvergeS
		if c < 0 {
			c = math.Inf(1)
		}
		if rc.Slow {
			slow = c
			continue
		}
		conv, p99 = max(conv, c), max(p99, rc.P99Ms)
	}
	return conv, p99, slow
}

// printFan writes the fan-out table: per tool the worst of the fast
// remotes, the slow remote, the -n bound; then sersync2's remotes one by
// one.
func printFan(w io.Writer, aggs []agg) {
	var rows []agg
	for _, a := range aggs {
		if a.workload == "FAN" && len(a.ok()) > 0 {
			rows = append(rows, a)
		}
	}
	if len(rows) == 0 {
		return
	}
	r0 := rows[0].ok()[0]
	fmt.Fprintf(w, "\nFAN: %d files over %.0f s to %d remotes (the last behind a delay proxy, the slow remote); "+
		"convergence = arrival of a remote's last file after the writer ended (inotify on each target), median (min–max) over repetitions:\n\n",
		r0.Files, r0.WorkloadS, len(r0.PerRemote))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\tworst fast remote s\tworst fast p99 ms\tslow remote s\trsync at once (max)\tprocs\tCPU s\tRSS MiB")
	for _, a := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.tool,
			spread(a.values(func(r result) float64 { c, _, _ := fanFast(r); return c }), "%.2f"),
			spread(a.values(func(r result) float64 { _, p, _ := fanFast(r); return p }), "%.0f"),
			spread(a.values(func(r result) float64 { _, _, s := fanFast(r); return s }), "%.2f"),
			a.maxOf(func(r result) int { return r.MaxRsyncAtOnce }),
			fmtS0(a.medianOf(func(r result) float64 { return float64(r.RsyncProcs) })),
			fmtS(a.medianOf(func(r result) float64 { return r.CPUS })), fmtS1(a.rss()))
	}
	tw.Flush()
	if a, ok := find(aggs, "FAN", toolOurs); ok && len(a.ok()) > 0 {
		r := a.ok()[len(a.ok())-1]
		var parts []string
		for _, rc := range r.PerRemote {
			tag := ""
			if rc.Slow {
				tag = " (slow)"
			}
			parts = append(parts, fmt.Sprintf("%d%s %s", rc.Remote, tag, fmtConv(rc.ConvergeS)))
		}
		fmt.Fprintf(w, "sersync2 per remote (rep %d), s after the burst: %s\n", r.Rep, strings.Join(parts, ", "))
	}
}

func fmtConv(x float64) string {
	if x < 0 || math.IsInf(x, 1) {
		return "lost"
	}
	return fmt.Sprintf("%.2f", x)
}

// rowsOf returns the aggregates of workload wl.
func rowsOf(aggs []agg, wl string) []agg {
	var rows []agg
	for _, a := range aggs {
		if a.workload == wl {
			rows = append(rows, a)
		}
	}
	return rows
}

// printDirs writes the big-tree table.
func printDirs(w io.Writer, aggs []agg) {
	rows := rowsOf(aggs, "DIRS")
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nDIRS: start-up on a tree of directories (built identically on both sides), files written at random leaves until the tool is ready; "+
		"watches s = start → the tool says it watches (sersync2: its \"sersync2 started\" line, when it tells systemd it is ready), "+
		"ready s = start → its start-up sync done; slab = the kernel's slab growth per directory:\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\tdirs\tbuild s\twatches s\tready s\theap B/dir\tRSS MiB\tRSS B/dir\tkernel B/watch (floor)\tslab B/watch (measured)\twritten during\tmissing\tnotes")
	for _, a := range rows {
		if len(a.ok()) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", a.tool, a.notes())
			continue
		}
		r := a.ok()[0]
		heap := "-"
		if r.HeapBytes > 0 {
			heap = fmt.Sprintf("%.0f", r.HeapPerDirB)
		}
		kernel := strconv.Itoa(r.KernelPerWatchB)
		if a.tool == toolOursFan {
			kernel = "-" // no watch per directory
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.2f\t%s\t%.1f\t%.0f\t%s\t%.0f\t%d\t%d\t%s\n", a.tool, r.Dirs, r.BuildS, r.WatchesS, r.ReadyS,
			heap, r.PeakRSSMiB, r.RSSPerDirB, kernel, r.SlabPerWatchB, r.DuringWritten, r.Missing, a.notes())
	}
	tw.Flush()
}

// printCaseTargets states the goals of the scale cases as met or missed.
func printCaseTargets(w io.Writer, aggs []agg, verdict func(bool) string) {
	if a, ok := find(aggs, "W7", toolOurs); ok && len(a.ok()) > 0 {
		own, rss := a.values(func(r result) float64 {
			n := 0
			for _, p := range r.W7 {
				n += p.Written
			}
			return r.CPUOwnS / float64(max(n, 1)) * 1e6
		}), a.values(func(r result) float64 { return r.PeakRSSMiB })
		fmt.Fprintf(w, "  W7 own CPU per file ≤ 10 µs: %s µs — %s\n", spread(own, "%.1f"), verdict(median(own) <= 10))
		fmt.Fprintf(w, "  W7 RSS < 16 MiB: %s MiB — %s\n", spread(rss, "%.1f"), verdict(median(rss) < 16))
		if alone, ok := find(aggs, "W7", toolFloor); ok && len(alone.ok()) > 0 {
			last := len(a.ok()[0].W7) - 1
			rate := func(r result) float64 {
				if last < len(r.W7) {
					return r.W7[last].AchievedRate
				}
				return math.NaN()
			}
			ours, base := median(a.values(rate)), median(alone.values(rate))
			fmt.Fprintf(w, "  W7 writer at %d files/s with sersync2 ≥ 90%% of alone: %.0f vs %.0f files/s = %.0f%% — %s\n",
				a.ok()[0].W7[last].Rate, ours, base, ours/base*100, verdict(ours >= 0.9*base))
		}
	}
	if a, ok := find(aggs, "WAN-W7", toolOurs); ok && len(a.ok()) > 0 {
		p99 := a.values(func(r result) float64 {
			if len(r.W7) == 0 || r.W7[0].P99Ms < 0 {
				return math.Inf(1)
			}
			return r.W7[0].P99Ms
		})
		line := fmt.Sprintf("  WAN W7 at %d files/s: p99 ≤ 750 ms: %s ms", a.ok()[0].W7[0].Rate, spread(p99, "%.0f"))
		fmt.Fprintf(w, "%s%s — %s\n", line, peerW7(aggs, "WAN-W7"), verdict(median(p99) <= 750))
	}
	if a, ok := find(aggs, "WAN-W3", toolOurs); ok && len(a.ok()) > 0 {
		conv := a.values(convOrInf)
		fmt.Fprintf(w, "  WAN W3 converged ≤ 0.5 s: %s s%s — %s\n", spread(conv, "%.2f"), peerConv(aggs, "WAN-W3"), verdict(median(conv) <= 0.5))
	}
	if a, ok := find(aggs, "WAN-W1", toolOurs); ok && len(a.ok()) > 0 {
		conv := a.values(convOrInf)
		fmt.Fprintf(w, "  WAN W1 (no goal): %s s%s\n", spread(conv, "%.2f"), peerConv(aggs, "WAN-W1"))
	}
	if a, ok := find(aggs, "SSH-W3", toolOurs); ok && len(a.ok()) > 0 {
		up := func(r result) float64 {
			if r.SSHBytesUp == nil {
				return math.NaN()
			}
			return float64(*r.SSHBytesUp)
		}
		line := fmt.Sprintf("  SSH W3 bytes sent to the remote over ssh (no goal): renames on the remote %s", spread(a.values(up), "%.0f"))
		if b, ok := find(aggs, "SSH-W3", toolOursNoMoves); ok && len(b.ok()) > 0 {
			line += fmt.Sprintf(", data sent again (--no-remote-moves) %s", spread(b.values(up), "%.0f"))
		}
		fmt.Fprintln(w, line)
	}
	if a, ok := find(aggs, "FAN", toolOurs); ok && len(a.ok()) > 0 {
		fast := a.values(func(r result) float64 { c, _, _ := fanFast(r); return c })
		slow := a.values(func(r result) float64 { _, _, s := fanFast(r); return s })
		most := a.maxOf(func(r result) int { return r.MaxRsyncAtOnce })
		fmt.Fprintf(w, "  FAN every fast remote converged ≤ 2 s after the burst (one slow remote): worst %s s, slow remote %s s — %s\n",
			spread(fast, "%.2f"), spread(slow, "%.2f"), verdict(median(fast) <= 2))
		fmt.Fprintf(w, "  FAN -n 10 respected: at most %d rsync at once — %s\n", most, verdict(most <= 10))
	}
	if a, ok := find(aggs, "DIRS", toolOurs); ok && len(a.ok()) > 0 {
		r := a.ok()[0]
		fmt.Fprintf(w, "  DIRS (%d dirs) watches in place ≤ 60 s: %.1f s — %s\n", r.Dirs, r.WatchesS, verdict(r.WatchesS <= 60))
		fmt.Fprintf(w, "  DIRS heap ≤ 200 B per directory: %.0f B (kernel floor %d B per watch) — %s\n", r.HeapPerDirB, r.KernelPerWatchB, verdict(r.HeapBytes > 0 && r.HeapPerDirB <= 200))
		dirsNothingLost(w, "DIRS", r, verdict)
	}
}

// dirsNothingLost states the big tree's goal that every file written
// during the start-up reached the target.
func dirsNothingLost(w io.Writer, what string, r result, verdict func(bool) string) {
	covered := "the writer ran until the watches were in place"
	if !r.WriterCovered {
		covered = "the writer stopped before the watches were in place: only its files are covered"
	}
	fmt.Fprintf(w, "  %s nothing lost during start-up: %d of %d missing (%s) — %s\n", what, r.Missing, r.DuringWritten, covered, verdict(r.Converged && r.Missing == 0 && r.WriterCovered))
}

func convOrInf(r result) float64 {
	if !r.Converged {
		return math.Inf(1)
	}
	return r.ConvergeS
}

// peerConv lists the peers' median convergence on wl.
func peerConv(aggs []agg, wl string) string {
	var parts []string
	for _, a := range aggs {
		if a.workload == wl && a.tool != toolOurs && len(a.ok()) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", a.tool, fmtS(median(a.values(convOrInf)))))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// peerW7 lists the peers' median p99 of the first W7 phase of wl.
func peerW7(aggs []agg, wl string) string {
	var parts []string
	for _, a := range aggs {
		if a.workload == wl && isPeer(a.tool) && len(a.ok()) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", a.tool, fmtMs(medianMs(a, func(r result) float64 {
				if len(r.W7) == 0 {
					return -1
				}
				return r.W7[0].P99Ms
			}))))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
