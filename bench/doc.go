// Command bench is the side-by-side benchmark behind `make bench`
// (results and targets in docs/benchmarks.md). It runs sersync2 (stock-style confxml.xml, -r, -n 10), lsyncd
// (default.rsync with delay=1 and delay=0) and the classic
// `inotifywait -mr … | while read; do rsync -az --delete …; done` loop
// against a real rsync daemon on 127.0.0.1 with auth (internal/rsyncd),
// with a fresh source, daemon and target for every (tool, workload) cell
// and the tools interleaved within each repetition. The physical floor is
// one plain `rsync -a --delete` of the workload's final tree into an empty
// module. sersync2 runs on both kernel backends, as sersync2 (--watcher
// inotify) and sersync2-fanotify (--watcher fanotify; left out, with the
// reason, where fanotify cannot watch the work directory). With -base-bin
// a second sersync2 binary (e.g. an older build) runs as the tool
// sersync2-base, with the same settings, in the same cells, interleaved
// with the others.
//
// Per cell it records the convergence time after the workload ends (first
// moment the target equals the source, internal/treecmp), the rsync
// connections the daemon logged during the workload, CPU seconds and peak
// RSS of the tool's process tree, and correctness after a quiet settle
// window (missing / extra / different entries). W5 counts transfers of the
// big file, W7 the per-file latency from close(2) on the source to the
// rename into place on the target (an inotify watch on the target). The
// noise case (NOISE) measures W7's latency at one rate without and with a
// writer outside the root on the same file system, and counts what of it
// reached the target.
//
// Output: a table on stdout and one JSON object per cell appended to
// bench/results/<date>-<host>.jsonl. BENCH_QUICK=1 (or -quick) shrinks the
// workloads and runs one repetition.
//
// What it does not do: fix, tune or second-guess a tool (a tool that does
// not converge is reported as such, with its diff counts), talk to any
// address but 127.0.0.1, drop caches or pin CPUs. It needs Linux (inotify,
// /proc); elsewhere it exits with an error.
package main
