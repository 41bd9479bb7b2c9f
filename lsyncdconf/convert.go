package lsyncdconf

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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
// over" first, then the command line.
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
	if len(c.roots) == 0 {
		return Result{Notes: c.sorted()}, ErrNoSync
	}
	c.finish()
	xml := c.render(path)
	return Result{XML: xml, Args: c.args, Notes: c.sorted()}, nil
}

// remote is a <remote> (dir == "") or a <localtarget dir>.
type remote struct {
	user, ip, name string
	dir            string
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

// settings reads settings{...} calls and a settings = {...} table.
func (c *converter) settings() {
	c.daemon = true
	var tables []*lua.LTable
	var ats []pos
	tables = append(tables, c.rec.settings...)
	ats = append(ats, c.rec.settingsAt...)
	if c.rec.assigned != nil {
		tables = append(tables, c.rec.assigned)
		ats = append(ats, c.rec.assignedAt)
	}
	for i, t := range tables {
		at := ats[i]
		forEachSorted(t, func(key string, v lua.LValue) {
			switch key {
			case "logfile":
				c.logfile = v.String()
				c.add(at, key, false, "--log-file %s: sersync2's structured log (key=value lines), reopened on SIGHUP", v.String())
			case "pidfile":
				c.pidfile = v.String()
				c.add(at, key, false, "--pidfile %s", v.String())
			case "statusFile":
				c.statusFile = v.String()
				c.add(at, key, false, "--status-file %s: sersync2's status as text (remotes, pending changes, failures)", v.String())
			case "statusInterval":
				if n, ok := v.(lua.LNumber); ok && n > 0 {
					c.statusEvery = float64(n)
					c.add(at, key, false, "--status-file-every %ss", formatNum(float64(n)))
				}
			case "nodaemon":
				c.daemon = !lua.LVAsBool(v)
				c.add(at, key, false, "sersync2 runs in the foreground without -d")
			case "insist":
				c.add(at, key, false, "nothing to set: sersync2 always starts when a remote is unreachable and retries it (failing changes go to the failLog)")
			case "maxProcesses":
				if n, ok := v.(lua.LNumber); ok && n >= 1 && n <= 1000 {
					c.maxProcesses = int(n)
					c.add(at, key, false, "-n %d: at most %d rsync processes at once, for all remotes together", int(n), int(n))
				} else {
					c.add(at, key, true, "%s is not a process count", v.String())
				}
			case "maxDelays":
				c.add(at, key, false, "no equivalent needed: %s", batchingText)
			case "logfacility", "logident":
				c.syslog = true
				c.add(at, key, false, "--syslog: sersync2 logs to the local syslog with facility daemon and its own name; %s %s is not kept", key, v.String())
			case "inotifyMode":
				c.inotifyMode = v.String()
				switch v.String() {
				case "CloseWrite", "Modify", "CloseWrite or Modify":
					c.add(at, key, false, "%s: the <inotify> closeWrite and modify toggles", v.String())
				default:
					c.add(at, key, true, "%q is not an inotifyMode lsyncd knows", v.String())
				}
			default:
				c.add(at, key, true, "no sersync2 equivalent (onepass, or a key lsyncd does not know)")
			}
		})
	}
}

// forEachSorted calls fn for the string keys of t in sorted order (a Lua
// table's own order is its hash's, which would make the report change from
// run to run).
func forEachSorted(t *lua.LTable, fn func(k string, v lua.LValue)) {
	var keys []string
	t.ForEach(func(k, _ lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			keys = append(keys, string(ks))
		}
	})
	slices.Sort(keys)
	for _, k := range keys {
		fn(k, t.RawGetString(k))
	}
}

// batchingText says what replaces lsyncd's delay and maxDelays.
const batchingText = "sersync2 has no fixed delay: a change goes to an idle remote at once, and while rsync runs, the changes made meanwhile are coalesced (last operation per path wins) into the next batch, so a busy remote gets fewer, larger batches (--min-delay D waits at least D after a change, if wanted)"

