package shellwords

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var splitTests = []struct {
	name string
	in   string
	want []string
}{
	{"empty", "", nil},
	{"blanks only", " \t\n ", nil},
	{"one word", "-artuz", []string{"-artuz"}},
	{"common params", "-artuz --bwlimit=100", []string{"-artuz", "--bwlimit=100"}},
	{"runs of blanks", "  a \t b\n\nc  ", []string{"a", "b", "c"}},
	{"blanks no newline", "  a \t b  c  ", []string{"a", "b", "c"}},
	{"single quotes", `'a b' c`, []string{"a b", "c"}},
	{"single quotes keep backslash", `'a\b\'`, []string{`a\b\`}},
	{"double quotes", `"a b" c`, []string{"a b", "c"}},
	{"double quote escapes", `"\$ \` + "`" + ` \" \\"`, []string{"$ ` \" \\"}},
	{"double quote keeps other backslash", `"\a\n\'"`, []string{`\a\n\'`}},
	{"double quote line continuation", "\"a\\\nb\"", []string{"ab"}},
	{"empty single quotes", `a '' b`, []string{"a", "", "b"}},
	{"empty double quotes", `""`, []string{""}},
	{"adjacent quoting joins", `a'b'"c"\ d`, []string{"abc d"}},
	{"backslash escapes blank", `a\ b`, []string{"a b"}},
	{"backslash escapes quote", `\'a\"`, []string{`'a"`}},
	{"backslash backslash", `a\\b`, []string{`a\b`}},
	{"backslash newline removed", "a\\\nb c", []string{"ab", "c"}},
	{"trailing backslash kept", `a\`, []string{`a\`}},
	{"ssh command", "ssh -p 2222 -i '/root/.ssh/my key'", []string{"ssh", "-p", "2222", "-i", "/root/.ssh/my key"}},
	{"dollar literal", `$x ${y} "$z"`, []string{"$x", "${y}", "$z"}},
	{"command substitution literal", "$(touch X) `touch Y`", []string{"$(touch", "X)", "`touch", "Y`"}},
	{"no globbing", `* ?.txt [1]`, []string{"*", "?.txt", "[1]"}},
	{"operators literal", `a;b | c&&d >e <f`, []string{"a;b", "|", "c&&d", ">e", "<f"}},
	{"hash literal", `a #b`, []string{"a", "#b"}},
	{"tilde literal", `~ ~root/x`, []string{"~", "~root/x"}},
	{"quote inside other quote", `"it's" 'say "hi"'`, []string{"it's", `say "hi"`}},
	{"invalid utf8 kept", "\xff\xfe a\x80", []string{"\xff\xfe", "a\x80"}},
	{"utf8", "/data/图片 -v", []string{"/data/图片", "-v"}},
	{"carriage return is not a blank", "a\rb", []string{"a\rb"}},
	{"newline inside quotes kept", "'a\nb'", []string{"a\nb"}},
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tt := range splitTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.in)
			if err != nil {
				t.Fatalf("Split(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		pos  string // the error names the opening quote's byte offset
	}{
		{"single", `a 'b c`, "' at byte 2"},
		{"double", `"a b`, `" at byte 0`},
		{"escaped closing double", `"a\"`, `" at byte 0`},
		{"single after escaped", `\' 'x`, "' at byte 3"},
		{"double inside single is literal, lone double", `'"' "`, `" at byte 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.in)
			if !errors.Is(err, ErrUnterminatedQuote) {
				t.Fatalf("Split(%q) = %q, %v; want ErrUnterminatedQuote", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.pos) {
				t.Errorf("error %q does not contain %q", err, tt.pos)
			}
			if got != nil {
				t.Errorf("Split(%q) returned words %q with an error", tt.in, got)
			}
		})
	}
}

// shEndsCommand names the table cases with an unquoted newline, which ends
// the command in sh and is a blank for Split.
var shEndsCommand = map[string]bool{"blanks only": true, "runs of blanks": true}

// TestSplitMatchesSh runs every table input that contains nothing sh would
// expand or treat as an operator through the real /bin/sh and checks that it
// splits the same way.
func TestSplitMatchesSh(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH:", err)
	}
	checked := 0
	for _, tt := range splitTests {
		if strings.ContainsAny(tt.in, "$`;|&<>()#~*?[") || shEndsCommand[tt.name] {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			// f prints its argument count, then each argument, NUL-terminated.
			// The input comes last so a trailing backslash stays trailing.
			cmd := exec.Command(sh, "-c", `f() { printf '%s\0' "$#" "$@"; }; f `+tt.in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("sh -c: %v", err)
			}
			parts := strings.Split(string(out), "\x00")
			parts = parts[:len(parts)-1] // after the last NUL
			if n := strconv.Itoa(len(parts) - 1); parts[0] != n {
				t.Fatalf("sh reports %s words, printed %s", parts[0], n)
			}
			var want []string
			if len(parts) > 1 {
				want = parts[1:]
			}
			got, _ := Split(tt.in)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Split(%q) = %q, sh gives %q", tt.in, got, want)
			}
		})
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d cases compared with sh", checked)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", "''"},
		{"-artuz", "-artuz"},
		{"--bwlimit=100", "--bwlimit=100"},
		{"10.0.0.2::www", "10.0.0.2::www"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(touch X)", "'$(touch X)'"},
		{"`x`", "'`x`'"},
		{"-", "-"},
		{"a\nb", "'a\nb'"},
		{"*", "'*'"},
		{"~", "'~'"},
		{"#", "'#'"},
		{"\xff", "'\xff'"},
		{"--exclude=*", "'--exclude=*'"},
		{"~x", "'~x'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestQuoteLine: the display form for a log or debug line.
func TestQuoteLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/bin/echo", "/data/a.php", "SUF"}, "/bin/echo /data/a.php SUF"},
		{[]string{"/bin/echo", "/data/sp ace"}, "/bin/echo '/data/sp ace'"},
		{[]string{"x", "it's"}, `x 'it'\''s'`},
		{[]string{"x", "$(touch PWNED)", "`b`", "a;b"}, "x '$(touch PWNED)' '`b`' 'a;b'"},
		{[]string{"x", ""}, "x ''"},
		{[]string{"x", "new\nline"}, `x $'new\nline'`},
		{[]string{"x", "\xff\xfe"}, `x $'\xff\xfe'`},
		{[]string{"x", "tab\tand 'q' \\"}, `x $'tab\tand \'q\' \\'`},
		{[]string{"x", "cr\r\x01"}, `x $'cr\r\x01'`},
		{[]string{"x", "héllo"}, "x 'héllo'"},
	}
	for _, tt := range tests {
		if got := JoinLine(tt.argv); got != tt.want {
			t.Errorf("JoinLine(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

// FuzzJoinLine checks that the display form is never ambiguous: for words
// a POSIX shell can read back without $'…', splitting it gives the words.
func FuzzJoinLine(f *testing.F) {
	for _, w := range hostileWords {
		f.Add("/bin/echo", "/data/"+w)
	}
	f.Add("", "'")
	f.Fuzz(func(t *testing.T, a, b string) {
		words := []string{a, b}
		q := JoinLine(words)
		if strings.Contains(q, "$'") {
			return // bash-only form, not readable by Split
		}
		got, err := Split(q)
		if err != nil {
			t.Fatalf("Split(%q): %v", q, err)
		}
		if !reflect.DeepEqual(got, words) {
			t.Fatalf("Split(JoinLine(%q)) = %q", words, got)
		}
	})
}

// hostileWords are the file names every end-to-end test must survive.
var hostileWords = []string{
	"sp ace", `dq"uote`, "sq'uote", "back`quote", "$(touch X)", "semi;colon",
	"-leading", "star*", "br[1]", `back\slash`, "new\nline", "\xff\xfe", "", "''", `'\''`,
}

// TestQuoteRoundTripSh checks with the real /bin/sh that Join's output is
// shell-safe: sh sees exactly the original words, runs nothing, expands nothing.
func TestQuoteRoundTripSh(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH:", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(sh, "-c", `printf '%s\0' `+Join(hostileWords))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c: %v", err)
	}
	want := strings.Join(hostileWords, "\x00") + "\x00"
	if string(out) != want {
		t.Errorf("sh printed %q, want %q", out, want)
	}
	if _, err := os.Stat(dir + "/X"); err == nil {
		t.Error("quoted $(touch X) was executed by sh")
	}
	got, err := Split(Join(hostileWords))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, hostileWords) {
		t.Errorf("Split(Join(w)) = %q, want %q", got, hostileWords)
	}
}

func FuzzSplit(f *testing.F) {
	for _, tt := range splitTests {
		f.Add(tt.in)
	}
	for _, w := range hostileWords {
		f.Add(w)
	}
	f.Add(`"a\"`)
	f.Add(`'`)
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			if !errors.Is(err, ErrUnterminatedQuote) {
				t.Fatalf("Split(%q): unexpected error kind %v", s, err)
			}
			if words != nil {
				t.Fatalf("Split(%q) returned words with an error", s)
			}
		} else {
			again, err := Split(Join(words))
			if err != nil {
				t.Fatalf("Split(Join(%q)): %v", words, err)
			}
			if !reflect.DeepEqual(again, words) {
				t.Fatalf("Split(Join(%q)) = %q", words, again)
			}
		}
		// Any string, even unsplittable, survives Quote as one word.
		one, err := Split(Quote(s))
		if err != nil || len(one) != 1 || one[0] != s {
			t.Fatalf("Split(Quote(%q)) = %q, %v", s, one, err)
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	s := `-artuz --bwlimit=100 --exclude='a b' "--rsh=ssh -p 22" x\ y`
	for b.Loop() {
		if _, err := Split(s); err != nil {
			b.Fatal(err)
		}
	}
}
