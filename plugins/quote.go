package plugins

import (
	"strings"
	"unicode/utf8"
)

// ShellQuote renders argv as one line a human can read and paste into a
// POSIX shell (bash for the $'…' form): plain words as they are, others in
// single quotes, and words holding control characters or invalid UTF-8 in
// $'…' with \xNN escapes. It is for display only; nothing here is ever given
// to a shell.
func ShellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		quoteWord(&b, a)
	}
	return b.String()
}

func quoteWord(b *strings.Builder, s string) {
	if s == "" {
		b.WriteString("''")
		return
	}
	plain, printable := true, utf8.ValidString(s)
	for _, r := range s {
		if !isPlain(r) {
			plain = false
		}
		if r < 0x20 || r == 0x7f {
			printable = false
		}
	}
	switch {
	case plain:
		b.WriteString(s)
	case printable:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(s, "'", `'\''`))
		b.WriteByte('\'')
	default:
		b.WriteString("$'")
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == utf8.RuneError && n <= 1, r < 0x20, r == 0x7f:
				const hex = "0123456789abcdef"
				c := s[i]
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			case r == '\'' || r == '\\':
				b.WriteByte('\\')
				b.WriteRune(r)
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
		}
		b.WriteByte('\'')
	}
}

func isPlain(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	}
	return strings.ContainsRune("@%+=:,./-_", r)
}
