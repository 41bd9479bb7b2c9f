package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/kernellimits"
	"github.com/sersync-go/sersync2/internal/mnt"
)

// TestRaiseKernelLimits: a limit is raised only when it is lower than the
// original's value, never lowered, and only when enabled; the original's
// "execute：" line is printed only for a real write.
func TestRaiseKernelLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		watches, queued   string
		enabled, readOnly bool
		wantWatches       string
		wantQueued        string
		stdout            []string
		noStdout          []string
		log               string
	}{
		{name: "raise both", watches: "8192", queued: "16384", enabled: true, wantWatches: "50000000", wantQueued: "327679",
			stdout: []string{"execute：echo 50000000 > /proc/sys/fs/inotify/max_user_watches", "execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events"},
			log:    "raised inotify limit"},
		{name: "never lower", watches: "100000000", queued: "500000", enabled: true, wantWatches: "100000000", wantQueued: "500000",
			stdout: []string{"keep：fs.inotify.max_user_watches = 100000000 (>= 50000000)"}, noStdout: []string{"execute："}},
		{name: "raise one", watches: "100000000", queued: "16384", enabled: true, wantWatches: "100000000", wantQueued: "327679",
			stdout: []string{"execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events"}, noStdout: []string{"echo 50000000"}},
		{name: "disabled", watches: "8192", queued: "16384", enabled: false, wantWatches: "8192", wantQueued: "16384",
			noStdout: []string{"execute："}, log: "not raised (--no-tune-kernel)"},
		{name: "not writable", watches: "8192", queued: "16384", enabled: true, readOnly: true, wantWatches: "8192", wantQueued: "16384",
			noStdout: []string{"execute："}, log: "sysctl -w fs.inotify.max_user_watches=50000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := fakeLimits(t, root, tt.watches, tt.queued)
			files := limits(t, dir)
			if tt.readOnly {
				if err := os.Chmod(dir, 0o555); err != nil {
					t.Fatal(err)
				}
				for n := range files {
					if err := os.Chmod(filepath.Join(dir, n), 0o444); err != nil {
						t.Fatal(err)
					}
				}
				if os.Geteuid() == 0 {
					t.Skip("root can write a read-only file; this case needs a non-root run")
				}
			}
			var out, logb bytes.Buffer
			kernellimits.Raise(&out, slog.New(slog.NewTextHandler(&logb, nil)), tt.enabled, root)
			if got, want := limits(t, dir), map[string]string{"max_user_watches": tt.wantWatches, "max_queued_events": tt.wantQueued}; !maps.Equal(got, want) {
				t.Errorf("limits %v, want %v", got, want)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s+"\n") {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.noStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, out.String())
				}
			}
			if tt.log != "" && !strings.Contains(logb.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, logb.String())
			}
		})
	}
}

