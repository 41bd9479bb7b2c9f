package lsyncdconf

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/hostile"
)

// globPatterns are the rsync excludes the equivalence test checks: every
// form globRegex distinguishes.
var globPatterns = []string{
	"*.o", "/build/", "cache/", "logs/*.log", ".git", "node_modules/", "**/deep/**", "*~",
	"tmp/***", "foo/**", "[ab]x", "[!c]y.txt", "q?", "sp ace*", "**.bak", "*/only2", "/top.txt",
	"a/b/c", "**/z", "x*y/", "m/**/n", "p**/q",
}

// globTree is the sample tree: directories end in "/". Hostile names are
// added in every directory.
var globTree = []string{
	"a.o", "keep.txt", "top.txt", "sub/top.txt", "build/x", "sub/build/y", "sub/build", "cache/f", "sub/cache/g", "cache2/h",
	"logs/app.log", "logs/sub/app.log", "x/logs/app.log", "x/logs/app.txt", ".git/config", "sub/.git",
	"node_modules/m/i.js", "sub/node_modules", "deep2", "deep/a", "s/deep/b/c", "f~", "sub/f~",
	"tmp/t", "sub/tmp/t", "tmp2", "foo/a", "foo/b/c", "sub/foo/d", "foo2/e", "ax", "bx", "cx", "sub/ax/",
	"ay.txt", "cy.txt", "q1", "q12", "sp ace.txt", "sub/sp aceX/", "n.bak", "d/e.bak", "only2", "s/only2",
	"s/t/only2", "a/b/c", "x/a/b/c", "a/b/cd", "z", "s/z", "s/t/z/", "xay/", "xy", "sub/xqy/", "m/n", "m/x/n", "m/x/y/n", "sub/m/n", "pq", "p/q", "pr/q", "pr/s/q", "q",
}

// TestGlobsMatchRsync runs real rsync --dry-run with the globs as
// excludes and compares what it would send with what the converted
// <filter> lets through (inotifymask.Excluder, the rule the watcher and
// full syncs use), on a tree with hostile names.
func TestGlobsMatchRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal("rsync not found")
		}
		t.Skip("rsync not found")
	}
	names, err := hostile.Read("../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for _, p := range globTree {
		mk(t, src, p)
	}
	for _, dir := range []string{"", "sub/", "foo/", "logs/"} {
		for _, n := range names {
			mk(t, src, dir+n)
		}
	}
	var res []string
	for _, g := range globPatterns {
		re, err := globRegex(g)
		if err != nil {
			t.Fatalf("%q: %v", g, err)
		}
		res = append(res, re)
	}
	ex, err := inotifymask.Excluder(confxml.Filter{Enabled: true, Exclude: res})
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if ex(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		ours = append(ours, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "excludes")
	if err := os.WriteFile(rules, []byte(strings.Join(globPatterns, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(context.Background(), "rsync", "-r", "--dry-run", "--out-format=%n", "--exclude-from="+rules, src+"/", t.TempDir()+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("rsync: %v\n%s", err, out)
	}
	var theirs []string
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		l = strings.TrimSuffix(unescapeRsync(l), "/")
		if l != "" && l != "." {
			theirs = append(theirs, l)
		}
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	for _, p := range theirs {
		if _, ok := slices.BinarySearch(ours, p); !ok {
			t.Errorf("rsync sends %q, the <filter> excludes it", p)
		}
	}
	for _, p := range ours {
		if _, ok := slices.BinarySearch(theirs, p); !ok {
			t.Errorf("the <filter> lets %q through, rsync excludes it", p)
		}
	}
	if len(theirs) < len(globTree)/2 {
		t.Fatalf("rsync listed only %d paths:\n%s", len(theirs), out)
	}
}

// mk creates p under root: a directory when it ends in "/", else a file
// (with its parents).
func mk(t *testing.T, root, p string) {
	t.Helper()
	full := filepath.Join(root, p)
	if strings.HasSuffix(p, "/") {
		if err := os.MkdirAll(full, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(full); err == nil && fi.IsDir() {
		return
	}
	if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
}

// unescapeRsync undoes rsync's \#ooo escapes of bytes it will not print.
func unescapeRsync(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 < len(s)+0 && i+5 <= len(s) && s[i+1] == '#' {
			if n, err := strconv.ParseUint(s[i+2:i+5], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 4
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
