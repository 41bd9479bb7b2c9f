package confxml

import (
	"errors"
	"testing"
)

func TestTrimOneSlash(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/data": "/data", "/data/": "/data", "/data//": "/data/", "/": "/", "//": "/", "": "", "a/": "a",
	} {
		if got := trimOneSlash(in); got != want {
			t.Errorf("trimOneSlash(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAtoi(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		n     int
		clean bool
	}{
		{"600", 600, true},
		{"0", 0, true},
		{"", 0, false},
		{"abc", 0, false},
		{"45min", 45, false},
		{" 12", 12, false},
		{"+7", 7, false},
		{"-5", -5, false},
		{"-", 0, false},
		{"99999999999999999999", 2147483647, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, clean := atoi(tt.in)
			if n != tt.n || clean != tt.clean {
				t.Errorf("atoi(%q) = %d, %v; want %d, %v", tt.in, n, clean, tt.n, tt.clean)
			}
		})
	}
}

func TestRecursive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		words []string
		want  bool
	}{
		{[]string{"-artuz"}, true},
		{[]string{"-tuz", "-r"}, true},
		{[]string{"--archive"}, true},
		{[]string{"--recursive", "-z"}, true},
		{[]string{"-tuz"}, false},
		{nil, false},
		{[]string{"--bwlimit=100", "--rsh=ssh -a"}, false},
		{[]string{"--", "-a"}, false},
		{[]string{"--partial-dir=.rsync-partial"}, false},
	}
	for _, tt := range tests {
		if got := recursive(tt.words); got != tt.want {
			t.Errorf("recursive(%q) = %v, want %v", tt.words, got, tt.want)
		}
	}
}

// TestEscapeRoundTrip checks that bytes which are not UTF-8 survive the trip
// through encoding/xml unchanged, and that valid text is left alone.
func TestEscapeRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []string{
		"plain", "图片", "caf\xe9", "\xff\xfe", "\xc3", "a\xe5\x9b", "\xed\xa0\x80 surrogate", "\U0010FF7F",
	}
	for _, in := range tests {
		esc, ok := escapeInvalid([]byte(in))
		if !ok {
			t.Errorf("escapeInvalid(%q) refused", in)
			continue
		}
		if got := unescape(string(esc)); got != in {
			t.Errorf("unescape(escapeInvalid(%q)) = %q", in, got)
		}
		// Through the whole decoder: declared ISO-8859-1, value kept as is.
		doc := `<?xml version="1.0" encoding="ISO-8859-1"?><head><host hostip="` + in + `" port="1"/></head>`
		c, err := decode("c.xml", []byte(doc), true, "socket")
		var pe *ParseError
		if errors.As(err, &pe) {
			t.Errorf("decode of hostip %q: %v", in, err)
		} else if c.Host.IP != in {
			t.Errorf("hostip %q came out as %q", in, c.Host.IP)
		}
	}
	if _, ok := escapeInvalid([]byte("a\U0010FF80")); ok {
		t.Error("escapeInvalid accepted a reserved rune")
	}
	if got, want := unescape("a\U0010FFE9b"), "a\xe9b"; got != want {
		t.Errorf("unescape = %q, want %q", got, want)
	}
}
