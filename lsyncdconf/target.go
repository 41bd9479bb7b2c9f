// A sync{}'s target: a daemon module, an ssh host and path, or a local directory.

package lsyncdconf

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/sersync-go/sersync2/confxml"
)

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

// dropBadLocalTargets leaves out, with a note, each local target that
// confxml would refuse (inside or holding a watch root, overlapping another
// local target, a name with a control character), and a root left with no
// target: the converted file must load. It runs once every sync{} is in,
// since a later sync{} can add the watch root a target lies in.
func (c *converter) dropBadLocalTargets() {
	watches := make([]string, len(c.roots))
	for i, r := range c.roots {
		watches[i] = r.watch
	}
	var kept []string
	roots := c.roots[:0]
	for _, r := range c.roots {
		rms := r.remotes[:0]
		for _, rm := range r.remotes {
			if rm.dir != "" {
				if why := confxml.LocalTargetProblem(rm.dir, watches, kept); why != "" {
					c.add(rm.at, "target", true, "%s: this sync{} is skipped", why)
					continue
				}
				kept = append(kept, rm.dir)
			}
			rms = append(rms, rm)
		}
		if r.remotes = rms; len(rms) > 0 {
			roots = append(roots, r)
		}
	}
	c.roots = roots
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
