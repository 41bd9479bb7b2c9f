package plugins

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/shellwords"
)

// fullMatch compiles expr the way confxml does for include expressions.
func fullMatch(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	return regexp.MustCompile(`^(?:` + expr + `)$`)
}

// helperPrefix returns a command-plugin prefix that re-executes the test
// binary as helperMain in the given mode, writing to out.
func helperPrefix(t *testing.T, mode, out string) string {
	t.Helper()
	env, err := exec.LookPath("env")
	if err != nil {
		t.Fatalf("env(1) is needed to run the helper: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// GORACE: a -race binary otherwise sleeps 1 s at exit.
	return strings.Join([]string{sq(env), "GORACE=atexit_sleep_ms=0", helperModeEnv + "=" + mode, helperOutEnv + "=" + sq(out), sq(self)}, " ")
}

// readArgvs returns the argv records the helper wrote under dir.
func readArgvs(t *testing.T, dir string) [][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "argv-*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Split(string(b), "\x00")
		out = append(out, args[:len(args)-1]) // each arg is NUL-terminated
	}
	return out
}

func TestCommandArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  confxml.CommandPlugin
		abs  string
		want []string // nil: skipped
	}{
		{
			name: "hook with suffix",
			cfg:  confxml.CommandPlugin{Present: true, Prefix: "/usr/local/bin/hook", Suffix: "--x", IgnoreError: true},
			abs:  "/data/a.txt",
			want: []string{"/usr/local/bin/hook", "/data/a.txt", "--x"},
		},
		{
			name: "stock sh prefix, empty suffix",
			cfg:  confxml.CommandPlugin{Present: true, Prefix: "/bin/sh", IgnoreError: true},
			abs:  "/data/a.php",
			want: []string{"/bin/sh", "/data/a.php"},
		},
		{
			name: "quoted prefix and suffix words",
			cfg:  confxml.CommandPlugin{Present: true, Prefix: `"/opt/my hook" -v 'a b'`, Suffix: `--tag "x y" z`},
			abs:  "/data/sp ace;`x`$(y).txt",
			want: []string{"/opt/my hook", "-v", "a b", "/data/sp ace;`x`$(y).txt", "--tag", "x y", "z"},
		},
		{
			name: "socket-style double slash kept",
			cfg:  confxml.CommandPlugin{Present: true, Prefix: "/bin/echo"},
			abs:  "/data2//s1.txt",
			want: []string{"/bin/echo", "/data2//s1.txt"},
		},
		{
			name: "filter: full match runs",
			cfg: confxml.CommandPlugin{Present: true, Prefix: "/bin/echo", FilterEnabled: true,
				Include: []string{`(.*)\.php`}, Regexps: []*regexp.Regexp{fullMatch(t, `(.*)\.php`)}},
			abs:  "/data/a.php",
			want: []string{"/bin/echo", "/data/a.php"},
		},
		{
			name: "filter: no match skips",
			cfg: confxml.CommandPlugin{Present: true, Prefix: "/bin/echo", FilterEnabled: true,
				Include: []string{`(.*)\.php`}, Regexps: []*regexp.Regexp{fullMatch(t, `(.*)\.php`)}},
			abs: "/data/a.txt",
		},
		{
			name: "filter: partial match skips (full match required)",
			cfg: confxml.CommandPlugin{Present: true, Prefix: "/bin/echo", FilterEnabled: true,
				Include: []string{`(.*)\.php`}, Regexps: []*regexp.Regexp{fullMatch(t, `(.*)\.php`)}},
			abs: "/data/a.php.bak",
		},
		{
			name: "filter: second include matches",
			cfg: confxml.CommandPlugin{Present: true, Prefix: "/bin/echo", FilterEnabled: true,
				Include: []string{`(.*)\.php`, `/data/img/.*`},
				Regexps: []*regexp.Regexp{fullMatch(t, `(.*)\.php`), fullMatch(t, `/data/img/.*`)}},
			abs:  "/data/img/c.jpg",
			want: []string{"/bin/echo", "/data/img/c.jpg"},
		},
		{
			name: "filter off: includes ignored",
			cfg: confxml.CommandPlugin{Present: true, Prefix: "/bin/echo",
				Include: []string{`(.*)\.php`}, Regexps: []*regexp.Regexp{fullMatch(t, `(.*)\.php`)}},
			abs:  "/data/a.txt",
			want: []string{"/bin/echo", "/data/a.txt"},
		},
		{
			name: "filter on, no includes: never runs",
			cfg:  confxml.CommandPlugin{Present: true, Prefix: "/bin/echo", FilterEnabled: true},
			abs:  "/data/a.php",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewCommand(tt.cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Argv(Change{Abs: tt.abs})
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Argv(%q) = %q, want %q", tt.abs, got, tt.want)
			}
		})
	}
}

func TestNewCommandErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []confxml.CommandPlugin{
		{Present: true, Prefix: `/bin/echo "unterminated`},
		{Present: true, Prefix: "/bin/echo", Suffix: `'open`},
	} {
		if _, err := NewCommand(cfg, nil, nil); err == nil {
			t.Errorf("NewCommand(prefix %q, suffix %q): no error", cfg.Prefix, cfg.Suffix)
		}
	}
}

func TestCommandWarnsAboutShellPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		warn   string // substring expected in the log, "" for none
	}{
		{"/bin/sh", "prefix is a shell"},
		{"sh", "prefix is a shell"},
		{"/bin/bash -x", "prefix is a shell"},
		{"", "prefix is empty"},
		{"/usr/local/bin/hook", ""},
		{"/usr/bin/env shasum", ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			log, buf := testLogger(t)
			if _, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: tt.prefix}, log, nil); err != nil {
				t.Fatal(err)
			}
			got := buf.String()
			if tt.warn == "" && strings.Contains(got, "level=WARN") {
				t.Errorf("unexpected warning: %s", got)
			}
			if tt.warn != "" && (!strings.Contains(got, tt.warn) || !strings.Contains(got, "level=WARN")) {
				t.Errorf("log %q lacks warning %q", got, tt.warn)
			}
		})
	}
}

// TestCommandHostileNamesOneArgv runs the real command for each hostile
// name and checks the program received the path as exactly one argv
// element, byte for byte, and that no shell ran any part of it.
func TestCommandHostileNamesOneArgv(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // the command inherits this cwd: a shell would create ./PWNED here
	out := filepath.Join(dir, "out")
	watch := filepath.Join(dir, "w")
	for _, d := range []string{out, watch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewCommand(confxml.CommandPlugin{
		Present: true,
		Prefix:  helperPrefix(t, "argv", out),
		Suffix:  `--x 'two words'`,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, name := range hostileNames {
		abs := AbsPath(watch, name)
		if err := os.WriteFile(abs, []byte("echo hi > PWNED\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, removed := range []bool{false, true} {
			if err := p.Handle(context.Background(), Change{Abs: abs, Removed: removed}); err != nil {
				t.Fatalf("Handle(%q): %v", abs, err)
			}
			want = append(want, []string{abs, "--x", "two words"})
		}
	}
	got := readArgvs(t, out)
	key := func(a []string) string { return strings.Join(a, "\x00") }
	sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
	sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
	if len(got) != len(want) {
		t.Fatalf("helper ran %d times, want %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("argv %d = %q, want %q", i, got[i], want[i])
		}
	}
	assertNoPWNED(t, dir, watch)
}

// TestCommandTouchCreatesExactNames uses touch(1) as the plugin: each
// hostile path must come into existence exactly as named.
func TestCommandTouchCreatesExactNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	watch := filepath.Join(dir, "w")
	if err := os.Mkdir(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	touch, err := exec.LookPath("touch")
	if err != nil {
		t.Fatalf("touch(1) is needed: %v", err)
	}
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: sq(touch)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range hostileNames {
		if err := p.Handle(context.Background(), Change{Abs: AbsPath(watch, name)}); err != nil {
			t.Fatalf("Handle(%q): %v", name, err)
		}
	}
	ents, err := os.ReadDir(watch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	want := slices.Clone(hostileNames)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("created %q, want %q", got, want)
	}
	assertNoPWNED(t, dir, watch)
}

func assertNoPWNED(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, "PWNED")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s/PWNED exists or stat failed (%v): a file name was executed", d, err)
		}
	}
}

func TestCommandStatusAndOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ignoreError bool
		wantErr     bool
		wantInLog   string
		notInLog    string
	}{
		{name: "reported", wantErr: true, wantInLog: `level=INFO msg="command plugin output" plugin=command path="/data/a b.txt" output="helper says no on stdout\nhelper says no on stderr\n"`},
		// ignoreError was ">/dev/null 2>&1": the output is logged at
		// debug level only.
		{name: "ignored", ignoreError: true, wantInLog: `level=DEBUG msg="command plugin output" plugin=command path="/data/a b.txt"`, notInLog: "level=INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, buf := testLogger(t)
			p, err := NewCommand(confxml.CommandPlugin{
				Present: true, Prefix: helperPrefix(t, "fail", t.TempDir()), IgnoreError: tt.ignoreError,
			}, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Handle(context.Background(), Change{Abs: "/data/a b.txt"})
			if tt.wantErr {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 3 {
					t.Fatalf("Handle error = %v, want exit status 3", err)
				}
				if !strings.Contains(err.Error(), "'/data/a b.txt'") {
					t.Errorf("error %q does not name the command", err)
				}
			} else if err != nil {
				t.Fatalf("Handle: %v, want nil with ignoreError", err)
			}
			logs := buf.String()
			if !strings.Contains(logs, tt.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantInLog, logs)
			}
			if tt.notInLog != "" && strings.Contains(logs, tt.notInLog) {
				t.Errorf("log has %q:\n%s", tt.notInLog, logs)
			}
		})
	}
}

