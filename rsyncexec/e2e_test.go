package rsyncexec

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/sshd"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
)

// daemonTarget starts a real rsync daemon with authentication and returns
// a target pushing src to its module "www" with the stock parameters.
func daemonTarget(t *testing.T) (Target, string, *rsyncd.Daemon) {
	t.Helper()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	src := t.TempDir()
	tgt := Target{
		Root:   src,
		Remote: confxml.Remote{IP: d.IP, Name: "www"},
		Rsync: confxml.Rsync{
			CommonParams: "-artuz",
			Params:       []string{"-artuz"},
			Auth:         confxml.Auth{Enabled: true, Users: d.User, PasswordFile: d.PasswordFile},
			Port:         confxml.Port{Enabled: true, Port: d.Port},
			Timeout:      confxml.Timeout{Enabled: true, Seconds: 30},
		},
		Delete: true,
	}
	return tgt, d.ModuleDir("www"), d
}

func mustRun(t *testing.T, r *Runner, tgt Target, b queue.Batch) Result {
	t.Helper()
	res := r.Run(context.Background(), tgt, b, RunOptions{})
	if res.Err != nil {
		t.Fatalf("Run: %v", res.Err)
	}
	return res
}

func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	treecmp.EqualT(t, src, dst, treecmp.Options{})
}

// TestUpdate: files, a new directory with content and a nested file whose
// parents do not exist remotely arrive in one rsync run, parents with
// their local modes.
func TestUpdate(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	src := tgt.Root
	writeFile(t, src, "a.txt", "alpha")
	writeFile(t, src, "newdir/in1", "1")
	writeFile(t, src, "newdir/sub/in2", "2")
	writeFile(t, src, "p1/p2/p3/deep.txt", "deep")
	if err := os.Chmod(filepath.Join(src, "p1"), 0o750); err != nil {
		t.Fatal(err)
	}
	r := NewRunner("rsync", 4, nil)
	res := mustRun(t, r, tgt, queue.Batch{Root: src,
		Updates: append(files("a.txt", "p1/p2/p3/deep.txt"), dirs("newdir")...)})
	if res.Runs != 1 {
		t.Errorf("Runs %d, want 1 run", res.Runs)
	}
	sameTree(t, src, dst)
}

// TestUpdateArchiveOnly: with PARAMS "-az" (no explicit -r) a listed
// directory still arrives with its content, as "rsync -az -R ./dir" did.
func TestUpdateArchiveOnly(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	tgt.Rsync.Params = []string{"-az"}
	writeFile(t, tgt.Root, "dir/a/b", "content")
	mustRun(t, NewRunner("", 1, nil), tgt, queue.Batch{Updates: dirs("dir")})
	sameTree(t, tgt.Root, dst)
}

// TestRemove: a file, a populated directory and a nested file are deleted;
// remote-only paths that the original's unanchored patterns would have
// selected, and excluded siblings, stay.
func TestRemove(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	src := tgt.Root
	// "--exclude=foo" at the root: the shell glob of the original's
	// unquoted --exclude=* would have picked it up (D-2).
	for _, p := range []string{"old.txt", "full/x", "full/sub/y", "a/b", "a/keep", "d1/d2/old.txt", "d1/d2/stay", "sib.txt", "--exclude=foo"} {
		writeFile(t, src, p, "v1 "+p)
	}
	r := NewRunner("rsync", 2, nil)
	mustRun(t, r, tgt, queue.Batch{Full: true})
	sameTree(t, src, dst)

	decoys := []string{
		"a/a/b",           // "a/" and "a/b" unanchored would select it
		"x/d1/d2/old.txt", // same-named nested path
		"d1/old.txt",      // same base name, other parent
		"full2/x",         // shares the prefix of a removed dir
		"remote-only.txt", // excluded sibling at the root
	}
	for _, p := range decoys {
		writeFile(t, dst, p, "decoy")
	}
	for _, p := range []string{"old.txt", "a/b", "d1/d2/old.txt"} {
		if err := os.Remove(filepath.Join(src, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(src, "full")); err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, r, tgt, queue.Batch{Removes: append(files("old.txt", "a/b", "d1/d2/old.txt"), dirs("full")...)})
	if res.Runs != 1 {
		t.Errorf("Runs = %d, want 1", res.Runs)
	}
	for _, p := range decoys {
		if !exists(t, filepath.Join(dst, p)) {
			t.Errorf("decoy %q was deleted", p)
		}
	}
	for _, p := range []string{"a/a", "x", "d1/old.txt", "full2", "remote-only.txt"} {
		if err := os.RemoveAll(filepath.Join(dst, p)); err != nil {
			t.Fatal(err)
		}
	}
	sameTree(t, src, dst)
}

// TestRemoveUnderDeletedParent: removing d1/d2/f when d1 is gone locally
// deletes f (and the emptied d1/d2) but not the rest of the remote d1,
// which the batch did not name: rsync only warns "cannot delete non-empty
// directory: d1" and exits 0.
func TestRemoveUnderDeletedParent(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "keep", "k")
	writeFile(t, dst, "d1/d2/f", "x")
	writeFile(t, dst, "d1/other", "x")
	mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Removes: files("d1/d2/f")})
	if exists(t, filepath.Join(dst, "d1/d2")) || !exists(t, filepath.Join(dst, "d1/other")) {
		t.Error("want d1/d2 gone and d1/other kept")
	}
}

