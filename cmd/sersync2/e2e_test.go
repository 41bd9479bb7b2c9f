package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/socksink"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// setup starts one authenticated rsync daemon, a watch dir and sersync2
// replicating the dir to the daemon's module "www".
func setup(t *testing.T, c confgen.Config, args ...string) (src, dst string, d *rsyncd.Daemon, p *proc) {
	t.Helper()
	d = rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src = filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	c.Roots = []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}}
	c.Users, c.PasswordFile, c.Port = d.User, d.PasswordFile, d.Port
	cfg := writeConf(t, work, c)
	p = startSersync(t, work, append(args, "-o", cfg)...)
	return src, d.ModuleDir("www"), d, p
}

// setupTwoRemotes starts two authenticated rsync daemons (127.0.0.1 and
// 127.0.0.2, one port) and sersync2 replicating a new src to both, and
// waits until it is ready. The failLog is next to src.
func setupTwoRemotes(t *testing.T) (src string, a, b *rsyncd.Daemon, p *proc) {
	t.Helper()
	a = rsyncd.StartT(t, rsyncd.Options{Auth: true})
	b = rsyncd.StartT(t, rsyncd.Options{Auth: true, IP: "127.0.0.2", Port: a.Port})
	work := t.TempDir()
	src = filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: a.IP, Name: "www"}, {IP: b.IP, Name: "www"}}}},
		Users: a.User, PasswordFile: a.PasswordFile, Port: a.Port}
	// Both daemons accept the same user; b's secrets file holds a's password.
	if a.User != b.User {
		t.Fatalf("daemons have different users %q and %q", a.User, b.User)
	}
	p = startSersync(t, work, "-o", writeConf(t, work, c))
	p.waitReady(t)
	return src, a, b, p
}

