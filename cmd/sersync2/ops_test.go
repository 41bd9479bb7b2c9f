package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// TestE2EStatus: from the built binary with --status-addr and
// --status-file, /metrics parses and its counters move while files are
// written, the lag rises while the remote is down, /status keeps to its
// schema, the status file names the remote, and the page in a headless
// Chromium shows each remote and its lag.
func TestE2EStatus(t *testing.T) {
	t.Parallel()
	statusFile := filepath.Join(t.TempDir(), "sersync2.status")
	src, dst, d, p := setup(t, confgen.Config{}, "--status-addr", "127.0.0.1:0", "--status-file", statusFile, "--status-file-every", "200ms")
	p.waitReady(t)
	addr := p.statusAddr(t)
	remote := d.User + "@" + d.IP + "::www"
	rl := []string{"root", src, "remote", remote}

	before := scrape(t, addr)
	for _, name := range []string{"sersync2_build_info", "sersync2_events_read_total", "sersync2_watches", "sersync2_max_user_watches",
		"sersync2_pending_changes", "sersync2_lag_seconds", "sersync2_batches_total", "sersync2_overflows_total",
		"sersync2_reloads_total", "process_resident_memory_bytes", "go_goroutines"} {
		if before[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := before.value("sersync2_max_user_watches"); v <= 0 {
		t.Errorf("sersync2_max_user_watches = %v", v)
	}

	// d is watched once it is on the mirror: then each file is read as
	// events (files written into a directory before its watch is in place
	// are found by reading it, not as events).
	if err := os.Mkdir(filepath.Join(src, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	for i := range 20 {
		writeFile(t, filepath.Join(src, "d", fmt.Sprintf("f%02d.txt", i)), "x")
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	poll.Until(t, 30*time.Second, "counters to move", func() (bool, string) {
		m := scrape(t, addr)
		ev, _ := m.value("sersync2_events_read_total")
		b, _ := m.value("sersync2_batches_total", rl...)
		runs, _ := m.value("sersync2_rsync_runs_total", append(rl, "kind", "changes", "exit", "0")...)
		paths, _ := m.value("sersync2_synced_paths_total", rl...)
		lag, _ := m.value("sersync2_lag_seconds", rl...)
		return ev >= 20 && b >= 1 && runs >= 1 && paths >= 1 && lag == 0,
			fmt.Sprintf("events %v batches %v runs %v paths %v lag %v", ev, b, runs, paths, lag)
	})

	// The remote goes down: the lag rises and the remote is failing.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "while-down.txt"), "x")
	var lag1 float64
	poll.Until(t, 30*time.Second, "the lag to pass 1s with the remote failing", func() (bool, string) {
		m := scrape(t, addr)
		lag1, _ = m.value("sersync2_lag_seconds", rl...)
		failing, _ := m.value("sersync2_remote_failing", rl...)
		fails, _ := m.value("sersync2_failed_batches_total", rl...)
		entries, _ := m.value("sersync2_faillog_entries")
		return lag1 > 1 && failing == 1 && fails >= 1 && entries >= 1,
			fmt.Sprintf("lag %v failing %v failed batches %v failLog entries %v", lag1, failing, fails, entries)
	})
	poll.Until(t, 30*time.Second, "the lag to keep rising", func() (bool, string) {
		lag2, _ := scrape(t, addr).value("sersync2_lag_seconds", rl...)
		return lag2 > lag1+0.5, fmt.Sprintf("lag %v then %v", lag1, lag2)
	})

	r, raw := getStatus(t, addr)
	for _, k := range []string{"time", "version", "roots", "watches", "max_user_watches", "events_read", "overflows", "remotes", "last_errors"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("/status has no %q", k)
		}
	}
	if len(r.Remotes) != 1 {
		t.Fatalf("/status remotes = %+v", r.Remotes)
	}
	rr := r.Remotes[0]
	if rr.Root != src || rr.Remote != remote || rr.LagSeconds <= 1 || !rr.Failing || rr.LastError == nil || rr.LastSync == nil ||
		rr.OldestPending == nil || rr.Batches == 0 || len(r.LastErrors) == 0 {
		t.Errorf("/status remote = %+v", rr)
	}

	poll.Until(t, 30*time.Second, "the status file", func() (bool, string) {
		b, _ := os.ReadFile(statusFile)
		s := string(b)
		return strings.Contains(s, "remote "+src+" -> "+remote) && strings.Contains(s, "failing: true") && strings.Contains(s, "last error:"), s
	})

	showsRemoteAndLag(t, addr, remote)

	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	poll.Until(t, 60*time.Second, "the lag back to 0", func() (bool, string) {
		m := scrape(t, addr)
		lag, _ := m.value("sersync2_lag_seconds", rl...)
		failing, _ := m.value("sersync2_remote_failing", rl...)
		entries, _ := m.value("sersync2_faillog_entries")
		return lag == 0 && failing == 0 && entries == 0, fmt.Sprintf("lag %v failing %v failLog entries %v", lag, failing, entries)
	})
}

// showsRemoteAndLag loads the status page in a headless Chromium and
// checks that it shows the remote with a lag.
func showsRemoteAndLag(t *testing.T, addr, remote string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("chromium not installed (make deps installs it): %v", err)
		}
		t.Skipf("chromium not installed (make deps installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/"), chromedp.WaitVisible(chromedp.CSS(`tr.remote`))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		return s
	}
	title := must(chromedp.Run(ctx, chromedp.Title()))
	rows := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#remotes`))))
	lag := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.remote td.lag`))))
	state := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.remote td:nth-child(2)`))))
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.remote svg.spark").length`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if title != "sersync2 status" || !strings.Contains(rows, remote) || lag == "" || lag == "0 s" || state != "failing" || charts != 2 {
		t.Errorf("page: title %q, remote %q in %q, lag %q, state %q, charts %d", title, remote, rows, lag, state, charts)
	}
	// With the remote down its last error is one line in the table (the
	// whole text is in the list below): a screenshot of the table is about
	// a header and one row high, not a column of rsync's words.
	cell := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr.remote td.err`))))
	if !strings.Contains(cell, "rsync exit ") || strings.Contains(cell, "\n") {
		t.Errorf("last error cell %q: want one line with rsync's exit code", cell)
	}
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#remotes`)))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	rowHeight := must(chromedp.Run(ctx, chromedp.Evaluate[string](`String(document.querySelector("tr.remote").getBoundingClientRect().height)`)))
	if h := img.Bounds().Dy(); h > 150 {
		t.Errorf("the table is %d px high in a screenshot (its row %s px), want at most 150 with one remote", h, rowHeight)
	}
}

