package lsyncdconf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ErrNoSync means the configuration defines no sync{} that could be
// converted: there is nothing to write.
var ErrNoSync = errors.New("lsyncdconf: no sync{} could be converted")

// Note is one line of the report: a setting of the lsyncd configuration
// and what became of it.
type Note struct {
	At   string // file:line of the sync{} or settings{} that holds it
	Item string // the key as written, e.g. "onCreate" or "rsync.compress"
	Text string
	// Lost is set when the setting has no equivalent: the converted
	// configuration does not do what lsyncd did.
	Lost bool
}

// note is a Note before sorting: the position is kept as a pair.
type note struct {
	at   pos
	item string
	text string
	lost bool
}

// Result is a converted configuration.
type Result struct {
	// XML is the confxml.xml text.
	XML []byte
	// Args is the sersync2 command line that runs it as lsyncd ran the
	// original (settings become flags), with ConfName after -o.
	Args []string
	// Notes holds what the report says, by file and line.
	Notes []Note
}

// ConfName stands in Args for the file the XML is written to.
const ConfName = "confxml.xml"

// Complete reports whether every setting was carried over.
func (r Result) Complete() bool {
	for _, n := range r.Notes {
		if n.Lost {
			return false
		}
	}
	return true
}

// Report returns the report as text: one line per note, "not carried
// over" first, then, when there is a converted file, the summary and the
// command line.
func (r Result) Report() string {
	var b strings.Builder
	lost := 0
	for _, pass := range []bool{true, false} {
		for _, n := range r.Notes {
			if n.Lost != pass {
				continue
			}
			kind := "changed"
			if n.Lost {
				kind = "NOT CARRIED OVER"
				lost++
			}
			fmt.Fprintf(&b, "%s: %s: %s: %s\n", n.At, kind, n.Item, n.Text)
		}
	}
	if r.XML == nil {
		return b.String()
	}
	if lost > 0 {
		fmt.Fprintf(&b, "%d setting(s) not carried over: the converted configuration does not do all the lsyncd configuration did\n", lost)
	} else {
		b.WriteString("every setting was carried over\n")
	}
	fmt.Fprintf(&b, "run it with: %s\n", joinArgs(r.Args))
	return b.String()
}

// ConvertFile converts the lsyncd configuration at path.
func ConvertFile(ctx context.Context, path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("lsyncdconf: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Result{}, fmt.Errorf("lsyncdconf: %w", err)
	}
	if len(src) > maxFileSize {
		return Result{}, fmt.Errorf("lsyncdconf: %s: larger than %d bytes", path, maxFileSize)
	}
	return Convert(ctx, path, src)
}

// Convert converts src, an lsyncd configuration read from path (which
// names it in the report and whose directory dofile, require, excludeFrom
// and relative paths are resolved against).
func Convert(ctx context.Context, path string, src []byte) (Result, error) {
	rec, err := evaluate(ctx, path, src)
	if err != nil {
		return Result{}, err
	}
	c := &converter{rec: rec, dir: filepath.Dir(path), notes: rec.calls}
	if abs, err := filepath.Abs(c.dir); err == nil {
		c.dir = abs
	}
	c.settings()
	for _, s := range rec.syncs {
		c.sync(s)
	}
	c.dropBadLocalTargets()
	if len(c.roots) == 0 {
		return Result{Notes: c.sorted()}, ErrNoSync
	}
	c.finish()
	xml := c.render(path)
	return Result{XML: xml, Args: c.args, Notes: c.sorted()}, nil
}

// remote is a <remote> (dir == "") or a <localtarget dir>; at is the
// first sync{} that named it.
type remote struct {
	user, ip, name string
	dir            string
	at             pos
}

// same reports whether r and o are one target, named by any sync{}.
func (r remote) same(o remote) bool {
	r.at = o.at
	return r == o
}

type root struct {
	watch   string
	remotes []remote
}

