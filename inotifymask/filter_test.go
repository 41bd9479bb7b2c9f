package inotifymask

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
)

// TestExcludeRule pins the one exclude rule (rel, "/"+rel, and for a
// directory rel+"/" and "/"+rel+"/", fully matched) on the stock examples
// and on common real-world patterns; the package doc's table lists these
// results.
func TestExcludeRule(t *testing.T) {
	type c struct {
		rel  string
		dir  bool
		want bool
	}
	tests := []struct {
		pattern string
		cases   []c
	}{
		{`(.*)\.svn`, []c{
			{"z.svn", false, true}, {"a/q.svn", false, true}, {"a/.svn", true, true}, {".svn", true, true},
			{"a/svn", true, false}, {"a/b.svnx", false, false}, {"a/.svn/e", false, false},
		}},
		{`(.*)\.gz`, []c{
			{"x.gz", false, true}, {"a/b.gz", false, true}, {"a/x.gzip", false, false},
		}},
		{`^info/*`, []c{
			{"info", true, true}, {"info", false, true}, {"a/info", true, false}, {"info2", true, false},
			{"a/info", false, false},
		}},
		{`^static/*`, []c{
			{"static", true, true}, {"static", false, true}, {"a/static", true, false}, {"static2", true, false},
		}},
		{`.*\.tmp`, []c{
			{"a.tmp", false, true}, {"d/b.tmp", false, true}, {"x.tmp", true, true}, {"x.tmpl", false, false},
		}},
		{`/cache/.*`, []c{
			{"cache", true, true}, {"cache", false, false}, {"a/cache", true, false}, {"cache/a", false, true},
		}},
		{`cache/.*`, []c{
			{"cache", true, true}, {"cache", false, false}, {"a/cache", true, false}, {"cache/a", false, true},
		}},
		{`(.*)/\.git(/.*)?`, []c{
			{".git", true, true}, {"sub/.git", true, true}, {".git/HEAD", false, true},
			{".gitignore", false, false}, {"a/.github", true, false},
		}},
	}
	for _, tt := range tests {
		f, err := newFilter(confxml.Filter{Enabled: true, Exclude: []string{tt.pattern}})
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range tt.cases {
			kind := "file"
			if cs.dir {
				kind = "dir"
			}
			t.Run(tt.pattern+"/"+kind+"="+cs.rel, func(t *testing.T) {
				if got := f.excluded(cs.rel, cs.dir); got != cs.want {
					t.Errorf("excluded(%q, dir=%v) = %v, want %v", cs.rel, cs.dir, got, cs.want)
				}
			})
		}
	}
}

func TestTempNames(t *testing.T) {
	tests := []struct {
		rel    string
		dir    bool
		dotted bool // SyncDotfiles
		want   bool
	}{
		{".hidden", false, false, true},
		{"a/.env", false, false, true},
		{"x~", false, false, true},
		{"a/4913", false, false, true},
		{"49130", false, false, false},
		{".hdir", true, false, false},
		{".hdir/in", false, false, false},
		{"a~b", false, false, false},
		{".hidden", false, true, false},
		{"x~", false, true, false},
		{"4913", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			f, err := newFilter(confxml.Filter{SyncDotfiles: tt.dotted})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.hidden(tt.rel, tt.dir); got != tt.want {
				t.Errorf("hidden(%q, dir=%v) with SyncDotfiles=%v = %v, want %v", tt.rel, tt.dir, tt.dotted, got, tt.want)
			}
		})
	}
}

func TestNewFilter(t *testing.T) {
	t.Run("disabled ignores excludes", func(t *testing.T) {
		f, err := newFilter(confxml.Filter{Exclude: []string{".*"}, Regexps: []*regexp.Regexp{regexp.MustCompile(`^(?:.*)$`)}})
		if err != nil || f.excluded("x", false) {
			t.Errorf("filter off excluded x (err %v)", err)
		}
	})
	t.Run("compiled regexps are used as given", func(t *testing.T) {
		f, err := newFilter(confxml.Filter{Enabled: true, Exclude: []string{"ignored"}, Regexps: []*regexp.Regexp{regexp.MustCompile(`^(?:a)$`)}})
		if err != nil || !f.excluded("a", false) || f.excluded("ignored", false) {
			t.Errorf("Regexps not used (err %v)", err)
		}
	})
	t.Run("Exclude compiled anchored", func(t *testing.T) {
		f, err := newFilter(confxml.Filter{Enabled: true, Exclude: []string{"a|b"}})
		if err != nil || !f.excluded("b", false) || f.excluded("ab", false) {
			t.Errorf("a|b must match a or b fully (err %v)", err)
		}
	})
	t.Run("invalid exclude", func(t *testing.T) {
		_, err := newFilter(confxml.Filter{Enabled: true, Exclude: []string{"(x"}})
		if err == nil || !strings.Contains(err.Error(), `<filter><exclude> #1: attribute expression: "(x"`) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestExcluder(t *testing.T) {
	ex, err := Excluder(confxml.Filter{Enabled: true, Exclude: []string{`^static/*`}})
	if err != nil || ex == nil {
		t.Fatalf("Excluder: nil=%v, err %v", ex == nil, err)
	}
	if !ex("static", true) || ex("a/static", true) || ex(".hidden", false) {
		t.Error("Excluder must apply the exclude rule and nothing else")
	}
	if ex, err := Excluder(confxml.Filter{Exclude: []string{"x"}}); ex != nil || err != nil {
		t.Errorf("filter off: Excluder nil=%v, err %v; want nil, nil", ex == nil, err)
	}
	if _, err := Excluder(confxml.Filter{Enabled: true, Exclude: []string{"("}}); err == nil {
		t.Error("invalid expression accepted")
	}
}