// TestUpdateOfVanishedPathRemoves: an update whose path is gone locally
// becomes a remove.
func TestUpdateOfVanishedPathRemoves(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "stay", "s")
	writeFile(t, dst, "gone.txt", "remote copy")
	writeFile(t, dst, "gone-dir/x", "remote copy")
	res := mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Updates: append(files("gone.txt", "stay"), dirs("gone-dir")...)})
	if res.Runs != 2 {
		t.Errorf("Runs = %d, want a remove and an update run", res.Runs)
	}
	sameTree(t, tgt.Root, dst)
}

// TestReplacedDirectory: a directory removed and created again since the
// previous batch (queue.Entry.Replaced) ends equal on the remote, stale
// files of the old directory deleted, new content sent.
func TestReplacedDirectory(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "d/new.txt", "new")
	writeFile(t, tgt.Root, "d/sub/kept.txt", "kept")
	writeFile(t, dst, "d/old.txt", "stale remote copy")
	writeFile(t, dst, "d/sub/stale.txt", "stale remote copy")
	writeFile(t, dst, "other.txt", "not part of the batch")
	e := queue.Entry{Path: "d", Dir: true, Replaced: true}
	mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Updates: []queue.Entry{e}})
	if exists(t, filepath.Join(dst, "d/old.txt")) || exists(t, filepath.Join(dst, "d/sub/stale.txt")) {
		t.Error("stale content of the replaced directory is still on the remote")
	}
	if !exists(t, filepath.Join(dst, "other.txt")) {
		t.Error("a path outside the batch was deleted")
	}
	os.Remove(filepath.Join(dst, "other.txt"))
	sameTree(t, tgt.Root, dst)
}

// TestDeleteOff: with the delete toggle off a remove leaves the remote copy,
// as the original's remove-form without --delete did.
func TestDeleteOff(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	tgt.Delete = false
	writeFile(t, dst, "moveout.txt", "remote")
	mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Removes: files("moveout.txt")})
	if !exists(t, filepath.Join(dst, "moveout.txt")) {
		t.Error("remove without the delete toggle deleted the remote file")
	}
}

// TestFull: --delete mirrors the tree; crontab excludes and the real-time
// filter keep their paths off the remote and protect remote copies.
func TestFull(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	src := tgt.Root
	for _, p := range []string{"a.txt", "d/b.txt", "x.php", "info/i", "cache/big", "d/skip.tmp", "deep/cache/keep"} {
		writeFile(t, src, p, "local "+p)
	}
	for _, p := range []string{"extra.txt", "d/extra", "keep.php", "info/remote", "cache/old", "d/skip.tmp"} {
		writeFile(t, dst, p, "remote "+p)
	}
	tgt.CrontabExcludes = []string{"*.php", "info/*"}
	tgt.Exclude = func(rel string, dir bool) bool {
		return (dir && rel == "cache") || strings.HasSuffix(rel, ".tmp")
	}
	res := mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Root: src, Full: true})
	if res.Runs != 2 { // the dry run and the full run
		t.Errorf("Runs = %d", res.Runs)
	}
	for _, p := range []string{"extra.txt", "d/extra", "x.php", "info/i", "cache/big"} {
		if exists(t, filepath.Join(dst, p)) {
			t.Errorf("%q exists remotely", p)
		}
	}
	for p, want := range map[string]string{"keep.php": "remote keep.php", "info/remote": "remote info/remote",
		"cache/old": "remote cache/old", "d/skip.tmp": "remote d/skip.tmp", "deep/cache/keep": "local deep/cache/keep"} {
		if got, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(got) != want {
			t.Errorf("%q remotely = %q, %v; want %q", p, got, err, want)
		}
	}
	skip := func(rel string, dir bool) bool {
		return rel == "cache" || rel == "info" || strings.HasSuffix(rel, ".php") || strings.HasSuffix(rel, ".tmp")
	}
	treecmp.EqualT(t, src, dst, treecmp.Options{Skip: skip})
}

