package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// signal sends sig to the process and waits until its log has one more
// line matching done than before.
func (p *proc) signal(t *testing.T, sig syscall.Signal, done *regexp.Regexp) {
	t.Helper()
	before := len(done.FindAllString(p.stderr.String(), -1))
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 60*time.Second, fmt.Sprintf("%v to be handled (%s)", sig, done), func() (bool, string) {
		return len(done.FindAllString(p.stderr.String(), -1)) > before, ""
	})
}

var (
	reloaded      = regexp.MustCompile(`msg="configuration reloaded"`)
	reloadRefused = regexp.MustCompile(`msg="reload refused`)
)

// TestE2EReload: SIGHUP with a broken file is refused and syncing goes on
// with the old configuration; SIGHUP adding a remote starts syncing to it
// (with a full sync), and changes pending for a remote that is down
// survive the reload.
func TestE2EReload(t *testing.T) {
	t.Parallel()
	a := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	b := rsyncd.StartT(t, rsyncd.Options{Auth: true, IP: "127.0.0.2", Port: a.Port})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	writeFile(t, filepath.Join(src, "before.txt"), "x")
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: a.IP, Name: "www"}}}},
		Users: a.User, PasswordFile: a.PasswordFile, Port: a.Port}
	conf := writeConf(t, work, c)
	p := startSersync(t, work, "-r", "-o", conf)
	p.waitReady(t)
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})

	// A broken file: refused, the old configuration keeps syncing.
	good, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("<head><sersync><localpath watch=\""), 0o644); err != nil {
		t.Fatal(err)
	}
	p.signal(t, syscall.SIGHUP, reloadRefused)
	writeFile(t, filepath.Join(src, "after-broken.txt"), "x")
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	if err := os.WriteFile(conf, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// a goes down with changes pending; b is added.
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "pending-for-a.txt"), "x")
	poll.Until(t, 30*time.Second, "a failed sync to a", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "will retry"), ""
	})
	c.Roots[0].Remotes = append(c.Roots[0].Remotes, confgen.Remote{IP: b.IP, Name: "www"})
	writeConf(t, work, c)
	p.signal(t, syscall.SIGHUP, reloaded)
	if m := regexp.MustCompile(`msg="configuration reloaded".* remotes=2 .*pending_kept=(\d+)`).FindStringSubmatch(p.stderr.String()); m == nil || m[1] == "0" {
		t.Errorf("reload line does not show 2 remotes and the kept changes:\n%s", tail(p.stderr.String(), 3000))
	}
	writeFile(t, filepath.Join(src, "after-reload.txt"), "x")
	waitTreesEqual(t, src, b.ModuleDir("www"), treecmp.Options{})
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})

	// Removing a remote: b no longer gets changes.
	c.Roots[0].Remotes = c.Roots[0].Remotes[:1]
	writeConf(t, work, c)
	p.signal(t, syscall.SIGHUP, reloaded)
	writeFile(t, filepath.Join(src, "only-a.txt"), "x")
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	if _, err := os.Stat(filepath.Join(b.ModuleDir("www"), "only-a.txt")); err == nil {
		t.Error("a removed remote still receives changes")
	}
}

// TestE2EFullSyncSignal: SIGUSR1 starts a full sync, which removes what
// only the remote has.
func TestE2EFullSyncSignal(t *testing.T) {
	t.Parallel()
	src, dst, _, p := setup(t, confgen.Config{})
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "a.txt"), "x")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	writeFile(t, filepath.Join(dst, "remote-only.txt"), "x")
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	poll.Until(t, 30*time.Second, "the SIGUSR1 full sync in the log", func() (bool, string) {
		return regexp.MustCompile(`msg=synced .*full=true reason=SIGUSR1`).MatchString(p.stderr.String()), ""
	})
}

// TestE2ESecondInstanceRefused: a second sersync2 on the same
// configuration file (here through -d, and through a symbolic link) says
// which pid runs it and exits 3.
func TestE2ESecondInstanceRefused(t *testing.T) {
	t.Parallel()
	work, _, conf := confFor(t)
	first := startSersync(t, work, "-o", conf)
	first.waitReady(t)
	link := filepath.Join(work, "link.xml")
	if err := os.Symlink(conf, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-d", "-o", conf}, {"-o", link}} {
		// runBin gives it the first instance's lock directory.
		r := runBin(t, work, append([]string{"--no-tune-kernel"}, args...)...)
		out := r.stdout + r.stderr
		want := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
		if r.code != exitHost || !strings.Contains(out, "already replicates") || !strings.Contains(out, want) {
			t.Errorf("%q: exit %d, want exit %d naming %s\n%s", args, r.code, exitHost, want, out)
		}
	}
}
