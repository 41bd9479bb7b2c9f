package rsyncexec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/sersync-go/sersync2/queue"
)

// ErrBadPath is wrapped by the error for a batch entry that is not a clean
// relative path below the root (empty, absolute, "..", or containing NUL).
var ErrBadPath = errors.New("rsyncexec: path is not relative to the watch root")

// Payload joins records into the stdin payload of rsync --from0: each
// record followed by a NUL byte.
func Payload(records []string) []byte {
	n := 0
	for _, r := range records {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	for _, r := range records {
		b = append(b, r...)
		b = append(b, 0)
	}
	return b
}

// RemoveRules returns the --include-from rules that select exactly the
// given paths: each parent directory ("+ /d1/", "+ /d1/d2/"), the path
// itself ("+ /d1/d2/old.txt") and, for a directory, its content
// ("+ /d1/d2/dir/***"). Parents shared by several paths are listed once.
//
// Every rule is anchored (leading "/", relative to the transfer root), so a
// same-named path elsewhere in the tree is never selected, and every name
// is matched literally: rsync treats a pattern as a wildcard pattern only
// when it contains '*', '?' or '['; then every '*', '?', '[' and '\' of the
// name is backslash-escaped, otherwise the name is left as it is (a
// backslash in a non-wildcard pattern is literal). With --from0 a rule ends
// only at NUL, so spaces at either end and newlines in names survive, and
// the explicit "+ " prefix keeps names starting with "- " or "!" from being
// read as rule syntax.
func RemoveRules(removes []queue.Entry) []string {
	parents := make(map[string]bool)      // parent dirs already listed, raw
	targets := make(map[queue.Entry]bool) // entries already listed
	rules := make([]string, 0, len(removes)+len(removes)/4)
	for _, e := range removes {
		p := e.Path
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && !parents[p[:i]] {
				parents[p[:i]] = true
				rules = append(rules, "+ "+pattern(p[:i], "/", false))
			}
		}
		if targets[e] {
			continue
		}
		targets[e] = true
		rules = append(rules, "+ "+pattern(p, "", false))
		if e.Dir {
			rules = append(rules, "+ "+pattern(p, "/***", true))
		}
	}
	return rules
}

// ExcludeRules returns anchored literal exclude rules for the full run:
// "- /path" for a file, "- /path/" for a directory (matching directories
// only; its subtree goes with it).
func ExcludeRules(excluded []queue.Entry) []string {
	rules := make([]string, 0, len(excluded))
	for _, e := range excluded {
		suffix := ""
		if e.Dir {
			suffix = "/"
		}
		rules = append(rules, "- "+pattern(e.Path, suffix, false))
	}
	return rules
}

// pattern returns the anchored rsync filter pattern for the literal path p
// followed by suffix; suffixWild says the suffix is itself a wildcard (as
// "/***"), which makes the whole pattern a wildcard pattern.
func pattern(p, suffix string, suffixWild bool) string {
	if suffixWild || strings.ContainsAny(p, "*?[") {
		p = escapeWild(p)
	}
	return "/" + p + suffix
}

func escapeWild(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CleanRel checks a path relative to a watch root as the watcher and the
// queue make them: not empty, no leading slash, no NUL, and no empty, "."
// or ".." component. Anything else is refused rather than normalised: it
// came from somewhere else (a failLog edited by hand), and a path this
// package sends must be the one that was recorded. The failLog uses the
// same rule for its entries.
func CleanRel(p string) error {
	if p == "" || strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%w: %q", ErrBadPath, p)
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("%w: %q", ErrBadPath, p)
		}
	}
	return nil
}

// ExcludedPaths walks root without following symlinks and returns every
// path the exclude function excludes, in walk order. The subtree of an
// excluded directory is not visited. Unreadable subdirectories are skipped
// (rsync reports them itself); only an unreadable root is an error.
func ExcludedPaths(root string, exclude func(rel string, dir bool) bool) ([]queue.Entry, error) {
	if exclude == nil {
		return nil, nil
	}
	out, err := excludedUnder(root, "", exclude)
	if err != nil {
		return nil, fmt.Errorf("rsyncexec: walk %q for the exclude filter: %w", root, err)
	}
	return out, nil
}

// excludedUnder is the walk of ExcludedPaths restricted to the subtree
// root/sub ("" for all of root), with paths relative to root. sub itself is
// not asked about. An error at sub itself (gone, unreadable, not a
// directory) ends the walk and is returned with what was found.
func excludedUnder(root, sub string, exclude func(rel string, dir bool) bool) ([]queue.Entry, error) {
	top := filepath.Join(root, sub)
	var out []queue.Entry
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == top {
				return err
			}
			return nil // skip what cannot be read
		}
		if p == top {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !exclude(rel, d.IsDir()) {
			return nil
		}
		out = append(out, queue.Entry{Path: rel, Dir: d.IsDir()})
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	return out, err
}