// fakeLimits writes the two inotify limit files below root, as
// /proc/sys/fs/inotify holds them, and returns their directory.
func fakeLimits(t *testing.T, root, watches, queued string) string {
	t.Helper()
	dir := filepath.Join(root, "proc/sys/fs/inotify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, v := range map[string]string{"max_user_watches": watches, "max_queued_events": queued} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// limits reads the limit files of dir.
func limits(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, n := range []string{"max_user_watches", "max_queued_events"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		got[n] = strings.TrimSpace(string(b))
	}
	return got
}

// unneeded is the start-up line of a start where fanotify watches every
// root, in place of the kernel limit lines.
const unneeded = "keep：fs.inotify.max_user_watches, fs.inotify.max_queued_events as they are: fanotify watches every root, no inotify watch is needed"

// TestKernelLimitsOnlyForAGoodStart: the system-wide inotify limits are
// raised only once the flags and the whole configuration are valid, and
// only for a start that will watch a root with inotify: a bad flag, a bad
// or broken configuration file, --check and -h leave them as they were
// and print no "execute：" line. A good start with --watcher inotify, or
// with a root fanotify cannot watch, raises them, and the original's
// lines keep their order. A good start where fanotify watches every root
// (the default on a host that allows it), in sync mode, -m or --dry-run,
// leaves them as they were and says so. run is called in this process
// with sysctlRoot pointing at a copy of the limits (so the test is not
// parallel).
func TestKernelLimitsOnlyForAGoodStart(t *testing.T) {
	root := t.TempDir()
	saved := sysctlRoot
	sysctlRoot = root
	t.Cleanup(func() { sysctlRoot = saved })

	good, dir := fixtureEnv(t, "base.xml")
	mixed, mixedDir := fixtureEnv(t, "several-localpaths.xml")
	bad, _ := fixtureEnv(t, "bad-ssh-remote-ip-option.xml")
	broken, _ := fixtureEnv(t, "bad-unclosed-element.xml")
	notDir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	low := map[string]string{"max_user_watches": "8192", "max_queued_events": "16384"}
	raised := map[string]string{"max_user_watches": "50000000", "max_queued_events": "327679"}
	// A valid start that stops after the limits are dealt with: at the
	// lock, whose directory cannot be made, or for --dry-run (which takes
	// no lock) at the pid file.
	noLock := []string{"--lock-dir", filepath.Join(notDir, "lock")}
	noPidFile := []string{"--pidfile", filepath.Join(notDir, "pid")}
	tests := []struct {
		name string
		args []string
		code int
		want map[string]string
		// fanotify: the start needs fanotify to watch its roots here.
		fanotify bool
		// ramfs: mount a ramfs (no file handles, so no fanotify) on this
		// root first.
		ramfs string
	}{
		{name: "bad flag", args: []string{"--batching", "bogus", "-o", good}, code: exitUsage, want: low},
		{name: "bad -n", args: []string{"-n", "x", "-o", good}, code: exitUsage, want: low},
		{name: "unknown option", args: []string{"-x", "-o", good}, code: exitUsage, want: low},
		{name: "bad -m", args: []string{"-m", "http", "-o", good}, code: exitUsage, want: low},
		{name: "bad configuration", args: []string{"-o", bad}, code: exitUsage, want: low},
		{name: "broken XML", args: []string{"-o", broken}, code: exitXMLError, want: low},
		{name: "missing configuration", args: []string{"-o", filepath.Join(dir, "missing.xml")}, code: exitXMLError, want: low},
		{name: "--check", args: []string{"--check", "-o", good}, code: exitOK, want: low},
		{name: "-h", args: []string{"-h", "-o", good}, code: exitOK, want: low},
		{name: "good start, inotify", args: slices.Concat([]string{"--watcher", "inotify"}, noLock, []string{"-o", good}), code: exitHost, want: raised},
		{name: "good start, fanotify", args: slices.Concat(noLock, []string{"-o", good}), code: exitHost, want: low, fanotify: true},
		{name: "-m, fanotify", args: slices.Concat(noLock, []string{"-m", "command", "-o", good}), code: exitHost, want: low, fanotify: true},
		{name: "-m, inotify", args: slices.Concat([]string{"--watcher", "inotify"}, noLock, []string{"-m", "command", "-o", good}), code: exitHost, want: raised},
		{name: "--dry-run, fanotify", args: slices.Concat(noPidFile, []string{"--dry-run", "-o", good}), code: exitHost, want: low, fanotify: true},
		{name: "one root without fanotify", args: slices.Concat(noLock, []string{"-o", mixed}), code: exitHost, want: raised,
			fanotify: true, ramfs: filepath.Join(mixedDir, "watch2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fanotify {
				requireWatcher(t, "fanotify")
			}
			if tt.ramfs != "" {
				mnt.Ramfs(t, tt.ramfs)
			}
			limitDir := fakeLimits(t, root, low["max_user_watches"], low["max_queued_events"])
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			if got := limits(t, limitDir); !maps.Equal(got, tt.want) {
				t.Errorf("limits %v, want %v", got, tt.want)
			}
			wrote := strings.Contains(stdout.String(), "execute：")
			if raisedThem := tt.want["max_user_watches"] == raised["max_user_watches"]; wrote != raisedThem {
				t.Errorf("execute： lines printed: %v, want %v\n%s", wrote, raisedThem, stdout.String())
			}
			left := strings.Contains(stdout.String(), unneeded)
			if everyRoot := tt.fanotify && tt.ramfs == ""; left != everyRoot {
				t.Errorf("%q printed: %v, want %v\n%s", unneeded, left, everyRoot, stdout.String())
			}
			head := ""
			switch {
			case wrote:
				head = "set the system param\n" +
					"execute：echo 50000000 > /proc/sys/fs/inotify/max_user_watches\n" +
					"execute：echo 327679 > /proc/sys/fs/inotify/max_queued_events\n" +
					"parse the command param\n"
			case left:
				head = "set the system param\n" + unneeded + "\nparse the command param\n"
			}
			if !strings.HasPrefix(stdout.String(), head) {
				t.Errorf("stdout does not start with the original's lines in order:\n%s", stdout.String())
			}
		})
	}
}

// fakeLimitsEnv names, in the environment of a process
// runBinFakeLimits starts, the directory holding the limit files to put
// over /proc/sys/fs/inotify.
const fakeLimitsEnv = "SERSYNC2_TEST_FAKE_INOTIFY_LIMITS"

// init is, in a process runBinFakeLimits starts, what puts the fake limit
// files over /proc/sys/fs/inotify (in that process's own mount namespace,
// so the machine's settings are never touched) and becomes sersync2.
func init() {
	dir := os.Getenv(fakeLimitsEnv)
	if dir == "" {
		return
	}
	err := unix.Mount(dir, "/proc/sys/fs/inotify", "", unix.MS_BIND, "")
	if err == nil {
		env := slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, fakeLimitsEnv+"=") })
		err = unix.Exec(os.Args[1], os.Args[1:], env)
	}
	fmt.Fprintf(os.Stderr, "fake inotify limits %s: %v\n", dir, err)
	os.Exit(125)
}

