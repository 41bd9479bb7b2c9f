package lsyncdconf

import (
	"errors"
	"regexp"
	"strings"
)

// globRegex turns one rsync exclude pattern (what lsyncd hands rsync for
// exclude and excludeFrom) into a <filter><exclude expression> that
// selects the same paths.
//
// The expression is full-matched (with "." matching a newline) against
// "/"+rel and rel, and for a directory also "/"+rel+"/" and rel+"/"
// (inotifymask's filter); what is below an excluded directory is never
// seen, as rsync never descends into an excluded directory. Every
// expression made here starts with "/", so only the forms with the leading
// slash can match: that keeps a pattern whose wildcards may match a slash
// ("*/x", "**/x") from matching an extra leading one. rsync's rules:
//   - a leading "/" anchors the pattern at the root of the transfer;
//     otherwise it may match at the start of the path or after any "/";
//   - a trailing "/" matches only a directory; "dir/***" matches the
//     directory and everything in it;
//   - "*" and "?" match anything but "/", "**" anything, "[...]" one
//     character other than "/" ("[!...]" negated); a leading "**/"
//     also matches no directory at all ("**/x" matches "x", but "a/**/x"
//     does not match "a/x");
//     a backslash quotes the next character when the pattern has a
//     wildcard.
func globRegex(pattern string) (string, error) {
	p := pattern
	anchored := strings.HasPrefix(p, "/")
	p = strings.TrimPrefix(p, "/")
	dirOnly := false
	switch {
	case strings.HasSuffix(p, "/***"):
		p, dirOnly = strings.TrimSuffix(p, "/***"), true
	case strings.HasSuffix(p, "/"):
		p, dirOnly = strings.TrimSuffix(p, "/"), true
	}
	if p == "" {
		return "", errors.New("the pattern names no path")
	}
	toks, err := globTokens(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("/")
	leadingAny := len(toks) > 1 && toks[0] == "**" && toks[1] == "/"
	if !anchored && !leadingAny {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "**" && i == 0 && i+1 < len(toks) && toks[i+1] == "/" {
			// A leading "**/" also matches no directory at all.
			b.WriteString("(?:.*/)?")
			i++
			continue
		}
		if t == "**" && !dirOnly && trailingStars(toks[i:]) {
			// A final "**" must not take the slash of the directory forms
			// ("foo/**" matches what is in foo, not foo itself): the match
			// ends with a character other than "/".
			if i > 0 && toks[i-1] == "/" {
				b.WriteString(".*[^/]")
			} else {
				b.WriteString("(?:.*[^/])?")
			}
			break
		}
		b.WriteString(tokenRegex(t))
	}
	if dirOnly {
		b.WriteString("/")
	}
	return b.String(), nil
}

// trailingStars reports whether toks is "**" followed only by "*"s.
func trailingStars(toks []string) bool {
	for _, t := range toks[1:] {
		if t != "*" && t != "**" {
			return false
		}
	}
	return true
}

// globTokens splits a pattern into "*", "**", "?", "[...]" classes (as
// regex classes) and single literal characters.
func globTokens(p string) ([]string, error) {
	wild := strings.ContainsAny(p, "*?[")
	var toks []string
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && wild && i+1 < len(p):
			i++
			toks = append(toks, p[i:i+1])
		case c == '*':
			j := i
			for j < len(p) && p[j] == '*' {
				j++
			}
			if j-i >= 2 {
				toks = append(toks, "**")
			} else {
				toks = append(toks, "*")
			}
			i = j - 1
		case c == '?':
			toks = append(toks, "?")
		case c == '[':
			class, n, err := globClass(p[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, class)
			i += n - 1
		default:
			toks = append(toks, p[i:i+1])
		}
	}
	return toks, nil
}

// globClass turns the class at the start of s into a regex class that
// never matches "/", and returns how many bytes of s it took.
func globClass(s string) (string, int, error) {
	i := 1
	neg := false
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		neg = true
		i++
	}
	var body strings.Builder
	first := true
	for ; i < len(s); i++ {
		c := s[i]
		if c == ']' && !first {
			class := "[" + body.String() + "]"
			if neg {
				return "[^" + body.String() + "/]", i + 1, nil
			}
			re, err := regexp.Compile(class)
			if err != nil {
				return "", 0, errors.New("the character class " + s[:i+1] + " has no regex equivalent")
			}
			if re.MatchString("/") {
				return "", 0, errors.New("the character class " + s[:i+1] + " spans '/', which rsync never matches")
			}
			return class, i + 1, nil
		}
		first = false
		switch {
		case c == '[' && strings.HasPrefix(s[i:], "[:"):
			end := strings.Index(s[i+2:], ":]")
			if end < 0 {
				return "", 0, errors.New("unclosed [: in " + s)
			}
			body.WriteString(s[i : i+2+end+2])
			i += 2 + end + 1
		case c == '\\' && i+1 < len(s):
			i++
			if isAlnum(s[i]) || s[i] >= 0x80 {
				body.WriteByte(s[i])
			} else {
				body.WriteString(`\` + s[i:i+1])
			}
		case c == '-':
			body.WriteByte('-')
		case strings.IndexByte(`\]^[`, c) >= 0:
			body.WriteString(`\` + string(c))
		default:
			body.WriteByte(c)
		}
	}
	return "", 0, errors.New("unclosed [ in " + s)
}

// tokenRegex is the regex of one token.
func tokenRegex(t string) string {
	switch {
	case t == "**":
		return ".*"
	case t == "*":
		return "[^/]*"
	case t == "?":
		return "[^/]"
	case len(t) > 1 && t[0] == '[':
		return t
	}
	return regexp.QuoteMeta(t)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
