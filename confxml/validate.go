package confxml

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"syscall"
)

// validate checks what decoding could not see by itself: the file system
// (watch directories, the password file), rules that span elements, and the
// realtime exclude regexes, which it compiles into c.Filter.Regexps.
func (p *problems) validate(c *Config) {
	p.watchRoots(c)
	p.remotes(c)
	p.localTargets(c)
	p.compileExcludes(c)
	p.rsyncRules(c)
	if pl := c.Sersync.Plugin; pl.Enabled && checkPluginName(pl.Name) == nil {
		p.plugin(c, pl.Name)
	}
}

// plugin adds the problems and warnings of the selected plugin's block.
func (p *problems) plugin(c *Config, name string) {
	if err := c.ValidatePlugin(name); err != nil {
		p.errs = append(p.errs, err)
	}
	if pc := c.checks[name]; pc != nil {
		p.warns = append(p.warns, pc.warns...)
	}
}

func localPathName(i int) string { return fmt.Sprintf("<sersync><localpath> #%d", i+1) }

// watchRoots checks every <sersync><localpath> watch directory.
func (p *problems) watchRoots(c *Config) {
	for i, l := range c.Sersync.LocalPaths {
		if l.Watch != "" {
			p.watchDir(elem{path: localPathName(i)}, l.Watch)
		}
	}
	p.overlap(c.Sersync.LocalPaths)
}

// remotes checks that every <remote> ip and name reaches rsync (and, over
// ssh, the remote shell) as the one word it is meant to be. A value
// starting with '-' would be read as an option: an ip of
// "-oProxyCommand=…" becomes an ssh option that runs a command. Over ssh
// the name is a path on the remote, passed through its login shell, where
// whitespace splits words and control characters end lines. A daemon
// module goes over rsync's own protocol, one line per name, so a control
// character is refused there too; a module name may hold single spaces
// (rsyncd.conf keeps them), but no leading or trailing blanks and no runs of
// them, which rsyncd.conf removes, so no module could match.
func (p *problems) remotes(c *Config) {
	ssh := c.Sersync.Rsync.SSH.Enabled
	for i, l := range c.Sersync.LocalPaths {
		for j, r := range l.Remotes {
			if r.Local() {
				continue // localTargets
			}
			where := fmt.Sprintf("%s<remote> #%d", localPathName(i), j+1)
			if why := unsafeWord(r.IP); why != "" {
				p.errorf(where, "attribute ip: %q is not a host name: it %s", r.IP, why)
			}
			why := unsafeWord(r.Name)
			if !ssh {
				why = unsafeModule(r.Name)
			}
			if why != "" {
				what := "a module of the rsync daemon"
				if ssh {
					what = "a path on the ssh remote"
				}
				p.errorf(where, "attribute name: %q cannot be addressed safely as %s: it %s", r.Name, what, why)
			}
		}
	}
}

// localTargets checks every <localtarget> by localTargetRule and says
// which <rsync> settings do not apply to local targets.
func (p *problems) localTargets(c *Config) {
	watches := make([]string, len(c.Sersync.LocalPaths))
	for i, l := range c.Sersync.LocalPaths {
		watches[i] = l.Watch
	}
	var all, names []string
	for i, l := range c.Sersync.LocalPaths {
		k := 0
		for _, r := range l.Remotes {
			if !r.Local() {
				continue
			}
			k++
			where := fmt.Sprintf("%s<localtarget> #%d", localPathName(i), k)
			isPath := localTargetRule(r.Dir, watches, all, func(w, t int, why string) {
				switch {
				case w >= 0:
					p.errorf(where, "attribute dir: %q %s %s watch %q: %s", r.Dir, why, localPathName(w), watches[w], whyNotInWatch)
				case t >= 0:
					p.errorf(where, "attribute dir: %q overlaps %s dir %q: %s", r.Dir, names[t], all[t], whyNotOverlap)
				default:
					p.errorf(where, "attribute dir: %q %s", r.Dir, why)
				}
			})
			if isPath {
				all, names = append(all, r.Dir), append(names, where)
			}
		}
	}
	if len(all) == 0 {
		return
	}
	o := c.Sersync.Rsync
	var ignored []string
	if o.Auth.Enabled {
		ignored = append(ignored, "<auth>")
	}
	if o.Port.Enabled {
		ignored = append(ignored, "<userDefinedPort>")
	}
	if o.SSH.Enabled {
		ignored = append(ignored, "<ssh>")
	}
	if len(ignored) > 0 {
		p.warnf("<sersync><rsync>", "%s start=\"true\" does not apply to the local targets (<localtarget>): their rsync runs without it", strings.Join(ignored, ", "))
	}
}

const (
	whyNotInWatch = "what is copied there would be seen and copied again"
	whyNotOverlap = "the full sync of each would delete what the other copied"
)