// runBinFakeLimits runs the built binary with args in dir, in a mount
// namespace of its own where /proc/sys/fs/inotify is limitDir.
func runBinFakeLimits(t *testing.T, dir, limitDir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{binPath}, withStateDir(dir, args)...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fakeLimitsEnv+"="+limitDir)
	// Go makes every mount private in the new namespace, so the bind
	// mount stays in it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) && err != nil {
		t.Fatalf("running sersync2 %q: %v", args, err)
	}
	if ee != nil && ee.ExitCode() == 125 {
		mnt.Skip(t, "putting fake inotify limits in place: "+errb.String())
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// TestKernelLimitsBinary: the built binary, seeing low inotify limits
// (its own /proc/sys/fs/inotify, bind-mounted from copies): by default,
// with fanotify watching every root, a good start leaves them as they are
// and prints the line that says so instead of the kernel limit lines; the
// same start with --watcher inotify raises them, printing the original's
// execute： lines.
func TestKernelLimitsBinary(t *testing.T) {
	t.Parallel()
	requireWatcher(t, "fanotify")
	good, dir := fixtureEnv(t, "base.xml")
	notDir := filepath.Join(dir, "a-file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Valid, so the limits are dealt with; then the start stops at the
	// lock, whose directory cannot be made.
	start := []string{"--lock-dir", filepath.Join(notDir, "lock"), "-o", good}
	tests := []struct {
		name  string
		args  []string
		want  map[string]string
		lines string // in stdout, right after "set the system param"
	}{
		{"default, fanotify", start, map[string]string{"max_user_watches": "8192", "max_queued_events": "16384"}, unneeded + "\n"},
		{"--watcher inotify", append([]string{"--watcher", "inotify"}, start...), map[string]string{"max_user_watches": "50000000", "max_queued_events": "327679"},
			"execute：echo 50000000 > /proc/sys/fs/inotify/max_user_watches\nexecute：echo 327679 > /proc/sys/fs/inotify/max_queued_events\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limitDir := fakeLimits(t, t.TempDir(), "8192", "16384")
			r := runBinFakeLimits(t, dir, limitDir, tt.args...)
			if r.code != exitHost {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitHost, r.stdout, r.stderr)
			}
			if got := limits(t, limitDir); !maps.Equal(got, tt.want) {
				t.Errorf("limits %v, want %v", got, tt.want)
			}
			if head := "set the system param\n" + tt.lines + "parse the command param\n"; !strings.HasPrefix(r.stdout, head) {
				t.Errorf("stdout does not start with\n%s\n--- stdout:\n%s", head, r.stdout)
			}
		})
	}
}
