package main

import (
	"bytes"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/kernellimits"
)

// TestRaiseKernelLimits: a limit is raised only when it is lower than the
// original's value, never lowered, and only when enabled; the original's
// "execute：" line is printed only for a real write.
func TestRaiseKernelLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		watches, queued   string
		enabled, readOnly bool
		wantWatches       string
		wantQueued        string
		stdout            []string
		noStdout          []string
		log               string
	}{
		{name: "raise both", watches: "8192", queued: "16384", enabled: true, wantWatches: "50000000", wantQueued: "327679",
			stdout: []string{"execute：echo 50000000 > /proc/sys/fs/inotify/max_user_watches", "execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events"},
			log:    "raised inotify limit"},
		{name: "never lower", watches: "100000000", queued: "500000", enabled: true, wantWatches: "100000000", wantQueued: "500000",
			stdout: []string{"keep：fs.inotify.max_user_watches = 100000000 (>= 50000000)"}, noStdout: []string{"execute："}},
		{name: "raise one", watches: "100000000", queued: "16384", enabled: true, wantWatches: "100000000", wantQueued: "327679",
			stdout: []string{"execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events"}, noStdout: []string{"echo 50000000"}},
		{name: "disabled", watches: "8192", queued: "16384", enabled: false, wantWatches: "8192", wantQueued: "16384",
			noStdout: []string{"execute："}, log: "not raised (--no-tune-kernel)"},
		{name: "not writable", watches: "8192", queued: "16384", enabled: true, readOnly: true, wantWatches: "8192", wantQueued: "16384",
			noStdout: []string{"execute："}, log: "sysctl -w fs.inotify.max_user_watches=50000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := fakeLimits(t, root, tt.watches, tt.queued)
			files := limits(t, dir)
			if tt.readOnly {
				if err := os.Chmod(dir, 0o555); err != nil {
					t.Fatal(err)
				}
				for n := range files {
					if err := os.Chmod(filepath.Join(dir, n), 0o444); err != nil {
						t.Fatal(err)
					}
				}
				if os.Geteuid() == 0 {
					t.Skip("root can write a read-only file; this case needs a non-root run")
				}
			}
			var out, logb bytes.Buffer
			kernellimits.Raise(&out, slog.New(slog.NewTextHandler(&logb, nil)), tt.enabled, root)
			if got, want := limits(t, dir), map[string]string{"max_user_watches": tt.wantWatches, "max_queued_events": tt.wantQueued}; !maps.Equal(got, want) {
				t.Errorf("limits %v, want %v", got, want)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s+"\n") {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.noStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, out.String())
				}
			}
			if tt.log != "" && !strings.Contains(logb.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, logb.String())
			}
		})
	}
}

// fakeLimits writes the two inotify limit files below root, as
// /proc/sys/fs/inotify holds them, and returns their directory.
func fakeLimits(t *testing.T, root, watches, queued string) string {
	t.Helper()
	dir := filepath.Join(root, "proc/sys/fs/inotify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, v := range map[string]string{"max_user_watches": watches, "max_queued_events": queued} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// limits reads the limit files of dir.
func limits(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, n := range []string{"max_user_watches", "max_queued_events"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		got[n] = strings.TrimSpace(string(b))
	}
	return got
}

// TestKernelLimitsOnlyForAGoodStart: the system-wide inotify limits are
// raised only once the flags and the whole configuration are valid, and
// only for a start that will watch: a bad flag, a bad or broken
// configuration file, --check and -h leave them as they were and print no
// "execute：" line. A good start raises them, and the original's lines
// keep their order. run is called in this process with sysctlRoot pointing
// at a copy of the limits (so the test is not parallel).
func TestKernelLimitsOnlyForAGoodStart(t *testing.T) {
	root := t.TempDir()
	saved := sysctlRoot
	sysctlRoot = root
	t.Cleanup(func() { sysctlRoot = saved })

	good, dir := fixtureEnv(t, "base.xml")
	bad, _ := fixtureEnv(t, "bad-ssh-remote-ip-option.xml")
	broken, _ := fixtureEnv(t, "bad-unclosed-element.xml")
	notDir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	low := map[string]string{"max_user_watches": "8192", "max_queued_events": "16384"}
	raised := map[string]string{"max_user_watches": "50000000", "max_queued_events": "327679"}
	tests := []struct {
		name string
		args []string
		code int
		want map[string]string
	}{
		{"bad flag", []string{"--batching", "bogus", "-o", good}, exitUsage, low},
		{"bad -n", []string{"-n", "x", "-o", good}, exitUsage, low},
		{"unknown option", []string{"-x", "-o", good}, exitUsage, low},
		{"bad -m", []string{"-m", "http", "-o", good}, exitUsage, low},
		{"bad configuration", []string{"-o", bad}, exitUsage, low},
		{"broken XML", []string{"-o", broken}, exitXMLError, low},
		{"missing configuration", []string{"-o", filepath.Join(dir, "missing.xml")}, exitXMLError, low},
		{"--check", []string{"--check", "-o", good}, exitOK, low},
		{"-h", []string{"-h", "-o", good}, exitOK, low},
		// Valid, so the limits are raised; then the start stops at
		// the lock, whose directory cannot be made.
		{"good start", []string{"--lock-dir", filepath.Join(notDir, "lock"), "-o", good}, exitHost, raised},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limitDir := fakeLimits(t, root, low["max_user_watches"], low["max_queued_events"])
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if got := limits(t, limitDir); !maps.Equal(got, tt.want) {
				t.Errorf("limits %v, want %v", got, tt.want)
			}
			wrote := strings.Contains(stdout.String(), "execute：")
			if raisedThem := tt.want["max_user_watches"] == raised["max_user_watches"]; wrote != raisedThem {
				t.Errorf("execute： lines printed: %v, want %v\n%s", wrote, raisedThem, stdout.String())
			}
			if wrote {
				const head = "set the system param\n" +
					"execute：echo 50000000 > /proc/sys/fs/inotify/max_user_watches\n" +
					"execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events\n" +
					"parse the command param\n"
				if !strings.HasPrefix(stdout.String(), head) {
					t.Errorf("stdout does not start with the original's lines in order:\n%s", stdout.String())
				}
			}
		})
	}
}