// TestE2EStatusAddrRefused: a non-loopback --status-addr is refused
// unless --status-addr-public says so.
func TestE2EStatusAddrRefused(t *testing.T) {
	t.Parallel()
	work, _, conf := confFor(t)
	p := startSersync(t, work, "--status-addr", "0.0.0.0:0", "-o", conf)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatal("sersync2 did not exit")
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 1 || !strings.Contains(p.stderr.String(), "--status-addr-public") {
		t.Errorf("exit %v, want 1 naming --status-addr-public\n%s", p.err, p.stderr.String())
	}
	q := startSersync(t, work, "--status-addr", "0.0.0.0:0", "--status-addr-public", "-o", conf)
	q.waitReady(t)
	if _, err := httpGet(strings.Replace(q.statusAddr(t), "0.0.0.0", "127.0.0.1", 1), "/status"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(q.stderr.String(), "status server reachable from other hosts without authentication") {
		t.Errorf("no warning that the public status server has no authentication:\n%s", q.stderr.String())
	}
}

// TestE2EStatusAuthFile: with --status-auth-file a public status server
// answers 401 without the file's token and 200 with it, and warns of
// nothing; a token file others may read stops the start (exit 1); the
// flag without --status-addr is refused. --pending sends the token.
func TestE2EStatusAuthFile(t *testing.T) {
	t.Parallel()
	work, _, conf := confFor(t)
	token := filepath.Join(work, "status.token")
	if err := os.WriteFile(token, []byte("tok-e2e-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A token file others can read is a problem of this host, as a
	// password file is (3); the flag without an address is a bad command
	// line (1).
	exits := []struct {
		name, want string
		code       int
		args       []string
	}{
		{"readable by others", "readable by others", exitHost, []string{"--status-addr", "127.0.0.1:0", "--status-auth-file", token}},
		{"no --status-addr", "--status-auth-file needs --status-addr", exitUsage, []string{"--status-auth-file", token}},
	}
	for _, tt := range exits {
		p := startSersync(t, work, append(tt.args, "-o", conf)...)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s: sersync2 did not exit", tt.name)
		}
		var ee *exec.ExitError
		if !errors.As(p.err, &ee) || ee.ExitCode() != tt.code || !strings.Contains(p.stderr.String(), tt.want) {
			t.Errorf("%s: exit %v, want %d saying %q\n%s", tt.name, p.err, tt.code, tt.want, p.stderr.String())
		}
	}
	if err := os.Chmod(token, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startSersync(t, work, "--status-addr", "0.0.0.0:0", "--status-addr-public", "--status-auth-file", token, "-o", conf)
	p.waitReady(t)
	addr := strings.Replace(p.statusAddr(t), "0.0.0.0", "127.0.0.1", 1)
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer tok-e2e-2", 401}, {"Bearer tok-e2e-1", 200}} {
		req, err := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("/metrics with %q: %s, want %d", tt.auth, resp.Status, tt.want)
		}
	}
	if strings.Contains(p.stderr.String(), "without authentication") {
		t.Errorf("warning although a token is asked for:\n%s", p.stderr.String())
	}
	// sersync2 --pending sends the token of --status-auth-file; a token
	// the server refuses is a bad command line.
	wrong := filepath.Join(work, "wrong.token")
	if err := os.WriteFile(wrong, []byte("tok-e2e-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file string
		code int
	}{{token, exitOK}, {wrong, exitUsage}} {
		if out := runBin(t, work, "--pending", "-o", conf, "--status-addr", addr, "--status-auth-file", tt.file); out.code != tt.code {
			t.Errorf("--pending with %s: exit %d, want %d\n%s", filepath.Base(tt.file), out.code, tt.code, out.stderr)
		}
	}
}

// TestE2ELogJSONAndSummary: --log-format json writes one JSON object per
// line; at the default level a batch gives no per-batch line but a
// summary line (every --summary-every) with its rsync runs.
func TestE2ELogJSONAndSummary(t *testing.T) {
	t.Parallel()
	src, dst, _, p := setup(t, confgen.Config{}, "--log-format", "json", "--log-level", "info", "--summary-every", "200ms")
	poll.Until(t, 30*time.Second, "sersync2 to start", func() (bool, string) {
		return strings.Contains(p.stderr.String(), `"msg":"sersync2 started"`), ""
	})
	writeFile(t, filepath.Join(src, "a.txt"), "x")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	var summary map[string]any
	poll.Until(t, 30*time.Second, "a summary line with the rsync run", func() (bool, string) {
		for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q: %v", l, err)
			}
			if m["msg"] == "summary" && m["rsync_runs_total"].(float64) >= 1 {
				summary = m
				return true, ""
			}
		}
		return false, p.stderr.String()
	})
	if strings.Contains(p.stderr.String(), `"msg":"synced"`) {
		t.Error("a per-batch line at the default level")
	}
	for _, k := range []string{"batches", "rsync_runs", "paths", "failed_batches", "pending", "max_lag"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("summary line has no %s: %v", k, summary)
		}
	}
}
