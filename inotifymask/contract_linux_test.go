package inotifymask

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
)

// The contract suite: every testdata/events/*.txt fixture runs against
// both backends. Fixture format:
//
//	# description (required)
//	toggles: stock|all|none [+name|-name ...]   (default stock)
//	exclude: REGEX                               (repeatable; filter on)
//	syncDotfiles: true
//	roots: N                                     (default 1)
//
//	Before:        operations done before the watcher starts
//		mkdirp /a/b
//	Ops:           operations done while it watches ("sync" waits for all events so far)
//		write /a/b/f hello
//	Output:        what raw inotify must report
//		update /a/b/f
//	Output fsnotify:   (optional) what fsnotify reports instead;
//		# the first comment lines say why (required)
//		...
//	Output fanotify:   (optional) what fanotify reports instead, likewise
//
// Tokens are bare words or Go double-quoted strings. Paths: "/x" is in
// root 1, "N:/x" in root N, "@/x" outside every root; a trailing "/"
// marks a directory in Output. An Output line starting with "?" may be
// missing. The check: the set of distinct events equals the expected set
// (optional lines aside) and, per path, the last event gives the same
// final state (exists/gone) as the expected lines in their order.

const fixtureDir = "../testdata/events"

type wantEv struct {
	optional bool
	key      evKey
}

type fixture struct {
	name    string
	desc    string
	tog     confxml.Inotify
	flt     confxml.Filter
	roots   int
	before  [][]string
	ops     [][]string
	want    map[string][]wantEv // by backend
	why     map[string]string   // reason for a backend's own Output
	hasWant map[string]bool
}

func TestContract(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for _, file := range files {
		fx := parseFixture(t, file)
		t.Run(fx.name, func(t *testing.T) {
			for _, be := range backends {
				t.Run(be.name, func(t *testing.T) {
					t.Parallel()
					runFixture(t, fx, be.name, testTuning(be.kind))
				})
				if be.kind == kindFanotify {
					// A cache of one directory starts again from the
					// roots after nearly every event read.
					t.Run(be.name+"-cache1", func(t *testing.T) {
						t.Parallel()
						tune := testTuning(be.kind)
						tune.fanCache = 1
						runFixture(t, fx, be.name, tune)
					})
				}
			}
		})
	}
}

func runFixture(t *testing.T, fx *fixture, backendName string, tune tuning) {
	e := newEnv(t, fx.roots)
	for _, op := range fx.before {
		e.do(t, op)
	}
	w := e.watchTuned(t, tune, fx.tog, fx.flt)
	var got []Event
	for _, op := range fx.ops {
		if op[0] == "sync" {
			got = append(got, e.sync(t, w)...)
			continue
		}
		e.do(t, op)
	}
	got = append(got, e.sync(t, w)...)
	want := fx.want["inotify"]
	if fx.hasWant[backendName] {
		want = fx.want[backendName]
	}
	if msg := compare(e, want, got); msg != "" {
		t.Errorf("%s (%s)\n%s\ngot, in order:\n%s", fx.name, fx.desc, msg, e.format(got))
	}
}

// compare checks got against want as the fixture format says; it returns
// "" when they agree.
func compare(e *env, want []wantEv, got []Event) string {
	gotSet := make(map[evKey]bool)
	for _, ev := range got {
		gotSet[e.key(ev)] = true
	}
	allowed := make(map[evKey]bool)
	var msgs []string
	for _, w := range want {
		allowed[w.key] = true
		if !w.optional && !gotSet[w.key] {
			msgs = append(msgs, "missing: "+w.key.String())
		}
	}
	for _, ev := range got {
		if k := e.key(ev); !allowed[k] {
			msgs = append(msgs, "unexpected: "+k.String())
			allowed[k] = true // report once
		}
	}
	// Final state per path, from the expected lines that happened and
	// from what arrived.
	type pathKey struct {
		root int
		path string
	}
	final := func(keys []evKey) map[pathKey]bool {
		m := make(map[pathKey]bool)
		for _, k := range keys {
			switch k.op {
			case OpUpdate:
				m[pathKey{k.root, k.path}] = true
			case OpRemove:
				m[pathKey{k.root, k.path}] = false
			case OpRename:
				m[pathKey{k.root, k.old}] = false
				m[pathKey{k.root, k.path}] = true
			}
		}
		return m
	}
	var wantKeys, gotKeys []evKey
	for _, w := range want {
		if gotSet[w.key] {
			wantKeys = append(wantKeys, w.key)
		}
	}
	for _, ev := range got {
		gotKeys = append(gotKeys, e.key(ev))
	}
	wf, gf := final(wantKeys), final(gotKeys)
	for p, exists := range wf {
		if g, ok := gf[p]; ok && g != exists {
			msgs = append(msgs, fmt.Sprintf("final state of %q: got exists=%v, want exists=%v", p.path, g, exists))
		}
	}
	return strings.Join(msgs, "\n")
}

