package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/fsgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// The random stress suite. Knobs (environment):
//
//	STRESS_SEEDS=N  run seeds 1..N, seed s in variant (s-1) mod the number
//	                of variants (default: the fixed set make test runs)
//	STRESS_SEED=N   run seed N alone, in every variant (-run picks one)
//	STRESS_OPS=N    operations per sequence (default 150)
//	STRESS_WATCHER=inotify|fanotify
//	                the kernel backend (--watcher) of every sequence
//	                (default: each variant's seeds alternate between both)
const (
	defaultStressSeeds = 18
	defaultStressOps   = 150
	// stressWait bounds the wait for the mirrors to converge after the
	// last op; they normally do within a few seconds.
	stressWait = 30 * time.Second
)

// stressVariant is one configuration random sequences run against.
type stressVariant struct {
	name      string
	args      []string // sersync2 flags besides -o
	deleteOff bool
	modules   []string // one <remote> each, on one daemon; default "www"
	filter    []string // <filter> excludes
	skip      func(rel string, dir bool) bool
	gen       fsgen.Options
	// prefill is how many files the tree holds before sersync2 starts,
	// so that a -r full sync is still running while the ops begin.
	prefill int
	// ssh pushes over ssh to a directory (an sshd on 127.0.0.1) instead
	// of to rsync daemon modules: renames are done on the remote.
	ssh bool
	// watcher is the --watcher backend ("" is the default).
	watcher string
}

// stressWatchers returns the backends the sequences run on:
// STRESS_WATCHER's, or both.
func stressWatchers(t *testing.T) []string {
	switch w := os.Getenv("STRESS_WATCHER"); w {
	case "":
		return []string{"inotify", "fanotify"}
	case "inotify", "fanotify":
		return []string{w}
	default:
		t.Fatalf("STRESS_WATCHER=%q: want inotify or fanotify", w)
		return nil
	}
}

// requireWatcher skips a test on the fanotify backend where fanotify
// cannot watch the temporary directory, saying why; it fails instead
// under SERSYNC_TEST_NO_SKIP=1.
func requireWatcher(t *testing.T, watcher string) {
	t.Helper()
	if watcher != "fanotify" {
		return
	}
	if err := inotifymask.FanotifyUsable(os.TempDir()); err != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("%v (SERSYNC_TEST_NO_SKIP=1)", err)
		}
		t.Skip(err)
	}
}

var stressVariants = []stressVariant{
	{name: "stock"},
	{name: "delete-off", deleteOff: true, gen: fsgen.Options{NoDirToFile: true}},
	{name: "two-remotes", modules: []string{"www", "www2"}},
	{name: "filter", filter: []string{`(.*)\.tmp`, `^cache/*`}, skip: filteredOut,
		gen: fsgen.Options{ExcludeSuffix: ".tmp", ExcludeTopDir: "cache"}},
	{name: "queues-1", args: []string{"--queues", "1"}},
	{name: "queues-4", args: []string{"--queues", "4"}},
	{name: "full-sync-4-queues", args: []string{"-r", "--queues", "4"}, prefill: 3000},
	{name: "ssh-moves", ssh: true},
	{name: "eager", args: []string{"--batching", "eager"}},
}

// filteredOut says what the filter variant's excludes keep off the
// mirror: any path with a component ending in .tmp, and the top-level
// cache directory.
func filteredOut(rel string, _ bool) bool {
	if rel == "cache" || strings.HasPrefix(rel, "cache/") {
		return true
	}
	for c := range strings.SplitSeq(rel, "/") {
		if strings.HasSuffix(c, ".tmp") {
			return true
		}
	}
	return false
}

func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, s)
	}
	return n
}

// stressSeeds returns the seeds of variant i: with one set, one alone;
// else those of 1..n that fall to it round robin.
func stressSeeds(i int, one, n int64) []int64 {
	if one != 0 {
		return []int64{one}
	}
	var out []int64
	for s := int64(i) + 1; s <= n; s += int64(len(stressVariants)) {
		out = append(out, s)
	}
	return out
}

// stressTally counts what a run did, for the summary line.
type stressTally struct {
	mu         sync.Mutex
	cases, ops int
	fails      []string
}

func (s *stressTally) add(name string, ops int, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cases++
	s.ops += ops
	if failed {
		s.fails = append(s.fails, name)
	}
}

