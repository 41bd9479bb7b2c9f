// Package manpage writes a man page in roff whose OPTIONS section is
// generated from a pflag set, so that the page cannot drift from the
// flags. The other sections are given as roff by the caller; the package
// knows nothing of the command it documents.
package manpage

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Page is a man page: its header, its NAME, SYNOPSIS and DESCRIPTION, the
// options of Flags, then the fixed Sections.
type Page struct {
	Name    string // the command, e.g. "sersync2"
	Section int    // the manual section, e.g. 8
	Version string // shown in the footer
	Manual  string // the manual's title, e.g. "System Administration"
	// Summary follows the name in the NAME section; Synopsis follows the
	// bold name in SYNOPSIS; Description is DESCRIPTION. All are roff.
	Summary, Synopsis, Description string
	// Flags gives OPTIONS: every flag not hidden, in the set's order.
	Flags    *pflag.FlagSet
	Sections []Section
}

// Section is a section after OPTIONS: an untagged paragraph (Text), or
// tagged paragraphs (Items) whose tags are bold, or italic with Italic
// set (file names). Texts are roff.
type Section struct {
	Title  string
	Text   string
	Italic bool
	Items  []Item
}

// Item is one tagged paragraph.
type Item struct{ Tag, Text string }

// Write writes p to w.
func Write(w io.Writer, p Page) {
	line := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	line(`.TH %s %d "" "%s %s" "%s"`, strings.ToUpper(p.Name), p.Section, p.Name, escape(p.Version), p.Manual)
	line(".SH NAME")
	line(`%s \- %s`, p.Name, p.Summary)
	line(".SH SYNOPSIS")
	line(`.B %s`, p.Name)
	line("%s", p.Synopsis)
	line(".SH DESCRIPTION")
	line("%s", p.Description)
	line(".SH OPTIONS")
	p.Flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		tag, usage := option(f)
		line(".TP\n%s\n%s", tag, escape(usage))
	})
	for _, s := range p.Sections {
		line(".SH %s", s.Title)
		if s.Text != "" {
			line("%s", s.Text)
		}
		font := ".B"
		if s.Italic {
			font = ".I"
		}
		for _, it := range s.Items {
			line(".TP\n%s %s\n%s", font, it.Tag, it.Text)
		}
	}
}

// option returns the tag line of f (its names and its argument's name,
// as --help shows it: the word in backquotes in the usage, else the
// value's type) and its usage, with the default appended when the usage
// does not give it and it is not the zero value.
func option(f *pflag.Flag) (tag, usage string) {
	var names []string
	if f.Shorthand != "" {
		names = append(names, `\fB\-`+f.Shorthand+`\fR`)
	}
	names = append(names, `\fB\-\-`+escape(f.Name)+`\fR`)
	name, usage := pflag.UnquoteUsage(f)
	tag = strings.Join(names, ", ")
	if name != "" {
		tag += ` \fI` + strings.ToUpper(name) + `\fR`
	}
	if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && d != "0s" && !strings.Contains(usage, "default") {
		usage += " (default " + d + ")"
	}
	return tag, usage
}

// escape makes s safe as roff text: backslashes and hyphens escaped, no
// line starting with a control character.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