// hostileScenario pushes every hostile name through update, remove and
// full runs and checks the remote tree after each step.
func hostileScenario(t *testing.T, r *Runner, tgt Target, dst string) {
	src := tgt.Root
	names := hostileNames(t)
	var updates []queue.Entry
	for _, n := range names {
		writeFile(t, src, n, "file "+n)
		writeFile(t, src, "sub [x]*/"+n+"/f", "nested "+n)
		updates = append(updates, queue.Entry{Path: n}, queue.Entry{Path: "sub [x]*/" + n + "/f"})
	}
	res := r.Run(context.Background(), tgt, queue.Batch{Root: src, Updates: updates}, RunOptions{})
	if res.Err != nil {
		t.Fatalf("update: %v", res.Err)
	}
	sameTree(t, src, dst)

	// Remote-only names that the names would match as wildcards.
	decoys := []string{"br1", "starX", "qx", "a*b", "aXXb", "dol", "plain"}
	for _, p := range decoys {
		writeFile(t, dst, p, "decoy")
	}
	var removes []queue.Entry
	for i, n := range names {
		if err := os.Remove(filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
		removes = append(removes, queue.Entry{Path: n})
		if i%2 == 0 {
			if err := os.RemoveAll(filepath.Join(src, "sub [x]*", n)); err != nil {
				t.Fatal(err)
			}
			removes = append(removes, queue.Entry{Path: "sub [x]*/" + n, Dir: true})
		}
	}
	res = r.Run(context.Background(), tgt, queue.Batch{Root: src, Removes: removes}, RunOptions{})
	if res.Err != nil {
		t.Fatalf("remove: %v", res.Err)
	}
	for _, p := range decoys {
		if !exists(t, filepath.Join(dst, p)) {
			t.Errorf("decoy %q deleted by a remove of hostile names", p)
		}
	}
	isDecoy := func(rel string, _ bool) bool {
		for _, d := range decoys {
			if rel == d {
				return true
			}
		}
		return false
	}
	treecmp.EqualT(t, src, dst, treecmp.Options{Skip: isDecoy})

	// A full run with --delete removes the decoys and changes nothing else.
	writeFile(t, src, "sub [x]*/"+names[1]+"/f", "changed")
	res = r.Run(context.Background(), tgt, queue.Batch{Root: src, Full: true}, RunOptions{})
	if res.Err != nil {
		t.Fatalf("full: %v", res.Err)
	}
	sameTree(t, src, dst)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	hostile.NoPWNED(t, src, dst, wd)
}

func TestHostileNamesDaemon(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	hostileScenario(t, NewRunner("rsync", 3, nil), tgt, dst)
}

// TestSSH runs the hostile scenario over a real sshd. Auth is on with a
// password file that does not exist: over ssh --password-file must not be
// passed (D-24), so the runs still succeed; --port is passed as the
// original did and ignored by rsync.
func TestSSH(t *testing.T) {
	s := sshd.StartT(t)
	dst := t.TempDir()
	tgt := Target{
		Root:   t.TempDir(),
		Remote: confxml.Remote{IP: s.IP, Name: dst},
		Rsync: confxml.Rsync{
			Params: []string{"-artuz"},
			Auth:   confxml.Auth{Enabled: true, Users: s.User, PasswordFile: "/nonexistent/password"},
			Port:   confxml.Port{Enabled: true, Port: 1},
			SSH:    confxml.SSH{Enabled: true, Command: s.SSHCommand()},
		},
		Delete: true,
	}
	hostileScenario(t, NewRunner("rsync", 2, nil), tgt, dst)
}

// TestChunks: long lists are split into concurrent runs of r.chunk paths.
func TestChunks(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	var upd, rm []queue.Entry
	for i := range 10 {
		p := "f" + string(rune('a'+i))
		writeFile(t, tgt.Root, p, p)
		upd = append(upd, queue.Entry{Path: p})
		writeFile(t, dst, "old"+p, "x")
		if i < 4 {
			rm = append(rm, queue.Entry{Path: "old" + p})
		}
	}
	r := NewRunner("rsync", 3, nil)
	r.chunk = 3
	res := mustRun(t, r, tgt, queue.Batch{Updates: upd, Removes: rm})
	if res.Runs != 4+2 {
		t.Errorf("Runs = %d, want 6 (4 update chunks, 2 remove chunks)", res.Runs)
	}
	for i := range 10 {
		p := filepath.Join(dst, "oldf"+string(rune('a'+i)))
		if got := exists(t, p); got != (i >= 4) {
			t.Errorf("%s exists = %v", p, got)
		}
		_ = os.Remove(p)
	}
	sameTree(t, tgt.Root, dst)
}

// TestDaemonDown: a stopped daemon gives a retryable exit 10 with the
// batch; after a restart the same batch goes through.
func TestDaemonDown(t *testing.T) {
	tgt, dst, d := daemonTarget(t)
	writeFile(t, tgt.Root, "a.txt", "a")
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	r := NewRunner("rsync", 1, nil)
	b := queue.Batch{Updates: files("a.txt"), Removes: files("gone")}
	res := r.Run(context.Background(), tgt, b, RunOptions{})
	var ee *ExitError
	if !errors.As(res.Err, &ee) || ee.Code != 10 {
		t.Fatalf("Err = %v, want an ExitError with code 10", res.Err)
	}
	if !ee.Retryable() || !Retryable(res.Err) {
		t.Error("daemon down is not retryable")
	}
	if !strings.Contains(ee.Stderr, "Connection refused") || ee.Argv[0] != "rsync" {
		t.Errorf("ExitError lacks context: %+v", ee)
	}
	if res.Runs != 2 {
		t.Errorf("Runs %d, want 2 runs", res.Runs)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, r, tgt, b)
	sameTree(t, tgt.Root, dst)
}

// TestDaemonRefusals: what the daemon's refusals look like.
func TestDaemonRefusals(t *testing.T) {
	tgt, _, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "a.txt", "a")
	wrongPW := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(wrongPW, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		mod       func(*Target)
		code      int
		retryable bool
		stderr    string
	}{
		// 5 covers wrong password, unknown module and "max connections":
		// the last is transient, so 5 is retried; Stderr says which.
		{"wrong password", func(t *Target) { t.Rsync.Auth.PasswordFile = wrongPW }, 5, true, "auth failed"},
		{"unknown module", func(t *Target) { t.Remote.Name = "nomodule" }, 5, true, "Unknown module"},
		{"missing password file", func(t *Target) { t.Rsync.Auth.PasswordFile = "/nonexistent" }, 1, false, "password file"},
		{"bad parameter", func(t *Target) { t.Rsync.Params = []string{"-artuz", "--no-such-option"} }, 1, false, "no-such-option"},
	}
	r := NewRunner("rsync", 2, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tgt
			tt.mod(&x)
			res := r.Run(context.Background(), x, queue.Batch{Updates: files("a.txt")}, RunOptions{})
			var ee *ExitError
			if !errors.As(res.Err, &ee) {
				t.Fatalf("Err = %v, want an ExitError", res.Err)
			}
			if ee.Code != tt.code || ee.Retryable() != tt.retryable || Retryable(res.Err) != tt.retryable {
				t.Errorf("code %d retryable %v, want %d %v (%v)", ee.Code, ee.Retryable(), tt.code, tt.retryable, res.Err)
			}
			if !strings.Contains(ee.Stderr, tt.stderr) {
				t.Errorf("Stderr %q lacks %q", ee.Stderr, tt.stderr)
			}
		})
	}
}

