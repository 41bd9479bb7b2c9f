// settings{} and the tables a sync{} inherits from.

package lsyncdconf

import (
	"slices"

	lua "github.com/yuin/gopher-lua"
)

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