func TestCommandMissingProgram(t *testing.T) {
	t.Parallel()
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: "/nonexistent/hook"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), Change{Abs: "/data/a"}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Handle = %v, want a not-exist error", err)
	}
}

func TestCommandDebugPrintsCommand(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	var dbg outbuf.Buffer
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: helperPrefix(t, "argv", out), Suffix: "SUF"}, nil, &dbg)
	if err != nil {
		t.Fatal(err)
	}
	c := Change{Abs: "/data/it's a\nname"}
	if err := p.Handle(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := shellwords.JoinLine(p.Argv(c)) + "\n"
	if got := dbg.String(); got != want {
		t.Errorf("debug output %q, want %q", got, want)
	}
	if !strings.HasSuffix(dbg.String(), ` $'/data/it\'s a\nname' SUF`+"\n") {
		t.Errorf("debug output %q does not end with the quoted path and suffix", dbg.String())
	}
}

func TestCommandCancelStopsProgram(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: helperPrefix(t, "hang", out)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Handle(ctx, Change{Abs: "/data/x"}) }()
	waitFor(t, 10*time.Second, "helper to start", func() bool {
		_, err := os.Stat(filepath.Join(out, "started"))
		return err == nil
	})
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Handle returned nil for a cancelled, killed command")
		}
	case <-time.After(commandWaitDelay + 10*time.Second):
		t.Fatal("Handle did not return after cancel")
	}
}

// TestCommandTimeout: a command running past its timeout is stopped and
// reported as timed out.
func TestCommandTimeout(t *testing.T) {
	t.Parallel()
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: helperPrefix(t, "hang", t.TempDir())}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.timeout = 100 * time.Millisecond
	if err := p.Handle(context.Background(), Change{Abs: "/data/x"}); err == nil || !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("Handle = %v, want a timeout", err)
	}
}

func TestCommandClosed(t *testing.T) {
	t.Parallel()
	p, err := NewCommand(confxml.CommandPlugin{Present: true, Prefix: "/bin/echo"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := p.Handle(context.Background(), Change{Abs: "/x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close = %v, want ErrClosed", err)
	}
}

func TestCappedOutput(t *testing.T) {
	t.Parallel()
	var c capped
	chunk := bytes.Repeat([]byte("x"), 1000)
	for range 100 {
		if n, err := c.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.Len() != maxCommandOutput || c.Dropped() != 100*1000-maxCommandOutput {
		t.Errorf("kept %d, dropped %d; want %d, %d", c.Len(), c.Dropped(), maxCommandOutput, 100*1000-maxCommandOutput)
	}
}
