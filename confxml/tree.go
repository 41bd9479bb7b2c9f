package confxml

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// problems collects what decoding and validation found, so that Load can
// report every problem at once.
type problems struct {
	errs  []error
	warns []string
}

// errorf records an error about the element at where. format and args come
// from this package; where is built from canonical element names.
func (p *problems) errorf(where, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("confxml: %s: "+format, append([]any{where}, args...)...))
}

// hostErrorf records a problem of this machine rather than of the file
// (a watch directory or password file that is missing or unusable): it
// wraps ErrHost, so --check can tell the two apart.
func (p *problems) hostErrorf(where, format string, args ...any) {
	p.errs = append(p.errs, &hostError{fmt.Errorf("confxml: %s: "+format, append([]any{where}, args...)...)})
}

type hostError struct{ err error }

func (e *hostError) Error() string        { return e.err.Error() }
func (e *hostError) Unwrap() error        { return e.err }
func (e *hostError) Is(target error) bool { return target == ErrHost }

func (p *problems) warnf(where, format string, args ...any) {
	p.warns = append(p.warns, fmt.Sprintf("%s: "+format, append([]any{where}, args...)...))
}

// elem is an element looked up by name, possibly missing.
type elem struct {
	e    *etree.Element // nil when the element is missing
	path string         // canonical path below <head>, e.g. "<sersync><rsync><ssh>"
	// quiet: an ancestor is missing and was reported already; nothing more
	// is said about this element or its attributes.
	quiet bool
}

// child returns the first child element of x named name (case-insensitive).
// Later duplicates are ignored with a warning, as the original used the
// first.
func (p *problems) child(x elem, name string) elem {
	c := elem{path: x.path + "<" + name + ">", quiet: x.e == nil}
	if x.e == nil {
		return c
	}
	n := 0
	for _, ch := range x.e.ChildElements() {
		if strings.EqualFold(ch.FullTag(), name) {
			if n == 0 {
				c.e = ch
			}
			n++
		}
	}
	if n > 1 {
		p.warnf(c.path, "%d elements, only the first is used", n)
	}
	return c
}

// list returns every child element of x named name, in document order; their
// paths carry their 1-based position, e.g. "<sersync><localpath> #2".
func list(x elem, name string) []elem {
	if x.e == nil {
		return nil
	}
	var out []elem
	for _, ch := range x.e.ChildElements() {
		if strings.EqualFold(ch.FullTag(), name) {
			out = append(out, elem{e: ch, path: fmt.Sprintf("%s<%s> #%d", x.path, name, len(out)+1)})
		}
	}
	return out
}

// value returns the first attribute of x named name (case-insensitive), as
// the raw bytes of the file. ok is false when x or the attribute is missing.
func value(x elem, name string) (v string, ok bool) {
	if x.e == nil {
		return "", false
	}
	for _, a := range x.e.Attr {
		if strings.EqualFold(a.FullKey(), name) {
			return unescape(a.Value), true
		}
	}
	return "", false
}

// toggle reads an on/off attribute the original needed: on only for the
// exact value "true". Missing counts as "false", with a warning (the
// original crashed).
func (p *problems) toggle(x elem, name string) bool {
	v, ok := value(x, name)
	switch {
	case ok:
		return p.flagValue(x, name, v)
	case x.quiet:
	case x.e == nil:
		p.warnf(x.path, "element missing, taken as %s=\"false\"", name)
	default:
		p.warnf(x.path, "attribute %s missing, taken as \"false\"", name)
	}
	return false
}

// flag reads an optional on/off attribute of ours: missing is simply off.
func (p *problems) flag(x elem, name string) bool {
	v, ok := value(x, name)
	return ok && p.flagValue(x, name, v)
}

func (p *problems) flagValue(x elem, name, v string) bool {
	if v == "true" {
		return true
	}
	if v != "false" {
		// Also catches <ssh start/>: the permissive parser gives a valueless
		// attribute its own name as value.
		p.warnf(x.path, "attribute %s: %q is not \"true\" or \"false\", taken as \"false\"", name, v)
	}
	return false
}

// optional reads an attribute the original needed but that has a sane
// default: missing gives def with a warning.
func (p *problems) optional(x elem, name, def string) string {
	v, ok := value(x, name)
	switch {
	case ok:
		return v
	case x.quiet:
	case x.e == nil:
		p.warnf(x.path, "element missing, taken as %s=%q", name, def)
	default:
		p.warnf(x.path, "attribute %s missing, taken as %q", name, def)
	}
	return def
}

// required reads an attribute without which nothing sane can be done:
// missing or empty is an error. ok reports whether a value was found.
func (p *problems) required(x elem, name string) (v string, ok bool) {
	v, ok = value(x, name)
	switch {
	case ok && v != "":
		return v, true
	case ok:
		p.errorf(x.path, "attribute %s: \"\" is empty", name)
	case x.quiet:
	case x.e == nil:
		p.errorf(x.path, "element missing (attribute %s is required)", name)
	default:
		p.errorf(x.path, "attribute %s missing", name)
	}
	return "", false
}

// verbatim warns when a value that is used as written (a path, a host, a
// module) starts or ends with blanks: the original kept them, and so do we.
func (p *problems) verbatim(x elem, name, v string) string {
	if v != strings.Trim(v, " \t\r\n") {
		p.warnf(x.path, "attribute %s: %q has leading or trailing blanks, kept as written", name, v)
	}
	return v
}

// schema lists the elements the original read, to warn about the others.
type schema struct {
	name string
	kids []*schema
}

func node(name string, kids ...*schema) *schema { return &schema{name: name, kids: kids} }

// headSchema covers <head> except its <plugin> blocks (pluginSchemas).
var headSchema = node("head",
	node("host"),
	node("debug"),
	node("fileSystem"),
	node("filter", node("exclude")),
	node("inotify", node("delete"), node("createFolder"), node("createFile"), node("closeWrite"),
		node("moveFrom"), node("moveTo"), node("attrib"), node("modify")),
	node("sersync",
		node("localpath", node("remote"), node("localtarget")),
		node("rsync", node("commonParams"), node("auth"), node("userDefinedPort"), node("timeout"), node("ssh")),
		node("failLog"),
		node("crontab", node("crontabfilter", node("exclude"))),
		node("plugin")),
	node("plugin"), // checked per block
)

var pluginSchemas = map[string]*schema{
	pluginCommand: node("plugin", node("param"), node("filter", node("include"))),
	pluginSocket:  node("plugin", node("localpath", node("deshost"))),
	pluginCDN:     node("plugin", node("localpath", node("cdninfo"), node("sendurl"), node("regexurl"))),
}

// unknown warns once per distinct path about every element below e that
// schema s does not know. Known elements are reached again by their
// canonical name; head-level <plugin> blocks are left to pluginSchemas.
func (p *problems) unknown(e *etree.Element, path string, s *schema, seen map[string]bool) {
	for _, ch := range e.ChildElements() {
		var k *schema
		for _, c := range s.kids {
			if strings.EqualFold(c.name, ch.FullTag()) {
				k = c
				break
			}
		}
		if k == nil {
			where := path + "<" + unescape(ch.FullTag()) + ">"
			if !seen[where] {
				seen[where] = true
				p.warnf(where, "unknown element, ignored")
			}
			continue
		}
		if s == headSchema && k.name == "plugin" {
			continue
		}
		p.unknown(ch, path+"<"+k.name+">", k, seen)
	}
}
