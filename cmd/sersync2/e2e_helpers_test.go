package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/sshd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// proc is a running sersync2 started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *outbuf.Buffer
	done           chan struct{}
	err            error
	killed         bool // by signal, after the wait for an exit ran out
}

// startSersync runs the built binary with args in dir, logging at debug
// level (the per-batch "synced" lines rsyncRuns counts), its state file in
// dir/state unless args say otherwise; it is stopped with SIGTERM when the
// test ends.
func startSersync(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &outbuf.Buffer{}, stderr: &outbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binPath, withStateDir(dir, append([]string{"--no-tune-kernel", "--log-level", "debug"}, args...))...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "GOTRACEBACK=all")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if t.Failed() && p.dumpStacks(t) {
			return
		}
		p.stop(t)
		if t.Failed() {
			t.Logf("sersync2 stdout:\n%s\nsersync2 stderr:\n%s", tail(p.stdout.String(), 6000), tail(p.stderr.String(), 12000))
		}
	})
	return p
}

// withStateDir puts the state file in dir/state and the lock file in
// dir/lock, unless args name those directories: tests leave nothing in
// the system's ones.
func withStateDir(dir string, args []string) []string {
	has := func(flag string) bool {
		return slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, flag) })
	}
	// The lock file too stays in the test's directory, not in /run/lock.
	if !has("--lock-dir") {
		args = append([]string{"--lock-dir", filepath.Join(dir, "lock")}, args...)
	}
	if !has("--state-dir") {
		args = append([]string{"--state-dir", filepath.Join(dir, "state")}, args...)
	}
	return args
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// dumpStacks, for a failed test whose sersync2 still runs, ends it with
// SIGQUIT and logs its log tail and every goroutine's stack, so a hang
// shows where it is. It reports whether it did.
func (p *proc) dumpStacks(t *testing.T) bool {
	if !p.end(syscall.SIGQUIT, 10*time.Second) {
		return false
	}
	log, stacks, _ := strings.Cut(p.stderr.String(), "SIGQUIT: quit")
	t.Logf("sersync2 stdout:\n%s\nsersync2 stderr:\n%s\nsersync2 goroutines at the end:\nSIGQUIT: quit%s",
		tail(p.stdout.String(), 6000), tail(log, 12000), tail(stacks, 200000))
	return true
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t *testing.T) {
	if p.end(syscall.SIGTERM, 30*time.Second) && p.killed {
		t.Errorf("sersync2 did not stop within 30s of SIGTERM")
	}
}

// end sends sig to a sersync2 that still runs and waits up to d for it
// to exit, then kills it (p.killed). It reports whether it was running.
func (p *proc) end(sig syscall.Signal, d time.Duration) bool {
	select {
	case <-p.done:
		return false
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.killed = true
	}
	return true
}

// waitReady waits until sersync2 logged that its watches are in place.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	poll.Until(t, 30*time.Second, "sersync2 to start", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("sersync2 exited early: %v", p.err)
		default:
		}
		return strings.Contains(p.stderr.String(), "sersync2 started"), ""
	})
}

var syncedRuns = regexp.MustCompile(`msg=synced .*rsync_runs=(\d+)`)

// rsyncRuns sums the rsync processes sersync2 reported for successful
// batches so far (one debug line per batch).
func (p *proc) rsyncRuns() int {
	n := 0
	for _, m := range syncedRuns.FindAllStringSubmatch(p.stderr.String(), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// sshSetup starts an sshd and returns a work directory with an empty src
// and dst and the configuration replicating src to dst over ssh.
func sshSetup(t *testing.T) (work, src, dst string, c confgen.Config) {
	t.Helper()
	s := sshd.StartT(t)
	work = t.TempDir()
	src, dst = filepath.Join(work, "src"), filepath.Join(work, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c = confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: s.IP, Name: dst}}}}, SSH: s.SSHCommand()}
	return work, src, dst, c
}

// waitTreesEqual polls until dst mirrors src.
func waitTreesEqual(t *testing.T, src, dst string, opts treecmp.Options) {
	t.Helper()
	waitTreesEqualWithin(t, 60*time.Second, src, dst, opts)
}

// waitTreesEqualWithin polls until dst mirrors src or timeout passes.
func waitTreesEqualWithin(t *testing.T, timeout time.Duration, src, dst string, opts treecmp.Options) {
	t.Helper()
	poll.Until(t, timeout, fmt.Sprintf("%s to mirror %s", dst, src), func() (bool, string) {
		diff, err := treecmp.Diff(src, dst, opts)
		if err != nil {
			return false, err.Error()
		}
		if len(diff) > 20 {
			diff = append(diff[:20], fmt.Sprintf("… and %d more", len(diff)-20))
		}
		return len(diff) == 0, strings.Join(diff, "\n")
	})
}

// writeConf writes c as confxml.xml in dir (failLog in dir, a 30 s rsync
// timeout unless set) and returns its path.
func writeConf(t *testing.T, dir string, c confgen.Config) string {
	t.Helper()
	c.FailLog = cmp.Or(c.FailLog, filepath.Join(dir, "rsync_fail_log.sh"))
	c.Timeout = cmp.Or(c.Timeout, 30)
	p := filepath.Join(dir, "confxml.xml")
	if err := c.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostileNames reads the project's list of hostile file names.
func hostileNames(t *testing.T) []string {
	t.Helper()
	names, err := hostile.Read("../../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var watchCheckDone = regexp.MustCompile(`msg="watch check done" dirs=(\d+) watches=(\d+) covered=(\d+) unwatched=(\d+) stale=(\d+) missing_roots=(\d+)`)

// checkWatches sends SIGUSR2 and fails the test unless the self-check it
// starts finds every directory watched, no stale watch and no missing
// root. It prints the problem lines the check logged.
func (p *proc) checkWatches(t *testing.T) {
	t.Helper()
	log := p.stderr.String()
	before := len(watchCheckDone.FindAllString(log, -1))
	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	checkLines := func() string {
		var lines []string
		for _, l := range strings.Split(strings.TrimPrefix(p.stderr.String(), log), "\n") {
			if strings.Contains(l, `msg="watch check`) {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	var m []string
	poll.Until(t, 30*time.Second, "the watch check", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("sersync2 exited after SIGUSR2: %v", p.err)
		default:
		}
		all := watchCheckDone.FindAllStringSubmatch(p.stderr.String(), -1)
		if len(all) <= before {
			return false, checkLines()
		}
		m = all[len(all)-1]
		return true, ""
	})
	dirs, _ := strconv.Atoi(m[1])
	watches, _ := strconv.Atoi(m[2])
	covered, _ := strconv.Atoi(m[3])
	if m[4] != "0" || m[5] != "0" || m[6] != "0" || dirs != watches+covered {
		t.Errorf("watch check: %s\n%s", m[0], checkLines())
	}
}