// TestDebugOutput: the Shell form is printed before the run and rsync's
// own output passes through.
func TestDebugOutput(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	tgt.Rsync.Params = []string{"-artuzv"}
	writeFile(t, tgt.Root, "debug me.txt", "x")
	var buf outbuf.Buffer
	res := NewRunner("rsync", 1, nil).Run(context.Background(), tgt, queue.Batch{Updates: files("debug me.txt")},
		RunOptions{Echo: &buf})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	out := buf.String()
	want := UpdateCommand(tgt, files("debug me.txt")).String()
	first, rest, _ := strings.Cut(out, "\n")
	if first != want {
		t.Errorf("first debug line\n got %q\nwant %q", first, want)
	}
	if !strings.Contains(rest, "debug me.txt") || !strings.Contains(rest, "sent ") {
		t.Errorf("rsync -v output not passed through: %q", rest)
	}
	sameTree(t, tgt.Root, dst)
}

// TestRsyncFoundAgain: rsync is looked up in PATH once, and again after a
// start failed: one installed after the daemon started is used, one
// removed is reported missing, and one installed elsewhere in PATH then
// is found.
func TestRsyncFoundAgain(t *testing.T) {
	real, err := exec.LookPath("rsync")
	if err != nil {
		t.Fatal(err)
	}
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "a", "a")
	bin, bin2 := t.TempDir(), t.TempDir()
	t.Setenv("PATH", bin+":"+bin2)
	r := NewRunner("rsync", 1, nil)
	steps := []struct {
		what        string
		change      func() error
		wantMissing bool
	}{
		{"before rsync is in PATH", func() error { return nil }, true},
		{"once rsync is in PATH", func() error { return os.Symlink(real, filepath.Join(bin, "rsync")) }, false},
		{"after rsync left PATH", func() error { return os.Remove(filepath.Join(bin, "rsync")) }, true},
		{"once rsync is back elsewhere in PATH", func() error { return os.Symlink(real, filepath.Join(bin2, "rsync")) }, false},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatal(err)
		}
		err := r.Run(context.Background(), tgt, queue.Batch{Updates: files("a")}, RunOptions{}).Err
		if s.wantMissing != errors.Is(err, ErrRsyncMissing) || !s.wantMissing && err != nil {
			t.Fatalf("%s: %v (want rsync missing: %v)", s.what, err, s.wantMissing)
		}
	}
	sameTree(t, tgt.Root, dst)
}

