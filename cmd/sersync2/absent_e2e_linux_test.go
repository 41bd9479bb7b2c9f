package main

import (
	"fmt"
	"io/fs"
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
)

// absentEnv is a watch root on a loop-mounted ext4 image, holding files
// with hostile names, replicated to a real rsync daemon.
type absentEnv struct {
	img                mnt.Image
	work, root, mirror string
	conf               string
	files              int // regular files in the root
}

func newAbsentEnv(t *testing.T, conf func(*confgen.Config)) *absentEnv {
	t.Helper()
	e := &absentEnv{img: mnt.NewImage(t, 16), work: t.TempDir()}
	e.root = filepath.Join(e.work, "src")
	if err := os.Mkdir(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	e.img.Mount(t, e.root)
	if err := os.Remove(filepath.Join(e.root, "lost+found")); err != nil {
		t.Fatal(err)
	}
	for _, name := range hostileNames(t) {
		writeFile(t, filepath.Join(e.root, name), name)
		writeFile(t, filepath.Join(e.root, "dir "+name, name), name)
	}
	e.files = countFiles(t, e.root)
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	e.mirror = d.ModuleDir("www")
	c := confgen.Config{Roots: []confgen.Root{{Watch: e.root, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	if conf != nil {
		conf(&c)
	}
	e.conf = writeConf(t, e.work, c)
	return e
}

// start runs sersync2 on e's configuration with a status server.
func (e *absentEnv) start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := startSersync(t, e.work, append([]string{"-o", e.conf, "--status-addr", "127.0.0.1:0"}, args...)...)
	p.waitReady(t)
	return p
}

// countFiles counts the regular files below dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n, err := regularFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func regularFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n, err
}

// waitFiles waits until the mirror holds n regular files (an rsync may
// be changing it while it is counted).
func (e *absentEnv) waitFiles(t *testing.T, n int) {
	t.Helper()
	poll.Until(t, 60*time.Second, "the mirror to hold the files", func() (bool, string) {
		got, err := regularFiles(e.mirror)
		return err == nil && got == n, fmt.Sprintf("%d files (%v)", got, err)
	})
}

// waitLog waits until the log written after offset from has a line
// matching re.
func (p *proc) waitLog(t *testing.T, from int, timeout time.Duration, what string, re *regexp.Regexp) {
	t.Helper()
	poll.Until(t, timeout, what, func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("sersync2 exited while waiting for %s: %v", what, p.err)
		default:
		}
		return re.MatchString(p.stderr.String()[from:]), ""
	})
}

