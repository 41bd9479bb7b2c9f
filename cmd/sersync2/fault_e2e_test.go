package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/failog"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// Fault tests: a remote down or read-only for a while, sersync2 killed
// with SIGKILL in the middle of a burst, stopped cleanly with changes
// pending, a failLog with hostile names run by hand, a failLog left by an
// earlier run. Each logs what was lost (nothing) and how long recovery
// took.

// faultOutage is how long the daemon stays down in TestFaultDaemonOutage:
// SERSYNC_FAULT_OUTAGE (a duration; 30s for the figures in docs/benchmarks.md),
// 6 s by default to keep make test short.
func faultOutage(t *testing.T) time.Duration {
	v := os.Getenv("SERSYNC_FAULT_OUTAGE")
	if v == "" {
		return 6 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("SERSYNC_FAULT_OUTAGE=%q: %v", v, err)
	}
	return d
}

// failLogOf returns the entries of the failLog at p (none when it does
// not exist) and checks its mode.
func failLogOf(t *testing.T, p string) []failog.Entry {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("failLog %s has mode %04o, want 0600", p, fi.Mode().Perm())
	}
	es, _ := failog.Parse(b)
	return es
}

// waitEqual polls until dst mirrors src and returns how long it took; it
// allows more time than waitTreesEqual, for trees of 20,000 files on a
// busy machine.
func waitEqual(t *testing.T, src, dst string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	poll.Until(t, timeout, fmt.Sprintf("%s to mirror %s", dst, src), func() (bool, string) {
		diff, err := treecmp.Diff(src, dst, treecmp.Options{})
		if err != nil {
			return false, err.Error()
		}
		if len(diff) > 10 {
			diff = append(diff[:10], fmt.Sprintf("… and %d more", len(diff)-10))
		}
		return len(diff) == 0, strings.Join(diff, "\n")
	})
	return time.Since(start)
}

// missing counts the files below src that dst lacks.
func missing(t *testing.T, src, dst string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		if _, err := os.Lstat(filepath.Join(dst, rel)); err != nil {
			n++
		}
		return nil
	})
	return n
}

// restartAndDrain restarts the daemon d, waits until dst mirrors src and
// then until the failLog fl is empty, and returns when the daemon was
// back and how long the mirror took to be equal from then.
func restartAndDrain(t *testing.T, d *rsyncd.Daemon, src, dst, fl string) (time.Time, time.Duration) {
	t.Helper()
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	took := waitEqual(t, src, dst, 120*time.Second)
	poll.Until(t, 60*time.Second, "the failLog to empty", func() (bool, string) {
		es := failLogOf(t, fl)
		return len(es) == 0, fmt.Sprintf("%d entries left", len(es))
	})
	return back, took
}