// shared holds what confxml has once for every remote: the first sync{}
// sets it, and a later one that differs is reported.
type shared struct {
	at       pos
	excludes []string // regexes
	params   []string
	user     string // the login or daemon user of the remotes ("" none)
	password string
	port     int
	timeout  int
	ssh      bool // remotes over ssh (false: daemons; local targets take either)
	sshCmd   string
	delete   bool
	init     bool
}

type converter struct {
	rec   *recording
	dir   string
	notes []note
	roots []root
	first *shared
	// hasRemote says whether first's ssh field was set by a remote.
	hasRemote bool
	users     map[string]bool
	// the command line
	args         []string
	daemon       bool
	maxProcesses int
	inotifyMode  string
	logfile      string
	pidfile      string
	statusFile   string
	statusEvery  float64
	syslog       bool
	dryRun       bool
}

func (c *converter) add(at pos, item string, lost bool, format string, args ...any) {
	c.notes = append(c.notes, note{at: at, item: item, text: fmt.Sprintf(format, args...), lost: lost})
}

func (c *converter) sorted() []Note {
	sort.SliceStable(c.notes, func(i, j int) bool {
		a, b := c.notes[i].at, c.notes[j].at
		if a.file != b.file {
			return a.file < b.file
		}
		return a.line < b.line
	})
	// A sync{} in a loop records the same note once per pass.
	out := make([]Note, 0, len(c.notes))
	for _, n := range c.notes {
		nn := Note{At: n.at.String(), Item: n.item, Text: n.text, Lost: n.lost}
		if !slices.Contains(out, nn) {
			out = append(out, nn)
		}
	}
	return out
}

func (c *converter) sync(s syncCall) {
	at := s.at
	f := c.flatten(s.tbl)
	if f.kind == "" {
		c.add(at, "sync{}", true, "inherits none of default.rsync, default.rsyncssh, default.direct: a custom behaviour, nothing of it is converted")
		return
	}
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if syncKeys[k] {
			continue
		}
		v := f.m[k]
		kat := at
		if fn, ok := v.(*lua.LFunction); ok && fn.Proto != nil {
			kat = pos{file: c.fileOf(fn.Proto.SourceName), line: fn.Proto.LineDefined}
		}
		why, known := lostKeys[k]
		if !known {
			why = "no sersync2 equivalent (or a key lsyncd does not know)"
		}
		if v == lua.LFalse && (k == "onCreate" || k == "onModify" || k == "onDelete" || k == "onMove" || k == "onStartup") {
			continue // default.rsync's own unset hooks
		}
		c.add(kat, k, true, "%s", why)
	}
	src, ok := f.m["source"].(lua.LString)
	if !ok || src == "" {
		c.add(at, "source", true, "missing or not a string: this sync{} is skipped")
		return
	}
	watch := c.abs(at, "source", string(src))

	sh := &shared{at: at, init: true}
	c.delete(at, f.m["delete"], sh)
	if v, ok := f.m["init"]; ok {
		switch {
		case v == lua.LFalse:
			sh.init = false
		case v.Type() == lua.LTFunction:
			// reported above as an unknown key would be wrong: say so here
			c.add(at, "init", true, "a custom init function: sersync2's start-up sync is rsync itself (-r)")
		}
	}
	c.excludes(at, f, sh)
	rs, _ := f.m["rsync"].(*lua.LTable)
	c.rsyncTable(at, rs, sh)
	for _, k := range []string{"delay", "maxDelays"} {
		if v, ok := f.m[k]; ok {
			c.add(at, k, false, "%s: %s", v.String(), batchingText)
		}
	}
	if v, ok := f.m["maxProcesses"]; ok {
		c.add(at, "maxProcesses", false, "%s: sersync2's -n limits the rsync processes of all remotes together; each remote's changes stay in order in its queues", v.String())
	}

	rm, isLocal := c.target(at, f, sh)
	if rm == nil {
		return
	}
	if !isLocal && c.hasRemote && sh.ssh != c.first.ssh {
		c.add(at, "target", true, "mixes rsync daemon and ssh remotes: confxml's <ssh> holds for all remotes; this remote is left out")
		return
	}
	c.share(sh, !isLocal)
	rm.at = at
	c.addRemote(watch, *rm)
}

