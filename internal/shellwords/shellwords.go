package shellwords

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnterminatedQuote is returned (wrapped with the position of the opening
// quote) when a '…' or "…" quote is not closed before the end of the string.
var ErrUnterminatedQuote = errors.New("shellwords: unterminated quote")

// Split splits s into words as /bin/sh would split a simple command, without
// any expansion (see the package documentation).
//
//   - Blanks (space, tab, newline) separate words; runs of blanks count once.
//   - Inside '…' every byte is literal.
//   - Inside "…" a backslash escapes only $ ` " \ and newline (a
//     backslash-newline pair is removed); before any other byte the backslash
//     is kept.
//   - Outside quotes a backslash makes the next byte literal; a
//     backslash-newline pair is removed; a backslash at the very end is kept.
//   - An empty pair of quotes ("" or two single quotes) is an empty word.
//
// An unterminated quote is an error wrapping ErrUnterminatedQuote. A string of
// blanks only yields no words (nil) and no error.
func Split(s string) ([]string, error) {
	var (
		words  []string
		cur    []byte
		inWord bool // cur holds a word, possibly empty ("" or '')
	)
	flush := func() {
		if inWord {
			words = append(words, string(cur))
		}
		cur = cur[:0]
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n':
			flush()
		case '\\':
			if i+1 == len(s) {
				// sh keeps a lone trailing backslash.
				cur = append(cur, '\\')
				inWord = true
				continue
			}
			i++
			if s[i] == '\n' {
				continue // line continuation: removed, does not end the word
			}
			cur = append(cur, s[i])
			inWord = true
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w: ' at byte %d of %q", ErrUnterminatedQuote, i, s)
			}
			cur = append(cur, s[i+1:i+1+end]...)
			inWord = true
			i += end + 1
		case '"':
			open := i
			closed := false
			for i++; i < len(s); i++ {
				d := s[i]
				if d == '"' {
					closed = true
					break
				}
				if d == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case '$', '`', '"', '\\':
						cur = append(cur, s[i+1])
						i++
						continue
					case '\n':
						i++
						continue
					}
				}
				cur = append(cur, d)
			}
			if !closed {
				return nil, fmt.Errorf("%w: \" at byte %d of %q", ErrUnterminatedQuote, open, s)
			}
			inWord = true
		default:
			cur = append(cur, c)
			inWord = true
		}
	}
	flush()
	return words, nil
}

// Quote returns word quoted for /bin/sh (and for Split): unchanged when it
// consists only of bytes that are never special to the shell, otherwise
// wrapped in single quotes, each single quote inside written as the four
// bytes quote, backslash, quote, quote. The empty word becomes a pair of
// single quotes. Split(Quote(w)) always yields exactly []string{w}.
func Quote(word string) string { return quote(word, false) }

// QuoteLine is Quote for a line a human reads or pastes into bash: a word
// holding a control character or bytes that are not UTF-8 is written in
// the $'…' form instead (bash, ksh, zsh; not dash), with \n, \t, \r and
// \xNN escapes, so the line never breaks. Nothing is ever run from it.
func QuoteLine(word string) string { return quote(word, true) }

func quote(word string, oneLine bool) string {
	if word == "" {
		return "''"
	}
	safe, printable := true, utf8.ValidString(word)
	for i := 0; i < len(word); i++ {
		c := word[i]
		if !isSafe(c) {
			safe = false
		}
		if c < 0x20 || c == 0x7f {
			printable = false
		}
	}
	switch {
	case safe:
		return word
	case printable || !oneLine:
		return "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(word); {
		r, n := utf8.DecodeRuneInString(word[i:])
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && n <= 1, r < 0x20, r == 0x7f:
			const hex = "0123456789abcdef"
			c := word[i]
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(word[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}

// Join quotes each word with Quote and joins them with single spaces, giving
// a string that Split (and sh) turn back into words.
func Join(words []string) string { return join(words, Quote) }

// JoinLine is Join with QuoteLine: one line, for display.
func JoinLine(words []string) string { return join(words, QuoteLine) }

func join(words []string, quote func(string) string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quote(w)
	}
	return strings.Join(q, " ")
}

func isSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '/', ',', ':', '=', '+', '@', '%':
		return true
	}
	return false
}
