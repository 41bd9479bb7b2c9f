package confxml

import (
	"errors"
	"fmt"
	"regexp"
)

// TakesOverWatch reports whether the selected plugin replaces the first
// <localpath> with its own watch directory, as the original did: the
// socket and refreshCDN plugins do, the command plugin does not.
func (p PluginSwitch) TakesOverWatch() bool {
	return p.Enabled && (p.Name == pluginSocket || p.Name == pluginCDN)
}

// PluginWatch returns the watch path as plugin name is told it: the
// plugin's own <localpath watch> for socket and refreshCDN (verbatim; the
// socket plugin keeps its trailing slash), the first <sersync><localpath>
// for the command plugin.
func (c Config) PluginWatch(name string) string {
	switch name {
	case pluginSocket:
		return c.Socket.Watch
	case pluginCDN:
		return c.RefreshCDN.Watch
	}
	if len(c.Sersync.LocalPaths) == 0 {
		return ""
	}
	return c.Sersync.LocalPaths[0].Watch
}

// WatchRoots returns the directories to watch, each with the remotes its
// changes go to. onlyPlugin is the -m plugin name, "" in sync mode.
//
// In sync mode these are the <sersync><localpath>s in document order; when
// the selected plugin takes the watch over (TakesOverWatch) the first one's
// directory is the plugin's, its remotes unchanged. In plugin-only mode it
// is the plugin's watch directory alone, with no remotes. Directories have
// one trailing slash removed, as every watch path does.
func (c Config) WatchRoots(onlyPlugin string) []LocalPath {
	if onlyPlugin != "" {
		return []LocalPath{{Watch: trimOneSlash(c.PluginWatch(onlyPlugin))}}
	}
	roots := append([]LocalPath(nil), c.Sersync.LocalPaths...)
	if len(roots) > 0 && c.Sersync.Plugin.TakesOverWatch() {
		roots[0].Watch = trimOneSlash(c.PluginWatch(c.Sersync.Plugin.Name))
	}
	return roots
}

// PortNumber is the <host port> as the original printed it: C's atoi of
// the attribute (leading blanks and a sign taken, digits up to the first
// other byte, 0 when there are none).
func (h Host) PortNumber() int {
	n, _ := atoi(h.Port)
	return n
}

// Compiled returns the exclude expressions compiled for full-match use,
// exactly as Load compiles them (CompileFullMatch): Regexps when Load
// filled it, otherwise Exclude compiled now (a Filter built by hand). An
// expression that does not compile is an error naming its element. A
// filter that is off has no expressions.
func (f Filter) Compiled() ([]*regexp.Regexp, error) {
	if !f.Enabled {
		return nil, nil
	}
	if len(f.Regexps) > 0 || len(f.Exclude) == 0 {
		return f.Regexps, nil
	}
	var errs []error
	res := compileEach(f.Exclude, func(i int, v string, err error) {
		errs = append(errs, fmt.Errorf("confxml: %s: attribute expression: %q %w", excludeName(i), v, err))
	})
	return res, errors.Join(errs...)
}