func TestRsyncMissing(t *testing.T) {
	tgt := stock()
	tgt.Root = t.TempDir()
	writeFile(t, tgt.Root, "a", "a")
	for _, bin := range []string{"no-such-rsync-binary", "/nonexistent/bin/rsync"} {
		t.Run(bin, func(t *testing.T) {
			res := NewRunner(bin, 1, nil).Run(context.Background(), tgt, queue.Batch{Updates: files("a")}, RunOptions{})
			if !errors.Is(res.Err, ErrRsyncMissing) || Retryable(res.Err) {
				t.Fatalf("Err = %v, want ErrRsyncMissing, not retryable", res.Err)
			}
			if !strings.Contains(res.Err.Error(), "install rsync") {
				t.Errorf("message does not say what to do: %v", res.Err)
			}
			if n := strings.Count(res.Err.Error(), "rsyncexec:"); n != 1 {
				t.Errorf("message names the package %d times: %v", n, res.Err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tgt := stock()
	tgt.Root = t.TempDir()
	r := NewRunner("rsync", 1, nil)
	res := r.Run(context.Background(), tgt, queue.Batch{Updates: files("../escape", "/abs")}, RunOptions{})
	if !errors.Is(res.Err, ErrBadPath) || Retryable(res.Err) || res.Runs != 0 {
		t.Errorf("bad paths: %+v", res)
	}
	res = r.Run(context.Background(), tgt, queue.Batch{Root: "/elsewhere", Full: true}, RunOptions{})
	if res.Err == nil || res.Runs != 0 {
		t.Errorf("root mismatch: %+v", res)
	}
	tgt.Root = filepath.Join(tgt.Root, "missing")
	res = r.Run(context.Background(), tgt, queue.Batch{Removes: files("x")}, RunOptions{})
	if !errors.Is(res.Err, os.ErrNotExist) {
		t.Errorf("missing root: %v", res.Err)
	}
}