// flat is a sync{} with lsyncd's inheritance resolved: the keys of the
// tables in its list part (default.rsync, an operator's own parent
// table), then its own keys; sub-tables such as rsync are merged key by
// key.
type flat struct {
	kind string
	m    map[string]lua.LValue
}

func (c *converter) flatten(t *lua.LTable) flat {
	f := flat{m: map[string]lua.LValue{}}
	if c.rec.dflt != nil {
		c.rec.dflt.ForEach(func(k, v lua.LValue) {
			if tb, ok := v.(*lua.LTable); ok && c.rec.kinds[tb] != "" {
				return
			}
			if ks, ok := k.(lua.LString); ok {
				f.m[string(ks)] = v
			}
		})
	}
	c.inherit(&f, t, 0)
	return f
}

func (c *converter) inherit(f *flat, t *lua.LTable, depth int) {
	if depth > 20 {
		return
	}
	for i := 1; i <= t.Len() && i <= 100; i++ {
		if p, ok := t.RawGetInt(i).(*lua.LTable); ok {
			if k := c.rec.kinds[p]; k != "" {
				f.kind = k
			}
			c.inherit(f, p, depth+1)
		}
	}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			return
		}
		if old, ok := f.m[string(ks)].(*lua.LTable); ok {
			if nv, ok := v.(*lua.LTable); ok && nv.Len() == 0 && old.Len() == 0 {
				merged := &lua.LTable{}
				old.ForEach(func(k, v lua.LValue) { merged.RawSet(k, v) })
				nv.ForEach(func(k, v lua.LValue) { merged.RawSet(k, v) })
				f.m[string(ks)] = merged
				return
			}
		}
		f.m[string(ks)] = v
	})
}

// syncKeys are the sync{} keys the conversion reads; every other key is
// reported as not carried over.
var syncKeys = map[string]bool{
	"source": true, "target": true, "host": true, "targetdir": true, "delete": true,
	"exclude": true, "excludeFrom": true, "filter": true, "filterFrom": true, "rsync": true,
	"ssh": true, "delay": true, "maxDelays": true, "maxProcesses": true, "init": true, "xargs": true,
}

