package rsyncexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/queue"
)

func TestRemoveRules(t *testing.T) {
	tests := []struct {
		name    string
		removes []queue.Entry
		want    []string
	}{
		{"root file", files("a.txt"), []string{"+ /a.txt"}},
		{"nested file", files("d1/d2/old.txt"), []string{"+ /d1/", "+ /d1/d2/", "+ /d1/d2/old.txt"}},
		{"dir", dirs("a/b"), []string{"+ /a/", "+ /a/b", "+ /a/b/***"}},
		{"shared parents once", files("d/x", "d/y", "d/e/z"),
			[]string{"+ /d/", "+ /d/x", "+ /d/y", "+ /d/e/", "+ /d/e/z"}},
		{"wildcard names escaped", files("br[1]", "star*", "q?", `a\*b`),
			[]string{`+ /br\[1]`, `+ /star\*`, `+ /q\?`, `+ /a\\\*b`}},
		{"backslash alone stays literal", files(`back\slash`), []string{`+ /back\slash`}},
		{"backslash dir content escaped", dirs(`back\slash`), []string{`+ /back\slash`, `+ /back\\slash/***`}},
		{"wild parent", files("p[0]/f"), []string{`+ /p\[0]/`, `+ /p\[0]/f`}},
		{"spaces and newline kept", files(" a ", "nl\nx"), []string{"+ / a ", "+ /nl\nx"}},
		{"rule syntax in names", files("- x", "!", "+ y", "#c", ";c"),
			[]string{"+ /- x", "+ /!", "+ /+ y", "+ /#c", "+ /;c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RemoveRules(tt.removes); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFilesFromComments(t *testing.T) {
	c := UpdateCommand(stock(), files("#a", ";b", "c#", "d/#e", "-f"))
	want := []string{"./#a", "./;b", "c#", "d/#e", "-f"}
	if !reflect.DeepEqual(c.Stdin, want) {
		t.Errorf("stdin %q, want %q", c.Stdin, want)
	}
}

func TestExcludeRules(t *testing.T) {
	got := ExcludeRules(append(dirs("cache", "a/b*"), files("x.tmp", `s\l`)...))
	want := []string{"- /cache/", `- /a/b\*/`, "- /x.tmp", `- /s\l`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestExcludedPaths(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"keep/a", "cache/deep/x", "keep/x.tmp", "top.tmp", "nl\n.tmp"} {
		writeFile(t, root, p, "x")
	}
	if err := os.Symlink("/", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	var asked []string
	got, err := ExcludedPaths(root, func(rel string, dir bool) bool {
		asked = append(asked, rel)
		return (dir && rel == "cache") || strings.HasSuffix(rel, ".tmp")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append(dirs("cache"), files("keep/x.tmp", "nl\n.tmp", "top.tmp")...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, a := range asked {
		if strings.HasPrefix(a, "cache/") || strings.HasPrefix(a, "link/") {
			t.Errorf("walked into %q", a)
		}
	}
	if got, err := ExcludedPaths(root, nil); got != nil || err != nil {
		t.Errorf("nil filter: %v %v", got, err)
	}
	if _, err := ExcludedPaths(filepath.Join(root, "missing"), func(string, bool) bool { return false }); err == nil {
		t.Error("missing root: no error")
	}
}

// TestCleanRel: only the paths the watcher makes pass; anything that would
// need normalising is refused, not rewritten.
func TestCleanRel(t *testing.T) {
	for _, in := range []string{"a", "a/b", "-x", "a b/c\nd", "...", ".a/b.", "\xff\xfe"} {
		if err := CleanRel(in); err != nil {
			t.Errorf("CleanRel(%q) = %v", in, err)
		}
	}
	for _, in := range []string{"", ".", "..", "../x", "a/../../x", "/etc/passwd", "a\x00b", "./a", "a/", "a//b", "a/../b", "a/./b"} {
		if err := CleanRel(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("CleanRel(%q): %v, want ErrBadPath", in, err)
		}
	}
}

func TestPayload(t *testing.T) {
	if got := Payload([]string{"a", "", "b\nc"}); !bytes.Equal(got, []byte("a\x00\x00b\nc\x00")) {
		t.Errorf("Payload = %q", got)
	}
	if got := Payload(nil); len(got) != 0 {
		t.Errorf("Payload(nil) = %q", got)
	}
}

// TestShellRunsAsArgv runs the Shell form with real shells (dash as
// /bin/sh, and bash) and a recorder standing in for rsync, and checks that
// the recorder sees exactly the argv, working directory and stdin bytes of
// the command: the rendering is a correct sh quoting, hostile names
// included, and nothing in it is executed.
func TestShellRunsAsArgv(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	recorder := filepath.Join(base, "rec")
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" > " + out + "/argv\npwd > " + out + "/pwd\ncat > " + out + "/stdin\n"
	if err := os.WriteFile(recorder, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "it's a \"root\" $(touch PWNED) `touch PWNED` ; *")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	names := hostileNames(t)
	tgt := stock()
	tgt.Root = root
	tgt.Rsync.Params = []string{"-artuz", "--bwlimit=1 0", "--out-format=%n'%L\"", "--exclude=$(touch PWNED)"}
	tgt.CrontabExcludes = names
	var entries []queue.Entry
	for _, n := range names {
		entries = append(entries, queue.Entry{Path: "d/" + n, Dir: true})
	}
	var excluded []queue.Entry
	for _, n := range names {
		excluded = append(excluded, queue.Entry{Path: n + ".gz"})
	}
	filtered := tgt
	filtered.Exclude = func(string, bool) bool { return true } // only its presence matters to FullCommand
	// The records of the last two start with '-', the first byte of the
	// printf format: an exclude rule always does, a file name may.
	cmds := []Command{UpdateCommand(tgt, entries), RemoveCommand(tgt, entries), FullCommand(tgt, nil),
		FullCommand(filtered, excluded), UpdateCommand(tgt, []queue.Entry{{Path: "-dash"}, {Path: "a"}})}

	for _, sh := range []string{"/bin/sh", "bash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("no %s: %v", sh, err)
			continue
		}
		for _, c := range cmds {
			t.Run(sh+"/"+c.Kind.String(), func(t *testing.T) {
				for _, f := range []string{"argv", "pwd", "stdin"} {
					_ = os.Remove(filepath.Join(out, f))
				}
				argv := append([]string{recorder}, c.Argv[1:]...)
				line := Shell(argv, c.Dir, c.Stdin)
				if c.Kind != Full && strings.Contains(line, "\n") {
					// File names never make it span lines; only a config
					// word with a newline (the crontab excludes here) does.
					t.Errorf("Shell form spans lines: %q", line)
				}
				if b, err := exec.Command(sh, "-c", line).CombinedOutput(); err != nil {
					t.Fatalf("%s -c: %v\n%s", sh, err, b)
				}
				gotArgv := read(t, filepath.Join(out, "argv"))
				if want := Payload(c.Argv[1:]); !bytes.Equal(gotArgv, want) {
					t.Errorf("argv\n got %q\nwant %q", gotArgv, want)
				}
				if got := strings.TrimSuffix(string(read(t, filepath.Join(out, "pwd"))), "\n"); got != root {
					t.Errorf("pwd %q, want %q", got, root)
				}
				if got := read(t, filepath.Join(out, "stdin")); !bytes.Equal(got, c.Payload()) {
					t.Errorf("stdin\n got %q\nwant %q", got, c.Payload())
				}
			})
		}
	}
	hostile.NoPWNED(t, base)
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		err  bool
	}{
		{"rsync  version 3.5.0  protocol version 32\nCopyright", Version{3, 5, 0, 32}, false},
		{"rsync  version v3.2.3  protocol version 31", Version{3, 2, 3, 31}, false},
		{"rsync  version 3.1.0pre1  protocol version 31", Version{3, 1, 0, 31}, false},
		{"rsync  version 3.4.1-dev  protocol version 32", Version{3, 4, 1, 32}, false},
		{"rsync version 2.6.9  protocol version 29", Version{2, 6, 9, 29}, false},
		{"rsync  version 3.2", Version{3, 2, 0, 0}, false},
		{"openrsync: protocol version 29", Version{}, true},
		{"", Version{}, true},
		{"rsync  version x.y", Version{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVersion(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseVersion(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
	if !(Version{3, 0, 9, 0}).Less(MinVersion) || (Version{3, 1, 0, 0}).Less(MinVersion) || (Version{4, 0, 0, 0}).Less(MinVersion) {
		t.Error("Less is wrong around MinVersion")
	}
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	v, err := Probe(ctx, "rsync")
	if err != nil {
		t.Fatalf("Probe(rsync): %v", err)
	}
	if v.Less(MinVersion) || v.Protocol < 30 {
		t.Errorf("installed rsync reported as %v", v)
	}

	if _, err := Probe(ctx, "no-such-rsync-binary"); !errors.Is(err, ErrRsyncMissing) {
		t.Errorf("missing from PATH: %v, want ErrRsyncMissing", err)
	}
	if _, err := Probe(ctx, "/nonexistent/rsync"); !errors.Is(err, ErrRsyncMissing) {
		t.Errorf("missing path: %v, want ErrRsyncMissing", err)
	}
	old := filepath.Join(t.TempDir(), "old-rsync")
	script := "#!/bin/sh\necho 'rsync  version 3.0.9  protocol version 30'\n"
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := Probe(ctx, old); !errors.Is(err, ErrTooOld) || v != (Version{3, 0, 9, 30}) {
		t.Errorf("old rsync: %v %v, want 3.0.9 and ErrTooOld", v, err)
	}
}

func TestExitErrorClassification(t *testing.T) {
	tests := []struct {
		code             int
		success, retried bool
	}{
		{0, true, false}, {24, true, false},
		{1, false, false}, {2, false, false}, {3, false, false}, {4, false, false}, {25, false, false},
		{5, false, true}, {10, false, true}, {11, false, true}, {12, false, true}, {14, false, true},
		{20, false, true}, {23, false, true}, {30, false, true}, {35, false, true}, {255, false, true},
		{-1, false, true}, {99, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			if got := Succeeded(tt.code); got != tt.success {
				t.Errorf("Succeeded(%d) = %v", tt.code, got)
			}
			if tt.success {
				return
			}
			e := &ExitError{Code: tt.code, Stderr: "line1\n\nrsync error: boom\n"}
			if got := e.Retryable(); got != tt.retried {
				t.Errorf("Retryable() = %v", got)
			}
			wrapped := fmt.Errorf("rsyncexec: ctx: %w", e)
			if got := Retryable(wrapped); got != tt.retried {
				t.Errorf("Retryable(wrapped) = %v", got)
			}
			if msg := e.Error(); !strings.Contains(msg, "rsync error: boom") || strings.Contains(msg, "\n") {
				t.Errorf("Error() = %q", msg)
			}
		})
	}
}

func TestRetryableJoined(t *testing.T) {
	retry := fmt.Errorf("a: %w", &ExitError{Code: 10})
	fatal := fmt.Errorf("b: %w", &ExitError{Code: 1})
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"one retryable", retry, true},
		{"retryable then fatal", errors.Join(retry, fatal), false},
		{"fatal then retryable", errors.Join(fatal, retry), false},
		{"two retryable", errors.Join(retry, retry), true},
		{"rsync missing", fmt.Errorf("x: %w", ErrRsyncMissing), false},
		{"bad path", errors.Join(retry, fmt.Errorf("%w: %q", ErrBadPath, "..")), false},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"other", errors.New("fork: resource temporarily unavailable"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defg", "hij", "0123456789ABC", "xy"} {
		tb.Write([]byte(s))
	}
	if got := tb.String(); got != "789ABCxy" {
		t.Errorf("tail = %q, want %q", got, "789ABCxy")
	}
}

func TestDestination(t *testing.T) {
	tgt := stock()
	tests := []struct {
		name string
		mod  func(*Target)
		want string
	}{
		{"daemon", func(*Target) {}, "10.0.0.2::www"},
		{"auth", func(t *Target) { t.Rsync.Auth.Enabled, t.Rsync.Auth.Users = true, "u" }, "u@10.0.0.2::www"},
		{"auth without users", func(t *Target) { t.Rsync.Auth.Enabled = true }, "10.0.0.2::www"},
		{"users without auth", func(t *Target) { t.Rsync.Auth.Users = "u" }, "10.0.0.2::www"},
		{"ssh", func(t *Target) { t.Rsync.SSH.Enabled = true; t.Remote.Name = "/srv" }, "10.0.0.2:/srv"},
		{"ipv6", func(t *Target) { t.Remote.IP = "::1" }, "[::1]::www"},
		{"ipv6 bracketed", func(t *Target) { t.Remote.IP = "[::1]" }, "[::1]::www"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tgt
			tt.mod(&x)
			if got := Destination(x); got != tt.want {
				t.Errorf("Destination = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNoDelay: real-time runs to a daemon get --sockopts=TCP_NODELAY,
// unless PARAMS set socket options themselves or the transport is ssh;
// full runs keep the original's argv.
func TestNoDelay(t *testing.T) {
	own := stock()
	own.Rsync.Params = []string{"-artuz", "--sockopts=SO_SNDBUF=65536"}
	ssh := stock()
	ssh.Rsync.SSH.Enabled = true
	tests := []struct {
		name string
		argv []string
		want bool
	}{
		{"daemon update", UpdateCommand(stock(), files("a")).Argv, true},
		{"daemon remove", RemoveCommand(stock(), files("a")).Argv, true},
		{"daemon full", FullCommand(stock(), nil).Argv, false},
		{"params set sockopts", UpdateCommand(own, files("a")).Argv, false},
		{"ssh update", UpdateCommand(ssh, files("a")).Argv, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slices.Contains(tt.argv, "--sockopts=TCP_NODELAY"); got != tt.want {
				t.Errorf("--sockopts=TCP_NODELAY in %q: %v, want %v", tt.argv, got, tt.want)
			}
		})
	}
}
