package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
)

// TestE2EMaxDelete: the start's full sync (-r) against a remote holding
// 50 files the source lacks, with --max-delete 10, deletes at most 10 of
// them, still sends the source's files (hostile names among them), logs
// an error saying what to do, and is not retried: a change made after it
// is synced by itself, and the remote keeps the other 40.
func TestE2EMaxDelete(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	for i := range 50 {
		writeFile(t, filepath.Join(d.ModuleDir("www"), fmt.Sprintf("extra-%02d", i)), "remote only")
	}
	work := t.TempDir()
	src := filepath.Join(work, "src")
	names := hostileNames(t)
	for i, n := range names[:8] {
		writeFile(t, filepath.Join(src, fmt.Sprint("d", i), n), "local "+n)
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	p := startSersync(t, work, "-r", "--max-delete", "10", "--status-addr", "127.0.0.1:0", "-o", writeConf(t, work, c))
	p.waitReady(t)
	addr := p.statusAddr(t)
	dst := d.ModuleDir("www")

	const logged = "the full sync sent every change but deleted only up to --max-delete paths"
	poll.Until(t, 60*time.Second, "the --max-delete error", func() (bool, string) {
		return strings.Contains(p.stderr.String(), logged), ""
	})
	for i, n := range names[:8] {
		if b, err := os.ReadFile(filepath.Join(dst, fmt.Sprint("d", i), n)); err != nil || string(b) != "local "+n {
			t.Errorf("%q not sent: %q %v", n, b, err)
		}
	}
	writeFile(t, filepath.Join(src, "after.txt"), "after")
	poll.Until(t, 60*time.Second, "after.txt on the remote", func() (bool, string) {
		b, err := os.ReadFile(filepath.Join(dst, "after.txt"))
		return err == nil && string(b) == "after", ""
	})
	left, err := filepath.Glob(filepath.Join(dst, "extra-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) < 40 {
		t.Errorf("%d of 50 remote-only files left, want at least 40", len(left))
	}
	// Not put back: no retry counted, no full sync pending, and the one
	// full run counted under exit 25.
	m := scrape(t, addr)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sersync2_retries_total", nil, 0},
		{"sersync2_full_sync_pending", nil, 0},
		{"sersync2_rsync_runs_total", []string{"kind", "full", "exit", "25"}, 1},
	} {
		if v, ok := m.value(c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%q = %v (found %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if n := strings.Count(p.stderr.String(), `msg="rsync start" kind=full`); n != 1 {
		t.Errorf("%d full runs, want 1 (a full sync stopped by --max-delete is not retried)", n)
	}
}