func (c *converter) fileOf(source string) string {
	if f, ok := c.rec.chunkFile[source]; ok {
		return f
	}
	return source
}

// abs makes a path absolute against the configuration's directory and
// says so; lsyncd resolved it against its working directory.
func (c *converter) abs(at pos, item, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	a := filepath.Join(c.dir, p)
	if strings.HasSuffix(p, "/") {
		a += "/"
	}
	c.add(at, item, true, "%q is relative: lsyncd resolved it against the directory it was started in; written as %s, check it", p, a)
	return a
}

// share records sh as the configuration's shared settings, or reports
// where it differs from the first sync{}'s.
func (c *converter) share(sh *shared, isRemote bool) {
	if c.users == nil {
		c.users = map[string]bool{}
	}
	if isRemote {
		c.users[sh.user] = true
	}
	if c.first == nil {
		c.first = sh
		c.hasRemote = isRemote
		return
	}
	if isRemote && !c.hasRemote {
		c.first.ssh, c.first.sshCmd, c.first.port = sh.ssh, sh.sshCmd, sh.port
		c.first.password = cmp.Or(c.first.password, sh.password)
		c.hasRemote = true
	}
	f := c.first
	differ := func(item, what string) {
		c.add(sh.at, item, true, "differs from the sync{} at %s: confxml has one %s for all remotes; that one's is used", f.at, what)
	}
	if !slices.Equal(sh.excludes, f.excludes) {
		differ("exclude", "<filter>")
	}
	if !slices.Equal(sh.params, f.params) {
		differ("rsync", "<commonParams>")
	}
	if isRemote && sh.password != f.password {
		differ("rsync.password_file", "<auth passwordfile>")
	}
	if isRemote && sh.port != f.port {
		differ("port", "<userDefinedPort>")
	}
	if sh.timeout != f.timeout {
		differ("rsync.timeout", "<timeout>")
	}
	if isRemote && sh.sshCmd != f.sshCmd {
		differ("ssh", "<ssh command>")
	}
	if sh.delete != f.delete {
		differ("delete", "<delete>")
	}
	if sh.init != f.init {
		differ("init", "-r (start-up sync)")
	}
}

func (c *converter) addRemote(watch string, r remote) {
	if watch != "/" {
		watch = strings.TrimSuffix(watch, "/")
	}
	if r.dir != "/" {
		r.dir = strings.TrimSuffix(r.dir, "/")
	}
	i := slices.IndexFunc(c.roots, func(r root) bool { return r.watch == watch })
	if i < 0 {
		c.roots = append(c.roots, root{watch: watch})
		i = len(c.roots) - 1
	}
	if !slices.ContainsFunc(c.roots[i].remotes, r.same) {
		c.roots[i].remotes = append(c.roots[i].remotes, r)
	}
}

// finish settles what depends on every sync{}: the remote user and the
// command line.
func (c *converter) finish() {
	if len(c.users) > 1 {
		// Different users: each remote carries its own as user@host, and
		// <auth users> stays empty.
		c.first.user = ""
	}
	args := []string{"sersync2"}
	if c.daemon {
		args = append(args, "-d")
	}
	if c.first.init {
		args = append(args, "-r")
	} else {
		c.add(c.first.at, "init", false, "no -r on the command line: no full sync at start-up (sersync2 still syncs every root in full after an unclean stop)")
	}
	if c.maxProcesses > 0 {
		args = append(args, "-n", strconv.Itoa(c.maxProcesses))
	}
	args = append(args, "-o", ConfName)
	if c.logfile != "" {
		args = append(args, "--log-file", c.logfile)
	}
	if c.syslog {
		args = append(args, "--syslog")
	}
	if c.pidfile != "" {
		args = append(args, "--pidfile", c.pidfile)
	}
	if c.statusFile != "" {
		args = append(args, "--status-file", c.statusFile)
		if c.statusEvery > 0 {
			args = append(args, "--status-file-every", formatNum(c.statusEvery)+"s")
		}
	}
	if c.dryRun {
		args = append(args, "--dry-run")
	}
	c.args = args
}

func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
