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
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/mnt"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// localEnv is a watch root pushed to a real rsync daemon (with auth and
// a port, which the local target must not get) and to a local target
// whose path holds a space, quotes, "$(…)" and a colon.
type localEnv struct {
	work, src, mirror, target string
	conf                      string
}

// newLocalEnv makes the directories; mount, when set, is called on the
// target directory before the configuration is written.
func newLocalEnv(t *testing.T, mount func(dir string)) *localEnv {
	t.Helper()
	e := &localEnv{work: t.TempDir()}
	e.src = filepath.Join(e.work, "src")
	e.target = filepath.Join(e.work, `back up 'it' "$(touch PWNED)":1`)
	for _, d := range []string{e.src, e.target} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if mount != nil {
		mount(e.target)
	}
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	e.mirror = d.ModuleDir("www")
	e.conf = writeConf(t, e.work, confgen.Config{
		Roots: []confgen.Root{{Watch: e.src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}, LocalTargets: []string{e.target}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port,
	})
	return e
}

// changes writes files and directories with hostile names below sub of
// the source, renames and removes some of them, and writes a burst of
// files: what the mirrors must end up equal to.
func (e *localEnv) changes(t *testing.T, sub string) {
	t.Helper()
	base := filepath.Join(e.src, sub)
	for _, n := range hostileNames(t) {
		writeFile(t, filepath.Join(base, n), "f "+n)
		writeFile(t, filepath.Join(base, "d "+n, n), "d "+n)
	}
	names := hostileNames(t)
	for i, n := range names[:len(names)/2] {
		switch i % 3 {
		case 0:
			if err := os.Rename(filepath.Join(base, "d "+n), filepath.Join(base, "moved "+n)); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := os.Remove(filepath.Join(base, n)); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := os.RemoveAll(filepath.Join(base, "d "+n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 300 {
		writeFile(t, filepath.Join(base, "burst", fmt.Sprintf("f%03d", i)), strings.Repeat("x", i))
	}
}

// TestLocalTargetConverges: a local target next to a daemon remote: after
// hostile names, renames, removes and a burst, both equal the source, and
// nothing of the daemon's options reached the local rsync (it would have
// failed).
func TestLocalTargetConverges(t *testing.T) {
	t.Parallel()
	e := newLocalEnv(t, nil)
	p := startSersync(t, e.work, "-o", e.conf, "-r")
	p.waitReady(t)
	e.changes(t, "a")
	waitTreesEqual(t, e.src, e.mirror, treecmp.Options{})
	waitTreesEqual(t, e.src, e.target, treecmp.Options{})
	if strings.Contains(p.stderr.String(), `msg="rsync failed"`) {
		t.Error("an rsync run failed")
	}
	hostile.NoPWNED(t, e.work)
}

// TestLocalTargetUnmounted: the local target is an ext4 image that gets
// unmounted while sersync2 runs. Nothing is written into the bare mount
// point (not the changes, not a SIGUSR1 full sync), while the daemon
// remote keeps syncing; /status and /metrics say the target is absent.
// Mounted again, the target catches up with one full sync.
func TestLocalTargetUnmounted(t *testing.T) {
	t.Parallel()
	img := mnt.NewImage(t, 16)
	e := newLocalEnv(t, func(dir string) {
		img.Mount(t, dir)
		if err := os.Remove(filepath.Join(dir, "lost+found")); err != nil {
			t.Fatal(err)
		}
	})
	p := startSersync(t, e.work, "-o", e.conf, "-r", "--status-addr", "127.0.0.1:0")
	p.waitReady(t)
	writeFile(t, filepath.Join(e.src, "first -x"), "first")
	waitTreesEqual(t, e.src, e.target, treecmp.Options{})
	waitTreesEqual(t, e.src, e.mirror, treecmp.Options{})
	addr := p.statusAddr(t)
	// Unmounted while idle: the identity is checked just before each
	// rsync, so a run already past its check may still write.
	poll.Until(t, 60*time.Second, "every remote to be idle", func() (bool, string) {
		st, _ := getStatus(t, addr)
		for _, r := range st.Remotes {
			if r.FullPending || r.Pending+r.InFlight > 0 {
				return false, fmt.Sprintf("%+v", r)
			}
		}
		return true, ""
	})

	mnt.Unmount(t, e.target)
	from := len(p.stderr.String())
	e.changes(t, "b")
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, e.src, e.mirror, treecmp.Options{})
	// The SIGUSR1 full sync of the daemon remote is done, the target's held.
	poll.Until(t, 60*time.Second, "the daemon remote's full sync to end", func() (bool, string) {
		return strings.Contains(p.stderr.String()[from:], `msg="full sync done"`), ""
	})
	if ents, err := os.ReadDir(e.target); err != nil || len(ents) != 0 {
		t.Fatalf("the bare mount point holds %d entries (%v), want none", len(ents), err)
	}
	p.waitLog(t, from, 60*time.Second, "the local target's syncs to be held", regexp.MustCompile(`msg="syncs to the local target held`))
	if v, ok := scrape(t, addr).value("sersync2_target_absent", "root", e.src, "remote", e.target); !ok || v != 1 {
		t.Errorf("sersync2_target_absent while unmounted = %v (%v), want 1", v, ok)
	}
	if st, _ := getStatus(t, addr); len(st.AbsentTargets) != 1 || st.AbsentTargets[0].Remote != e.target || !strings.Contains(st.AbsentTargets[0].Reason, "not mounted") {
		t.Errorf("/status absent_targets = %+v", st.AbsentTargets)
	}

	from = len(p.stderr.String())
	img.Mount(t, e.target)
	p.waitLog(t, from, 60*time.Second, "the local target to be back", regexp.MustCompile(`msg="local target back`))
	writeFile(t, filepath.Join(e.src, "after remount $(x)", "new\nfile"), "after")
	// lost+found is the image's own, not the source's.
	skip := treecmp.Options{Skip: func(rel string, dir bool) bool { return rel == "lost+found" }}
	waitTreesEqual(t, e.src, e.target, skip)
	waitTreesEqual(t, e.src, e.mirror, treecmp.Options{})
	if v, ok := scrape(t, addr).value("sersync2_target_absent", "root", e.src, "remote", e.target); !ok || v != 0 {
		t.Errorf("sersync2_target_absent once back = %v (%v), want 0", v, ok)
	}
	if strings.Contains(p.stderr.String(), `msg="rsync failed"`) {
		t.Error("an rsync run failed")
	}
	hostile.NoPWNED(t, e.work)
}