// TestAbsentRootKeepsMirror: whatever asks for a full sync while the watch
// root's file system is not mounted (the bare mount point is at its path),
// nothing is sent: the mirror keeps every file. Each route to a full sync
// is shown: SIGUSR1, -r at a start, the recovery after an unclean stop, a
// failLog full-sync entry replayed at the start, a crontab tick. Mounting
// the same file system again resumes replication: one full sync, and a
// file written after it arrives (the watcher watches the file system
// again). (An overflow rescan does not reach an
// absent root: the watcher holds no watch in it, and rescans and reports
// only the roots it watches.)
func TestAbsentRootKeepsMirror(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		conf func(*confgen.Config)
		// absent makes the root absent and sets off the route, with p
		// running since the first sync; it returns the sersync2 that runs
		// from then on.
		absent func(t *testing.T, e *absentEnv, p *proc) *proc
		reason string // of the full sync held
	}{
		{
			name: "SIGUSR1",
			absent: func(t *testing.T, e *absentEnv, p *proc) *proc {
				unmounted(t, e, p)
				if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				return p
			},
			reason: "SIGUSR1",
		},
		{
			name: "-r at a start on the bare mount point",
			absent: func(t *testing.T, e *absentEnv, p *proc) *proc {
				p.stop(t)
				mnt.Unmount(t, e.root)
				return e.start(t, "-r")
			},
			reason: "-r",
		},
		{
			name: "recovery after kill -9",
			absent: func(t *testing.T, e *absentEnv, p *proc) *proc {
				mnt.Unmount(t, e.root)
				p.end(syscall.SIGKILL, 30*time.Second)
				return e.start(t)
			},
			reason: "unclean stop",
		},
		{
			name: "failLog full-sync entry replayed",
			absent: func(t *testing.T, e *absentEnv, p *proc) *proc {
				// A full sync still held at a stop is left in the failLog
				// for the next start.
				from := unmounted(t, e, p)
				if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				p.waitLog(t, from, 60*time.Second, "the SIGUSR1 full sync to be held", heldRe("SIGUSR1"))
				p.stop(t)
				if b, err := os.ReadFile(filepath.Join(e.work, "rsync_fail_log.sh")); err != nil || len(b) == 0 {
					t.Fatalf("failLog after the stop: %q, %v", b, err)
				}
				return e.start(t)
			},
			reason: "failLog",
		},
		{
			name: "crontab tick",
			conf: func(c *confgen.Config) { c.CrontabMinutes = 1 },
			absent: func(t *testing.T, e *absentEnv, p *proc) *proc {
				unmounted(t, e, p)
				return p
			},
			reason: "crontab",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAbsentEnv(t, tt.conf)
			p := e.start(t, "-r")
			e.waitFiles(t, e.files)
			before := countFiles(t, e.mirror)

			first := p
			p = tt.absent(t, e, p)
			runs := strings.Count(p.stderr.String(), `msg="rsync start"`)
			if p != first && runs != 0 {
				t.Errorf("%d rsync runs started by a sersync2 that only saw the root absent", runs)
			}
			// Held, or (without the guard) run.
			p.waitLog(t, 0, 2*time.Minute, "the "+tt.reason+" full sync to be held or run",
				regexp.MustCompile(heldRe(tt.reason).String()+`|msg="full sync done".*reason="?`+regexp.QuoteMeta(tt.reason)))
			after := countFiles(t, e.mirror)
			t.Logf("mirror files: %d before the root went absent, %d while absent after %s (source held %d)", before, after, tt.reason, e.files)
			if after != before || before != e.files {
				t.Fatalf("the mirror went from %d to %d files while the root was absent", before, after)
			}
			if !heldRe(tt.reason).MatchString(p.stderr.String()) {
				t.Errorf("the %s full sync was not held", tt.reason)
			}
			addr := p.statusAddr(t)
			if v, ok := scrape(t, addr).value("sersync2_root_absent", "root", e.root); !ok || v != 1 {
				t.Errorf("sersync2_root_absent while absent = %v (%v), want 1", v, ok)
			}
			st, _ := getStatus(t, addr)
			if len(st.AbsentRoots) != 1 || st.AbsentRoots[0].Root != e.root {
				t.Errorf("/status absent_roots = %+v", st.AbsentRoots)
			}
			if n := strings.Count(p.stderr.String(), `msg="rsync start"`); n != runs {
				t.Errorf("%d rsync runs started while the root was absent", n-runs)
			}

			from := len(p.stderr.String())
			e.img.Mount(t, e.root)
			p.waitLog(t, from, 60*time.Second, "the root to be back", regexp.MustCompile(`msg="watch root is back`))
			// Written once the full sync after the remount is done, so
			// that only the watcher can bring it to the mirror: the file
			// system mounted again is watched again.
			p.waitLog(t, from, 60*time.Second, "the full sync after the remount", regexp.MustCompile(`msg="full sync done"`))
			name := filepath.Join(e.root, "dir after remount $(touch PWNED);'q'", "new\nfile -x")
			writeFile(t, name, "after")
			// The new file under its own name first: while rsync writes
			// it, its temporary file is counted as a regular file too.
			poll.Until(t, 60*time.Second, "the file written after the remount on the mirror", func() (bool, string) {
				got, err := os.ReadFile(filepath.Join(e.mirror, strings.TrimPrefix(name, e.root)))
				return err == nil && string(got) == "after", fmt.Sprintf("%q, %v", got, err)
			})
			e.waitFiles(t, e.files+1)
			// Once the remote is idle, one full sync ran since the remount.
			poll.Until(t, 60*time.Second, "the full sync after the remount to end", func() (bool, string) {
				st, _ := getStatus(t, addr)
				r := st.Remotes[0]
				return strings.Contains(p.stderr.String()[from:], `msg="full sync done"`) && !r.FullPending && r.Pending+r.InFlight == 0, ""
			})
			logged := p.stderr.String()[from:]
			if n := strings.Count(logged, `msg="full sync done"`); n != 1 {
				t.Errorf("%d full syncs after the root came back, want 1", n)
			}
			if strings.Contains(logged, `msg="rsync failed"`) {
				t.Error("an rsync run failed after the root came back")
			}
			if v, ok := scrape(t, addr).value("sersync2_root_absent", "root", e.root); !ok || v != 0 {
				t.Errorf("sersync2_root_absent once back = %v (%v), want 0", v, ok)
			}
			t.Logf("mirror files after the remount: %d", countFiles(t, e.mirror))
			hostile.NoPWNED(t, e.work, e.mirror)
		})
	}
}

