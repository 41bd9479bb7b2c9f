package confxml

import (
	"errors"
	"fmt"
	"slices"
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

// TestRecursion: Recursive says whether params recurse at all; Recursion
// also whether only through -a (which rsync drops under --files-from).
func TestRecursion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		params      []string
		archiveOnly bool
		recursive   bool
	}{
		{nil, false, false},
		{[]string{"-artuz"}, false, true},
		{[]string{"-az"}, true, true},
		{[]string{"-a", "-z"}, true, true},
		{[]string{"--archive"}, true, true},
		{[]string{"-tuz", "-r"}, false, true},
		{[]string{"--recursive", "-z"}, false, true},
		{[]string{"-a", "-r"}, false, true},
		{[]string{"-a", "--recursive"}, false, true},
		{[]string{"-r", "-a"}, false, true},
		{[]string{"-a", "--no-r"}, false, false},
		{[]string{"-a", "--no-recursive"}, false, false},
		{[]string{"--no-r", "-a"}, true, true},
		{[]string{"-tuz"}, false, false},
		{[]string{"-e", "ssh -ar"}, false, false},         // -e's argument is not options
		{[]string{"-essh", "-a"}, true, true},             // attached argument
		{[]string{"-zB", "-r", "-a"}, true, true},         // -r is -B's argument
		{[]string{"-zB-r", "-a"}, true, true},             // attached
		{[]string{"--exclude", "-r", "-a"}, true, true},   // -r is --exclude's argument
		{[]string{"--exclude=-r", "-a"}, true, true},      // attached
		{[]string{"--bwlimit", "100", "-av"}, true, true}, // long option with separate argument
		{[]string{"-a", "--", "-r"}, true, true},
		{[]string{"--", "-a"}, false, false},
		{[]string{"--exclude", "-a", "-tz"}, false, false}, // -a is an argument
		{[]string{"--bwlimit=100", "--rsh=ssh -a"}, false, false},
		{[]string{"--partial-dir=.rsync-partial"}, false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.params), func(t *testing.T) {
			r := Rsync{Params: tt.params}
			if got := r.Recursion() == RecursionArchive; got != tt.archiveOnly {
				t.Errorf("Recursion(%q) == RecursionArchive is %v, want %v", tt.params, got, tt.archiveOnly)
			}
			if got := r.Recursive(); got != tt.recursive {
				t.Errorf("Recursive(%q) = %v, want %v", tt.params, got, tt.recursive)
			}
		})
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

// TestParamsWithoutQuiet: -q goes, whether alone, long or in a cluster;
// a q that is an option's argument stays.
func TestParamsWithoutQuiet(t *testing.T) {
	t.Parallel()
	tests := []struct{ params, want []string }{
		{[]string{"-artuz"}, []string{"-artuz"}},
		{[]string{"-artuzq"}, []string{"-artuz"}},
		{[]string{"-qartuz", "-q"}, []string{"-artuz"}},
		{[]string{"-q", "--quiet", "-a"}, []string{"-a"}},
		{[]string{"-qessh -q"}, []string{"-essh -q"}},            // attached argument
		{[]string{"-e", "-q", "-a"}, []string{"-e", "-q", "-a"}}, // -q is -e's argument
		{[]string{"--exclude", "-q"}, []string{"--exclude", "-q"}},
		{[]string{"--exclude=-q", "-aq"}, []string{"--exclude=-q", "-a"}},
		{[]string{"-a", "--", "-q"}, []string{"-a", "--", "-q"}},
		{[]string{"--quiet=1"}, []string{"--quiet=1"}}, // not rsync's spelling: left for rsync to refuse
		{nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.params), func(t *testing.T) {
			got := Rsync{Params: tt.params}.ParamsWithoutQuiet()
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParamsWithoutQuiet(%q) = %q, want %q", tt.params, got, tt.want)
			}
		})
	}
}

// TestParamsWithoutDeletion: every deletion option goes, other words stay.
func TestParamsWithoutDeletion(t *testing.T) {
	t.Parallel()
	tests := []struct{ params, want []string }{
		{[]string{"-artuz", "--delete"}, []string{"-artuz"}},
		{[]string{"--del", "-a", "--delete-after", "--delete-excluded", "--delete-delay"}, []string{"-a"}},
		{[]string{"-a", "--delay-updates", "--max-delete=5"}, []string{"-a", "--delay-updates", "--max-delete=5"}},
		{[]string{"--exclude", "--delete", "-a"}, []string{"--exclude", "--delete", "-a"}}, // an argument
		{[]string{"-a", "--", "--delete"}, []string{"-a", "--", "--delete"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.params), func(t *testing.T) {
			got := Rsync{Params: tt.params}.ParamsWithoutDeletion()
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParamsWithoutDeletion(%q) = %q, want %q", tt.params, got, tt.want)
			}
		})
	}
}

// TestPluginMode: -m picks refreshCDN, then socket, then command,
// whichever was given, as the original did; http and unknown names are
// refused, naming what was given.
func TestPluginMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    []string
		want  string
		error string
	}{
		{"none: sync mode", nil, "", ""},
		{"one", []string{"socket"}, "socket", ""},
		{"refreshCDN first", []string{"command", "socket", "refreshCDN"}, "refreshCDN", ""},
		{"socket before command", []string{"command", "socket"}, "socket", ""},
		{"unknown ignored beside a known one", []string{"nope", "command"}, "command", ""},
		{"http", []string{"http"}, "", "-m http: the http plugin is not supported (the original's build had it compiled out)"},
		{"unknown", []string{"nope", "Socket"}, "", "-m nope,Socket: unknown plugin; use refreshCDN, socket or command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PluginMode(tt.in)
			if got != tt.want || (err == nil) != (tt.error == "") || err != nil && (err.Error() != tt.error || !errors.Is(err, ErrUnknownPlugin)) {
				t.Errorf("PluginMode(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.error)
			}
		})
	}
}