// churn writes n files in 20 directories, renames a fifth of them and
// deletes another fifth, and renames one directory.
func churn(t *testing.T, src string, n int) {
	t.Helper()
	name := func(i int) string { return filepath.Join(src, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d.txt", i)) }
	for i := range n {
		writeFile(t, name(i), strings.Repeat("x", i%500))
	}
	for i := 0; i < n/5; i++ {
		if err := os.Rename(name(i), name(i)+".renamed"); err != nil {
			t.Fatal(err)
		}
	}
	for i := n / 5; i < 2*n/5; i++ {
		if err := os.Remove(name(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(src, "d19"), filepath.Join(src, "d19-moved")); err != nil {
		t.Fatal(err)
	}
}

// TestFaultDaemonOutage: the rsync daemon is stopped while 1,000 files are
// written, renamed and deleted; the failLog holds entries while it is down
// and is empty once everything arrived after its restart.
func TestFaultDaemonOutage(t *testing.T) {
	t.Parallel()
	outage := faultOutage(t)
	src, dst, d, p := setup(t, confgen.Config{})
	fl := filepath.Join(filepath.Dir(src), "rsync_fail_log.sh")
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "before.txt"), "up")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	down := time.Now()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	churn(t, src, 1000)
	poll.Until(t, 60*time.Second, "failLog entries while the daemon is down", func() (bool, string) {
		return len(failLogOf(t, fl)) > 0, ""
	})
	held := len(failLogOf(t, fl))
	time.Sleep(time.Until(down.Add(outage))) // the outage itself, not synchronisation
	back, took := restartAndDrain(t, d, src, dst, fl)
	t.Logf("daemon down %.1f s during 1,000 writes, 200 renames, 200 deletes: failLog held %d entries; mirror equal %.1f s after the daemon came back, failLog empty %.1f s after; lost: nothing (trees equal)",
		back.Sub(down).Seconds(), held, took.Seconds(), time.Since(back).Seconds())
}

// TestFaultReadOnlyRemote: of two remotes, one turns read-only for a while:
// the other stays in sync, the failLog names only the failing one, and it
// catches up once it takes writes again.
func TestFaultReadOnlyRemote(t *testing.T) {
	t.Parallel()
	src, a, b, _ := setupTwoRemotes(t)
	fl := filepath.Join(filepath.Dir(src), "rsync_fail_log.sh")
	writeFile(t, filepath.Join(src, "first.txt"), "both up")
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	waitTreesEqual(t, src, b.ModuleDir("www"), treecmp.Options{})

	if err := b.SetReadOnly("www", true); err != nil {
		t.Fatal(err)
	}
	churn(t, src, 300)
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	poll.Until(t, 60*time.Second, "failLog entries of the read-only remote", func() (bool, string) {
		es := failLogOf(t, fl)
		for _, e := range es {
			if !strings.Contains(e.Remote, b.IP) {
				return false, "entry of the healthy remote: " + e.Remote
			}
		}
		return len(es) > 0, ""
	})
	if n := missing(t, src, b.ModuleDir("www")); n == 0 {
		t.Fatal("the read-only remote received the files")
	}
	if err := b.SetReadOnly("www", false); err != nil {
		t.Fatal(err)
	}
	took := waitEqual(t, src, b.ModuleDir("www"), 120*time.Second)
	poll.Until(t, 60*time.Second, "the failLog to empty", func() (bool, string) {
		return len(failLogOf(t, fl)) == 0, ""
	})
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	t.Logf("read-only remote equal %.1f s after it took writes again; the other stayed in sync; lost: nothing", took.Seconds())
}

// TestFaultKillBurst: sersync2 is killed with SIGKILL a fraction of a
// second into a 20,000-file burst, which goes on to its end while nothing
// watches; restarted without -r, it knows the stop was unclean and the
// mirror converges to the source.
func TestFaultKillBurst(t *testing.T) {
	t.Parallel()
	const files = 20000
	src, dst, _, p := setup(t, confgen.Config{})
	work := filepath.Dir(src)
	p.waitReady(t)

	var wg sync.WaitGroup
	written := make(chan int, files)
	wg.Go(func() {
		for i := range files {
			f := filepath.Join(src, fmt.Sprintf("d%03d", i%100), fmt.Sprintf("f%05d", i))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Error(err)
				return
			}
			if err := os.WriteFile(f, []byte(strconv.Itoa(i)), 0o644); err != nil {
				t.Error(err)
				return
			}
			written <- i
		}
	})
	// A fraction of a second in: after the first 1,000 files.
	for range 1000 {
		<-written
	}
	killedAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	wg.Wait()
	burst := time.Since(killedAt)
	lost := missing(t, src, dst)
	t.Logf("killed 1,000 files into the burst; the burst ended %.1f s later; %d of %d files missing on the mirror", burst.Seconds(), lost, files)
	if lost == 0 {
		t.Fatal("nothing missing: the kill came too late to test anything")
	}

	start := time.Now()
	p2 := startSersync(t, work, "-o", filepath.Join(work, "confxml.xml"))
	p2.waitReady(t)
	took := waitEqual(t, src, dst, 180*time.Second)
	if !strings.Contains(p2.stderr.String(), "did not stop cleanly") {
		t.Errorf("the restart did not notice the unclean stop:\n%s", tail(p2.stderr.String(), 3000))
	}
	t.Logf("restart without -r after SIGKILL: %d files missing before, mirror equal %.1f s after the restart (%.1f s after it was ready); lost: nothing",
		lost, time.Since(start).Seconds(), took.Seconds())
}

// TestFaultCleanStop: SIGTERM while the remote is down and changes wait:
// the failLog records a full sync of that remote, the state file says
// clean, and a restart without -r (remote back) sends them and what
// changed while sersync2 was stopped. A clean stop with nothing waiting
// is followed by no full sync: as with the original, what changes while
// nothing watches reaches the mirror only with -r or the crontab.
func TestFaultCleanStop(t *testing.T) {
	t.Parallel()
	src, dst, d, p := setup(t, confgen.Config{})
	work := filepath.Dir(src)
	fl := filepath.Join(work, "rsync_fail_log.sh")
	cfg := filepath.Join(work, "confxml.xml")
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "a.txt"), "synced")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "pending.txt"), "not yet sent")
	poll.Until(t, 30*time.Second, "a failed sync", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "will retry"), ""
	})
	p.stop(t)
	if p.err != nil {
		t.Fatalf("sersync2 exited with %v after SIGTERM", p.err)
	}
	es := failLogOf(t, fl)
	if len(es) != 1 || es[0].Op != failog.Full {
		t.Fatalf("failLog after the stop: %+v, want one full-sync entry", es)
	}
	writeFile(t, filepath.Join(src, "while-stopped.txt"), "nobody watched")
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	p2 := startSersync(t, work, "-o", cfg)
	p2.waitReady(t)
	took := waitEqual(t, src, dst, 60*time.Second)
	if !strings.Contains(p2.stderr.String(), "previous run stopped cleanly") {
		t.Errorf("restart: clean stop not recognised:\n%s", tail(p2.stderr.String(), 3000))
	}
	poll.Until(t, 30*time.Second, "the failLog to empty", func() (bool, string) { return len(failLogOf(t, fl)) == 0, "" })
	t.Logf("clean stop with a remote down: mirror equal %.1f s after the restart; lost: nothing", took.Seconds())

	// Nothing waiting at the stop: no full sync at the next start.
	p2.stop(t)
	writeFile(t, filepath.Join(src, "unseen.txt"), "written while stopped")
	p3 := startSersync(t, work, "-o", cfg)
	p3.waitReady(t)
	writeFile(t, filepath.Join(src, "seen.txt"), "live")
	poll.Until(t, 30*time.Second, "seen.txt on the mirror", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dst, "seen.txt"))
		return err == nil, ""
	})
	if _, err := os.Stat(filepath.Join(dst, "unseen.txt")); err == nil {
		t.Errorf("a file written while sersync2 was stopped cleanly was sent without -r")
	}
	if s := p3.stderr.String(); strings.Contains(s, "full=true") {
		t.Errorf("a full sync after a clean stop with nothing pending:\n%s", tail(s, 3000))
	}
}

