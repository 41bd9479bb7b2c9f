package rsyncexec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestExitWatch: wait returns only once the process has exited (it is a
// zombie, not yet reaped), whether it exits at once or later; cmd.Wait
// then reaps it with its exit status.
func TestExitWatch(t *testing.T) {
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	tests := []struct {
		name   string
		script string
		code   int
	}{
		{"exits at once", "exit 3", 3},
		{"exits later", "while [ ! -e " + release + " ]; do sleep 0.01; done; exit 0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tt.script)
			var w exitWatch
			w.prepare(cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if w.fd < 0 {
				const msg = "no pidfd from this kernel (Linux 5.3 or newer gives one): cmd.Wait blocks as before"
				if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
					t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
				}
				t.Skip(msg)
			}
			done := make(chan struct{})
			go func() {
				w.wait()
				close(done)
			}()
			if tt.code == 0 {
				select {
				case <-done:
					t.Fatal("wait returned while the process runs")
				default:
				}
				if err := os.WriteFile(release, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			<-done
			stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
			if err != nil {
				t.Fatal(err)
			}
			s := string(stat)
			if state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]; state != "Z" {
				t.Errorf("after wait the process is in state %q, want Z (exited, not reaped)", state)
			}
			err = cmd.Wait()
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit code %d (%v), want %d", got, err, tt.code)
			}
		})
	}
}

// TestExitWatchManyAtOnce: processes that exit at once, many at a time,
// are all seen to exit, also when the poller reported a readiness before
// the wait started (a wait that forgot it would hang for good).
func TestExitWatchManyAtOnce(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	var hung atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 400 {
				cmd := exec.Command("/bin/true")
				var w exitWatch
				w.prepare(cmd)
				if err := cmd.Start(); err != nil {
					t.Error(err)
					return
				}
				done := make(chan struct{})
				go func() {
					w.wait()
					close(done)
				}()
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					hung.Add(1)
					_ = cmd.Process.Kill()
				}
				if err := cmd.Wait(); err != nil {
					t.Errorf("cmd.Wait after the exit: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if n := hung.Load(); n > 0 {
		t.Fatalf("%d of 3,200 waits did not return within 3 s of an exit", n)
	}
}
