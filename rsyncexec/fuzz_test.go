package rsyncexec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/queue"
)

// decodePattern undoes the escaping of an rsync filter pattern the way
// rsync reads it: a pattern without '*', '?' or '[' is literal; otherwise
// a backslash makes the next byte literal and the first unescaped wildcard
// starts the wildcard part, returned as wild.
func decodePattern(pat string) (lit, wild string) {
	if !strings.ContainsAny(pat, "*?[") {
		return pat, ""
	}
	var b []byte
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '\\':
			if i+1 < len(pat) {
				i++
			}
			b = append(b, pat[i])
		case '*', '?', '[':
			return string(b), pat[i:]
		default:
			b = append(b, c)
		}
	}
	return string(b), ""
}

func fuzzSeeds(f *testing.F) {
	for _, n := range hostileNames(f) {
		f.Add(n, "sub [x]*/"+n, true)
	}
	f.Add("a/b/c", `d\e/f*`, false)
}

// FuzzRemoveRules checks, for any pair of paths, that the remove rules are
// NUL-free "+ /…" rules whose decoded literal part is exactly the path,
// one of its parents (with "/"), or for a directory the path followed by
// the wildcard "/***" and nothing else; and that every path and every
// parent is covered.
func FuzzRemoveRules(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, a, b string, dir bool) {
		var entries []queue.Entry
		for _, p := range []string{a, b} {
			if CleanRel(p) != nil {
				continue
			}
			entries = append(entries, queue.Entry{Path: p, Dir: dir})
		}
		rules := RemoveRules(entries)
		want := map[string]bool{} // literal part -> wildcard part allowed
		for _, e := range entries {
			want["/"+e.Path] = false
			if e.Dir {
				want["/"+e.Path+"/"] = true
			}
			for i := 0; i < len(e.Path); i++ {
				if e.Path[i] == '/' {
					if _, ok := want["/"+e.Path[:i+1]]; !ok {
						want["/"+e.Path[:i+1]] = false
					}
				}
			}
		}
		covered := map[string]bool{}
		for _, r := range rules {
			if strings.IndexByte(r, 0) >= 0 {
				t.Fatalf("rule %q contains NUL", r)
			}
			pat, ok := strings.CutPrefix(r, "+ /")
			if !ok {
				t.Fatalf("rule %q is not an anchored include", r)
			}
			lit, wild := decodePattern("/" + pat)
			allowWild, known := want[lit]
			switch {
			case !known:
				t.Fatalf("rule %q selects %q, which is neither a path nor a parent of %+v", r, lit, entries)
			case wild != "" && (!allowWild || wild != "***"):
				t.Fatalf("rule %q has wildcard part %q", r, wild)
			}
			covered[lit+wild] = true
		}
		for _, e := range entries {
			if !covered["/"+e.Path] {
				t.Errorf("no rule for %q in %q", e.Path, rules)
			}
			if e.Dir && !covered["/"+e.Path+"/***"] {
				t.Errorf("no content rule for dir %q in %q", e.Path, rules)
			}
		}
		// The payload splits back into the rules.
		if len(rules) > 0 {
			got := strings.Split(strings.TrimSuffix(string(Payload(rules)), "\x00"), "\x00")
			if strings.Join(got, "\n") != strings.Join(rules, "\n") || len(got) != len(rules) {
				t.Fatalf("payload does not split back into the rules")
			}
		}
	})
}

// FuzzFilesFrom checks that the update payload decodes, split at NUL, back
// into exactly the batch paths (a "./" prefix aside), none of them a
// comment to rsync, and that the Shell form of an update keeps
// every file name on one line.
func FuzzFilesFrom(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, a, b string, dir bool) {
		var entries []queue.Entry
		for _, p := range []string{a, b} {
			if CleanRel(p) == nil {
				entries = append(entries, queue.Entry{Path: p, Dir: dir})
			}
		}
		c := UpdateCommand(stock(), entries)
		payload := c.Payload()
		if len(entries) == 0 {
			if len(payload) != 0 {
				t.Fatalf("payload %q for no paths", payload)
			}
			return
		}
		if !bytes.HasSuffix(payload, []byte{0}) {
			t.Fatalf("payload %q not NUL-terminated", payload)
		}
		parts := bytes.Split(payload[:len(payload)-1], []byte{0})
		if len(parts) != len(entries) {
			t.Fatalf("payload has %d records for %d paths", len(parts), len(entries))
		}
		for i, p := range parts {
			// rsync drops records starting with '#' or ';' as comments;
			// those carry a "./" that -R removes again.
			rec := string(p)
			if rec != "" && (rec[0] == '#' || rec[0] == ';') {
				t.Fatalf("record %d = %q would be read as a comment", i, rec)
			}
			if want := entries[i].Path; rec != want && rec != "./"+want {
				t.Fatalf("record %d = %q, want %q", i, rec, want)
			}
		}
		if fixed := UpdateCommand(stock(), nil).Argv; strings.Join(c.Argv, "\x00") != strings.Join(fixed, "\x00") {
			t.Fatalf("argv depends on the paths: %q", c.Argv)
		}
		if s := c.String(); strings.ContainsAny(s, "\n\r\x00") {
			t.Fatalf("Shell form contains a raw control byte: %q", s)
		}
	})
}

// FuzzParseVersion: never panics; a successful parse has sane numbers.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"rsync  version 3.5.0  protocol version 32", "rsync  version v3.2.3  protocol version 31", "rsync version", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err == nil && (v.Major < 0 || v.Minor < 0 || v.Patch < 0 || v.Protocol < 0) {
			t.Fatalf("ParseVersion(%q) = %+v", s, v)
		}
	})
}