// TestFaultFailLogByHand: hostile file names wait in the failLog while the
// daemon is down; sersync2 is killed, the daemon comes back and an
// operator runs the file with sh: exactly those files arrive (not a file
// written after the kill), nothing is executed, the file stays 0600.
func TestFaultFailLogByHand(t *testing.T) {
	t.Parallel()
	names := hostileNames(t)
	src, dst, d, p := setup(t, confgen.Config{})
	work := filepath.Dir(src)
	fl := filepath.Join(work, "rsync_fail_log.sh")
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "h", "first.txt"), "the directory exists remotely")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		writeFile(t, filepath.Join(src, "h", n), n)
	}
	poll.Until(t, 60*time.Second, "every hostile name in the failLog", func() (bool, string) {
		es := failLogOf(t, fl)
		return len(es) >= len(names), fmt.Sprintf("%d entries", len(es))
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	writeFile(t, filepath.Join(src, "after", "x.txt"), "not in the failLog")
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("/bin/sh", fl)
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sh %s: %v\n%s", fl, err, out)
	}
	hostile.NoPWNED(t, src, dst, work)
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join(dst, "h", n)); err != nil || string(b) != n {
			t.Errorf("%q not re-sent: %q, %v", n, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "after")); err == nil {
		t.Error("running the failLog sent a file that was not in it")
	}
	if fi, err := os.Stat(fl); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("failLog mode: %v, %v", fi.Mode(), err)
	}
}

