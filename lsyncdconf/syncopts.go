// A sync{}'s delete, excludes and rsync table, and what each becomes.

package lsyncdconf

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

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
