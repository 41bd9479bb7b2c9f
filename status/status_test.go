package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/internal/buildinfo"
	"github.com/sersync-go/sersync2/replicate"
	"github.com/sersync-go/sersync2/rsyncexec"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:9411", false, true},
		{"127.0.0.2:0", false, true},
		{"[::1]:9411", false, true},
		{"localhost:9411", false, true},
		{"0.0.0.0:9411", false, false},
		{":9411", false, false},
		{"10.1.2.3:9411", false, false},
		{"0.0.0.0:9411", true, true},
		{"no-port", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := CheckAddr(tt.addr, tt.public)
			if (err == nil) != tt.ok {
				t.Errorf("CheckAddr(%q, %v) = %v", tt.addr, tt.public, err)
			}
			if !tt.ok && tt.public == false && strings.Contains(tt.addr, ":") && tt.addr != "no-port" && !errors.Is(err, errNotLoopback) {
				t.Errorf("error %v does not wrap errNotLoopback", err)
			}
		})
	}
}

// fixed is a Source with a fixed state and pending paths.
type fixed struct {
	st   replicate.State
	pend []replicate.RemotePending
}

func (f fixed) State() replicate.State { return f.st }

func (f fixed) Pending(n int) []replicate.RemotePending {
	out := slices.Clone(f.pend)
	for i := range out {
		out[i].Paths = out[i].Paths[:min(n, len(out[i].Paths))]
	}
	return out
}

func fixedSample(now time.Time) fixed { return fixed{sample(now), samplePending(now)} }

// samplePending are the pending paths of sample's remotes: 25 on the
// failing one, hostile names first, none on the other.
func samplePending(now time.Time) []replicate.RemotePending {
	ps := []replicate.PendingPath{
		{Path: "new\nline<b>x</b>", Since: now.Add(-90 * time.Second), Attempts: 3, InFlight: true},
		{Path: "bad\xff\xfe<script>", Remove: true, Since: now.Add(-80 * time.Second), Attempts: 2},
		{Path: `"quoted" & <i>`, Dir: true, Since: now.Add(-70 * time.Second), Attempts: 1},
	}
	for i := range 22 {
		ps = append(ps, replicate.PendingPath{Path: fmt.Sprintf("dir/file-%02d", i), Since: now.Add(time.Duration(i-60) * time.Second), Attempts: 1})
	}
	return []replicate.RemotePending{
		{Root: "/data", Remote: "10.0.0.2::www", Total: 25, Paths: ps},
		{Root: "/data", Remote: "10.0.0.3::www"},
	}
}