// TestFaultFailLogLockHeld: another process holds the failLog's lock
// (the one in the state directory, and a lock file next to the failLog in
// its directory, where in /tmp any user can make one) from before the
// start. sersync2 starts anyway, with an error logged, at most the lock's
// bounded wait later; its workers go on syncing; a failure recorded while
// the lock is held is logged as not written, kept in memory, and reaches
// the file once the lock is free.
func TestFaultFailLogLockHeld(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := d.ModuleDir("www")
	fl := filepath.Join(work, "rsync_fail_log.sh")
	stateDir := filepath.Join(work, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var held []*os.File
	for _, p := range []string{failog.LockFile(stateDir, fl), filepath.Join(work, ".rsync_fail_log.sh.lock")} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	start := time.Now()
	p := startSersync(t, work, "--state-dir", stateDir, "-o", writeConf(t, work, c))
	p.waitReady(t)
	took := time.Since(start)
	if took > failog.DefaultLockWait+10*time.Second {
		t.Errorf("ready %s after the start with the failLog's lock held; the wait for it is bounded by %s", took, failog.DefaultLockWait)
	}
	if !strings.Contains(p.stderr.String(), "level=ERROR msg=\"failLog not written: its lock is held by another process") {
		t.Errorf("no error logged for the held lock:\n%s", tail(p.stderr.String(), 3000))
	}

	// The batch must be over, not only its file in place: a daemon
	// stopped while the rsync client still finishes makes the run fail,
	// and live.txt would be retried and land in the failLog too.
	synced := strings.Count(p.stderr.String(), "msg=synced ")
	writeFile(t, filepath.Join(src, "live.txt"), "synced while the lock is held")
	poll.Until(t, 30*time.Second, "live.txt on the remote and its batch done", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dst, "live.txt"))
		return err == nil && strings.Count(p.stderr.String(), "msg=synced ") > synced, ""
	})

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "down.txt"), "failed while the lock is held")
	poll.Until(t, 30*time.Second, "the failLog's write error", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "failLog not written; the changes stay queued in memory"), ""
	})
	if es := failLogOf(t, fl); len(es) != 0 {
		t.Fatalf("the failLog was written with its lock held: %v", es)
	}
	for _, f := range held {
		f.Close()
	}
	poll.Until(t, 30*time.Second, "down.txt in the failLog once the lock is free", func() (bool, string) {
		es := failLogOf(t, fl)
		return len(es) == 1 && es[0].Path == "down.txt", fmt.Sprintf("%v", es)
	})
	t.Logf("ready %.1f s after the start with the failLog's lock held", took.Seconds())
}

// TestFaultFailLogReplayedAtStart: a failLog left by an earlier run
// (written here by hand, as an operator might) is replayed at start
// without -r: its update arrives and its remove happens, and nothing else
// is sent.
func TestFaultFailLogReplayedAtStart(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	dst := d.ModuleDir("www")
	writeFile(t, filepath.Join(src, "dir", "left.txt"), "failed in an earlier run")
	writeFile(t, filepath.Join(src, "other.txt"), "not in the failLog")
	writeFile(t, filepath.Join(dst, "gone.txt"), "deleted in an earlier run")
	remote := fmt.Sprintf("%s@%s::www", d.User, d.IP)
	fl := filepath.Join(work, "rsync_fail_log.sh")
	content := fmt.Sprintf("#errno 10\n#sersync2 op=update root=%q remote=%q path=\"dir/left.txt\"\ncd whatever\n\n"+
		"#errno 10\n#sersync2 op=remove root=%q remote=%q path=\"gone.txt\"\n\n", src, remote, src, remote)
	if err := os.WriteFile(fl, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	start := time.Now()
	p := startSersync(t, work, "-o", writeConf(t, work, c))
	p.waitReady(t)
	poll.Until(t, 30*time.Second, "the failLog's changes on the mirror", func() (bool, string) {
		_, errLeft := os.Stat(filepath.Join(dst, "dir", "left.txt"))
		_, errGone := os.Stat(filepath.Join(dst, "gone.txt"))
		return errLeft == nil && os.IsNotExist(errGone), ""
	})
	took := time.Since(start)
	poll.Until(t, 30*time.Second, "the failLog to empty", func() (bool, string) { return len(failLogOf(t, fl)) == 0, "" })
	if _, err := os.Stat(filepath.Join(dst, "other.txt")); err == nil {
		t.Error("a file not in the failLog was sent: a full sync ran")
	}
	if !strings.Contains(p.stderr.String(), "mode set to 0600") {
		t.Errorf("the 0644 failLog was not reported as tightened:\n%s", tail(p.stderr.String(), 3000))
	}
	t.Logf("failLog of an earlier run replayed %.1f s after the start", took.Seconds())
}
