package failog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMetaRoundTrip: every entry written comes back identical, whatever
// bytes its path holds, and its line is one line.
func TestMetaRoundTrip(t *testing.T) {
	t.Parallel()
	base := Entry{Root: "/data", Remote: "10.0.0.2::www", Errno: 10, Failures: 3, First: t0, Last: t0.Add(time.Minute)}
	with := func(f func(*Entry)) Entry { e := base; f(&e); return e }
	tests := []struct {
		name string
		e    Entry
	}{
		{"update", with(func(e *Entry) { e.Op, e.Path = Update, "a.txt" })},
		{"remove dir", with(func(e *Entry) { e.Op, e.Path, e.Dir = Remove, "d1/d2", true })},
		{"replaced", with(func(e *Entry) { e.Op, e.Path, e.Dir, e.Replaced = Update, "d", true, true })},
		{"full", with(func(e *Entry) { e.Op = Full })},
		{"no exit code", with(func(e *Entry) { e.Op, e.Path, e.Errno = Update, "x", -1 })},
		{"root with quote and space", with(func(e *Entry) { e.Op, e.Path, e.Root = Update, "x", `/da "ta` })},
		{"ssh remote", with(func(e *Entry) { e.Op, e.Path, e.Remote = Update, "x", "u@[fd00::2]:/srv/www" })},
	}
	for _, n := range hostileNames(t) {
		tests = append(tests, struct {
			name string
			e    Entry
		}{"hostile " + n, with(func(e *Entry) { e.Op, e.Path = Update, "sub/"+n })})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := tt.e.metaLine()
			if strings.ContainsAny(line, "\n\r\x00") {
				t.Fatalf("line breaks: %q", line)
			}
			got, err := parseMeta(line)
			if err != nil {
				t.Fatalf("parseMeta(%q): %v", line, err)
			}
			if got != tt.e {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, tt.e)
			}
		})
	}
}

// TestParseMetaRefuses: lines that are not entries, or entries the engine
// must not replay (a path leaving the root), are refused.
func TestParseMetaRefuses(t *testing.T) {
	t.Parallel()
	const ok = `#sersync2 op=update root="/data" remote="h::m" path="a"`
	if _, err := parseMeta(ok); err != nil {
		t.Fatalf("base line refused: %v", err)
	}
	tests := []struct{ name, line string }{
		{"not ours", `#errno 2560`},
		{"no op", `#sersync2 root="/data" remote="h::m" path="a"`},
		{"unknown op", `#sersync2 op=delete root="/data" remote="h::m" path="a"`},
		{"no root", `#sersync2 op=update remote="h::m" path="a"`},
		{"relative root", `#sersync2 op=update root="data" remote="h::m" path="a"`},
		{"no remote", `#sersync2 op=update root="/data" path="a"`},
		{"no path", `#sersync2 op=update root="/data" remote="h::m"`},
		{"absolute path", `#sersync2 op=update root="/data" remote="h::m" path="/etc/passwd"`},
		{"dotdot", `#sersync2 op=update root="/data" remote="h::m" path="a/../../etc"`},
		{"dot", `#sersync2 op=update root="/data" remote="h::m" path="."`},
		{"empty component", `#sersync2 op=update root="/data" remote="h::m" path="a//b"`},
		{"NUL", `#sersync2 op=update root="/data" remote="h::m" path="a\x00b"`},
		{"full with path", `#sersync2 op=full root="/data" remote="h::m" path="a"`},
		{"unterminated quote", `#sersync2 op=update root="/data remote="h::m" path="a"`},
		{"text after quotes", `#sersync2 op=update root="/data"x remote="h::m" path="a"`},
		{"twice", `#sersync2 op=update op=remove root="/data" remote="h::m" path="a"`},
		{"bad number", `#sersync2 op=update root="/data" remote="h::m" path="a" errno=ten`},
		{"bad time", `#sersync2 op=update root="/data" remote="h::m" path="a" first=yesterday`},
		{"no key", `#sersync2 op=update root="/data" remote="h::m" ="a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := parseMeta(tt.line); !errors.Is(err, errBadMeta) {
				t.Fatalf("parseMeta(%q) = %+v, %v; want errBadMeta", tt.line, e, err)
			}
		})
	}
}

// TestErrnoLine: the comment says what the number is.
func TestErrnoLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		errno, failures int
		want            string
	}{
		{10, 1, "#errno 10: rsync exit code (error in socket I/O); 1 failure since 2026-11-26T10:00:00Z"},
		{23, 4, "#errno 23: rsync exit code (partial transfer due to error); 4 failures since 2026-11-26T10:00:00Z"},
		{-1, 2, "#errno -1: no rsync exit code (rsync was killed by a signal or did not run); 2 failures since 2026-11-26T10:00:00Z"},
	}
	for _, tt := range tests {
		e := Entry{Errno: tt.errno, Failures: tt.failures, First: t0}
		if got := e.errnoLine(); got != tt.want {
			t.Errorf("errno %d:\n got %q\nwant %q", tt.errno, got, tt.want)
		}
	}
}

// TestParseBlocks: entries are found between empty lines; the header is
// skipped; a torn last line or a block with two entry lines is not an
// entry.
func TestParseBlocks(t *testing.T) {
	t.Parallel()
	e := Entry{Root: "/data", Remote: "h::m", Op: Update, Path: "a", Failures: 1, First: t0, Last: t0}
	f := e
	f.Path = "b"
	entry := func(e Entry) string { return e.errnoLine() + "\n" + e.metaLine() + "\ncd /data && rsync x\n" }
	tests := []struct {
		name      string
		data      string
		entries   []string
		otherText int
	}{
		{"empty", "", nil, 0},
		{"header only", string(render(nil)), nil, 0},
		{"two entries", string(render([]string{entry(e), entry(f)})), []string{"update a", "update b"}, 0},
		{"original's entry", "#errno 2560\ncd /data && rsync -artuz -R \"./r10.txt\" 10.0.0.2::www >/dev/null 2>&1 \n\n", nil, 1},
		{"torn last line", string(render([]string{entry(e)})) + strings.TrimSuffix(entry(f), "\n")[:40], []string{"update a"}, 1},
		{"torn entry line", string(render([]string{entry(e)})) + "#errno 10\n" + f.metaLine(), []string{"update a"}, 1},
		{"two entry lines in one block", e.metaLine() + "\n" + f.metaLine() + "\n", nil, 1},
		{"no header, blank lines around", "\n\n" + entry(e) + "\n\n\n", []string{"update a"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, other := Parse([]byte(tt.data))
			var names []string
			for _, g := range got {
				names = append(names, g.Op.String()+" "+g.Path)
			}
			if strings.Join(names, ",") != strings.Join(tt.entries, ",") || other != tt.otherText {
				t.Fatalf("Parse: entries %q other %d; want %q other %d", names, other, tt.entries, tt.otherText)
			}
		})
	}
}
