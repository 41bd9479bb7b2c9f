package rsyncexec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sersync-go/sersync2/queue"
)

// escapeNames are names made of rsync's own escape syntax.
var escapeNames = []string{`\#`, `\#12`, `\#012`, `\#134`, `\#999`, `x\#0123`, `\\#377`, `\#\#000`}

// rsyncEscape writes name as rsync prints it: control bytes (not tab),
// DEL and bytes of invalid UTF-8 as \#ooo, a backslash that is followed by
// '#' and three digits as \#134, everything else as it is.
func rsyncEscape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		c := name[i]
		switch {
		case c == '\\' && i+4 < len(name) && name[i+1] == '#' && isDigit(name[i+2]) && isDigit(name[i+3]) && isDigit(name[i+4]),
			c < 0x20 && c != '\t', c == 0x7f, r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\#%03o`, c)
			i++
		default:
			b.WriteString(name[i : i+size])
			i += size
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// TestParseDeletion: deletion lines as rsync 3.x prints them under
// --out-format="%i %n" (taken from real dry runs), escapes decoded; other
// lines ignored; names rsync never prints refused.
func TestParseDeletion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    queue.Entry
		ok, err bool
	}{
		{line: `*deleting   old.gz`, want: queue.Entry{Path: "old.gz"}, ok: true},
		{line: `*deleting   olddir/sub/`, want: queue.Entry{Path: "olddir/sub", Dir: true}, ok: true},
		{line: `*deleting   olddir/n\#012l`, want: queue.Entry{Path: "olddir/n\nl"}, ok: true},
		{line: `*deleting   \#377\#376 bad`, want: queue.Entry{Path: "\xff\xfe bad"}, ok: true},
		{line: `*deleting   back\#134#123x`, want: queue.Entry{Path: `back\#123x`}, ok: true},
		{line: `*deleting   back\#12`, want: queue.Entry{Path: `back\#12`}, ok: true},
		{line: `*deleting   back\#999`, want: queue.Entry{Path: `back\#999`}, ok: true}, // not octal: rsync never writes it, read literally
		{line: `*deleting   \#400`, want: queue.Entry{Path: `\#400`}, ok: true},         // not a byte
		{line: `*deleting   \#134\#134`, want: queue.Entry{Path: `\\`}, ok: true},
		{line: `*deleting   \#134#000`, want: queue.Entry{Path: `\#000`}, ok: true},
		{line: `*deleting   c\#015r`, want: queue.Entry{Path: "c\rr"}, ok: true},
		{line: "*deleting   t\tab", want: queue.Entry{Path: "t\tab"}, ok: true},
		{line: `*deleting   -lead`, want: queue.Entry{Path: "-lead"}, ok: true},
		{line: `*deleting    sp `, want: queue.Entry{Path: " sp "}, ok: true},
		{line: `*deleting   ln -> x`, want: queue.Entry{Path: "ln -> x"}, ok: true},
		{line: `*deleting   é/`, want: queue.Entry{Path: "é", Dir: true}, ok: true},
		{line: `*deleting   *deleting   x`, want: queue.Entry{Path: "*deleting   x"}, ok: true},
		{line: `>f+++++++++ a`},
		{line: `<f.st...... *deleting   a`},
		{line: `.d..t...... ./`},
		{line: `sending incremental file list`},
		{line: `deleting old.gz`}, // -v without --out-format: not what the dry run asks for
		{line: `*deleting  old.gz`},
		{line: ``},
		{line: `*deleting   `, err: true},
		{line: `*deleting   /`, err: true},
		{line: `*deleting   ../x`, err: true},
		{line: `*deleting   /etc/passwd`, err: true},
		{line: `*deleting   a//b`, err: true},
		{line: `*deleting   ./a`, err: true},
		{line: `*deleting   a/\#000`, err: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.line), func(t *testing.T) {
			got, ok, err := ParseDeletion(tt.line)
			if (err != nil) != tt.err || (tt.err && !errors.Is(err, ErrBadPath)) {
				t.Fatalf("ParseDeletion(%q) error %v, want error %v", tt.line, err, tt.err)
			}
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseDeletion(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestKeeper: of each path a dry run deletes, the topmost one the filter
// excludes is kept, each once; the filter is asked about a directory once.
func TestKeeper(t *testing.T) {
	t.Parallel()
	gz := func(rel string, dir bool) bool {
		return strings.HasSuffix(rel, ".gz") || dir && rel == "cache" || rel == "a/keep"
	}
	tests := []struct {
		name  string
		lines []string
		want  []queue.Entry
	}{
		{"file", []string{`*deleting   old.gz`, `*deleting   old.txt`}, files("old.gz")},
		{"nested", []string{`*deleting   d/e/f.gz`, `*deleting   d/e/`, `*deleting   d/`}, files("d/e/f.gz")},
		{"excluded directory, content first", []string{`*deleting   cache/x/y`, `*deleting   cache/x/`, `*deleting   cache/z.gz`, `*deleting   cache/`},
			dirs("cache")},
		{"directory named like a file rule", []string{`*deleting   t.gz/in`, `*deleting   t.gz/`}, dirs("t.gz")},
		{"excluded as a file or a directory", []string{`*deleting   a/keep`, `*deleting   a/`}, files("a/keep")},
		{"cache as a file is not excluded", []string{`*deleting   cache`}, nil},
		{"hostile", []string{`*deleting   n\#012l.gz`, `*deleting   -x.gz`, `*deleting   \#377.gz/a`, `*deleting   \#377.gz/`},
			append(files("n\nl.gz", "-x.gz"), dirs("\xff.gz")...)},
		{"noise", []string{`sending incremental file list`, `>f+++++++++ new.gz`, ``, `sent 1 bytes`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := map[queue.Entry]int{}
			k := newKeeper(func(rel string, dir bool) bool {
				asked[queue.Entry{Path: rel, Dir: dir}]++
				return gz(rel, dir)
			})
			for _, l := range tt.lines {
				k.line(l)
			}
			got, err := k.result()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("kept %+v, want %+v", got, tt.want)
			}
			for e, n := range asked {
				if n > 1 {
					t.Errorf("filter asked %d times about %+v", n, e)
				}
			}
		})
	}
	k := newKeeper(gz)
	k.line(`*deleting   ../up`)
	k.line(`*deleting   old.gz`)
	if _, err := k.result(); !errors.Is(err, ErrBadPath) {
		t.Errorf("a bad line: error %v, want ErrBadPath", err)
	}
}

// FuzzParseDeletion: any line parses without panic into nothing, an error
// or a clean relative path; a deletion line made from any name the way
// rsync escapes it gives that name back.
func FuzzParseDeletion(f *testing.F) {
	for _, n := range append(hostileNames(f), escapeNames...) {
		f.Add(deletingPrefix+rsyncEscape(n), false)
		f.Add(n, true)
	}
	f.Fuzz(func(t *testing.T, line string, dir bool) {
		e, ok, err := ParseDeletion(line)
		if err != nil && (ok || !errors.Is(err, ErrBadPath)) {
			t.Fatalf("ParseDeletion(%q) = %v, %v", line, ok, err)
		}
		if ok {
			if CleanRel(e.Path) != nil {
				t.Fatalf("ParseDeletion(%q) = %q: not a clean relative path", line, e.Path)
			}
		}
		name := line // the input as a name
		if CleanRel(name) != nil {
			return
		}
		suffix := ""
		if dir {
			suffix = "/"
		}
		l := deletingPrefix + rsyncEscape(name) + suffix
		got, ok, err := ParseDeletion(l)
		if err != nil || !ok || got != (queue.Entry{Path: name, Dir: dir}) {
			t.Fatalf("ParseDeletion(%q) = %+v, %v, %v; want %q", l, got, ok, err, name)
		}
	})
}
