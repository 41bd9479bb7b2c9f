package failog

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// TestRunByHand is the one place a shell runs the failLog: an operator's
// `sh rsync_fail_log.sh`, with dash and with bash. Against a real rsync
// daemon (with auth) that is "down", two remotes of one root with a
// <filter> excluding `(.*)\.gz` get failures recorded: module www updates
// and removes of every hostile name (also at the top of the root, where a
// name starting with '-' opens the printf format) and the update of a
// directory holding them and excluded files, module full a full
// sync. The file is then run with the shell. On www exactly the recorded
// files arrive, the recorded removes (and nothing else) are deleted, and
// files not in the failLog stay away; the directory arrives without its
// excluded files. On full the tree is sent while the
// filter's excludes hold: an excluded file is not sent, and the remote's
// own copy of an excluded name is not replaced (every exclude rule starts
// with '-': a shell whose printf reads it as an option would feed rsync no
// excludes); with a filter the line deletes nothing, so a remote-only file
// the filter excludes stays (and so does a stale one). No file name is run as a
// command (no PWNED anywhere). The file is mode 0600 throughout.
func TestRunByHand(t *testing.T) {
	t.Parallel()
	names := hostileNames(t)
	exclude, err := inotifymask.Excluder(confxml.Filter{Enabled: true, Exclude: []string{`(.*)\.gz`}})
	if err != nil {
		t.Fatal(err)
	}
	// dash and bash, and /bin/sh when it is another program.
	var shells []string
	seen := map[string]bool{}
	for _, sh := range []string{"dash", "bash", "/bin/sh"} {
		p, err := exec.LookPath(sh)
		if err != nil {
			if sh == "/bin/sh" {
				continue
			}
			const msg = "the failLog must be run with dash and bash (make deps installs them)"
			if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
				t.Fatalf("%s: %v (SERSYNC_TEST_NO_SKIP=1)", msg, err)
			}
			t.Skipf("%s: %v", msg, err)
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && !seen[real] {
			seen[real] = true
			shells = append(shells, p)
		}
	}
	for _, sh := range shells {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			t.Parallel()
			d := rsyncd.StartT(t, rsyncd.Options{Auth: true, Modules: []string{"www", "full"}})
			dst, full := d.ModuleDir("www"), d.ModuleDir("full")
			src := t.TempDir()
			tg := rsyncexec.Target{
				Root:   src,
				Remote: confxml.Remote{IP: d.IP, Name: "www"},
				Rsync: confxml.Rsync{
					CommonParams: "-artuz", Params: []string{"-artuz"},
					Auth: confxml.Auth{Enabled: true, Users: d.User, PasswordFile: d.PasswordFile},
					Port: confxml.Port{Enabled: true, Port: d.Port},
				},
				Delete:  true,
				Exclude: exclude,
			}
			tf := tg
			tf.Remote.Name = "full"
			var b queue.Batch
			for _, n := range names {
				for _, p := range []string{n, "h/" + n, "other/" + n} {
					writeTestFile(t, filepath.Join(src, p), n)
				}
				writeTestFile(t, filepath.Join(src, n+".gz"), "local, excluded")
				writeTestFile(t, filepath.Join(src, "gz", n+".gz"), "local, excluded")
				writeTestFile(t, filepath.Join(src, "moved", n), n)
				writeTestFile(t, filepath.Join(src, "moved", n+".gz"), "local, excluded")
				writeTestFile(t, filepath.Join(full, n+".gz"), "remote")
				writeTestFile(t, filepath.Join(full, "stale", n), "stale")
				writeTestFile(t, filepath.Join(full, "old", n+".gz"), "remote only")
				writeTestFile(t, filepath.Join(dst, "gone", n), "stale")
				writeTestFile(t, filepath.Join(dst, "keep", n), "keep")
				b.Updates = append(b.Updates, queue.Entry{Path: n}, queue.Entry{Path: "h/" + n})
				b.Removes = append(b.Removes, queue.Entry{Path: "gone/" + n})
			}
			b.Updates = append(b.Updates, queue.Entry{Path: "moved", Dir: true})
			fl := filepath.Join(t.TempDir(), "rsync_fail_log.sh")
			l, err := Open(fl, []rsyncexec.Target{tg, tf}, Options{MaxEntries: 10 * len(names)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Fail(tg, b, exitErr(10)); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Fail(tf, queue.Batch{Root: src, Full: true}, exitErr(10)); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, fl); m != 0o600 {
				t.Fatalf("failLog mode %04o", m)
			}
			if es := l.Entries(); len(es) != 3*len(names)+2 {
				t.Fatalf("%d entries, want %d", len(es), 3*len(names)+2)
			}

			cwd := t.TempDir()
			cmd := exec.Command(sh, fl)
			cmd.Dir = cwd
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", sh, fl, err, out)
			}
			if m := mode(t, fl); m != 0o600 {
				t.Fatalf("failLog mode %04o after the run", m)
			}
			hostile.NoPWNED(t, src, dst, full, cwd, filepath.Dir(fl))
			sent := func(dir string) bool { _, err := os.Lstat(filepath.Join(dst, dir)); return err == nil }
			for _, n := range names {
				for _, p := range []string{n, "h/" + n} {
					if b, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(b) != n {
						t.Errorf("www: %q: content %q, %v", p, b, err)
					}
				}
			}
			if got, want := list(t, filepath.Join(dst, "h")), sorted(names); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Errorf("www: re-sent files:\n got %q\nwant %q", got, want)
			}
			if got, want := list(t, filepath.Join(dst, "moved")), sorted(names); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Errorf("www: a directory sent with its content except what the filter excludes:\n got %q\nwant %q", got, want)
			}
			if got := list(t, filepath.Join(dst, "gone")); len(got) != 0 {
				t.Errorf("www: removes not done: %q left", got)
			}
			if got := list(t, filepath.Join(dst, "keep")); len(got) != len(names) {
				t.Errorf("www: decoys: %d of %d left", len(got), len(names))
			}
			if sent("other") || sent("gz") {
				t.Errorf("www: files not in the failLog were sent")
			}

			for _, n := range names {
				if b, err := os.ReadFile(filepath.Join(full, n+".gz")); err != nil || string(b) != "remote" {
					t.Errorf("full: the remote's excluded %q: content %q, %v; want it kept as it was", n+".gz", b, err)
				}
			}
			if got := list(t, filepath.Join(full, "gz")); len(got) != 0 {
				t.Errorf("full: excluded files were sent: %q", got)
			}
			for _, n := range names {
				if b, err := os.ReadFile(filepath.Join(full, "old", n+".gz")); err != nil || string(b) != "remote only" {
					t.Errorf("full: the remote-only excluded %q: content %q, %v; want it kept", "old/"+n+".gz", b, err)
				}
			}
			if got := list(t, filepath.Join(full, "stale")); len(got) != len(names) {
				t.Errorf("full: by hand, with a filter, nothing is deleted: %d of %d stale files left", len(got), len(names))
			}
			treecmp.EqualT(t, src, full, treecmp.Options{Skip: func(rel string, dir bool) bool {
				return exclude(rel, dir) || rel == "stale" || rel == "old"
			}})
		})
	}
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// list returns the names in dir, sorted; nil when dir does not exist.
func list(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return sorted(out)
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}