var toggleNames = map[string]func(*confxml.Inotify) *bool{
	"delete":       func(i *confxml.Inotify) *bool { return &i.Delete },
	"createFolder": func(i *confxml.Inotify) *bool { return &i.CreateFolder },
	"createFile":   func(i *confxml.Inotify) *bool { return &i.CreateFile },
	"closeWrite":   func(i *confxml.Inotify) *bool { return &i.CloseWrite },
	"moveFrom":     func(i *confxml.Inotify) *bool { return &i.MoveFrom },
	"moveTo":       func(i *confxml.Inotify) *bool { return &i.MoveTo },
	"attrib":       func(i *confxml.Inotify) *bool { return &i.Attrib },
	"modify":       func(i *confxml.Inotify) *bool { return &i.Modify },
}

// stockToggles are the stock confxml.xml's toggles.
var stockToggles = confxml.Inotify{Delete: true, CreateFolder: true, CloseWrite: true, MoveFrom: true, MoveTo: true}

func parseToggles(words []string) (confxml.Inotify, error) {
	tog := stockToggles
	for i, w := range words {
		switch {
		case i == 0 && w == "stock":
		case i == 0 && w == "all":
			tog = confxml.Inotify{Delete: true, CreateFolder: true, CreateFile: true, CloseWrite: true, MoveFrom: true, MoveTo: true, Attrib: true, Modify: true}
		case i == 0 && w == "none":
			tog = confxml.Inotify{}
		default:
			on := !strings.HasPrefix(w, "-")
			name := strings.TrimLeft(w, "+-")
			f := toggleNames[name]
			if f == nil {
				return tog, fmt.Errorf("unknown toggle %q", w)
			}
			if i == 0 && !strings.ContainsAny(w[:1], "+-") {
				tog = confxml.Inotify{}
			}
			*f(&tog) = on
		}
	}
	return tog, nil
}

