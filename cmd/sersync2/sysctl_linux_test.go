package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTuneKernel: a limit is raised only when it is lower than the
// original's value, never lowered, and only when enabled; the original's
// "execute：" line is printed only for a real write.
func TestTuneKernel(t *testing.T) {
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
			dir := filepath.Join(root, "proc/sys/fs/inotify")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"max_user_watches": tt.watches, "max_queued_events": tt.queued}
			for n, v := range files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(v+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
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
			tuneKernel(&out, slog.New(slog.NewTextHandler(&logb, nil)), tt.enabled, root)
			for n, want := range map[string]string{"max_user_watches": tt.wantWatches, "max_queued_events": tt.wantQueued} {
				got, _ := os.ReadFile(filepath.Join(dir, n))
				if strings.TrimSpace(string(got)) != want {
					t.Errorf("%s = %q, want %s", n, got, want)
				}
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
