package lsyncdconf

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/lsyncd")

const testdata = "../testdata/lsyncd"

// configs lists the lsyncd configurations under testdata (files ending in
// .inc.lua are included by others).
func configs(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(testdata, "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".inc.lua") {
			out = append(out, p)
		}
	}
	if len(out) < 8 {
		t.Fatalf("only %d configurations in %s", len(out), testdata)
	}
	return out
}

// golden compares got with the file, or rewrites it with -update. The
// absolute path of testdata is written as TESTDATA so that the files do
// not depend on where the repository is.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	abs, err := filepath.Abs(testdata)
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(abs), []byte("TESTDATA"))
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lsyncdconf -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./lsyncdconf -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGolden converts every configuration under testdata/lsyncd and
// compares the XML and the report with the golden files next to it; a
// configuration that cannot be converted has only a .report with the
// error.
func TestGolden(t *testing.T) {
	for _, p := range configs(t) {
		name := strings.TrimSuffix(filepath.Base(p), ".lua")
		t.Run(name, func(t *testing.T) {
			res, err := ConvertFile(context.Background(), p)
			base := strings.TrimSuffix(p, ".lua")
			report := res.Report()
			if err != nil {
				if !strings.HasPrefix(name, "bad-") {
					t.Fatalf("convert: %v", err)
				}
				report = "error: " + err.Error() + "\n"
			} else if strings.HasPrefix(name, "bad-") {
				t.Fatalf("a bad- configuration converted")
			}
			if err == nil {
				golden(t, base+".xml", res.XML)
			}
			golden(t, base+".report", []byte(report))
		})
	}
}

// TestUnsupportedReported checks that constructs without an equivalent
// are named with their file and line and make the result incomplete.
func TestUnsupportedReported(t *testing.T) {
	res, err := ConvertFile(context.Background(), filepath.Join(testdata, "hooks-unsupported.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete() {
		t.Fatal("Complete() = true for custom hooks")
	}
	want := map[string]string{
		"onCreate":        "hooks-unsupported.lua:14",
		"action":          "hooks-unsupported.lua:31",
		"sync{}":          "hooks-unsupported.lua:25",
		"statusIntervall": "hooks-unsupported.lua:3",
	}
	for item, at := range want {
		found := false
		for _, n := range res.Notes {
			if n.Item == item && n.At == at && n.Lost {
				found = true
			}
		}
		if !found {
			t.Errorf("no lost note for %s at %s in\n%s", item, at, res.Report())
		}
	}
}

// TestSandbox checks that the interpreter cannot run commands, write or
// read files outside the configuration's directory, and that a loop
// that never ends is stopped.
func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.lua")
	if err := os.WriteFile(outside, []byte(`sync{default.rsync, source="/x", target="h::m"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, want string
	}{
		{"os.execute", `os.execute("touch /tmp/pwned")`, "attempt to call a non-function object"},
		{"io.popen", `io.popen("id")`, "attempt to index a non-table object(nil) with key 'popen'"},
		{"io.open", `io.open("/tmp/pwned", "w")`, "attempt to index a non-table object(nil) with key 'open'"},
		{"dofile outside", `dofile("` + outside + `")`, "outside the configuration's directory"},
		{"dofile dotdot", `dofile("../` + filepath.Base(filepath.Dir(outside)) + `/outside.lua")`, "outside the configuration's directory"},
		{"require outside", `require("..outside")`, "only modules in the configuration's directory"},
		{"loadfile", `loadfile("/etc/passwd")`, "attempt to call a non-function object"},
		{"endless loop", `while true do end`, "still running after"},
		{"huge string", `local s = string.rep("x", 1e9)`, "longer than"},
		{"recursion", `local function f() return 1 + f() end f()`, "stack overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "c.lua")
			_, err := Convert(context.Background(), p, []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("/tmp/pwned exists")
	}
}

// TestNoSync: a configuration without sync{} gives ErrNoSync.
func TestNoSync(t *testing.T) {
	_, err := Convert(context.Background(), "x.lua", []byte(`settings{logfile="/x"}`))
	if !errors.Is(err, ErrNoSync) {
		t.Fatalf("err = %v, want ErrNoSync", err)
	}
}