// localTargetRule is the rule for a local target directory: an absolute
// path rsync reads as a local directory, not inside a watch root nor
// holding one (every change rsync writes there would be seen, and copied,
// again), and apart from every local target before it (the full sync of
// each would delete the other's files). It calls bad once per problem,
// with the index of the watch root (w) or earlier target (t) concerned, or
// both -1, and how dir lies relative to it. It returns false when dir is
// no path to compare others with.
func localTargetRule(dir string, watches, before []string, bad func(w, t int, why string)) bool {
	switch {
	case !filepath.IsAbs(dir):
		bad(-1, -1, "is not an absolute path")
		return false
	case hasControl(dir):
		bad(-1, -1, "holds a control character")
		return false
	}
	for j, w := range watches {
		if w == "" {
			continue
		}
		if rel := nesting(dir, w); rel != "" {
			bad(j, -1, rel)
		}
	}
	for k, o := range before {
		if rel := nesting(dir, o); rel != "" {
			bad(-1, k, rel)
		}
	}
	return true
}

// LocalTargetProblem applies Load's rule for a <localtarget dir> to dir,
// beside the watch roots and the local targets before it, and says the
// first reason it cannot be one ("" when it can). It serves code that
// writes configurations and must write only ones Load accepts.
func LocalTargetProblem(dir string, watches, before []string) string {
	var first string
	localTargetRule(dir, watches, before, func(w, t int, why string) {
		if first != "" {
			return
		}
		switch {
		case w >= 0:
			first = fmt.Sprintf("%q %s watch %q: %s", dir, why, watches[w], whyNotInWatch)
		case t >= 0:
			first = fmt.Sprintf("%q overlaps the local target %q: %s", dir, before[t], whyNotOverlap)
		default:
			first = fmt.Sprintf("%q %s", dir, why)
		}
	})
	return first
}

// nesting says how directory a lies relative to directory b ("is the same
// directory as", "is inside", "contains"), by their clean paths or by their
// real ones (symlinks resolved as far as the paths exist); "" when they
// are apart.
func nesting(a, b string) string {
	ac, bc := filepath.Clean(a), filepath.Clean(b)
	ar, br := realPath(ac), realPath(bc)
	switch {
	case ac == bc || ar == br:
		return "is the same directory as"
	case inside(ac, bc) || inside(ar, br):
		return "is inside"
	case inside(bc, ac) || inside(br, ar):
		return "contains"
	}
	return ""
}

