package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binPath is the sersync2 binary built once for the tests that run it.
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sersync2-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "sersync2")
	// -buildvcs=auto as make build has it: --version shows the revision.
	args := []string{"build", "-buildvcs=auto", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sersync2: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// runBin runs the built binary in dir with args and returns its output.
func runBin(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, withStateDir(dir, args)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sersync2 %q: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func TestCommandLineForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string // lines that must appear, in this order
		stderr    []string // substrings of stderr
		notStdout []string
	}{
		{
			name: "help after -d",
			args: []string{"-d", "-h", "-o", "x"},
			code: 0,
			stdout: []string{"parse the command param", "option: -d \trun as a daemon",
				"_______________________________________________________", "c参数-n: 指定开启守护线程的数量，默认为10个",
				"________________________________________________________________"},
			notStdout: []string{"set the system param", "option: -o"},
		},
		{
			name:   "long help",
			args:   []string{"--help"},
			code:   0,
			stdout: []string{"参数-d:启用守护进程模式", "~-n, --threads N ", "~-o, --config FILE "},
		},
		{
			name:   "unknown option",
			args:   []string{"--no-tune-kernel", "-x"},
			code:   1,
			stdout: []string{"命令行参数错误: 没有该选项-x"},
			stderr: []string{"invalid option -- 'x'"},
		},
		{
			name:   "missing argument",
			args:   []string{"--no-tune-kernel", "-o"},
			code:   1,
			stdout: []string{"命令行参数错误: 没有该选项-o"},
			stderr: []string{"option requires an argument -- 'o'"},
		},
		{
			name:   "empty config name",
			args:   []string{"--no-tune-kernel", "-o", ""},
			code:   1,
			stdout: []string{"option: -o \tconfig xml name：  ", "ERROR config file name empty"},
		},
		{
			name: "default config missing",
			args: []string{"--no-tune-kernel"},
			code: 255,
			stdout: []string{"set the system param", "parse the command param", "daemon thread num: 10", "parse xml config file",
				"XML Parsing error inside file 'confxml.xml'.", "Error: File not found", "At line 0, column 0."},
		},
		{
			name:   "positional argument ignored",
			args:   []string{"--no-tune-kernel", "/etc/sersync/c.xml"},
			code:   255,
			stdout: []string{"XML Parsing error inside file 'confxml.xml'."},
			stderr: []string{"ignoring command-line argument"},
		},
		{
			name:      "bundled flags in order",
			args:      []string{"--no-tune-kernel", "-rdo", "missing.xml", "-n", "3"},
			code:      255,
			stdout:    []string{"option: -r \trsync all the local files to the remote servers before the sersync work", "option: -d \trun as a daemon", "option: -o \tconfig xml name：  missing.xml", "option: -n \tthread num is：  3", "XML Parsing error inside file 'missing.xml'."},
			notStdout: []string{"daemon thread num: 10"},
		},
		{
			name:   "glued option argument",
			args:   []string{"--no-tune-kernel", "-dofoo.xml", "-n5"},
			code:   255,
			stdout: []string{"option: -d \trun as a daemon", "option: -o \tconfig xml name：  foo.xml", "option: -n \tthread num is：  5", "XML Parsing error inside file 'foo.xml'."},
		},
		{
			name:   "long forms print the original's lines",
			args:   []string{"--no-tune-kernel", "--sync-all", "--daemon", "--config", "missing.xml", "--threads", "4", "--module=socket"},
			code:   255,
			stdout: []string{"option: -r \trsync all the local files to the remote servers before the sersync work", "option: -d \trun as a daemon", "option: -o \tconfig xml name：  missing.xml", "option: -n \tthread num is：  4", "option: -m \tworking plugin name: socket", "XML Parsing error inside file 'missing.xml'."},
		},
		{
			name:   "http module refused",
			args:   []string{"--no-tune-kernel", "-m", "http"},
			code:   1,
			stdout: []string{"option: -m \tworking plugin name: http", "模块名称错误"},
		},
		{
			name:   "bad thread count",
			args:   []string{"--no-tune-kernel", "-n", "many"},
			code:   1,
			stderr: []string{`-n "many"`},
		},
		{
			name:   "dry run of a plugin",
			args:   []string{"--no-tune-kernel", "--dry-run", "-m", "command", "-o", "x.xml"},
			code:   exitUsage,
			stderr: []string{"--dry-run replicates without running rsync; -m runs a plugin only"},
		},
		{
			name:   "bad log level",
			args:   []string{"--no-tune-kernel", "--log-level", "loud", "-o", "x.xml"},
			code:   exitUsage,
			stderr: []string{`--log-level "loud": use debug, info, warn or error`},
		},
		{
			name:   "log file that is a symbolic link",
			args:   []string{"--no-tune-kernel", "--log-file", "/proc/self/cwd", "-o", "x.xml"},
			code:   exitHost,
			stderr: []string{"--log-file"},
		},
		{
			name:   "version",
			args:   []string{"--version"},
			code:   0,
			stdout: []string{versionLine()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBin(t, t.TempDir(), tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			assertLinesInOrder(t, r.stdout, tt.stdout)
			for _, s := range tt.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			for _, s := range tt.notStdout {
				if strings.Contains(r.stdout, s) {
					t.Errorf("stdout has %q but must not:\n%s", s, r.stdout)
				}
			}
		})
	}
}

// assertLinesInOrder checks that each want line appears as a whole line
// of out, after the previous one. A want starting with "~" only has to be
// contained in a line.
func assertLinesInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, w := range want {
		found := false
		for ; i < len(lines); i++ {
			if lines[i] == w || strings.HasPrefix(w, "~") && strings.Contains(lines[i], w[1:]) {
				found = true
				i++
				break
			}
		}
		if !found {
			t.Errorf("stdout lacks line %q (in order):\n%s", w, out)
			return
		}
	}
}

// TestManPageArguments: the man page names each option's argument as
// --help does (-n N, not the type of the flag's storage).
func TestManPageArguments(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	manPage(&b)
	for _, want := range []string{`\fB\-n\fR, \fB\-\-threads\fR \fIN\fR`, `\fB\-o\fR, \fB\-\-config\fR \fIFILE\fR`,
		`\fB\-\-log\-file\fR \fIFILE\fR`, `\fB\-\-log\-level\fR \fILEVEL\fR`, `\fB\-\-syslog\fR` + "\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(b.String(), `\fISTRING\fR`) {
		t.Error("an option's argument is shown as STRING")
	}
}

// versionLine is what --version of the test's binary must print: the Go
// toolchain records the revision of a checkout whose .git is a directory
// (not of a git worktree, whose .git is a file).
func versionLine() string {
	if fi, err := os.Stat("../../.git"); err == nil && fi.IsDir() {
		return "~(revision "
	}
	return "~sersync2 "
}
