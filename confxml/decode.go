package confxml

import (
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/internal/shellwords"
)

// Default failLog settings, the original's.
const (
	DefaultFailLogPath     = "rsync_fail_log.sh"
	DefaultFailLogInterval = 120 * time.Minute
	DefaultCrontabSchedule = 600 * time.Minute
)

// maxMinutes bounds minute counts so that they fit a time.Duration.
const maxMinutes = 100_000_000

// Default returns the configuration used for everything the file does not
// say: every toggle off, failLog "rsync_fail_log.sh" every 120 minutes,
// crontab every 600 minutes.
func Default() Config {
	return Config{
		Sersync: Sersync{
			FailLog: FailLog{Path: DefaultFailLogPath, Interval: DefaultFailLogInterval},
			Crontab: Crontab{Schedule: DefaultCrontabSchedule},
		},
	}
}

// header decodes what both modes read: <host>, <debug>, <fileSystem>,
// <filter> and <inotify>.
func (p *problems) header(head elem, c *Config) {
	host := p.child(head, "host")
	c.Host.IP = p.optional(host, "hostip", "")
	c.Host.Port = p.optional(host, "port", "")
	c.Debug = p.toggle(p.child(head, "debug"), "start")
	c.XFS = p.toggle(p.child(head, "fileSystem"), "xfs")

	f := p.child(head, "filter")
	c.Filter.Enabled = p.toggle(f, "start")
	c.Filter.SyncDotfiles = p.flag(f, "syncDotfiles")
	if c.Filter.Enabled {
		// Read by element name. The original counted the <exclude> children
		// and then read the first that many children of any name (a
		// defect).
		for _, x := range list(f, "exclude") {
			if v, ok := value(x, "expression"); ok {
				c.Filter.Exclude = append(c.Filter.Exclude, v)
			} else {
				p.errorf(x.path, "attribute expression missing")
			}
		}
		if len(list(f, "exclude")) == 0 {
			p.warnf(f.path, "start=\"true\" but no <exclude>, nothing is filtered")
		}
	}

	ino := p.child(head, "inotify")
	if ino.e == nil {
		p.warnf(ino.path, "element missing, every event toggle taken as start=\"false\": nothing is watched")
	}
	c.Inotify = Inotify{
		Delete:       p.toggle(p.child(ino, "delete"), "start"),
		CreateFolder: p.toggle(p.child(ino, "createFolder"), "start"),
		CreateFile:   p.toggle(p.child(ino, "createFile"), "start"),
		CloseWrite:   p.toggle(p.child(ino, "closeWrite"), "start"),
		MoveFrom:     p.toggle(p.child(ino, "moveFrom"), "start"),
		MoveTo:       p.toggle(p.child(ino, "moveTo"), "start"),
		Attrib:       p.toggle(p.child(ino, "attrib"), "start"),
		Modify:       p.toggle(p.child(ino, "modify"), "start"),
	}
}

// sersync decodes the <sersync> section (rows 15-34), read in sync mode.
func (p *problems) sersync(head elem, c *Config) {
	s := p.child(head, "sersync")
	if s.e == nil {
		p.errorf(s.path, "element missing: it says what to watch and where to push it")
		return
	}
	p.localPaths(s, c, true)

	r := p.child(s, "rsync")
	if r.e == nil {
		p.warnf(r.path, "element missing, rsync options taken as empty and off")
	}
	p.rsync(r, &c.Sersync.Rsync)

	fl := p.child(s, "failLog")
	fp := p.verbatim(fl, "path", p.optional(fl, "path", DefaultFailLogPath))
	if fp == "" {
		p.warnf(fl.path, "attribute path is empty, taken as %q in the working directory", DefaultFailLogPath)
		fp = DefaultFailLogPath
	}
	c.Sersync.FailLog.Path = fp
	// Empty means 120 minutes, as in the original; not a number is an error
	// (the original silently made it 0 and ran the failLog at every check).
	if v := p.optional(fl, "timeToExecute", "120"); v != "" {
		if n, ok := uintValue(v); ok && n <= maxMinutes {
			c.Sersync.FailLog.Interval = time.Duration(n) * time.Minute
		} else {
			p.errorf(fl.path, "attribute timeToExecute: %q is not a number of minutes (0..%d)", v, maxMinutes)
		}
	}

	p.crontab(p.child(s, "crontab"), &c.Sersync.Crontab)

	pl := p.child(s, "plugin")
	c.Sersync.Plugin.Enabled = p.toggle(pl, "start")
	if c.Sersync.Plugin.Enabled {
		if v, ok := p.required(pl, "name"); ok {
			c.Sersync.Plugin.Name = v
			if err := checkPluginName(v); err != nil {
				p.errorf(pl.path, "attribute name: %w", err)
			}
		}
	}
}

// localPaths decodes every <sersync><localpath>; withRemotes is false in
// plugin-only mode, where only the watch path is used.
func (p *problems) localPaths(s elem, c *Config, withRemotes bool) {
	lps := list(s, "localpath")
	if len(lps) == 0 {
		p.errorf(s.path+"<localpath>", "element missing: there is nothing to watch")
		return
	}
	for _, lp := range lps {
		var l LocalPath
		if w, ok := p.required(lp, "watch"); ok {
			l.Watch = trimOneSlash(p.verbatim(lp, "watch", w))
		}
		if withRemotes {
			rs, lts := list(lp, "remote"), list(lp, "localtarget")
			if len(rs) == 0 && len(lts) == 0 {
				p.errorf(lp.path+"<remote>", "element missing: there is nowhere to push to")
			}
			for _, x := range rs {
				var r Remote
				if v, ok := p.required(x, "ip"); ok {
					r.IP = v // blanks are refused by validate
				}
				if v, ok := p.required(x, "name"); ok {
					r.Name = p.verbatim(x, "name", v)
				}
				l.Remotes = append(l.Remotes, r)
			}
			for _, x := range lts {
				if v, ok := p.required(x, "dir"); ok {
					l.Remotes = append(l.Remotes, Remote{Dir: localTarget(p.verbatim(x, "dir", v))})
				}
			}
		}
		c.Sersync.LocalPaths = append(c.Sersync.LocalPaths, l)
	}
}

