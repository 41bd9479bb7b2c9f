package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
)

// TestE2EDryRun: with --dry-run, -r and live changes (hostile names among
// them) are batched and logged as the rsync commands that would run, with
// their paths, and nothing reaches the remote; the command plugin does not
// run, nothing is written to the failLog or the state directory, and no
// lock is taken (an instance of the same file may run beside it).
func TestE2EDryRun(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	marker := filepath.Join(work, "plugin-ran")
	src, dst, _, p := setup(t, confgen.Config{Plugin: "command", CommandPrefix: "/usr/bin/touch " + marker,
		FailLog: filepath.Join(work, "fail.sh")}, "--dry-run", "-r")
	p.waitReady(t)
	names := hostileNames(t)
	for _, n := range names {
		writeFile(t, filepath.Join(src, n), "x")
	}
	stderr := func() string { return p.stderr.String() }
	// Every change is batched and logged as a command not run: the paths
	// of the update lines add up to the names written.
	poll.Until(t, 60*time.Second, "the full sync and every change logged as not run", func() (bool, string) {
		s := stderr()
		n := 0
		for _, m := range notRunUpdate.FindAllStringSubmatch(s, -1) {
			k, _ := strconv.Atoi(m[1])
			n += k
		}
		return strings.Contains(s, `msg="dry run: rsync not run" kind=full`) && n == len(names), fmt.Sprintf("%d of %d paths logged", n, len(names))
	})
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("the remote got %d entries in a dry run", len(entries))
	}
	if !strings.Contains(stderr(), `msg="dry run: the plugin is not run" plugin=command`) {
		t.Error("no line saying the plugin does not run")
	}
	for _, f := range []string{marker, filepath.Join(work, "fail.sh")} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s was written in a dry run", f)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "state")); len(entries) != 0 {
		t.Errorf("the state directory got %d files in a dry run", len(entries))
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "lock")); len(entries) != 0 {
		t.Errorf("a dry run took a lock (%d files)", len(entries))
	}
}

var notRunUpdate = regexp.MustCompile(`msg="dry run: rsync not run" kind=update dest=\S+ paths=(\d+)`)