// realPath resolves the symlinks of the longest part of the clean
// absolute path p that exists, and appends the rest: a directory that is
// not there yet lies where its existing parent really is.
func realPath(p string) string {
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// unsafeWord says what keeps v from being passed as one word to a
// command or a remote shell, or "" when nothing does.
func unsafeWord(v string) string {
	switch {
	case strings.HasPrefix(v, "-"):
		return "starts with '-'"
	case hasControl(v):
		return "holds a control character"
	case strings.ContainsRune(v, ' '):
		return "holds whitespace"
	}
	return ""
}

// unsafeModule is unsafeWord for the name of a daemon remote, whose module
// (the part before the first '/') may hold single spaces and whose path
// may hold any.
func unsafeModule(name string) string {
	module, _, _ := strings.Cut(name, "/")
	switch {
	case strings.HasPrefix(name, "-"):
		return "starts with '-'"
	case hasControl(name):
		return "holds a control character"
	case module != strings.Trim(module, " ") || strings.Contains(module, "  "):
		return "has a module name with leading, trailing or repeated spaces"
	}
	return ""
}

// hasControl reports whether v holds an ASCII control character (tab and
// newline included).
func hasControl(v string) bool {
	return strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

// compileExcludes compiles the realtime exclude regexes into
// c.Filter.Regexps.
func (p *problems) compileExcludes(c *Config) {
	c.Filter.Regexps = compileEach(c.Filter.Exclude, func(i int, v string, err error) {
		p.errorf(excludeName(i), "attribute expression: %q %w", v, err)
	})
}

func excludeName(i int) string { return fmt.Sprintf("<filter><exclude> #%d", i+1) }

// compileEach compiles exprs with CompileFullMatch, in order, and calls bad
// for each one that does not compile.
func compileEach(exprs []string, bad func(i int, expr string, err error)) []*regexp.Regexp {
	var res []*regexp.Regexp
	for i, v := range exprs {
		re, err := CompileFullMatch(v)
		if err != nil {
			bad(i, v, err)
			continue
		}
		res = append(res, re)
	}
	return res
}

// rsyncRules checks the <rsync> settings that depend on each other or on
// the file system.
func (p *problems) rsyncRules(c *Config) {
	o := c.Sersync.Rsync
	if o.Auth.Enabled && o.Auth.PasswordFile != "" {
		p.passwordFile(o.Auth.PasswordFile)
	}
	if o.SSH.Enabled && o.Auth.Enabled && o.Auth.PasswordFile != "" {
		p.errorf("<sersync><rsync><auth> and <sersync><rsync><ssh>",
			"auth start=\"true\" with passwordfile=%q cannot be combined with ssh start=\"true\": rsync refuses --password-file over a remote shell (\"The --password-file option may only be used when accessing an rsync daemon.\"); turn one of them off",
			o.Auth.PasswordFile)
	}
	if o.SSH.Enabled && o.Port.Enabled {
		p.warnf("<sersync><rsync><userDefinedPort>", "start=\"true\" is meaningless with <ssh start=\"true\">: rsync's --port only applies to daemons; put -p PORT into <ssh command=…> instead")
	}
}

// watchDir checks a watch root: absolute, existing, a directory. The
// original ran forever doing nothing when it was not.
func (p *problems) watchDir(x elem, w string) {
	if !filepath.IsAbs(w) {
		p.errorf(x.path, "attribute watch: %q is not an absolute path", w)
		return
	}
	fi, err := os.Stat(w)
	switch {
	case err != nil:
		p.hostErrorf(x.path, "attribute watch: %q: %w", w, unwrapPath(err))
	case !fi.IsDir():
		p.hostErrorf(x.path, "attribute watch: %q is not a directory", w)
	}
}

// overlap refuses watch roots that contain one another: the same events
// would be seen and pushed twice, to different remotes.
func (p *problems) overlap(lps []LocalPath) {
	for j := range lps {
		for i := range j {
			if lps[i].Watch == "" || lps[j].Watch == "" {
				continue
			}
			if rel := nesting(lps[j].Watch, lps[i].Watch); rel != "" {
				p.errorf(localPathName(j),
					"attribute watch: %q %s <sersync><localpath> #%d watch %q: overlapping watch roots cannot be watched sanely",
					lps[j].Watch, rel, i+1, lps[i].Watch)
			}
		}
	}
}

// inside reports whether clean path a lies strictly below clean path b.
func inside(a, b string) bool {
	if b == "/" {
		return a != "/"
	}
	return strings.HasPrefix(a, b+"/")
}

// passwordFile checks what rsync checks before it uses --password-file
// (authenticate.c): it must exist, must not be accessible by others and,
// when running as root, must be owned by root.
func (p *problems) passwordFile(name string) {
	const where = "<sersync><rsync><auth>"
	fi, err := os.Stat(name)
	if err != nil {
		p.hostErrorf(where, "attribute passwordfile: %q: %w", name, unwrapPath(err))
		return
	}
	mode := fi.Mode()
	switch {
	case !mode.IsRegular():
		p.hostErrorf(where, "attribute passwordfile: %q is not a regular file", name)
		return
	case mode.Perm()&0o007 != 0:
		p.hostErrorf(where, "attribute passwordfile: %q has mode %04o: rsync refuses a password file that others can access (\"password file must not be other-accessible\"); run chmod 600 %s", name, mode.Perm(), name)
	case mode.Perm()&0o070 != 0:
		p.warnf(where, "attribute passwordfile: %q has mode %04o: the group can read the rsync password; chmod 600 %s is advised", name, mode.Perm(), name)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && st.Uid != 0 {
		p.hostErrorf(where, "attribute passwordfile: %q is owned by uid %d: rsync running as root refuses a password file not owned by root (\"password file must be owned by root when running as root\"); run chown root %s", name, st.Uid, name)
	}
}

// unwrapPath drops the *fs.PathError wrapper, whose text would repeat the
// path already quoted in the message.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// CompileFullMatch compiles an exclude or include expression the way Load
// does, for regex_match semantics (the whole string must match):
// "^(?ms:" + expr + ")$". The s and m flags give Boost's defaults: "."
// matches a newline, ^ and $ match at line breaks inside the string. The
// syntax is Go's RE2 (no backreferences, no lookaround); the error says so.
// It is exported for Configs built by hand.
func CompileFullMatch(expr string) (*regexp.Regexp, error) {
	return compile(expr, `^(?ms:`+expr+`)$`)
}

// CompileSearch compiles the refreshCDN regexurl match the way Load does,
// for regex_search semantics (a match anywhere; group 1 is used):
// "(?ms:" + expr + ")".
func CompileSearch(expr string) (*regexp.Regexp, error) {
	return compile(expr, `(?ms:`+expr+`)`)
}

func compile(expr, wrapped string) (*regexp.Regexp, error) {
	// The bare expression is compiled first, so that wrapping cannot make an
	// invalid one valid ("a)(b" would become "^(?:a)(b)$").
	if _, err := regexp.Compile(expr); err != nil {
		return nil, regexpError(err)
	}
	re, err := regexp.Compile(wrapped)
	if err != nil {
		return nil, regexpError(err)
	}
	return re, nil
}

func regexpError(err error) error {
	var hint string
	if se, ok := err.(*syntax.Error); ok {
		switch se.Code {
		case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp, syntax.ErrInvalidNamedCapture:
			hint = " (Go's regexp syntax, RE2, has no backreferences, lookahead or lookbehind, atomic groups, possessive quantifiers or \\< \\> word boundaries; the original used Boost)"
		case syntax.ErrInvalidUTF8:
			hint = " (Go's regexp works on UTF-8 text and cannot match bytes that are not UTF-8)"
		}
	}
	return fmt.Errorf("is not a valid regular expression: %w%s", err, hint)
}