// TestStress replays seeded random sequences of file-system operations
// against sersync2 and a real rsync daemon, in every variant, and checks
// the mirrors and the watches once everything settled.
func TestStress(t *testing.T) {
	t.Parallel()
	nOps := int(envInt(t, "STRESS_OPS", defaultStressOps))
	one := envInt(t, "STRESS_SEED", 0)
	n := envInt(t, "STRESS_SEEDS", defaultStressSeeds)
	tally := &stressTally{}
	t.Cleanup(func() {
		t.Logf("stress summary: %d cases, %d ops, %d failed %q", tally.cases, tally.ops, len(tally.fails), tally.fails)
	})
	names := hostileNames(t)
	watchers := stressWatchers(t)
	for i, v := range stressVariants {
		v.gen.Names = names
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			for j, s := range stressSeeds(i, one, n) {
				v := v
				v.watcher = watchers[j%len(watchers)]
				name := fmt.Sprintf("seed=%d,%s", s, v.watcher)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					requireWatcher(t, v.watcher)
					ops := fsgen.Generate(s, nOps, v.gen)
					t.Cleanup(func() { tally.add(fmt.Sprintf("%s/%d/%s", v.name, s, v.watcher), len(ops), t.Failed()) })
					runStress(t, v, ops, fmt.Sprintf("seed %d, variant %s, watcher %s", s, v.name, v.watcher),
						fmt.Sprintf("STRESS_WATCHER=%s STRESS_SEED=%d STRESS_OPS=%d go test -race -count=1 ./cmd/sersync2 -run 'TestStress/^%s$/^%s$'", v.watcher, s, nOps, v.name, name))
				})
			}
		})
	}
}