func parseFixture(t *testing.T, file string) *fixture {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := &fixture{
		name:    strings.TrimSuffix(filepath.Base(file), ".txt"),
		tog:     stockToggles,
		roots:   1,
		want:    make(map[string][]wantEv),
		hasWant: make(map[string]bool),
		why:     make(map[string]string),
	}
	fail := func(line int, format string, args ...any) {
		t.Helper()
		t.Fatalf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			switch {
			case strings.HasPrefix(line, "#"):
				if section != "" {
					fail(n, "comment outside a section must come first")
				}
				fx.desc = strings.TrimSpace(fx.desc + " " + strings.TrimPrefix(line, "#"))
				continue
			case line == "Before:", line == "Ops:", line == "Output:", line == "Output fsnotify:", line == "Output fanotify:":
				section = strings.TrimSuffix(line, ":")
				if section == "Output" {
					fx.hasWant["inotify"] = true
				} else if be, ok := strings.CutPrefix(section, "Output "); ok {
					fx.hasWant[be] = true
				}
				continue
			}
			if section != "" {
				fail(n, "header %q after a section", line)
			}
			key, val, ok := strings.Cut(line, ":")
			val = strings.TrimSpace(val)
			if !ok {
				fail(n, "want key: value, got %q", line)
			}
			switch key {
			case "toggles":
				if fx.tog, err = parseToggles(strings.Fields(val)); err != nil {
					fail(n, "%v", err)
				}
			case "exclude":
				re, err := regexp.Compile(`^(?:` + val + `)$`)
				if err != nil {
					fail(n, "%v", err)
				}
				fx.flt.Enabled = true
				fx.flt.Exclude = append(fx.flt.Exclude, val)
				fx.flt.Regexps = append(fx.flt.Regexps, re)
			case "syncDotfiles":
				fx.flt.SyncDotfiles = val == "true"
			case "roots":
				if fx.roots, err = strconv.Atoi(val); err != nil || fx.roots < 1 {
					fail(n, "bad roots %q", val)
				}
			default:
				fail(n, "unknown key %q", key)
			}
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if be, ok := strings.CutPrefix(section, "Output "); ok && len(fx.want[be]) == 0 {
				fx.why[be] = strings.TrimSpace(fx.why[be] + " " + strings.TrimPrefix(trimmed, "#"))
			}
			continue
		}
		toks, err := tokens(trimmed)
		if err != nil {
			fail(n, "%v", err)
		}
		switch section {
		case "Before", "Ops":
			if section == "Before" && toks[0] == "sync" {
				fail(n, "sync in Before")
			}
			if section == "Before" {
				fx.before = append(fx.before, toks)
			} else {
				fx.ops = append(fx.ops, toks)
			}
		case "Output", "Output fsnotify", "Output fanotify":
			w, err := parseWant(toks)
			if err != nil {
				fail(n, "%v", err)
			}
			be := "inotify"
			if b, ok := strings.CutPrefix(section, "Output "); ok {
				be = b
			}
			fx.want[be] = append(fx.want[be], w)
		default:
			fail(n, "indented line outside a section")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if fx.desc == "" {
		t.Fatalf("%s: no description comment", file)
	}
	if !fx.hasWant["inotify"] {
		t.Fatalf("%s: no Output section", file)
	}
	for _, be := range []string{"fsnotify", "fanotify"} {
		if fx.hasWant[be] && fx.why[be] == "" {
			t.Fatalf("%s: Output %s needs a comment saying why it differs", file, be)
		}
	}
	return fx
}

// tokens splits a line into bare words and Go-quoted strings; "#" at the
// start of a token begins a comment.
func tokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			return out, nil
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string in %q", s)
			}
			u, err := strconv.Unquote(s[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s[i:j+1], err)
			}
			out = append(out, u)
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func parseWant(toks []string) (wantEv, error) {
	var w wantEv
	if len(toks) > 0 && toks[0] == "?" {
		w.optional = true
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return w, fmt.Errorf("empty output line")
	}
	ops := map[string]Op{"update": OpUpdate, "remove": OpRemove, "rename": OpRename, "overflow": OpOverflow}
	op, ok := ops[toks[0]]
	if !ok {
		return w, fmt.Errorf("unknown op %q", toks[0])
	}
	w.key.op = op
	nargs := 1
	if op == OpRename {
		nargs = 2
	}
	if len(toks) != nargs+1 {
		return w, fmt.Errorf("%s wants %d paths", toks[0], nargs)
	}
	var err error
	var dirs []bool
	var roots []int
	var rels []string
	for _, p := range toks[1:] {
		root := 0
		if i := strings.Index(p, ":/"); i > 0 {
			if root, err = strconv.Atoi(p[:i]); err != nil {
				return w, fmt.Errorf("bad root in %q", p)
			}
			root--
			p = p[i+1:]
		}
		if !strings.HasPrefix(p, "/") {
			return w, fmt.Errorf("path %q does not start with /", p)
		}
		dir := len(p) > 1 && strings.HasSuffix(p, "/")
		rels = append(rels, strings.TrimSuffix(p[1:], "/"))
		dirs = append(dirs, dir)
		roots = append(roots, root)
	}
	w.key.root = roots[0]
	w.key.dir = dirs[0]
	w.key.path = rels[0]
	if op == OpRename {
		if roots[0] != roots[1] || dirs[0] != dirs[1] {
			return w, fmt.Errorf("a rename stays in one root and kind")
		}
		w.key.old, w.key.path = rels[0], rels[1]
	}
	return w, nil
}
