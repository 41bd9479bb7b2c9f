package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/status"
)

// pendingOf returns the pending paths /status?pending=50 lists for the
// only remote, by name, and the raw answer.
func pendingOf(t *testing.T, addr string) (status.RemoteReport, map[string]status.PendingPathReport, string) {
	t.Helper()
	r, _, body := statusAt(t, addr, "/status?pending=50")
	if len(r.Remotes) != 1 {
		t.Fatalf("/status?pending=50: remotes %+v", r.Remotes)
	}
	byName := map[string]status.PendingPathReport{}
	for _, p := range r.Remotes[0].PendingPaths {
		byName[p.Name()] = p
	}
	return r.Remotes[0], byName, body
}

// TestE2EPending: with the remote down, files with hostile names wait;
// /status?pending=50 lists each with attempts >= 1 and an age that
// grows, `sersync2 --pending` prints one line per path through the status
// address and through the status file, names quoted where needed; once
// the daemon is back the list empties. --pending without a way to reach
// the instance is a usage error (1), with nobody answering it exits 3.
func TestE2EPending(t *testing.T) {
	t.Parallel()
	statusFile := filepath.Join(t.TempDir(), "sersync2.status")
	src, dst, d, p := setup(t, confgen.Config{Timeout: 5}, "--status-addr", "127.0.0.1:0", "--status-file", statusFile, "--status-file-every", "200ms")
	p.waitReady(t)
	addr := p.statusAddr(t)
	conf := p.cmd.Args[len(p.cmd.Args)-1]
	work := p.cmd.Dir

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	names := hostileNames(t)
	for _, n := range names {
		writeFile(t, filepath.Join(src, n), "x")
	}
	var first map[string]status.PendingPathReport
	poll.Until(t, 60*time.Second, "every file listed, tried at least once", func() (bool, string) {
		rr, byName, _ := pendingOf(t, addr)
		for _, n := range names {
			if p, ok := byName[n]; !ok || p.Attempts < 1 {
				return false, fmt.Sprintf("%q: %+v (of %d listed, %d pending)", n, p, len(byName), rr.Pending+rr.InFlight)
			}
		}
		first = byName
		return true, ""
	})
	var answer string
	poll.Until(t, 30*time.Second, "the ages to grow", func() (bool, string) {
		_, byName, body := pendingOf(t, addr)
		for _, n := range names {
			if byName[n].AgeSeconds < first[n].AgeSeconds+1 || byName[n].Since != first[n].Since {
				return false, fmt.Sprintf("%q: %+v, then %+v", n, first[n], byName[n])
			}
		}
		answer = body
		return true, ""
	})
	t.Logf("/status?pending=50 while the remote was down:\n%s", answer)

	// One line per path: age, attempts, remote, path quoted where needed.
	remote := d.User + "@" + d.IP + "::www"
	checkLines := func(how string, out result) {
		t.Helper()
		if out.code != 0 {
			t.Fatalf("--pending %s: exit %d\n%s", how, out.code, out.stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out.stdout, "\n"), "\n")
		if len(lines) != len(names) {
			t.Fatalf("--pending %s: %d lines for %d paths:\n%s", how, len(lines), len(names), out.stdout)
		}
		for _, n := range names {
			want := "\t" + remote + "\t" + status.ShowPath(filepath.Join(src, n)) + "\n"
			if !strings.Contains(out.stdout, want) {
				t.Errorf("--pending %s lacks %q:\n%s", how, want, out.stdout)
			}
		}
		for _, l := range lines {
			f := strings.Split(l, "\t")
			if len(f) != 4 || !strings.HasSuffix(f[0], "s") || f[1] == "0" {
				t.Errorf("--pending %s: line %q, want age, attempts >= 1, remote, path", how, l)
			}
		}
	}
	checkLines("--status-addr", runBin(t, work, "--pending", "-o", conf, "--status-addr", addr))
	poll.Until(t, 30*time.Second, "the status file to list every path", func() (bool, string) {
		out := runBin(t, work, "--pending", "-o", conf, "--status-file", statusFile)
		return out.code == 0 && strings.Count(out.stdout, "\n") == shownPendingPaths(len(names)), out.stdout + out.stderr
	})
	// The status file lists the oldest 20 only, and says so on stderr.
	if out := runBin(t, work, "--pending", "-o", conf, "--status-file", statusFile); !strings.Contains(out.stderr, "more pending paths not listed") {
		t.Errorf("--pending --status-file: stderr %q, want a note on the paths not listed", out.stderr)
	}

	if out := runBin(t, work, "--pending", "-o", conf); out.code != exitUsage || !strings.Contains(out.stderr, "--status-addr or --status-file") {
		t.Errorf("--pending alone: exit %d, stderr %q; want %d naming the flags", out.code, out.stderr, exitUsage)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if out := runBin(t, work, "--pending", "-o", conf, "--status-addr", closed); out.code != exitHost {
		t.Errorf("--pending at %s, where nobody listens: exit %d, want %d\n%s", closed, out.code, exitHost, out.stderr)
	}

	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, "the list to empty", func() (bool, string) {
		rr, byName, _ := pendingOf(t, addr)
		return len(byName) == 0 && rr.Pending+rr.InFlight == 0, fmt.Sprintf("%d listed, %d pending", len(byName), rr.Pending+rr.InFlight)
	})
	if out := runBin(t, work, "--pending", "-o", conf, "--status-addr", addr); out.code != 0 || out.stdout != "" {
		t.Errorf("--pending once synced: exit %d, stdout %q", out.code, out.stdout)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	hostile.NoPWNED(t, src, dst, work)
}

// shownPendingPaths is how many of n pending paths the status file lists.
func shownPendingPaths(n int) int { return min(n, 20) }
