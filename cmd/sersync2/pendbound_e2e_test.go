package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// rssKiB returns the resident set size of process pid (VmRSS), in KiB.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// holdPort keeps d's address bound while d is stopped, closing every
// connection at once as a host whose daemon is gone would refuse it, so
// that a daemon another test starts meanwhile cannot take the port and
// receive what sersync2 sends. It returns the release, to call before
// d.Restart.
func holdPort(t *testing.T, d *rsyncd.Daemon) func() {
	t.Helper()
	ln, err := net.Listen("tcp", d.Addr())
	if err != nil {
		t.Fatalf("holding the stopped daemon's port: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	return func() {
		ln.Close()
		wg.Wait()
	}
}

var eventsRead = regexp.MustCompile(`(?m)^events read: (\d+)$`)

// TestFaultPendingBound: the daemon is down while 100,000 unique paths are
// created and most removed again (50 rounds of 2,000 in a new directory
// each, hostile names, some the crontab excludes). With the pending bound
// lowered to about 5,000 paths the remote's changes collapse into one
// full sync: the collapse is logged at warn with the remote and the
// bound, sersync2's resident memory stays flat while the paths keep
// coming, the failLog holds one full-sync entry instead of the paths, and
// once the daemon is back the mirror equals the source, the files the
// crontab excludes included.
func TestFaultPendingBound(t *testing.T) {
	t.Parallel()
	const (
		rounds, perRound, kept = 25, 2000, 100
		// The collapse comes after about 5,000 paths; memory is measured
		// from the end of this round on.
		baseRound  = 4
		maxPending = 5000 * (40 + 200)
	)
	work := t.TempDir()
	statusFile := filepath.Join(work, "status.txt")
	// inotify: the test knows every event was handled when the count of
	// events read stops moving, and a fanotify mark also reads every other
	// process's changes on the file system.
	src, dst, d, p := setup(t, confgen.Config{CrontabMinutes: 600, CrontabExcludes: []string{"*.php"}},
		"--watcher", "inotify",
		"--max-pending-bytes", strconv.Itoa(maxPending), "--status-file", statusFile, "--status-file-every", "100ms")
	fl := filepath.Join(filepath.Dir(src), "rsync_fail_log.sh")
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "before.txt"), "up")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	release := holdPort(t, d)

	names := hostileNames(t)
	pid := p.cmd.Process.Pid
	const collapsed = "pending changes of the remote passed their bound"
	var base, most, files int
	start := time.Now()
	for r := range rounds {
		dir := filepath.Join(src, fmt.Sprintf("round %02d", r))
		for i := range perRound {
			n := fmt.Sprintf("%s-%06d", names[i%len(names)], r*perRound+i)
			if i%10 == 0 {
				n += ".php"
			}
			writeFile(t, filepath.Join(dir, n), n)
			if i >= kept {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
			files++
		}
		rss := rssKiB(t, pid)
		if r == baseRound {
			base = rss
		}
		most = max(most, rss)
	}
	// Every event read and handled: the count of events read stops moving.
	prev := -1
	poll.Until(t, 60*time.Second, "sersync2 to read every event", func() (bool, string) {
		b, _ := os.ReadFile(statusFile)
		m := eventsRead.FindSubmatch(b)
		if m == nil {
			return false, "no status file yet"
		}
		n, _ := strconv.Atoi(string(m[1]))
		done := n == prev && n >= 2*rounds*(perRound-kept)
		prev = n
		return done, fmt.Sprintf("%d events read", n)
	})
	end := rssKiB(t, pid)
	most = max(most, end)

	log := p.stderr.String()
	var line string
	for l := range strings.Lines(log) {
		if strings.Contains(l, collapsed) {
			line = l
			break
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "@"+d.IP+"::www ") || !strings.Contains(line, fmt.Sprintf("max_pending_bytes=%d", maxPending)) {
		t.Errorf("collapse line %q: want level WARN, the remote and the bound", line)
	}
	t.Logf("daemon down, %d unique paths in %.1f s: sersync2 RSS %d KiB after %d, at most %d KiB after, %d KiB once every event was handled",
		files, time.Since(start).Seconds(), base, (baseRound+1)*perRound, most, end)
	// Without the bound the 40,000 paths after the base add about
	// 10 MiB; with it what is left of them is the transient garbage of
	// the events, given back by the end. The race detector's shadow
	// memory of that garbage lingers longer.
	limit := 4 << 10
	if raceEnabled {
		limit = 8 << 10
	}
	if growth := end - base; growth > limit {
		t.Errorf("RSS grew %d KiB while %d more paths changed after the collapse, want at most %d KiB", growth, files-(baseRound+1)*perRound, limit)
	}

	poll.Until(t, 60*time.Second, "a full-sync entry in the failLog", func() (bool, string) {
		es := failLogOf(t, fl)
		for _, e := range es {
			if e.Op == failog.Full {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d entries, none a full sync", len(es))
	})
	if es := failLogOf(t, fl); len(es) != 1 {
		t.Errorf("failLog holds %d entries, want the one full-sync entry", len(es))
	}
	release()
	back, took := restartAndDrain(t, d, src, dst, fl)
	hostile.NoPWNED(t, src, dst, work)
	t.Logf("mirror equal %.1f s after the daemon came back; failLog empty %.1f s after; lost: nothing (trees equal, crontab-excluded files included)",
		took.Seconds(), time.Since(back).Seconds())
}