// unmounted unmounts e's root under the running p and waits for p to
// notice; it returns the log offset before the unmount.
func unmounted(t *testing.T, e *absentEnv, p *proc) int {
	t.Helper()
	from := len(p.stderr.String())
	mnt.Unmount(t, e.root)
	p.waitLog(t, from, 60*time.Second, "the root to be gone", regexp.MustCompile(`msg="watch root is gone`))
	return from
}

// heldRe matches the log line of a held batch with reason in its reasons.
func heldRe(reason string) *regexp.Regexp {
	return regexp.MustCompile(`msg="syncs of the watch root held.* reason="?[^"]*` + regexp.QuoteMeta(reason))
}

// TestAcceptRoot: the data moved to another file system (a tmpfs mounted
// where the recorded disk was). --check reports the root absent and why,
// the running sersync2 holds -r, and --accept-root, the one way to accept
// the new file system, is seen by the running sersync2 within a second:
// the root is synced in full from the new file system. --check then
// reports it present.
func TestAcceptRoot(t *testing.T) {
	t.Parallel()
	e := newAbsentEnv(t, nil)
	p := e.start(t, "-r")
	e.waitFiles(t, e.files)
	p.stop(t)
	mnt.Unmount(t, e.root)
	mnt.Tmpfs(t, e.root)
	writeFile(t, filepath.Join(e.root, "moved -- $(x)"), "on the new file system")

	check := runBin(t, e.work, "--check", "-o", e.conf)
	if !strings.Contains(check.stdout, "root "+e.root+": ABSENT") || !strings.Contains(check.stdout, "another file system is there") {
		t.Fatalf("--check does not report the root absent:\n%s", check.stdout)
	}
	p = e.start(t, "-r")
	p.waitLog(t, 0, 60*time.Second, "-r to be held", heldRe("-r"))
	if n := countFiles(t, e.mirror); n != e.files {
		t.Fatalf("mirror holds %d files while the root is absent, want %d", n, e.files)
	}

	from := len(p.stderr.String())
	acc := runBin(t, e.work, "-o", e.conf, "--accept-root", e.root+"/")
	if acc.code != 0 || !strings.Contains(acc.stdout, "recorded tmpfs") || !strings.Contains(acc.stdout, "replaces ext4") {
		t.Fatalf("--accept-root: exit %d\n%s%s", acc.code, acc.stdout, acc.stderr)
	}
	p.waitLog(t, from, 60*time.Second, "the root to be back", regexp.MustCompile(`msg="watch root is back`))
	e.waitFiles(t, 1)
	check = runBin(t, e.work, "--check", "-o", e.conf)
	if !strings.Contains(check.stdout, "root "+e.root+": present: recorded tmpfs") {
		t.Errorf("--check after --accept-root:\n%s", check.stdout)
	}
	if bad := runBin(t, e.work, "-o", e.conf, "--accept-root", e.work); bad.code == 0 || !strings.Contains(bad.stderr, "is not a watch root") {
		t.Errorf("--accept-root of a directory that is not a root: exit %d, %s", bad.code, bad.stderr)
	}
}
