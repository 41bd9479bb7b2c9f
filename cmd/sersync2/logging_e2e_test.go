package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/poll"
)

// TestE2ELogFile: with --log-file the structured log goes to the file, not
// stderr; after logrotate's rename a SIGHUP makes the daemon write to a
// new file at the path (mode 0640), the old one keeping what came before.
func TestE2ELogFile(t *testing.T) {
	t.Parallel()
	work, _, conf := confFor(t)
	logFile := filepath.Join(work, "sersync2.log")
	p := startSersync(t, work, "--log-file", logFile, "-o", conf)
	read := func(path string) string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
	poll.Until(t, 30*time.Second, "the start in the log file", func() (bool, string) {
		return strings.Contains(read(logFile), "sersync2 started"), read(logFile)
	})
	if strings.Contains(p.stderr.String(), "sersync2 started") {
		t.Errorf("the log went to stderr too:\n%s", p.stderr.String())
	}
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "the reload in the new log file", func() (bool, string) {
		return strings.Contains(read(logFile), "configuration reloaded"), read(logFile)
	})
	if old := read(logFile + ".1"); !strings.Contains(old, "sersync2 started") || strings.Contains(old, "configuration reloaded") {
		t.Errorf("rotated file:\n%s", old)
	}
	if st, err := os.Stat(logFile); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("new log file: %v, %v", st, err)
	}
}