// localTarget returns the dir of a <localtarget> as the engine uses it:
// clean when absolute (validate refuses any other).
func localTarget(dir string) string {
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return dir
}

// trimOneSlash removes exactly one trailing slash, as the original did
// ("/data/" -> "/data", "/data//" -> "/data/"), but keeps "/" (the original
// made it "" and watched nothing).
func trimOneSlash(w string) string {
	if len(w) > 1 && strings.HasSuffix(w, "/") {
		return w[:len(w)-1]
	}
	return w
}

func (p *problems) rsync(r elem, o *Rsync) {
	cp := p.child(r, "commonParams")
	o.CommonParams = p.optional(cp, "params", "")
	words, err := shellwords.Split(o.CommonParams)
	if err != nil {
		p.errorf(cp.path, "attribute params: %q does not split into words: %w", o.CommonParams, err)
	} else {
		o.Params = words
		if recursionOf(words) == RecursionOff {
			p.warnf(cp.path, "attribute params: %q has no -r, -a, --recursive or --archive: directory syncs and deletes need recursion", o.CommonParams)
		}
	}

	auth := p.child(r, "auth")
	o.Auth.Enabled = p.toggle(auth, "start")
	if o.Auth.Enabled {
		o.Auth.Users = p.verbatim(auth, "users", p.optional(auth, "users", ""))
		o.Auth.PasswordFile = p.verbatim(auth, "passwordfile", p.optional(auth, "passwordfile", ""))
	}

	port := p.child(r, "userDefinedPort")
	o.Port.Enabled = p.toggle(port, "start")
	if o.Port.Enabled {
		if v, ok := p.required(port, "port"); ok {
			o.Port.Port = p.port(port, "port", v)
		}
	}

	to := p.child(r, "timeout")
	o.Timeout.Enabled = p.toggle(to, "start")
	if o.Timeout.Enabled {
		if v, ok := p.required(to, "time"); ok {
			if n, ok := uintValue(v); ok && n <= math.MaxInt32 {
				o.Timeout.Seconds = n
			} else {
				p.errorf(to.path, "attribute time: %q is not a number of seconds (0..%d)", v, math.MaxInt32)
			}
		}
	}

	ssh := p.child(r, "ssh")
	o.SSH.Enabled = p.toggle(ssh, "start")
	if o.SSH.Enabled {
		if v, ok := value(ssh, "command"); ok {
			words, err := shellwords.Split(v)
			switch {
			case err != nil:
				p.errorf(ssh.path, "attribute command: %q does not split into words: %w", v, err)
			case len(words) == 0:
				p.warnf(ssh.path, "attribute command: %q is blank, taken as \"ssh\"", v)
			default:
				o.SSH.Command = v
			}
		}
	}
}

func (p *problems) crontab(ct elem, c *Crontab) {
	c.Enabled = p.toggle(ct, "start")
	if !c.Enabled {
		return
	}
	// atoi semantics, as the original: "10min" is 10, and <= 0 or no
	// number at all is 600; we warn about anything but a plain number.
	v := p.optional(ct, "schedule", "600")
	n, clean := atoi(v)
	taken := n
	switch {
	case n <= 0:
		taken = int(DefaultCrontabSchedule / time.Minute)
	case n > maxMinutes:
		taken = maxMinutes
	}
	if !clean || taken != n {
		p.warnf(ct.path, "attribute schedule: %q is not a positive number of minutes, taken as %d", v, taken)
	}
	c.Schedule = time.Duration(taken) * time.Minute

	cf := p.child(ct, "crontabfilter")
	c.FilterEnabled = p.toggle(cf, "start")
	if c.FilterEnabled {
		for _, x := range list(cf, "exclude") {
			if v, ok := value(x, "expression"); ok {
				c.Exclude = append(c.Exclude, v)
			} else {
				p.errorf(x.path, "attribute expression missing")
			}
		}
	}
}

// port parses a TCP port: digits only, 1..65535.
func (p *problems) port(x elem, name, v string) int {
	n, ok := uintValue(v)
	if !ok || n < 1 || n > 65535 {
		p.errorf(x.path, "attribute %s: %q is not a port number (1..65535)", name, v)
		return 0
	}
	return n
}

// uintValue parses a non-negative decimal written with digits only.
func uintValue(s string) (int, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// atoi is C's atoi as the original used it: leading white space, an
// optional sign, then digits up to the first non-digit; no digits gives 0.
// clean reports whether the whole string was one plain decimal number.
func atoi(s string) (n int, clean bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n < math.MaxInt32 {
			n = n*10 + int(s[i]-'0')
		}
	}
	n = min(n, math.MaxInt32)
	if neg {
		n = -n
	}
	_, clean = uintValue(s)
	return n, clean && i > start
}

// checkPluginName accepts exactly the plugins the original's build had.
func checkPluginName(name string) error {
	switch name {
	case pluginCommand, pluginSocket, pluginCDN:
		return nil
	case "http":
		return because(ErrUnknownPlugin, "plugin \"http\" is not supported (it was compiled out of sersync2 2.5.4 as well)")
	}
	return because(ErrUnknownPlugin, "plugin %q is unknown: the name must be exactly %q, %q or %q", name, pluginCommand, pluginSocket, pluginCDN)
}