func sample(now time.Time) replicate.State {
	return replicate.State{
		Roots: []string{"/data", "/srv"}, Watches: 1,
		Absent: []replicate.AbsentRoot{{Root: "/srv", Since: now.Add(-time.Minute),
			Reason: "watch root /srv is absent: its file system is not mounted (the bare mount point is there)"}}, EventsRead: 42, Overflows: 1, Plugin: "socket", PluginDelivered: 3, PluginFailed: 1,
		FailLog: failog.Stats{Entries: 3, Recorded: 5, Cleared: 2},
		Remotes: []replicate.RemoteState{
			{Root: "/data", Remote: "10.0.0.2::www", Pending: 5, PendingSince: now.Add(-90 * time.Second), Batches: 4, Failures: 2, Retries: 2, Collapses: 1,
				MovesDone: 6, MovesFailed: 1,
				Runs: []replicate.RunCount{{Kind: "changes", Exit: 0, N: 2}, {Kind: "changes", Exit: 10, N: 2}},
				Last: replicate.Result{At: now.Add(-time.Second), Err: errors.New("rsync exit code 10")},
				LastFailure: replicate.Result{At: now.Add(-time.Second), Paths: 5, Err: fmt.Errorf("rsyncexec: update run of 5 paths to 10.0.0.2::www: %w",
					&rsyncexec.ExitError{Code: 10, Stderr: "rsync: [sender] failed to connect to 10.0.0.2 (10.0.0.2): Connection refused (111)\nrsync error: error in socket IO (code 10) at clientserver.c(139) [sender=3.2.7]"})},
				LastSuccess: replicate.Result{At: now.Add(-time.Minute), Paths: 9}},
			{Root: "/data", Remote: "10.0.0.3::www", Batches: 4, LastSuccess: replicate.Result{At: now.Add(-time.Second), Paths: 1},
				Last:     replicate.Result{At: now.Add(-time.Second), Paths: 1},
				FullSync: &replicate.FullSyncProgress{Started: now.Add(-10 * time.Second), Reason: "SIGUSR1", Progress: rsyncexecProgress(50, 7, 5000)}},
		},
	}
}

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	limit := filepath.Join(t.TempDir(), "max_user_watches")
	if err := os.WriteFile(limit, []byte("8192\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(fixedSample(time.Now()), Options{Build: buildinfo.Info{Version: "v-test", Revision: "abc123", GoVersion: "go1.99"}, MaxUserWatchesFile: limit})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// TestMetrics: every figure of the state comes out under its name and
// labels, and the text parses.
func TestMetrics(t *testing.T) {
	t.Parallel()
	hs := newTestServer(t)
	body := get(t, hs.URL+"/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, want := range []string{
		`sersync2_build_info{goversion="go1.99",modified="false",revision="abc123",version="v-test"} 1`,
		`sersync2_events_read_total 42`,
		`sersync2_watches 1`,
		`sersync2_root_absent{root="/data"} 0`,
		`sersync2_root_absent{root="/srv"} 1`,
		`sersync2_max_user_watches 8192`,
		`sersync2_overflows_total{root="/data"} 0`,
		`sersync2_pending_changes{remote="10.0.0.2::www",root="/data"} 5`,
		`sersync2_remote_failing{remote="10.0.0.2::www",root="/data"} 1`,
		`sersync2_remote_failing{remote="10.0.0.3::www",root="/data"} 0`,
		`sersync2_lag_seconds{remote="10.0.0.3::www",root="/data"} 0`,
		`sersync2_rsync_runs_total{exit="10",kind="changes",remote="10.0.0.2::www",root="/data"} 2`,
		`sersync2_retries_total{remote="10.0.0.2::www",root="/data"} 2`,
		`sersync2_queue_collapses_total{remote="10.0.0.2::www",root="/data"} 1`,
		`sersync2_remote_moves_total{remote="10.0.0.2::www",result="done",root="/data"} 6`,
		`sersync2_remote_moves_total{remote="10.0.0.2::www",result="failed",root="/data"} 1`,
		`sersync2_plugin_deliveries_total{plugin="socket"} 3`,
		`sersync2_faillog_entries 3`,
		`sersync2_faillog_recorded_total 5`,
		`sersync2_faillog_cleared_total 2`,
		`sersync2_plugin_failures_total{plugin="socket"} 1`,
		`sersync2_full_sync_progress_ratio{remote="10.0.0.3::www",root="/data"} 0.5`,
		`sersync2_full_sync_bytes{remote="10.0.0.3::www",root="/data"} 5000`,
		`sersync2_full_sync_progress_ratio{remote="10.0.0.2::www",root="/data"} 0`,
		`process_open_fds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(body, `sersync2_lag_seconds{remote="10.0.0.2::www",root="/data"} 9`) {
		t.Errorf("lag of the failing remote is not about 90 s")
	}
}

func TestStatusJSONAndPage(t *testing.T) {
	t.Parallel()
	hs := newTestServer(t)
	var r Report
	dec := json.NewDecoder(strings.NewReader(get(t, hs.URL+"/status")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if len(r.Remotes) != 2 || r.MaxUserWatches != 8192 || r.Plugin == nil || r.Plugin.Deliveries != 3 || len(r.LastErrors) != 1 ||
		len(r.AbsentRoots) != 1 || r.AbsentRoots[0].Root != "/srv" || r.AbsentRoots[0].Since.IsZero() {
		t.Fatalf("report = %+v", r)
	}
	a := r.Remotes[0]
	if !a.Failing || a.LagSeconds < 89 || a.LastSync == nil || a.LastSync.Paths != 9 || a.LastError == nil || len(a.Runs) != 2 {
		t.Errorf("remote = %+v", a)
	}
	page := get(t, hs.URL+"/")
	if f := r.Remotes[1].FullSync; f == nil || f.Percent != 50 || f.ETASeconds < 9 || f.ETASeconds > 11 || f.BytesPerSecond < 400 {
		t.Errorf("full sync = %+v", f)
	}
	for _, want := range []string{`http-equiv="refresh"`, "10.0.0.2::www", "10.0.0.3::www", `class="failing"`, "<svg", "full sync 50%, 7 files, ETA 10 s",
		`class="failing absent" data-root="/srv"`, "Watch root /srv is absent since",
		// One line in the table, the whole text on hover and in the list.
		"rsync exit 10: error in socket I/O</td>", `title="rsyncexec: update run of 5 paths`, "Connection refused (111)",
		"1 directory watched", "42 events read", "1 overflow;", "9 paths</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
}

// TestWriteFile: the status file has the figures of every remote and
// its oldest pending paths, hostile names quoted, and ReadPending reads
// the paths back as they were.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	now := time.Now()
	src := fixedSample(now)
	p := writeSampleFile(t, now)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"watches: 1 of 100", "remote /data -> 10.0.0.2::www", "failing: true", "last error: ", "pending: 5",
		"full sync: 50% (SIGUSR1), 7 files, 5000 bytes, 500 bytes/s, ETA 10 s",
		"absent root: /srv since ",
		"  oldest pending paths (20 of 5):\n", `age 90.0 s, attempts 3, in flight: "new\nline<b>x</b>"`,
		`attempts 2: "bad\xff\xfe<script>"`, "attempts 1: dir/file-16\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status file lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "dir/file-17") {
		t.Errorf("status file lists more than %d paths:\n%s", shownPending, b)
	}
	back, err := ReadPending(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := src.Pending(shownPending)
	if len(back.Remotes) != 2 || back.Remotes[0].Remote != "10.0.0.2::www" || back.Remotes[0].Pending != 5 ||
		len(back.Remotes[0].PendingPaths) != shownPending || len(back.Remotes[1].PendingPaths) != 0 {
		t.Fatalf("read back %+v", back.Remotes)
	}
	for i, p := range back.Remotes[0].PendingPaths {
		w := want[0].Paths[i]
		if p.Name() != w.Path || !p.Since.Equal(w.Since) || p.Attempts != w.Attempts || p.InFlight != w.InFlight {
			t.Errorf("path %d read back as %+v, want %+v", i, p, w)
		}
	}
}

// writeSampleFile writes the status file of fixedSample(now), its oldest
// pending paths listed, and returns its path.
func writeSampleFile(t *testing.T, now time.Time) string {
	t.Helper()
	src := fixedSample(now)
	p := filepath.Join(t.TempDir(), "status")
	r := build(src.st, now, "v", now, 100, nil)
	r.addPending(src.Pending(shownPending))
	if err := WriteFile(p, r); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSparkline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want string
	}{
		{"empty", nil, "no data yet"},
		{"one", []float64{3}, `points="160.0,1.0"`},
		{"flat zero", []float64{0, 0}, `points="0.0,27.0 160.0,27.0"`},
		{"rising", []float64{0, 2}, `points="0.0,27.0 160.0,1.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(sparkline(tt.in, "#000")); !strings.Contains(got, tt.want) {
				t.Errorf("sparkline(%v) = %s, want %s in it", tt.in, got, tt.want)
			}
		})
	}
}

func rsyncexecProgress(percent, files int, bytes int64) (p rsyncexec.Progress) {
	p.Percent, p.Files, p.Bytes = percent, files, bytes
	return p
}

// TestStatusPending: /status lists no path unless asked; ?pending=N
// lists the N oldest per remote with their age and attempts, a name that
// is not UTF-8 with its exact bytes; a bad N is refused.
func TestStatusPending(t *testing.T) {
	t.Parallel()
	hs := newTestServer(t)
	report := func(q string) Report {
		var r Report
		dec := json.NewDecoder(strings.NewReader(get(t, hs.URL+"/status"+q)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := report(""); r.Remotes[0].PendingPaths != nil {
		t.Errorf("/status without ?pending lists %d paths", len(r.Remotes[0].PendingPaths))
	}
	r := report("?pending=2")
	ps := r.Remotes[0].PendingPaths
	if len(ps) != 2 || len(r.Remotes[1].PendingPaths) != 0 {
		t.Fatalf("?pending=2: %+v", r.Remotes)
	}
	if p := ps[0]; p.Name() != "new\nline<b>x</b>" || p.Attempts != 3 || !p.InFlight || p.AgeSeconds < 89 || p.AgeSeconds > 120 || p.PathBase64 != "" {
		t.Errorf("first path %+v", p)
	}
	if p := ps[1]; p.Name() != "bad\xff\xfe<script>" || !p.Remove || p.Attempts != 2 || p.Path != "bad\uFFFD\uFFFD<script>" {
		t.Errorf("second path %+v (name %q)", p, p.Name())
	}
	if n := len(report("?pending=100000").Remotes[0].PendingPaths); n != 25 {
		t.Errorf("?pending=100000 lists %d paths, want all 25", n)
	}
	for _, q := range []string{"?pending=-1", "?pending=x"} {
		resp, err := http.Get(hs.URL + "/status" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/status%s: %s, want 400", q, resp.Status)
		}
	}
}

// TestPagePendingEscaped: the page lists the oldest 20 paths of a
// remote; hostile names are quoted (a newline cannot break the line,
// invalid UTF-8 shows as escapes) and escaped for HTML.
func TestPagePendingEscaped(t *testing.T) {
	t.Parallel()
	page := get(t, newTestServer(t).URL+"/")
	// The oldest path waited 90 s when the sample was made; the page is
	// drawn a moment later, on a loaded machine up to seconds.
	if !regexp.MustCompile(`1m3\ds</td><td>3</td>`).MatchString(page) {
		t.Error("page lacks the oldest path's age (1m30s or a few seconds more) and attempts")
	}
	for _, want := range []string{
		`<details class="pending" data-remote="10.0.0.2::www" data-root="/data">`,
		`&#34;new\nline&lt;b&gt;x&lt;/b&gt;&#34; <small>(syncing)</small>`,
		`&#34;bad\xff\xfe&lt;script&gt;&#34; <small>(removal)</small>`,
		`&#34;\&#34;quoted\&#34; &amp; &lt;i&gt;&#34;/`,
		"dir/file-16",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, bad := range []string{"<b>x", "<script>", "<i>", "dir/file-17", "\xff"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	if strings.Contains(page, `data-remote="10.0.0.3::www" data-root="/data"><summary>`) {
		t.Error("the page lists pending paths for a remote with none")
	}
}

// TestShowPath: names that are printable UTF-8 stay as they are, others
// are quoted, and a shown name reads back.
func TestShowPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"dir/sp ace", "dir/sp ace"},
		{"émoji-日本", "émoji-日本"},
		{"nl\nline", `"nl\nline"`},
		{"cr\rname", `"cr\rname"`},
		{"\xff\xfe", `"\xff\xfe"`},
		{`"quoted"`, `"\"quoted\""`},
		{"trail ", `"trail "`},
		{" lead", `" lead"`},
		{"tab\there", `"tab\there"`},
		{"a\u200bb", `"a\u200bb"`},
	}
	for _, tt := range tests {
		got := ShowPath(tt.in)
		if got != tt.want {
			t.Errorf("ShowPath(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if back, err := unshowPath(got); err != nil || back != tt.in {
			t.Errorf("unshowPath(%s) = %q, %v; want %q", got, back, err, tt.in)
		}
	}
}
