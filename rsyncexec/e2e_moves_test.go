package rsyncexec

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/sshd"
	"github.com/sersync-go/sersync2/queue"
)

// sshTarget returns a target pushing a new source directory over the
// server s to a new destination directory, delete on.
func sshTarget(t *testing.T, s *sshd.Server) (Target, string) {
	t.Helper()
	dst := t.TempDir()
	return Target{
		Root:   t.TempDir(),
		Remote: confxml.Remote{IP: s.IP, Name: dst},
		Rsync: confxml.Rsync{
			Params:  []string{"-artuz"},
			Auth:    confxml.Auth{Enabled: true, Users: s.User},
			SSH:     confxml.SSH{Enabled: true, Command: s.SSHCommand()},
			Timeout: confxml.Timeout{Enabled: true, Seconds: 30},
		},
		Delete: true,
	}, dst
}

// inode returns the inode number of p.
func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// rename renames below root, creating the destination's parent.
func rename(t *testing.T, root, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, to)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
		t.Fatal(err)
	}
}

// moveBatch is the batch the queue cuts for the given renames: each
// removes From, updates To and carries the move.
func moveBatch(root string, moves ...queue.Move) queue.Batch {
	b := queue.Batch{Root: root, Moves: moves}
	for _, m := range moves {
		b.Removes = append(b.Removes, queue.Entry{Path: m.From, Dir: m.Dir})
		b.Updates = append(b.Updates, queue.Entry{Path: m.To, Dir: m.Dir})
	}
	return b
}

// TestSSHMoves renames a populated directory and files with hostile names
// over a real sshd: the remote renames them (the renamed files keep their
// inodes: rsync, which writes a new file and renames it into place, sent
// none of them again) and the mirror is equal. The same with a remote
// user whose login shell is not POSIX sh (tcsh, fish): it parses the
// remote command, and the names still reach mv as data.
func TestSSHMoves(t *testing.T) {
	for _, shell := range []string{"", "tcsh", "fish"} {
		name := "login shell " + shell
		if shell == "" {
			name = "login shell of the user"
		}
		t.Run(name, func(t *testing.T) {
			var opts sshd.Options
			if shell != "" {
				p, err := exec.LookPath(shell)
				if err != nil {
					if os.Getenv(sshd.NoSkipEnv) == "1" {
						t.Fatal(err)
					}
					t.Skipf("skipping: %v (make deps installs it)", err)
				}
				opts.LoginShell = p
			}
			sshMoves(t, sshd.StartTWith(t, opts))
		})
	}
}

func sshMoves(t *testing.T, s *sshd.Server) {
	names := hostileNames(t)
	r := NewRunner("rsync", 2, nil)

	tgt, dst := sshTarget(t, s)
	src := tgt.Root
	for i := range 50 {
		writeFile(t, src, "old dir/s/f"+string(rune('a'+i%26))+string(rune('a'+i/26)), strings.Repeat("x", 1000+i))
	}
	for _, n := range names {
		writeFile(t, src, n, "file "+n)
	}
	mustRun(t, r, tgt, queue.Batch{Root: src, Full: true})
	sameTree(t, src, dst)

	newDir := "new dir $(touch PWNED); -x"
	moves := []queue.Move{{From: "old dir", To: newDir, Dir: true}}
	before := map[string]uint64{newDir + "/s/faa": inode(t, filepath.Join(dst, "old dir/s/faa"))}
	rename(t, src, "old dir", newDir)
	for _, n := range names {
		to := "moved [x]*/" + n
		before[to] = inode(t, filepath.Join(dst, n))
		rename(t, src, n, to)
		moves = append(moves, queue.Move{From: n, To: to})
	}
	res := mustRun(t, r, tgt, moveBatch(src, moves...))
	if res.MovesDone != len(moves) || res.MovesFailed != 0 {
		t.Errorf("moves done %d, failed %d; want %d, 0", res.MovesDone, res.MovesFailed, len(moves))
	}
	sameTree(t, src, dst)
	for p, ino := range before {
		if got := inode(t, filepath.Join(dst, p)); got != ino {
			t.Errorf("%q: inode %d, was %d: sent again instead of renamed", p, got, ino)
		}
	}
	hostile.NoPWNED(t, src, dst, s.Dir)
}

