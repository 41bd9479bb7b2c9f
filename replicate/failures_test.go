package replicate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/queue"
)

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestCrontabFires: the crontab schedule fires (here every second; the
// configuration can only say minutes) and its full sync honours the
// crontabfilter globs and the <filter> excludes: files that exist before
// the start are sent, except *.php and what the filter excludes; a file
// only the remote has goes, except those the excludes protect.
func TestCrontabFires(t *testing.T) {
	t.Parallel()
	cfg, src, d := daemonConf(t, confgen.Config{Filter: []string{"skip/.*"}, CrontabMinutes: 1, CrontabExcludes: []string{"*.php"}})
	dst := d.ModuleDir("www")
	for _, f := range []string{"pre.txt", "pre.php", "skip/y"} {
		writeFile(t, filepath.Join(src, f), "before the start")
	}
	for _, f := range []string{"extra.txt", "keep.php", "skip/z"} {
		writeFile(t, filepath.Join(dst, f), "remote only")
	}
	cfg.Sersync.Crontab.Schedule = time.Second
	e := start(t, cfg, Options{})
	poll.Until(t, 30*time.Second, "a crontab full sync", func() (bool, string) {
		return strings.Contains(e.log.String(), "reason=crontab"), ""
	})
	for f, want := range map[string]bool{"pre.txt": true, "extra.txt": false, "pre.php": false, "keep.php": true, "skip/y": false, "skip/z": true} {
		if got := exists(filepath.Join(dst, f)); got != want {
			t.Errorf("%s on the remote: %v, want %v", f, got, want)
		}
	}
}

// TestTargetOf: a full sync that recovers lost track leaves no crontab
// glob out; the crontab's own runs and the other batches keep them.
func TestTargetOf(t *testing.T) {
	t.Parallel()
	r := &remote{}
	r.target.CrontabExcludes = []string{"*.php"}
	tests := []struct {
		b    queue.Batch
		keep bool
	}{
		{queue.Batch{Full: true, Reason: "crontab"}, true},
		{queue.Batch{Full: true, Reason: "-r"}, true},
		{queue.Batch{Full: true, Reason: "overflow"}, true},
		{queue.Batch{Full: true, Reason: ReasonUnclean}, false},
		{queue.Batch{Full: true, Reason: "crontab," + ReasonFailLog}, false},
		{queue.Batch{Full: true, Reason: "crontab," + queue.ReasonPendingBound}, false},
		{queue.Batch{Updates: []queue.Entry{{Path: "a"}}}, true},
	}
	for _, tt := range tests {
		if got := len(targetOf(r, tt.b).CrontabExcludes) > 0; got != tt.keep {
			t.Errorf("%q (full %v): crontab excludes kept %v, want %v", tt.b.Reason, tt.b.Full, got, tt.keep)
		}
	}
	if len(r.target.CrontabExcludes) != 1 {
		t.Error("targetOf changed the remote's target")
	}
}

// TestUncleanStart: a state file that says the previous run never stopped
// makes the start sync every root in full (without -r), crontab globs
// included; a clean Run leaves the state file clean.
func TestUncleanStart(t *testing.T) {
	t.Parallel()
	cfg, src, d := daemonConf(t, confgen.Config{CrontabMinutes: 60, CrontabExcludes: []string{"*.php"}})
	dst := d.ModuleDir("www")
	writeFile(t, filepath.Join(src, "changed-while-down.php"), "never seen")
	stateDir := t.TempDir()
	sf := failog.StateFile(stateDir, cfg.Path)
	if err := os.WriteFile(sf, []byte("running pid=1 started=2026-11-26T10:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, cfg, Options{StateDir: stateDir})
	waitTreesEqual(t, src, dst)
	if !strings.Contains(e.log.String(), "did not stop cleanly") {
		t.Errorf("unclean stop not logged:\n%s", e.log.String())
	}
}

// TestFailLogLifecycle: a change that fails after its retry is in the
// failLog and counted; once the remote is back it is synced and leaves the
// file; a clean stop marks the state file clean.
func TestFailLogLifecycle(t *testing.T) {
	t.Parallel()
	cfg, src, d := daemonConf(t, confgen.Config{Timeout: 5})
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	// Cleanups run last first: this one after the engine stopped.
	t.Cleanup(func() {
		b, err := os.ReadFile(failog.StateFile(stateDir, cfg.Path))
		if err != nil || !strings.HasPrefix(string(b), "clean ") {
			t.Errorf("state file after a clean stop: %q, %v", b, err)
		}
	})
	e := start(t, cfg, Options{Queues: 1, RetryBase: 50 * time.Millisecond, StateDir: stateDir})
	writeFile(t, filepath.Join(src, "a.txt"), "kept")
	poll.Until(t, 30*time.Second, "the failLog entry", func() (bool, string) {
		st := e.State().FailLog
		return st.Entries == 1 && st.Recorded >= 1, ""
	})
	b, err := os.ReadFile(cfg.Sersync.FailLog.Path)
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := failog.Parse(b); len(es) != 1 || es[0].Path != "a.txt" || es[0].Errno != 10 {
		t.Fatalf("failLog entries %+v, want a.txt with rsync's exit code 10", es)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, d.ModuleDir("www"))
	poll.Until(t, 30*time.Second, "the failLog to empty", func() (bool, string) {
		st := e.State().FailLog
		return st.Entries == 0 && st.Cleared == 1, ""
	})
}

// TestFailLogInterval: timeToExecute minutes, at least one.
func TestFailLogInterval(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want time.Duration }{{0, time.Minute}, {120 * time.Minute, 120 * time.Minute}} {
		var cfg confxml.Config
		cfg.Sersync.FailLog.Interval = tt.in
		if got := failLogInterval(cfg); got != tt.want {
			t.Errorf("failLogInterval(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
