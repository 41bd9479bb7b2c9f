package confxml

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/sersync-go/sersync2/internal/shellwords"
)

// Plugin names, exactly as written in name="…" (case-sensitive, as the
// original compared them).
const (
	pluginCommand = "command"
	pluginSocket  = "socket"
	pluginCDN     = "refreshCDN"
)

// PluginMode picks the plugin of plugin-only mode from the names given
// with -m, in command-line order, the way the original did: refreshCDN,
// then socket, then command, whichever was given, the others ignored. No
// name is sync mode (""). Any error wraps ErrUnknownPlugin.
func PluginMode(names []string) (string, error) {
	if len(names) == 0 {
		return "", nil
	}
	for _, want := range []string{pluginCDN, pluginSocket, pluginCommand} {
		if slices.Contains(names, want) {
			return want, nil
		}
	}
	if slices.Contains(names, "http") {
		return "", because(ErrUnknownPlugin, "-m http: the http plugin is not supported (the original's build had it compiled out)")
	}
	return "", because(ErrUnknownPlugin, "-m %s: unknown plugin; use refreshCDN, socket or command", strings.Join(names, ","))
}

// pluginCheck holds what decoding and validating one <head>-level plugin
// block found. It is kept apart because it only matters when the plugin is
// selected, by <sersync><plugin> (Load) or by -m (LoadPlugin,
// ValidatePlugin).
type pluginCheck struct {
	problems
}

// pluginBlocks decodes every <head>-level <plugin> block with a known name.
// The first block with a given name is used (the original searched for the
// first match); blocks of other names are ignored, as the original did.
func (p *problems) pluginBlocks(head elem, c *Config) {
	c.checks = map[string]*pluginCheck{}
	for _, b := range list(head, "plugin") {
		name, ok := value(b, "name")
		if !ok {
			p.warnf(b.path, "attribute name missing, block ignored")
			continue
		}
		if _, known := pluginSchemas[name]; !known {
			continue
		}
		block := elem{e: b.e, path: fmt.Sprintf("<plugin name=%q>", name)}
		if c.checks[name] != nil {
			p.warnf(block.path, "more than one block, only the first is used")
			continue
		}
		pc := &pluginCheck{}
		c.checks[name] = pc
		pc.unknown(block.e, block.path, pluginSchemas[name], map[string]bool{})
		switch name {
		case pluginCommand:
			pc.command(block, &c.Command)
		case pluginSocket:
			pc.socket(block, &c.Socket)
		case pluginCDN:
			pc.refreshCDN(block, &c.RefreshCDN)
		}
	}
}

func (p *problems) command(b elem, c *CommandPlugin) {
	c.Present = true
	par := p.child(b, "param")
	if v, ok := p.required(par, "prefix"); ok {
		if words, err := shellwords.Split(v); err != nil {
			p.errorf(par.path, "attribute prefix: %q does not split into words: %w", v, err)
		} else if len(words) == 0 {
			p.errorf(par.path, "attribute prefix: %q is blank", v)
		} else {
			c.Prefix = v
		}
	}
	c.Suffix = p.optional(par, "suffix", "")
	if _, err := shellwords.Split(c.Suffix); err != nil {
		p.errorf(par.path, "attribute suffix: %q does not split into words: %w", c.Suffix, err)
	}
	c.IgnoreError = p.toggle(par, "ignoreError")

	f := p.child(b, "filter")
	c.FilterEnabled = p.toggle(f, "start")
	if c.FilterEnabled {
		incs := list(f, "include")
		if len(incs) == 0 {
			p.warnf(f.path, "start=\"true\" but no <include>: the command never runs")
		}
		for _, x := range incs {
			v, ok := value(x, "expression")
			if !ok {
				p.errorf(x.path, "attribute expression missing")
				continue
			}
			c.Include = append(c.Include, v)
			if re, err := CompileFullMatch(v); err != nil {
				p.errorf(x.path, "attribute expression: %q %w", v, err)
			} else {
				c.Regexps = append(c.Regexps, re)
			}
		}
	}
}

func (p *problems) socket(b elem, c *SocketPlugin) {
	c.Present = true
	lp := p.child(b, "localpath")
	if v, ok := p.required(lp, "watch"); ok {
		c.Watch = p.verbatim(lp, "watch", v)
		p.watchDir(lp, c.Watch)
	}
	dh := p.child(lp, "deshost")
	if v, ok := p.required(dh, "ip"); ok {
		// The original took only dotted IPv4 (inet_addr, no DNS); we also
		// take IPv6.
		if net.ParseIP(v) == nil {
			p.errorf(dh.path, "attribute ip: %q is not an IP address", v)
		} else {
			c.IP = v
		}
	}
	if v, ok := p.required(dh, "port"); ok {
		c.Port = p.port(dh, "port", v)
	}
}

func (p *problems) refreshCDN(b elem, c *RefreshCDNPlugin) {
	c.Present = true
	lp := p.child(b, "localpath")
	if v, ok := p.required(lp, "watch"); ok {
		c.Watch = trimOneSlash(p.verbatim(lp, "watch", v))
		p.watchDir(lp, c.Watch)
	}
	ci := p.child(lp, "cdninfo")
	if v, ok := p.required(ci, "domainname"); ok {
		c.DomainName = p.verbatim(ci, "domainname", v)
	}
	if v, ok := p.required(ci, "port"); ok {
		c.Port = p.port(ci, "port", v)
	}
	c.Username, _ = p.required(ci, "username")
	c.Passwd, _ = p.required(ci, "passwd")
	su := p.child(lp, "sendurl")
	c.BaseURL, _ = p.required(su, "base")
	ru := p.child(lp, "regexurl")
	c.Regex = p.toggle(ru, "regex")
	if c.Regex {
		// Search semantics (regex_search), not anchored; group 1 is used.
		if v, ok := p.required(ru, "match"); ok {
			c.Match = v
			if re, err := CompileSearch(v); err != nil {
				p.errorf(ru.path, "attribute match: %q %w", v, err)
			} else {
				c.MatchRegexp = re
			}
		}
	} else {
		// The original insisted on a match even with regex off; we do not.
		c.Match, _ = value(ru, "match")
	}
}

// ValidatePlugin reports whether plugin name can run with this
// configuration: the name must be exactly command, socket or refreshCDN
// (ErrUnknownPlugin otherwise, http included), its <head>-level <plugin
// name=…> block must exist (ErrPluginBlockMissing) and every problem Load
// found in that block is returned. Load calls it for the plugin selected by
// <sersync><plugin start="true">; cmd calls it (or LoadPlugin) for -m NAME.
// Problems in blocks of plugins that are not selected do not stop Load.
func (c Config) ValidatePlugin(name string) error {
	if err := checkPluginName(name); err != nil {
		return fmt.Errorf("confxml: %w", err)
	}
	pc := c.checks[name]
	present := map[string]bool{pluginCommand: c.Command.Present, pluginSocket: c.Socket.Present, pluginCDN: c.RefreshCDN.Present}[name]
	if !present {
		return fmt.Errorf("confxml: <plugin name=%q>: %w", name,
			because(ErrPluginBlockMissing, "element missing: plugin %s is selected but <head> has no such block", name))
	}
	if pc == nil {
		return nil // built by hand, not by Load
	}
	return errors.Join(pc.errs...)
}