// TestSSHMovesFallback: moves that fail on the remote (a non-empty
// directory at the target, a source the remote never had), moves that
// must not run (delete off, a filtered path, moves turned off) and a
// remote without mv -T all leave the mirror equal.
func TestSSHMovesFallback(t *testing.T) {
	s := sshd.StartT(t)
	r := NewRunner("rsync", 2, nil)

	setup := func(t *testing.T) (Target, string) {
		tgt, dst := sshTarget(t, s)
		writeFile(t, tgt.Root, "a/one", "one")
		writeFile(t, tgt.Root, "a/two", "two")
		writeFile(t, tgt.Root, "t/old", "old content of t")
		writeFile(t, tgt.Root, "f.svn", "svn")
		mustRun(t, r, tgt, queue.Batch{Root: tgt.Root, Full: true})
		return tgt, dst
	}

	t.Run("non-empty target directory", func(t *testing.T) {
		tgt, dst := setup(t)
		// rm -rf t; mv a t in one batch: t is an update of a directory
		// that was replaced, and its remote copy is not empty.
		if err := os.RemoveAll(filepath.Join(tgt.Root, "t")); err != nil {
			t.Fatal(err)
		}
		rename(t, tgt.Root, "a", "t")
		b := queue.Batch{Root: tgt.Root, Removes: dirs("a"), Updates: []queue.Entry{{Path: "t", Dir: true, Replaced: true}},
			Moves: []queue.Move{{From: "a", To: "t", Dir: true}, {From: "ghost", To: "t/one"}}}
		res := mustRun(t, r, tgt, b)
		if res.MovesDone != 0 || res.MovesFailed != 2 {
			t.Errorf("moves done %d, failed %d; want 0, 2", res.MovesDone, res.MovesFailed)
		}
		sameTree(t, tgt.Root, dst)
	})

	notTried := []struct {
		name string
		edit func(*Target, *RunOptions)
	}{
		{"delete off", func(t *Target, _ *RunOptions) { t.Delete = false }},
		{"filtered", func(t *Target, _ *RunOptions) {
			t.Exclude = func(rel string, _ bool) bool { return strings.HasSuffix(rel, ".svn") }
		}},
		{"turned off", func(_ *Target, o *RunOptions) { o.NoMoves = true }},
	}
	for _, tc := range notTried {
		t.Run(tc.name, func(t *testing.T) {
			tgt, dst := setup(t)
			var o RunOptions
			tc.edit(&tgt, &o)
			rename(t, tgt.Root, "f.svn", "g.svn")
			res := r.Run(context.Background(), tgt, moveBatch(tgt.Root, queue.Move{From: "f.svn", To: "g.svn"}), o)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.MovesDone != 0 || res.MovesFailed != 0 {
				t.Errorf("moves done %d, failed %d; want none tried", res.MovesDone, res.MovesFailed)
			}
			if !tgt.Delete {
				if !exists(t, filepath.Join(dst, "f.svn")) {
					t.Error("delete off: the old name is gone from the mirror")
				}
				return
			}
			sameTree(t, tgt.Root, dst)
		})
	}

	t.Run("no mv -T", func(t *testing.T) {
		tgt, dst := setup(t)
		// A remote whose mv knows no -T (as BSD's): a remote shell that
		// runs the command here, with such a mv first on PATH. Every
		// move fails; the runs still mirror.
		bin := t.TempDir()
		scripts := map[string]string{
			"mv": "#!/bin/sh\necho 'mv: illegal option -- T' >&2\nexit 64\n",
			"rsh": "#!/bin/sh\nwhile [ $# -gt 0 ]; do case $1 in -l) shift 2;; -*) shift;; *) break;; esac; done\nshift\n" +
				"PATH=" + bin + ":$PATH exec sh -c \"$*\"\n",
		}
		for name, text := range scripts {
			if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		tgt.Rsync.SSH.Command = filepath.Join(bin, "rsh")
		rename(t, tgt.Root, "a", "b")
		res := mustRun(t, r, tgt, moveBatch(tgt.Root, queue.Move{From: "a", To: "b", Dir: true}))
		if res.MovesDone != 0 || res.MovesFailed != 1 {
			t.Errorf("moves done %d, failed %d; want 0, 1", res.MovesDone, res.MovesFailed)
		}
		sameTree(t, tgt.Root, dst)
	})
}

// TestMovesTimeout: a remote shell that hangs is given up after
// <timeout>; the moves count as failed and the batch goes on.
func TestMovesTimeout(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tgt := sshStock()
	tgt.Root = t.TempDir()
	tgt.Rsync.SSH.Command = fake
	tgt.Rsync.Timeout = confxml.Timeout{Enabled: true, Seconds: 1}
	writeFile(t, tgt.Root, "b", "b")
	start := time.Now()
	res := NewRunner("rsync", 2, nil).Run(context.Background(), tgt, moveBatch(tgt.Root, queue.Move{From: "a", To: "b"}), RunOptions{})
	if res.MovesDone != 0 || res.MovesFailed != 1 {
		t.Errorf("moves done %d, failed %d; want 0, 1", res.MovesDone, res.MovesFailed)
	}
	if res.Err == nil {
		t.Error("the runs through a hanging remote shell succeeded")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %v with a timeout of 1 s", took)
	}
}
