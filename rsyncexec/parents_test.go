package rsyncexec

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
)

// secretMark is in every file of the directory outside the watch root; it
// must never appear on the remote.
const secretMark = "SECRET-OUTSIDE-THE-ROOT"

// outsideDir returns a directory outside any watch root holding files the
// batches name below a swapped parent, each containing secretMark.
func outsideDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		writeFile(t, dir, n, secretMark+" "+n)
	}
	return dir
}

// noSecret fails when any regular file below dst holds secretMark.
func noSecret(t *testing.T, dst string) {
	t.Helper()
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secretMark)) {
			t.Errorf("a file from outside the root reached the remote: %q", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// swap replaces root/rel (a directory) with what mk makes there.
func swap(t *testing.T, root, rel string, mk func(p string) error) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.RemoveAll(p); err != nil {
		t.Fatal(err)
	}
	if err := mk(p); err != nil {
		t.Fatal(err)
	}
}

// TestParentNotDirectory: a batch naming paths below a parent that was a
// directory when the changes were seen and is now a symlink to a directory
// outside the root (as a failLog replay or a batch cut before the swap
// has it), or a file, sends nothing from outside the root: the parent is
// sent as what it is now, replacing the remote's old directory, and the
// remote ends equal to the local tree. The batch names the swapped
// directory's files as updates and removes, and paths two levels below it;
// the parents carry hostile names.
func TestParentNotDirectory(t *testing.T) {
	names := hostileNames(t)
	tests := []struct {
		name   string
		parent string // the directory swapped; below the root
		mk     func(outside string) func(p string) error
	}{
		{"symlink to an outside directory", "d", func(o string) func(string) error {
			return func(p string) error { return os.Symlink(o, p) }
		}},
		{"relative symlink out of the root", "a/b", func(o string) func(string) error {
			return func(p string) error {
				rel, err := filepath.Rel(filepath.Dir(p), o)
				if err != nil {
					return err
				}
				return os.Symlink(rel, p)
			}
		}},
		{"hostile name, symlink", names[0] + "/" + names[1], func(o string) func(string) error {
			return func(p string) error { return os.Symlink(o, p) }
		}},
		{"hostile name with newline, symlink", "x\ny/-n [*]", func(o string) func(string) error {
			return func(p string) error { return os.Symlink(o, p) }
		}},
		{"regular file", "f", func(string) func(string) error {
			return func(p string) error { return os.WriteFile(p, []byte("now a file"), 0o644) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt, dst, _ := daemonTarget(t)
			src := tgt.Root
			below := []string{"secret.txt", "gone.txt", "sub/deep.txt"}
			for _, n := range below {
				writeFile(t, src, tt.parent+"/"+n, "inside "+n)
			}
			writeFile(t, src, "keep.txt", "k")
			r := NewRunner("rsync", 2, nil)
			mustRun(t, r, tgt, queue.Batch{Full: true})

			outside := outsideDir(t, below...)
			swap(t, src, tt.parent, tt.mk(outside))
			b := queue.Batch{
				Updates: append(files(tt.parent+"/secret.txt", tt.parent+"/sub/deep.txt"), dirs(tt.parent+"/sub")...),
				Removes: files(tt.parent + "/gone.txt"),
			}
			mustRun(t, r, tgt, b)
			noSecret(t, dst)
			// The daemon (no chroot) strips a symlink's target of what
			// leads out of the module, so only the kind is compared.
			local, err := os.Lstat(filepath.Join(src, tt.parent))
			if err != nil {
				t.Fatal(err)
			}
			remote, err := os.Lstat(filepath.Join(dst, tt.parent))
			if err != nil {
				t.Fatal(err)
			}
			if remote.Mode().Type() != local.Mode().Type() {
				t.Errorf("remote %q is of type %v, local %v", tt.parent, remote.Mode().Type(), local.Mode().Type())
			}
			treecmp.EqualT(t, src, dst, treecmp.Options{Skip: func(rel string, _ bool) bool { return rel == tt.parent }})
		})
	}
}

// TestParentMissing: paths below a parent that no longer exists become
// removals, as a vanished path does; nothing else is sent.
func TestParentMissing(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "d/x", "x")
	writeFile(t, tgt.Root, "keep", "k")
	r := NewRunner("rsync", 1, nil)
	mustRun(t, r, tgt, queue.Batch{Full: true})
	if err := os.Remove(filepath.Join(tgt.Root, "d/x")); err != nil {
		t.Fatal(err)
	}
	mustRun(t, r, tgt, queue.Batch{Updates: files("d/x", "d/y/z")})
	if exists(t, filepath.Join(dst, "d/x")) {
		t.Error("d/x is still on the remote")
	}
	sameTree(t, tgt.Root, dst)
}

// TestRemoveRunUnderSymlink: the remove form alone, naming paths below a
// local symlink to a directory outside the root, neither sends nor lists
// anything there (rsync walks "./" without following symlinks, and the
// symlink does not match the directory rule "+ /d/"); on the remote it
// deletes the named paths only.
func TestRemoveRunUnderSymlink(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	writeFile(t, tgt.Root, "keep", "k")
	writeFile(t, dst, "d/secret.txt", "remote copy")
	writeFile(t, dst, "d/other", "remote copy")
	outside := outsideDir(t, "secret.txt", "other", "sub/deep.txt")
	if err := os.Symlink(outside, filepath.Join(tgt.Root, "d")); err != nil {
		t.Fatal(err)
	}
	c := RemoveCommand(tgt, files("d/secret.txt", "d/sub/deep.txt"))
	if _, err := NewRunner("rsync", 1, nil).exec(t.Context(), c, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	noSecret(t, dst)
	if exists(t, filepath.Join(dst, "d/secret.txt")) || !exists(t, filepath.Join(dst, "d/other")) {
		t.Error("want the remote d/secret.txt deleted and d/other kept")
	}
	for _, n := range []string{"secret.txt", "other", "sub/deep.txt"} {
		if !exists(t, filepath.Join(outside, n)) {
			t.Errorf("outside %q is gone", n)
		}
	}
}

// TestReplacedByNonDirectory: a directory removed and created again as a
// symlink or a file (queue.Entry.Replaced with Dir off: the latest event
// was not a directory's) replaces the remote's non-empty directory.
func TestReplacedByNonDirectory(t *testing.T) {
	tests := []struct {
		name string
		mk   func(p string) error
	}{
		{"symlink", func(p string) error { return os.Symlink("elsewhere", p) }},
		{"file", func(p string) error { return os.WriteFile(p, []byte("now a file"), 0o644) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt, dst, _ := daemonTarget(t)
			writeFile(t, dst, "d/old.txt", "remote copy")
			writeFile(t, dst, "d/sub/x", "remote copy")
			if err := tt.mk(filepath.Join(tgt.Root, "d")); err != nil {
				t.Fatal(err)
			}
			mustRun(t, NewRunner("rsync", 1, nil), tgt, queue.Batch{Updates: []queue.Entry{{Path: "d", Replaced: true}}})
			sameTree(t, tgt.Root, dst)
		})
	}
}

// TestConfined: an update run gets --confine-root with the absolute root;
// a password file that passes rsync's checks goes as RSYNC_PASSWORD (the
// option would confine it too), its first non-empty line as rsync reads
// it; one that does not pass leaves the argv unconfined for rsync to
// report.
func TestConfined(t *testing.T) {
	dir := t.TempDir()
	pwFile := func(content string, mode os.FileMode) string {
		p := filepath.Join(dir, fmt.Sprintf("pw%d", len(content)*1000+int(mode)))
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := "/srv/it's a \"root\" $(x)"
	tests := []struct {
		name     string
		pw       string // password file; "" for none
		wantArgv func(pwArg string) []string
		wantEnv  string // RSYNC_PASSWORD; "" for no environment
	}{
		{"no password file", "", func(string) []string {
			return []string{"rsync", "--confine-root=" + root, "-a", "./", "h::m"}
		}, ""},
		{"password file", pwFile("\n\r s3cret \nsecond\n", 0o600), func(string) []string {
			return []string{"rsync", "--confine-root=" + root, "-a", "./", "h::m"}
		}, " s3cret "},
		{"other-readable password file", pwFile("x\n", 0o604), func(a string) []string {
			return []string{"rsync", "-a", "./", "h::m", a}
		}, ""},
		{"empty password file", pwFile("\n\n", 0o600), func(a string) []string {
			return []string{"rsync", "-a", "./", "h::m", a}
		}, ""},
		{"missing password file", filepath.Join(dir, "none"), func(a string) []string {
			return []string{"rsync", "-a", "./", "h::m", a}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv := []string{"rsync", "-a", "./", "h::m"}
			pwArg := ""
			if tt.pw != "" {
				pwArg = "--password-file=" + tt.pw
				argv = append(argv, pwArg)
			}
			got, env := confined(argv, root)
			if !reflect.DeepEqual(got, tt.wantArgv(pwArg)) {
				t.Errorf("argv %q, want %q", got, tt.wantArgv(pwArg))
			}
			var pw string
			for _, e := range env {
				if v, ok := strings.CutPrefix(e, "RSYNC_PASSWORD="); ok {
					pw = v
				}
			}
			if pw != tt.wantEnv || (tt.wantEnv == "") != (env == nil) {
				t.Errorf("RSYNC_PASSWORD %q (environment of %d), want %q", pw, len(env), tt.wantEnv)
			}
		})
	}
}