// lostKeys say why the sync{} keys that commonly appear have no
// equivalent.
var lostKeys = map[string]string{
	"action":         "a custom action: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onCreate":       "a custom event hook: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onModify":       "a custom event hook: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onDelete":       "a custom event hook: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onMove":         "a custom event hook: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onAttrib":       "a custom event hook: sersync2 only runs rsync (a command run after each sync is <plugin name=\"command\">)",
	"onStartup":      "a custom start-up hook: sersync2 runs a full rsync with -r instead",
	"onFull":         "a custom full-sync hook: sersync2 only runs rsync",
	"full":           "a custom full-sync function: sersync2 only runs rsync",
	"collect":        "a custom collect function: sersync2 retries failed rsyncs itself (one retry, then the failLog)",
	"prepare":        "a custom prepare function: sersync2 runs no Lua",
	"exitcodes":      "custom exit code handling: sersync2 classifies rsync's exit codes itself",
	"rsyncExitCodes": "custom exit code handling: sersync2 classifies rsync's exit codes itself",
	"sshExitCodes":   "custom exit code handling: sersync2 classifies ssh's exit codes itself",
	"crontab":        "lsyncd's cron expressions: sersync2's <crontab schedule> is a period in minutes, set it by hand",
	"tunnel":         "a tunnel process: start the tunnel outside sersync2 (a systemd unit) and point the remote at it",
	"batchSizeLimit": "sersync2 splits large batches into chunks of 2,000 paths, not by file size",
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

func (c *converter) delete(at pos, v lua.LValue, sh *shared) {
	switch {
	case v == nil || v == lua.LNil || v == lua.LTrue:
		sh.delete = true
	case v == lua.LFalse:
		sh.delete = false
		c.add(at, "delete", false, "false: <delete start=\"false\">: removes and full syncs delete nothing on the remote")
	case v.String() == "startup":
		sh.delete = false
		c.add(at, "delete", true, "\"startup\": sersync2 deletes both at start-up and while running, or neither; written as <delete start=\"false\"> (nothing deleted); to delete once at start-up, run the -r full sync with <delete start=\"true\"> and restart with \"false\"")
	case v.String() == "running":
		sh.delete = true
		sh.init = false
		c.add(at, "delete", true, "\"running\": written as <delete start=\"true\"> and the command line has no -r, so nothing is deleted at start-up, but also nothing that changed while sersync2 was stopped is sent until it changes again")
	default:
		sh.delete = true
		c.add(at, "delete", true, "%s is not a delete mode lsyncd knows; written as <delete start=\"true\">", v.String())
	}
}

// excludes converts exclude, excludeFrom, filter and filterFrom.
func (c *converter) excludes(at pos, f flat, sh *shared) {
	var globs []string
	var from []string // where each glob came from, for the report
	addList := func(item string, v lua.LValue) {
		switch v := v.(type) {
		case lua.LString:
			globs, from = append(globs, string(v)), append(from, item)
		case *lua.LTable:
			for i := 1; i <= v.Len(); i++ {
				if s, ok := v.RawGetInt(i).(lua.LString); ok {
					globs, from = append(globs, string(s)), append(from, item)
				}
			}
		}
	}
	if v, ok := f.m["exclude"]; ok {
		addList("exclude", v)
	}
	if v, ok := f.m["excludeFrom"].(lua.LString); ok {
		lines, err := c.readList(at, string(v))
		if err != nil {
			c.add(at, "excludeFrom", true, "%v: its excludes are missing from the <filter>", err)
		}
		for _, l := range lines {
			globs, from = append(globs, l), append(from, "excludeFrom "+string(v))
		}
	}
	filterRules := func(item string, rules []string) {
		for _, r := range rules {
			switch {
			case strings.HasPrefix(r, "- "):
				globs, from = append(globs, r[2:]), append(from, item)
			case strings.HasPrefix(r, "exclude "):
				globs, from = append(globs, r[8:]), append(from, item)
			default:
				c.add(at, item, true, "rule %q: only exclude rules (- PATTERN) have a <filter> equivalent", r)
			}
		}
	}
	if v, ok := f.m["filter"].(*lua.LTable); ok {
		var rules []string
		for i := 1; i <= v.Len(); i++ {
			rules = append(rules, v.RawGetInt(i).String())
		}
		filterRules("filter", rules)
	}
	if v, ok := f.m["filterFrom"].(lua.LString); ok {
		lines, err := c.readList(at, string(v))
		if err != nil {
			c.add(at, "filterFrom", true, "%v: its rules are missing from the <filter>", err)
		}
		filterRules("filterFrom", lines)
	}
	for i, g := range globs {
		re, err := globRegex(g)
		if err == nil {
			_, err = regexpCheck(re)
		}
		if err != nil {
			c.add(at, from[i], true, "rsync pattern %q: %v; not in the <filter>", g, err)
			continue
		}
		if !slices.Contains(sh.excludes, re) {
			sh.excludes = append(sh.excludes, re)
		}
	}
	if len(sh.excludes) > 0 {
		c.add(at, "exclude", false, "%d rsync pattern(s) became <filter> regexes matched against the path from the watch root (listed in the XML)", len(sh.excludes))
	}
}

// readList reads an rsync pattern file: one pattern a line, blank lines
// and lines starting with # or ; left out.
func (c *converter) readList(at pos, name string) ([]string, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = c.abs(at, "excludeFrom", name)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// rsyncFlags are lsyncd's short options (default-rsync.lua), in the order
// the converter writes them.
var rsyncFlags = []struct {
	key    string
	letter byte
}{
	{"recursive", 'r'}, {"links", 'l'}, {"perms", 'p'}, {"times", 't'}, {"group", 'g'}, {"owner", 'o'},
	{"acls", 'A'}, {"backup", 'b'}, {"checksum", 'c'}, {"compress", 'z'}, {"copy_dirlinks", 'k'},
	{"copy_links", 'L'}, {"cvs_exclude", 'C'}, {"executability", 'E'}, {"hard_links", 'H'},
	{"ignore_times", 'I'}, {"ipv4", '4'}, {"ipv6", '6'}, {"keep_dirlinks", 'K'}, {"one_file_system", 'x'},
	{"omit_dir_times", 'O'}, {"omit_link_times", 'J'}, {"protect_args", 's'}, {"prune_empty_dirs", 'm'},
	{"quiet", 'q'}, {"sparse", 'S'}, {"update", 'u'}, {"verbose", 'v'}, {"whole_file", 'W'}, {"xattrs", 'X'},
}

// rsyncLong are lsyncd's options with a value, written as --NAME=VALUE.
var rsyncLong = []string{"backup_dir", "bwlimit", "chmod", "chown", "groupmap", "rsync_path", "suffix", "temp_dir", "usermap"}

// rsyncSwitch are lsyncd's long options without a value.
var rsyncSwitch = []string{"append", "append_verify", "copy_unsafe_links", "existing", "inplace"}

// rsyncTable turns sync{}'s rsync table into commonParams, auth, port and
// timeout.
func (c *converter) rsyncTable(at pos, t *lua.LTable, sh *shared) {
	opt := map[string]lua.LValue{"links": lua.LTrue, "times": lua.LTrue, "protect_args": lua.LTrue}
	if t != nil {
		t.ForEach(func(k, v lua.LValue) {
			if ks, ok := k.(lua.LString); ok {
				opt[string(ks)] = v
			}
		})
	}
	on := func(k string) bool { v, ok := opt[k]; return ok && lua.LVAsBool(v) }
	if on("archive") {
		for _, k := range []string{"recursive", "links", "perms", "times", "group", "owner", "devices", "specials"} {
			if _, set := opt[k]; !set {
				opt[k] = lua.LTrue
			}
		}
	}
	// lsyncd adds recursion itself (-r at start-up, the changed paths
	// listed one by one later); sersync2 needs it in commonParams.
	opt["recursive"] = lua.LTrue
	var letters []byte
	for _, fl := range rsyncFlags {
		if on(fl.key) {
			letters = append(letters, fl.letter)
		}
	}
	var long []string
	if on("devices") && on("specials") {
		letters = slices.Insert(letters, min(len(letters), 6), 'D')
	} else if on("devices") {
		long = append(long, "--devices")
	} else if on("specials") {
		long = append(long, "--specials")
	}
	cluster := string(letters)
	if strings.HasPrefix(cluster, "rlptgoD") {
		cluster = "a" + strings.TrimPrefix(cluster, "rlptgoD")
	}
	params := []string{"-" + cluster}
	params = append(params, long...)
	for _, k := range rsyncSwitch {
		if on(k) {
			params = append(params, "--"+strings.ReplaceAll(k, "_", "-"))
		}
	}
	for _, k := range rsyncLong {
		if v, ok := opt[k]; ok && v != lua.LFalse && v != lua.LNil {
			params = append(params, "--"+strings.ReplaceAll(k, "_", "-")+"="+v.String())
		}
	}
	if v, ok := opt["password_file"]; ok && v != lua.LFalse {
		sh.password = v.String()
	}
	if v, ok := opt["timeout"]; ok {
		if n, err := strconv.Atoi(v.String()); err == nil && n > 0 {
			sh.timeout = n
		}
	}
	if v, ok := opt["rsh"]; ok && v != lua.LFalse {
		sh.sshCmd = v.String()
	}
	if v, ok := opt["binary"]; ok {
		if b := v.String(); b != "rsync" && b != "/usr/bin/rsync" && b != "/bin/rsync" {
			c.add(at, "rsync.binary", true, "%s: sersync2 runs the rsync found in PATH", b)
		}
	}
	if on("dry_run") {
		c.dryRun = true
		c.add(at, "rsync.dry_run", false, "--dry-run on the command line: sersync2 logs each rsync it would run and runs none")
	}
	if on("delete_excluded") {
		c.add(at, "rsync.delete_excluded", true, "sersync2 never deletes what the <filter> excludes on the remote")
	}
	if ex, ok := opt["_extra"].(*lua.LTable); ok {
		for i := 1; i <= ex.Len(); i++ {
			w := ex.RawGetInt(i).String()
			name, val, hasVal := strings.Cut(w, "=")
			switch {
			case name == "--port" && hasVal:
				n, err := strconv.Atoi(val)
				if err != nil || n < 1 || n > 65535 {
					c.add(at, "rsync._extra", true, "%q: not a port number", w)
					continue
				}
				sh.port = n
			case name == "--password-file" && hasVal:
				sh.password = val
			case name == "--timeout" && hasVal:
				if n, err := strconv.Atoi(val); err == nil && n > 0 {
					sh.timeout = n
				} else {
					params = append(params, w)
				}
			case name == "--rsh" && hasVal:
				sh.sshCmd = val
			case w == "-R" || w == "--relative" || w == "--files-from" || name == "--files-from" || w == "--from0":
				c.add(at, "rsync._extra", true, "%q: sersync2 sets it itself", w)
			default:
				params = append(params, w)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(opt)) {
		if !knownRsync(k) {
			c.add(at, "rsync."+k, true, "not an rsync option lsyncd knows")
		}
	}
	sh.params = params
}

func knownRsync(k string) bool {
	for _, fl := range rsyncFlags {
		if fl.key == k {
			return true
		}
	}
	return slices.Contains(rsyncLong, k) || slices.Contains(rsyncSwitch, k) || slices.Contains([]string{
		"archive", "devices", "specials", "password_file", "timeout", "rsh", "binary", "dry_run",
		"delete_excluded", "_extra", "_computed",
	}, k)
}

// target returns the remote of a sync{}, with isLocal for a local
// directory; nil when there is none to convert.
func (c *converter) target(at pos, f flat, sh *shared) (*remote, bool) {
	switch f.kind {
	case "rsyncssh":
		host, _ := f.m["host"].(lua.LString)
		dir, _ := f.m["targetdir"].(lua.LString)
		if host == "" || dir == "" {
			c.add(at, "host", true, "default.rsyncssh needs host and targetdir: this sync{} is skipped")
			return nil, false
		}
		sh.ssh = true
		user, h := splitUser(string(host))
		sh.user = user
		sh.sshCmd = c.sshCommand(at, f.m["ssh"])
		if _, ok := f.m["xargs"]; ok && !inheritedDefault(f.m["xargs"]) {
			c.add(at, "xargs", false, "sersync2 runs its own xargs on the remote for renames")
		}
		c.add(at, "default.rsyncssh", false, "<ssh start=\"true\">: renames are done on the remote with mv, as lsyncd's rsyncssh does, when <delete> is on")
		return &remote{user: user, ip: h, name: string(dir)}, false
	case "direct":
		t, _ := f.m["target"].(lua.LString)
		if t == "" {
			c.add(at, "target", true, "missing: this sync{} is skipped")
			return nil, false
		}
		c.add(at, "default.direct", false, "sersync2 copies with rsync, not cp/mv/rm")
		return &remote{dir: c.abs(at, "target", string(t))}, true
	}
	tv, _ := f.m["target"].(lua.LString)
	t := string(tv)
	if t == "" {
		c.add(at, "target", true, "missing or not a string: this sync{} is skipped")
		return nil, false
	}
	if sh.sshCmd != "" {
		// rsh set: the target is reached over it.
		sh.ssh = true
	}
	var user, host, name string
	daemon := false
	switch {
	case strings.HasPrefix(t, "rsync://"):
		rest := strings.TrimPrefix(t, "rsync://")
		hp, path, _ := strings.Cut(rest, "/")
		user, hp = splitUser(hp)
		if h, p, ok := strings.Cut(hp, ":"); ok && !strings.Contains(p, ":") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				c.add(at, "target", true, "%q: not a port number; this sync{} is skipped", p)
				return nil, false
			}
			sh.port, hp = n, h
		}
		host, name, daemon = hp, path, true
	case strings.Contains(t, "::"):
		hp, path, _ := strings.Cut(t, "::")
		user, host = splitUser(hp)
		name, daemon = path, true
	case strings.Contains(t, ":") && !strings.Contains(t[:strings.Index(t, ":")], "/"):
		hp, path, _ := strings.Cut(t, ":")
		user, host = splitUser(hp)
		name = path
		if name == "" {
			name = "."
		}
		sh.ssh = true
	default:
		return &remote{dir: c.abs(at, "target", t)}, true
	}
	if daemon && sh.ssh {
		c.add(at, "rsync.rsh", true, "a remote shell for a daemon target: sersync2 talks to daemons directly; left out")
		sh.ssh, sh.sshCmd = false, ""
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		c.add(at, "target", true, "%q names no module or path: this sync{} is skipped", t)
		return nil, false
	}
	sh.user = user
	return &remote{user: user, ip: host, name: name}, false
}

// inheritedDefault reports whether v is an empty table (the default.*
// placeholder nobody filled in).
func inheritedDefault(v lua.LValue) bool {
	t, ok := v.(*lua.LTable)
	if !ok {
		return false
	}
	empty := true
	t.ForEach(func(lua.LValue, lua.LValue) { empty = false })
	return empty
}

func splitUser(hp string) (string, string) {
	if u, h, ok := strings.Cut(hp, "@"); ok {
		return u, h
	}
	return "", hp
}

// sshCommand builds <ssh command> from rsyncssh's ssh table.
func (c *converter) sshCommand(at pos, v lua.LValue) string {
	t, ok := v.(*lua.LTable)
	if !ok {
		return ""
	}
	bin := "ssh"
	var words []string
	t.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "binary":
			bin = v.String()
		case "port":
			words = append(words, "-p", v.String())
		case "identityFile":
			words = append(words, "-i", v.String())
		case "options":
			if o, ok := v.(*lua.LTable); ok {
				var opts []string
				o.ForEach(func(k, v lua.LValue) { opts = append(opts, k.String()+"="+v.String()) })
				slices.Sort(opts)
				for _, s := range opts {
					words = append(words, "-o", s)
				}
			}
		case "_extra":
			if o, ok := v.(*lua.LTable); ok {
				for i := 1; i <= o.Len(); i++ {
					words = append(words, o.RawGetInt(i).String())
				}
			}
		default:
			c.add(at, "ssh."+k.String(), true, "not an ssh option lsyncd knows")
		}
	})
	// -p, -i and -o in a fixed order: ForEach's order is the hash's.
	words = sortPairs(words)
	if bin == "ssh" && len(words) == 0 {
		return ""
	}
	return joinArgs(append([]string{bin}, words...))
}

// sortPairs orders "-x value" pairs by flag then value; a lone trailing
// word (from _extra) stays in place relative to the pairs.
func sortPairs(w []string) []string {
	type pair struct{ a, b string }
	var ps []pair
	var rest []string
	for i := 0; i < len(w); i++ {
		if (w[i] == "-p" || w[i] == "-i" || w[i] == "-o") && i+1 < len(w) {
			ps = append(ps, pair{w[i], w[i+1]})
			i++
			continue
		}
		rest = append(rest, w[i])
	}
	sort.SliceStable(ps, func(i, j int) bool { return cmp.Or(cmp.Compare(ps[i].a, ps[j].a), cmp.Compare(ps[i].b, ps[j].b)) < 0 })
	var out []string
	for _, p := range ps {
		out = append(out, p.a, p.b)
	}
	return append(out, rest...)
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
	if !slices.Contains(c.roots[i].remotes, r) {
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