// TestE2EBurst: thousands of files in a burst converge with few rsync runs.
func TestE2EBurst(t *testing.T) {
	t.Parallel()
	src, dst, _, p := setup(t, confgen.Config{})
	p.waitReady(t)
	const dirs, perDir = 20, 100
	for i := range dirs {
		for j := range perDir {
			writeFile(t, filepath.Join(src, fmt.Sprintf("d%02d", i), fmt.Sprintf("f%03d.txt", j)), strings.Repeat("x", 100+j))
		}
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	runs := p.rsyncRuns()
	if runs == 0 || runs > dirs*perDir/10 {
		t.Errorf("%d files took %d rsync runs; want batching (at most %d)", dirs*perDir, runs, dirs*perDir/10)
	}
	t.Logf("%d files converged with %d rsync runs", dirs*perDir, runs)
}

// TestE2ETreeOperations: deep mkdir -p with immediate writes, renames of
// files and of a populated directory, writes inside the renamed directory,
// and a subtree delete.
// It runs with one queue per remote, the default two, and four queues.
func TestE2ETreeOperations(t *testing.T) {
	t.Parallel()
	for _, queues := range []string{"1", "2", "4"} {
		t.Run("queues="+queues, func(t *testing.T) {
			t.Parallel()
			treeOperations(t, queues)
		})
	}
}

func treeOperations(t *testing.T, queues string) {
	src, dst, _, p := setup(t, confgen.Config{}, "--queues", queues)
	p.waitReady(t)

	deep := src
	for i := range 20 {
		deep = filepath.Join(deep, fmt.Sprintf("l%02d", i))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(deep, "leaf.txt"), "deep")
	for i := range 30 {
		writeFile(t, filepath.Join(src, "pop", fmt.Sprintf("sub%d", i%3), fmt.Sprintf("f%d", i)), "content")
	}
	writeFile(t, filepath.Join(src, "a.txt"), "a")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	if err := os.Rename(filepath.Join(src, "a.txt"), filepath.Join(src, "b.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(src, "pop"), filepath.Join(src, "moved")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "moved", "sub1", "after-rename.txt"), "new")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	if err := os.RemoveAll(filepath.Join(src, "l00")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "moved", "sub2")); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
}

// TestE2EHostileNames: names with quotes, backquotes, $(), ;, leading -,
// newlines, invalid UTF-8 are created, renamed and deleted; the remote
// follows and nothing is executed.
func TestE2EHostileNames(t *testing.T) {
	t.Parallel()
	src, dst, _, p := setup(t, confgen.Config{})
	p.waitReady(t)
	hostileChurn(t, src, dst)
	hostile.NoPWNED(t, src, dst, filepath.Dir(src), p.cmd.Dir)
}

// hostileChurn writes every hostile name as a file in src and as a
// directory holding a file of that name, waits for dst to follow, then
// removes a third of the files, renames a third and removes a third of
// the directories, and waits again.
func hostileChurn(t *testing.T, src, dst string) {
	t.Helper()
	names := hostileNames(t)
	for _, n := range names {
		writeFile(t, filepath.Join(src, n), "file "+n)
		writeFile(t, filepath.Join(src, "dir "+n, n), "nested "+n)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	for i, n := range names {
		switch i % 3 {
		case 0:
			if err := os.Remove(filepath.Join(src, n)); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := os.Rename(filepath.Join(src, n), filepath.Join(src, n+" renamed")); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := os.RemoveAll(filepath.Join(src, "dir "+n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
}

// TestE2EBigFileSlowWrite: a file written in chunks over a second is sent
// once, after it is closed (closeWrite), not once per write.
func TestE2EBigFileSlowWrite(t *testing.T) {
	t.Parallel()
	src, dst, d, p := setup(t, confgen.Config{})
	p.waitReady(t)
	f, err := os.Create(filepath.Join(src, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	tick := time.NewTicker(50 * time.Millisecond) // paces the writer; not synchronisation
	defer tick.Stop()
	for i := range 20 {
		chunk[0] = byte(i)
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	if n, err := d.Transfers("www", "big.bin"); err != nil || n != 1 {
		t.Errorf("big.bin was transferred %d times (%v); want exactly once, after close", n, err)
	}
}

// TestE2ESeveralRemotesOneDown: with two remotes, one stopped, the other
// still follows at once; the stopped one catches up after it comes back.
func TestE2ESeveralRemotesOneDown(t *testing.T) {
	t.Parallel()
	src, a, b, p := setupTwoRemotes(t)

	writeFile(t, filepath.Join(src, "first.txt"), "both up")
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	waitTreesEqual(t, src, b.ModuleDir("www"), treecmp.Options{})

	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		writeFile(t, filepath.Join(src, "while-down", fmt.Sprintf("f%d", i)), "b is down")
	}
	if err := os.Remove(filepath.Join(src, "first.txt")); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, a.ModuleDir("www"), treecmp.Options{})
	if _, err := os.Stat(filepath.Join(b.ModuleDir("www"), "while-down")); err == nil {
		t.Fatal("the stopped remote received files")
	}
	poll.Until(t, 30*time.Second, "a failed sync to the stopped remote", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "will retry"), ""
	})
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, b.ModuleDir("www"), treecmp.Options{})
}

// TestE2ESyncAllWithFilter: -r pushes the existing tree honouring the
// <filter> excludes (the original refused -r with a filter), deletes
// remote-only files, keeps excluded remote files, and changes made during
// the push are not lost.
func TestE2ESyncAllWithFilter(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	dst := d.ModuleDir("www")
	for _, f := range []string{"keep.txt", "a/b/c.txt", "info/secret.txt", "logs/x.gz", "logs/y.txt", "a/static/s.txt", "static/top.txt"} {
		writeFile(t, filepath.Join(src, f), f)
	}
	writeFile(t, filepath.Join(dst, "remote-only.txt"), "must go")
	writeFile(t, filepath.Join(dst, "info/remote-kept.txt"), "excluded: must stay")
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port,
		Filter: []string{`(.*)\.gz`, `^info/*`, `^static/*`}}
	p := startSersync(t, work, "-r", "-o", writeConf(t, work, c))
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "during.txt"), "written while -r runs")
	excluded := func(rel string, dir bool) bool {
		return rel == "info" || rel == "static" || strings.HasSuffix(rel, ".gz")
	}
	waitTreesEqual(t, src, dst, treecmp.Options{Skip: excluded})
	for _, f := range []string{"info/secret.txt", "logs/x.gz", "static/top.txt"} {
		if _, err := os.Stat(filepath.Join(dst, f)); err == nil {
			t.Errorf("excluded %s reached the remote", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "info/remote-kept.txt")); err != nil {
		t.Errorf("an excluded remote file was deleted: %v", err)
	}
	if !strings.Contains(p.stdout.String(), "execute command: cd "+src+" && ") {
		t.Errorf("stdout lacks the original's -r line:\n%s", p.stdout.String())
	}
}

// TestE2ESyncAllKeepsRemoteExcluded: -r on a configuration whose <filter>
// excludes `(.*)\.gz` and `(.*)/cache` keeps the files only the remote
// holds that the filter excludes (at the top, nested, inside an excluded
// directory, under hostile names) and deletes the remote-only files it
// does not exclude; local excluded files are not sent.
func TestE2ESyncAllKeepsRemoteExcluded(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	dst := d.ModuleDir("www")
	writeFile(t, filepath.Join(src, "a.txt"), "a")
	writeFile(t, filepath.Join(src, "d/local.gz"), "local, excluded")
	keep := map[string]string{"old.gz": "remote only", "d/e/deep.gz": "nested", "x/cache/inner": "excluded directory"}
	var gone []string
	for _, n := range hostileNames(t) {
		keep["h/"+n+".gz"] = n
		gone = append(gone, "h/"+n)
	}
	gone = append(gone, "stale.txt", "d/stale")
	for p, content := range keep {
		writeFile(t, filepath.Join(dst, p), content)
	}
	for _, p := range gone {
		writeFile(t, filepath.Join(dst, p), "remote only, not excluded")
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port,
		Filter: []string{`(.*)\.gz`, `(.*)/cache`}}
	p := startSersync(t, work, "-r", "-o", writeConf(t, work, c))
	p.waitReady(t)
	skip := func(rel string, dir bool) bool {
		return strings.HasSuffix(rel, ".gz") || rel == "h" || rel == "d/e" || rel == "x"
	}
	waitTreesEqual(t, src, dst, treecmp.Options{Skip: skip})
	for f, want := range keep {
		if b, err := os.ReadFile(filepath.Join(dst, f)); err != nil || string(b) != want {
			t.Errorf("remote-only excluded %q: content %q, %v; want it kept", f, b, err)
		}
	}
	for _, f := range gone {
		if _, err := os.Lstat(filepath.Join(dst, f)); !os.IsNotExist(err) {
			t.Errorf("remote-only %q not deleted: %v", f, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "d/local.gz")); !os.IsNotExist(err) {
		t.Errorf("excluded d/local.gz was sent: %v", err)
	}
	hostile.NoPWNED(t, src, dst, work)
}

// TestE2ESSH: ssh mode against a real sshd on a loopback port.
func TestE2ESSH(t *testing.T) {
	t.Parallel()
	work, src, dst, c := sshSetup(t)
	p := startSersync(t, work, "-o", writeConf(t, work, c))
	p.waitReady(t)
	for _, n := range append(hostileNames(t), "plain.txt") {
		writeFile(t, filepath.Join(src, "d", n), n)
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	if err := os.RemoveAll(filepath.Join(src, "d")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "after.txt"), "x")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	hostile.NoPWNED(t, src, dst, work)
}

// TestE2EDaemonMode: -dro detaches; the caller exits 0 once the daemon's
// watches are in place, and the daemon replicates.
func TestE2EDaemonMode(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	work := t.TempDir()
	src := filepath.Join(work, "src")
	writeFile(t, filepath.Join(src, "before.txt"), "pushed by -r")
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	pidFile := filepath.Join(work, "sersync2.pid")
	// The daemon keeps the caller's stdout and stderr (as the original):
	// give it files, since a pipe would stay open after the caller exits.
	r := runBinFiles(t, work, "--no-tune-kernel", "--pidfile", pidFile, "-dro", writeConf(t, work, c))
	if r.code != 0 {
		t.Fatalf("-dro exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file after a successful start: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	daemon, err := os.FindProcess(pid)
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %q: %v", raw, err)
	}
	t.Cleanup(func() {
		_ = daemon.Signal(syscall.SIGTERM)
		poll.Until(t, 30*time.Second, "the daemon to stop", func() (bool, string) {
			return daemon.Signal(syscall.Signal(0)) != nil, ""
		})
	})
	assertLinesInOrder(t, r.stdout, []string{"option: -d \trun as a daemon", "option: -r \trsync all the local files to the remote servers before the sersync work",
		"option: -o \tconfig xml name：  " + filepath.Join(work, "confxml.xml"), "daemon start，sersync run behind the console "})
	writeFile(t, filepath.Join(src, "after.txt"), "live")
	waitTreesEqual(t, src, d.ModuleDir("www"), treecmp.Options{})
}

// TestE2EStartRefusesBadConfig: a config whose watch directory is missing
// exits 3 (valid, not startable on this host) naming the element, before
// anything starts (also under -d: the caller sees it).
func TestE2EStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	c := confgen.Config{Roots: []confgen.Root{{Watch: filepath.Join(work, "missing"), Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}}}
	cfg := writeConf(t, work, c)
	for _, args := range [][]string{{"-o", cfg}, {"-d", "-o", cfg}} {
		r := runBin(t, work, append([]string{"--no-tune-kernel"}, args...)...)
		if r.code != exitHost || !strings.Contains(r.stderr, "<sersync><localpath> #1: attribute watch") {
			t.Errorf("%q: exit %d, want %d with a message naming <localpath>\nstderr:\n%s", args, r.code, exitHost, r.stderr)
		}
		if strings.Contains(r.stdout, "run the sersync") {
			t.Errorf("%q: started half-configured:\n%s", args, r.stdout)
		}
	}
}

// TestE2ESocketPluginMode: -m socket sends each changed path, byte for
// byte, to the listener; no rsync runs.
func TestE2ESocketPluginMode(t *testing.T) {
	t.Parallel()
	addr, got := socksink.Listen(t)
	work := t.TempDir()
	src := filepath.Join(work, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}}, Socket: addr}
	p := startSersync(t, work, "-m", "socket", "-o", writeConf(t, work, c))
	p.waitReady(t)
	name := "sp ace\nnl `touch PWNED` $(x) \xff"
	writeFile(t, filepath.Join(src, name), "x")
	socksink.Wait(t, got, src+"/"+name)
	if strings.Contains(p.stderr.String(), "msg=synced") {
		t.Error("plugin mode ran rsync")
	}
	hostile.NoPWNED(t, work)
}

// TestE2ESocketPluginAfterSync: with <sersync><plugin name="socket">, each
// synced path is sent to the listener after it reached the remote.
func TestE2ESocketPluginAfterSync(t *testing.T) {
	t.Parallel()
	addr, got := socksink.Listen(t)
	src, dst, _, p := setup(t, confgen.Config{Plugin: "socket", Socket: addr})
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "d", "-x;y.txt"), "x")
	socksink.Wait(t, got, src+"/d")
	if _, err := os.Stat(filepath.Join(dst, "d", "-x;y.txt")); err != nil {
		t.Errorf("the plugin was told before the remote had the file: %v", err)
	}
	if err := os.Remove(filepath.Join(src, "d", "-x;y.txt")); err != nil {
		t.Fatal(err)
	}
	socksink.Wait(t, got, src+"/d/-x;y.txt")
	waitTreesEqual(t, src, dst, treecmp.Options{})
}

// runBinFiles is runBin with stdout and stderr in files, for a caller whose
// children outlive it.
func runBinFiles(t *testing.T, dir string, args ...string) result {
	t.Helper()
	outF, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	defer errF.Close()
	cmd := exec.Command(binPath, withStateDir(dir, args)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = outF, errF
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sersync2 %q: %v", args, err)
	}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return result{string(o), string(e), code}
}

// TestE2EWatchRootReturns: the watch root is moved away while sersync2
// runs. It keeps running and says so; the mirror keeps what it had. A new
// directory at the root's path is watched and synced in full (stale files
// deleted on the remote, as a full sync does), and SIGUSR2's self-check
// finds every directory watched.
func TestE2EWatchRootReturns(t *testing.T) {
	t.Parallel()
	src, dst, _, p := setup(t, confgen.Config{})
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "old", "a.txt"), "old")
	waitTreesEqual(t, src, dst, treecmp.Options{})

	aside := src + ".aside"
	if err := os.Rename(src, aside); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the missing root to be logged", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "watch root is gone"), ""
	})
	writeFile(t, filepath.Join(aside, "old", "b.txt"), "written after the root moved away")
	// The disappearance itself sends nothing: the mirror keeps its copy,
	// and what is written in the moved-away tree is not followed.
	if b, err := os.ReadFile(filepath.Join(dst, "old", "a.txt")); err != nil || string(b) != "old" {
		t.Fatalf("the mirror lost old/a.txt when the root went away: %q, %v", b, err)
	}
	writeFile(t, filepath.Join(src+".new", "new", "c.txt"), "new")
	if err := os.Rename(src+".new", src); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 20*time.Second, "the root to come back", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "watch root is back"), ""
	})
	waitTreesEqual(t, src, dst, treecmp.Options{})
	writeFile(t, filepath.Join(src, "new", "d", "e.txt"), "after the return")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	p.checkWatches(t)
}
