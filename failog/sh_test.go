package failog

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// TestRunByHand is the one place a shell runs the failLog: an operator's
// `sh rsync_fail_log.sh`. Updates and removes of every hostile name are
// recorded against a real rsync daemon (with auth) that is "down"; the
// file is then run with each shell found. Exactly the recorded files
// arrive, the recorded removes (and nothing else) are deleted, files not in
// the failLog stay away, and no file name is run as a command (no PWNED
// anywhere). The file is mode 0600 throughout.
func TestRunByHand(t *testing.T) {
	t.Parallel()
	names := hostileNames(t)
	// /bin/sh, and bash and dash when they are other programs.
	var shells []string
	seen := map[string]bool{}
	for _, sh := range []string{"/bin/sh", "bash", "dash"} {
		p, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && !seen[real] {
			seen[real] = true
			shells = append(shells, p)
		}
	}
	if len(shells) == 0 {
		t.Fatal("no shell found")
	}
	for _, sh := range shells {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			t.Parallel()
			d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
			dst := d.ModuleDir("www")
			src := t.TempDir()
			tg := rsyncexec.Target{
				Root:   src,
				Remote: confxml.Remote{IP: d.IP, Name: "www"},
				Rsync: confxml.Rsync{
					CommonParams: "-artuz", Params: []string{"-artuz"},
					Auth: confxml.Auth{Enabled: true, Users: d.User, PasswordFile: d.PasswordFile},
					Port: confxml.Port{Enabled: true, Port: d.Port},
				},
				Delete: true,
			}
			var b queue.Batch
			for _, n := range names {
				for _, p := range []string{"h/" + n, "other/" + n} {
					writeTestFile(t, filepath.Join(src, p), n)
				}
				writeTestFile(t, filepath.Join(dst, "gone", n), "stale")
				writeTestFile(t, filepath.Join(dst, "keep", n), "keep")
				b.Updates = append(b.Updates, queue.Entry{Path: "h/" + n})
				b.Removes = append(b.Removes, queue.Entry{Path: "gone/" + n})
			}
			fl := filepath.Join(t.TempDir(), "rsync_fail_log.sh")
			l, err := Open(fl, []rsyncexec.Target{tg}, Options{MaxEntries: 10 * len(names)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Fail(tg, b, exitErr(10)); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, fl); m != 0o600 {
				t.Fatalf("failLog mode %04o", m)
			}
			if es := l.Entries(); len(es) != 2*len(names) {
				t.Fatalf("%d entries, want %d", len(es), 2*len(names))
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
			hostile.NoPWNED(t, src, dst, cwd, filepath.Dir(fl))
			if got, want := list(t, filepath.Join(dst, "h")), sorted(names); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("re-sent files:\n got %q\nwant %q", got, want)
			}
			for _, n := range names {
				if b, err := os.ReadFile(filepath.Join(dst, "h", n)); err != nil || string(b) != n {
					t.Errorf("%q: content %q, %v", n, b, err)
				}
			}
			if got := list(t, filepath.Join(dst, "gone")); len(got) != 0 {
				t.Errorf("removes not done: %q left", got)
			}
			if got := list(t, filepath.Join(dst, "keep")); len(got) != len(names) {
				t.Errorf("decoys: %d of %d left", len(got), len(names))
			}
			if _, err := os.Lstat(filepath.Join(dst, "other")); !os.IsNotExist(err) {
				t.Errorf("files not in the failLog were sent: %v", err)
			}
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