// runStress starts a daemon and sersync2 as v says, applies ops to the
// watched tree (with their planned delays), waits until every mirror
// follows the source, asks sersync2 to check its watches, checks the
// mirrors once more and that no file name was run as a command. A failure
// prints what, the ops and how to replay.
func runStress(t *testing.T, v stressVariant, ops []fsgen.Op, what, replay string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED: %s, %d ops; replay with:\n  %s\nops:\n%s", what, len(ops), replay, fsgen.Format(ops))
		}
	})
	var (
		work, src string
		mirrors   []string
		c         confgen.Config
	)
	if v.ssh {
		var dst string
		work, src, dst, c = sshSetup(t)
		mirrors = []string{dst}
	} else {
		modules := v.modules
		if len(modules) == 0 {
			modules = []string{"www"}
		}
		d := rsyncd.StartT(t, rsyncd.Options{Auth: true, Modules: modules})
		work = t.TempDir()
		src = filepath.Join(work, "src")
		if err := os.Mkdir(src, 0o755); err != nil {
			t.Fatal(err)
		}
		root := confgen.Root{Watch: src}
		for _, m := range modules {
			root.Remotes = append(root.Remotes, confgen.Remote{IP: d.IP, Name: m})
			mirrors = append(mirrors, d.ModuleDir(m))
		}
		c = confgen.Config{Roots: []confgen.Root{root}, Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
		t.Cleanup(func() { hostile.NoPWNED(t, d.Dir) })
	}
	outside := filepath.Join(work, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range v.prefill {
		writeFile(t, filepath.Join(src, fmt.Sprintf("pre%d", i%10), fmt.Sprintf("f%05d", i)), strings.Repeat("p", 1+i%200))
	}
	c.DeleteOff, c.Filter = v.deleteOff, v.filter
	args := v.args
	if v.watcher != "" {
		args = append(slices.Clone(args), "--watcher", v.watcher)
	}
	p := startSersync(t, work, append(args, "-o", writeConf(t, work, c))...)
	p.waitReady(t)
	if v.watcher != "" && !strings.Contains(p.stderr.String(), "backend="+v.watcher) {
		t.Fatalf("sersync2 does not say it watches with %s:\n%s", v.watcher, p.stderr.String())
	}

	var failed []string
	for i, op := range ops {
		time.Sleep(op.Delay) // the plan's pace between ops, not synchronisation
		if err := op.Apply(src, outside); err != nil {
			failed = append(failed, fmt.Sprintf("op %d: %v", i, err))
		}
	}
	if len(failed) > 0 {
		// The generator keeps a model of the tree and nothing else touches
		// it: an op that fails is a generator bug, and the sequence that
		// ran is not the one printed.
		t.Errorf("%d ops could not be applied:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	opts := treecmp.Options{NoMode: true, NoMtime: true, AllowExtra: v.deleteOff, Skip: v.skip}
	for _, m := range mirrors {
		waitTreesEqualWithin(t, stressWait, src, m, opts)
	}
	p.checkWatches(t)
	// Settled means settled: nothing may change the mirrors afterwards.
	for _, m := range mirrors {
		treecmp.EqualT(t, src, m, opts)
	}
	hostile.NoPWNED(t, work)
}

// TestStressMkdirPThenRenameTop: 50 times mkdir -p top_i/a/b/c at once
// followed by mv top_i moved_i, then a moment later three files in
// moved_i/a/b/c and one in moved_i/a; all 200 reach the mirror. A watcher
// that watched top_i/a before the rename and tried its children under the
// old name after it lost most of them.
func TestStressMkdirPThenRenameTop(t *testing.T) {
	t.Parallel()
	var ops []fsgen.Op
	for i := range 50 {
		ops = append(ops,
			fsgen.Op{Kind: fsgen.MkdirAll, Path: fmt.Sprintf("top_%d/a/b/c", i)},
			fsgen.Op{Kind: fsgen.Rename, Path: fmt.Sprintf("top_%d", i), To: fmt.Sprintf("moved_%d", i)})
	}
	for i := range 50 {
		for j, f := range []string{"a/b/c/f1", "a/b/c/f2", "a/b/c/f3", "a/f4"} {
			op := fsgen.Op{Kind: fsgen.Create, Path: fmt.Sprintf("moved_%d/%s", i, f), Size: int64(100 + i*4 + j), Salt: uint32(i*4 + j)}
			if i == 0 && j == 0 {
				op.Delay = 20 * time.Millisecond
			}
			ops = append(ops, op)
		}
	}
	for _, w := range stressWatchers(t) {
		t.Run(w, func(t *testing.T) {
			t.Parallel()
			requireWatcher(t, w)
			v := stressVariant{name: "mkdir-p-rename-top", args: []string{"-r", "-n", "10"}, watcher: w}
			runStress(t, v, ops, "fixed sequence, stock toggles, -r -n 10, watcher "+w,
				"go test -race -count=1 ./cmd/sersync2 -run '^TestStressMkdirPThenRenameTop$/^"+w+"$'")
		})
	}
}

// TestStressNestedRenamesAfterMkdirP: with <delete start="false">, nested
// directories renamed at every level right after mkdir -p made them, then
// deeper mkdir -p below the renamed ones, more renames, and files written
// a moment later at several levels: every file and directory of the
// source is on the mirror.
func TestStressNestedRenamesAfterMkdirP(t *testing.T) {
	t.Parallel()
	var ops []fsgen.Op
	for i := range 20 {
		r := fmt.Sprintf("r%d", i)
		x := r + "_x"
		ops = append(ops,
			fsgen.Op{Kind: fsgen.MkdirAll, Path: r + "/a/b/c/d"},
			fsgen.Op{Kind: fsgen.Rename, Path: r + "/a/b", To: r + "/a/B"},
			fsgen.Op{Kind: fsgen.Rename, Path: r, To: x},
			fsgen.Op{Kind: fsgen.MkdirAll, Path: x + "/a/B/c/d/e/f"},
			fsgen.Op{Kind: fsgen.Rename, Path: x + "/a/B/c/d", To: x + "/a/B/c/D"},
			fsgen.Op{Kind: fsgen.Rename, Path: x + "/a", To: x + "/A"},
			fsgen.Op{Kind: fsgen.MkdirAll, Path: x + "/A/B/c/D/e/f/g/h"},
			fsgen.Op{Kind: fsgen.Rename, Path: x + "/A/B/c/D/e", To: x + "/A/B/c/D/E"},
		)
	}
	for i := range 20 {
		x := fmt.Sprintf("r%d_x", i)
		for j, f := range []string{"A/B/c/D/E/f/g/h/f1", "A/B/c/D/E/f/f2", "A/B/c/D/f3", "A/B/f4", "A/f5"} {
			op := fsgen.Op{Kind: fsgen.Create, Path: x + "/" + f, Size: int64(200 + i*5 + j), Salt: uint32(i*5 + j)}
			if i == 0 && j == 0 {
				op.Delay = 20 * time.Millisecond
			}
			ops = append(ops, op)
		}
	}
	for _, w := range stressWatchers(t) {
		t.Run(w, func(t *testing.T) {
			t.Parallel()
			requireWatcher(t, w)
			v := stressVariant{name: "nested-renames-delete-off", deleteOff: true, watcher: w}
			runStress(t, v, ops, "fixed sequence, delete off, watcher "+w,
				"go test -race -count=1 ./cmd/sersync2 -run '^TestStressNestedRenamesAfterMkdirP$/^"+w+"$'")
		})
	}
}
