package confxml

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixtureDir holds the configuration fixtures; see its README.md.
const fixtureDir = "../testdata/confxml"

// env is the directory a fixture is instantiated in: the placeholders of
// testdata/confxml/README.md stand for these paths.
type env struct {
	dir     string // @TMP@
	watch   string // @WATCH@, an existing directory
	watch2  string // @WATCH2@, an existing directory
	secrets string // @SECRETS@, an rsync password file with mode 0600
}

func newEnv(tb testing.TB, dir string) env {
	tb.Helper()
	e := env{
		dir:     dir,
		watch:   filepath.Join(dir, "watch"),
		watch2:  filepath.Join(dir, "watch2"),
		secrets: filepath.Join(dir, "rsync.secrets"),
	}
	for _, d := range []string{e.watch, e.watch2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(e.secrets, []byte("secret\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return e
}

// expand replaces the placeholders in a fixture's bytes.
func (e env) expand(data []byte) []byte {
	r := strings.NewReplacer("@WATCH2@", e.watch2, "@WATCH@", e.watch, "@SECRETS@", e.secrets, "@TMP@", e.dir)
	return []byte(r.Replace(string(data)))
}

// fixture copies testdata/confxml/name into a fresh temporary directory with
// its placeholders replaced, and returns the copy's path.
func fixture(t *testing.T, name string) (string, env) {
	t.Helper()
	e := newEnv(t, t.TempDir())
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, e.expand(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, e
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// flatten turns a Config into "Field.Sub[i].X" -> value lines for a readable
// field-by-field diff. Compiled regexps are compared by String(); unexported
// fields are skipped.
func flatten(prefix string, v reflect.Value, out map[string]string) {
	switch x := v.Interface().(type) {
	case *regexp.Regexp:
		if x == nil {
			out[prefix] = "<nil regexp>"
		} else {
			out[prefix] = "regexp " + x.String()
		}
		return
	case time.Duration:
		out[prefix] = x.String()
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				flatten(prefix+"."+f.Name, v.Field(i), out)
			}
		}
	case reflect.Slice:
		out[prefix+".len"] = fmt.Sprint(v.Len())
		for i := 0; i < v.Len(); i++ {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i), out)
		}
	case reflect.String:
		out[prefix] = fmt.Sprintf("%q", v.String())
	default:
		out[prefix] = fmt.Sprint(v.Interface())
	}
}

// diffConfig reports every field where got differs from want. Warnings are
// checked separately (checkWarnings).
func diffConfig(t *testing.T, got, want Config) {
	t.Helper()
	got.Warnings, want.Warnings = nil, nil
	g, w := map[string]string{}, map[string]string{}
	flatten("Config", reflect.ValueOf(got), g)
	flatten("Config", reflect.ValueOf(want), w)
	var keys []string
	for k := range g {
		keys = append(keys, k)
	}
	for k := range w {
		if _, ok := g[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g[k] != w[k] {
			t.Errorf("%s = %s, want %s", k, orMissing(g[k]), orMissing(w[k]))
		}
	}
}

func orMissing(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// checkWarnings requires exactly len(want) warnings, the i-th containing
// want[i].
func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(got[i], want[i])
	}
	if !ok {
		t.Errorf("warnings:\n\t%s\nwant (substrings):\n\t%s", strings.Join(quoteAll(got), "\n\t"), strings.Join(quoteAll(want), "\n\t"))
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// leafErrors flattens errors.Join trees (not %w chains) into their parts.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// base is the Config expected for testdata/confxml/base.xml.
func base(e env) Config {
	return Config{
		Host:    Host{IP: "localhost", Port: "8008"},
		Inotify: Inotify{Delete: true, CreateFolder: true, CloseWrite: true, MoveFrom: true, MoveTo: true},
		Sersync: Sersync{
			LocalPaths: []LocalPath{{Watch: e.watch, Remotes: []Remote{{IP: "10.0.0.2", Name: "www"}}}},
			Rsync:      Rsync{CommonParams: "-artuz", Params: []string{"-artuz"}},
			FailLog:    FailLog{Path: "/tmp/rsync_fail_log.sh", Interval: 60 * time.Minute},
			Crontab:    Crontab{Schedule: 600 * time.Minute},
		},
		Command: CommandPlugin{Present: true, Prefix: "/usr/local/bin/hook", Suffix: "--x", IgnoreError: true},
		Socket:  SocketPlugin{Present: true, Watch: e.watch, IP: "127.0.0.1", Port: 8009},
		RefreshCDN: RefreshCDNPlugin{Present: true, Watch: e.watch, DomainName: "127.0.0.1", Port: 8080,
			Username: "u1", Passwd: "p1", BaseURL: "http://img.example.com/cms", Match: "data([/a-z0-9]*)"},
	}
}

func mustRegexps(exprs ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		out[i] = regexp.MustCompile(e)
	}
	return out
}

// hostile is the directory name of hostile-names.xml.
const hostile = "sp ace \"dq\" 'sq' `bq` $(touch X);semi -lead *[1] back\\slash\nnl \xff\xfe"

// hostileRemote is the remote path of hostile-names.xml (over ssh): no
// whitespace, control characters or leading '-', which Load refuses there.
const hostileRemote = "\"dq\"_'sq'_`bq`_$(touch_X);semi_*[1]_back\\slash_\xff\xfe"
