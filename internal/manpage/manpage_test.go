package manpage

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestOptions: each flag's paragraph names its argument as --help does
// (the backquoted word of its usage, else the value's type), adds a
// default the usage does not give, and hidden flags are left out.
func TestOptions(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.StringP("threads", "n", "", "at most `N` processes (default 10)")
	fs.String("log-file", "", "write to `FILE`")
	fs.Bool("syslog", false, "log to syslog")
	fs.String("format", "text", "output format")
	fs.Duration("every", 0, "how often")
	fs.Bool("secret", false, "hidden")
	_ = fs.MarkHidden("secret")
	var b strings.Builder
	Write(&b, Page{Name: "x", Section: 1, Version: "1.0-rc.1", Manual: "M", Flags: fs})
	tests := []struct{ name, want string }{
		{"argument named in usage", ".TP\n" + `\fB\-n\fR, \fB\-\-threads\fR \fIN\fR` + "\nat most N processes (default 10)\n"},
		{"hyphen in name escaped", ".TP\n" + `\fB\-\-log\-file\fR \fIFILE\fR` + "\nwrite to FILE\n"},
		{"bool has no argument", ".TP\n" + `\fB\-\-syslog\fR` + "\nlog to syslog\n"},
		{"type when usage names none, default added", ".TP\n" + `\fB\-\-format\fR \fISTRING\fR` + "\noutput format (default text)\n"},
		{"zero default left out", ".TP\n" + `\fB\-\-every\fR \fIDURATION\fR` + "\nhow often\n"},
		{"version escaped", `.TH X 1 "" "x 1.0\-rc.1" "M"` + "\n"},
	}
	for _, tt := range tests {
		if !strings.Contains(b.String(), tt.want) {
			t.Errorf("%s: page lacks %q:\n%s", tt.name, tt.want, b.String())
		}
	}
	if strings.Contains(b.String(), "secret") {
		t.Errorf("hidden flag shown:\n%s", b.String())
	}
}

// TestSections: the fixed sections follow OPTIONS in order, tags bold or
// italic as asked.
func TestSections(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	Write(&b, Page{Name: "x", Section: 8, Flags: pflag.NewFlagSet("x", pflag.ContinueOnError), Sections: []Section{
		{Title: "SIGNALS", Items: []Item{{Tag: "SIGHUP", Text: "Reload."}}},
		{Title: "FILES", Italic: true, Items: []Item{{Tag: "/etc/x", Text: "Config."}}},
		{Title: "COPYRIGHT", Text: "Free."},
	}})
	want := ".SH OPTIONS\n.SH SIGNALS\n.TP\n.B SIGHUP\nReload.\n.SH FILES\n.TP\n.I /etc/x\nConfig.\n.SH COPYRIGHT\nFree.\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("got\n%s\nwant suffix\n%s", b.String(), want)
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"--max-delete", `\-\-max\-delete`},
		{`a\b`, `a\eb`},
		{".starts with a dot", `\&.starts with a dot`},
		{"'quote", `\&'quote`},
	} {
		if got := escape(tt.in); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
