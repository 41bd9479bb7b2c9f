package confxml

import (
	"errors"
)

// Load reads the configuration file at path for sync mode (no -m): it
// starts from Default, decodes the file over it, then validates the result,
// and returns every problem at once (errors.Join).
//
// A file that cannot be read, is empty, is not well-formed XML or has no
// <head> root gives a *ParseError (the original exited 255). Any other
// problem is an error naming the element and attribute, e.g.
//
//	confxml: <sersync><localpath> #1<remote> #2: attribute ip: "" is empty
//
// On such errors the returned Config holds what could be decoded, and its
// Warnings are meaningful; it must not be used to run.
func Load(path string) (Config, error) {
	return load(path, false, "")
}

// LoadPlugin reads the configuration file for plugin-only mode (-m name). As
// the original, it reads <head>'s common elements and the plugin's own
// block, plus the <sersync><localpath> watch paths for the command plugin
// (which watches them), but nothing else of <sersync>. The plugin is checked
// with ValidatePlugin, and the warnings about its block are included.
func LoadPlugin(path, name string) (Config, error) {
	return load(path, true, name)
}

func load(path string, pluginMode bool, plugin string) (Config, error) {
	data, err := readFile(path)
	if err != nil {
		return Config{Path: path}, err
	}
	return decode(path, data, pluginMode, plugin)
}

// decode is load on bytes already read; name is used in messages.
func decode(name string, data []byte, pluginMode bool, plugin string) (Config, error) {
	c := Default()
	c.Path = name
	root, err := parseDoc(name, data)
	if err != nil {
		return c, err
	}
	var p problems
	head := elem{e: root}
	p.unknown(root, "", headSchema, map[string]bool{})
	p.header(head, &c)
	p.pluginBlocks(head, &c)
	if !pluginMode {
		p.sersync(head, &c)
		p.validate(&c)
	} else {
		if plugin == pluginCommand {
			// The command plugin watches <sersync><localpath watch>.
			p.localPaths(p.child(head, "sersync"), &c, false)
			p.watchRoots(&c)
		}
		p.compileExcludes(&c)
		p.plugin(&c, plugin)
	}
	c.Warnings = p.warns
	return c, errors.Join(p.errs...)
}
