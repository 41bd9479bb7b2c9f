package confxml

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/shellwords"
)

// FuzzLoad feeds arbitrary bytes to the loader, in sync mode and in each
// plugin mode. It must never panic, and what it accepts must be usable.
// Seeds: every file in testdata/confxml, placeholders pointing at real
// directories. Each input is written to a file and loaded with Load; the
// plugin modes use decode, which is Load minus reading the file.
func FuzzLoad(f *testing.F) {
	e := newEnv(f, f.TempDir())
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.expand(data))
	}
	tmp := filepath.Join(e.dir, "fuzz.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(tmp)
		checkLoaded(t, c, err)
		for _, name := range []string{pluginCommand, pluginSocket, pluginCDN, "http"} {
			c, err := decode(tmp, data, true, name)
			if err == nil {
				if name == "http" {
					t.Fatal("plugin mode http accepted")
				}
				if err := c.ValidatePlugin(name); err != nil {
					t.Fatalf("accepted for -m %s, but ValidatePlugin: %v", name, err)
				}
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				_ = pe.Report()
			}
		}
	})
}

// checkLoaded checks the promises of a successful sync-mode load.
func checkLoaded(t *testing.T, c Config, err error) {
	t.Helper()
	var pe *ParseError
	if errors.As(err, &pe) {
		if len(leafErrors(err)) != 1 {
			t.Fatalf("a ParseError joined with other errors: %v", err)
		}
		if !strings.HasPrefix(pe.Msg, "Error: ") {
			t.Fatalf("ParseError message %q lacks the original's prefix", pe.Msg)
		}
		return
	}
	for _, e := range leafErrors(err) {
		if !strings.HasPrefix(e.Error(), "confxml: ") {
			t.Fatalf("error without the package prefix: %q", e)
		}
	}
	if err != nil {
		return
	}
	s := c.Sersync
	if len(s.LocalPaths) == 0 {
		t.Fatal("accepted without a localpath")
	}
	for _, l := range s.LocalPaths {
		if !filepath.IsAbs(l.Watch) || len(l.Remotes) == 0 {
			t.Fatalf("accepted localpath %+v", l)
		}
		if fi, err := os.Stat(l.Watch); err != nil || !fi.IsDir() {
			t.Fatalf("accepted watch %q that is not a directory", l.Watch)
		}
		for _, r := range l.Remotes {
			if r.Local() {
				// An absolute clean directory, apart from every watch root.
				if r.IP != "" || r.Name != "" || !filepath.IsAbs(r.Dir) || filepath.Clean(r.Dir) != r.Dir || strings.ContainsAny(r.Dir, "\t\n\r") {
					t.Fatalf("accepted local target %+v", r)
				}
				for _, w := range s.LocalPaths {
					if nesting(r.Dir, w.Watch) != "" {
						t.Fatalf("accepted local target %q overlapping watch %q", r.Dir, w.Watch)
					}
				}
				continue
			}
			// Nothing that rsync, ssh or the remote shell would read as an
			// option or split into words or lines.
			if r.IP == "" || r.Name == "" || !oneWord(r.IP) || (s.Rsync.SSH.Enabled && !oneWord(r.Name)) ||
				strings.HasPrefix(r.Name, "-") || strings.ContainsAny(r.Name, "\t\n\r") {
				t.Fatalf("accepted remote %+v", r)
			}
		}
	}
	if words, err := shellwords.Split(s.Rsync.CommonParams); err != nil || strings.Join(words, "\x00") != strings.Join(s.Rsync.Params, "\x00") {
		t.Fatalf("Params %q do not match CommonParams %q", s.Rsync.Params, s.Rsync.CommonParams)
	}
	if s.Rsync.Port.Enabled && (s.Rsync.Port.Port < 1 || s.Rsync.Port.Port > 65535) {
		t.Fatalf("accepted port %d", s.Rsync.Port.Port)
	}
	if s.Rsync.SSH.Enabled && s.Rsync.Auth.Enabled && s.Rsync.Auth.PasswordFile != "" {
		t.Fatal("accepted ssh with a password file")
	}
	if len(c.Filter.Regexps) != len(c.Filter.Exclude) || (!c.Filter.Enabled && len(c.Filter.Exclude) > 0) {
		t.Fatalf("filter %d expressions, %d compiled, enabled %v", len(c.Filter.Exclude), len(c.Filter.Regexps), c.Filter.Enabled)
	}
	if s.FailLog.Path == "" || s.FailLog.Interval < 0 || s.Crontab.Schedule <= 0 {
		t.Fatalf("accepted failLog %+v crontab %+v", s.FailLog, s.Crontab)
	}
	if p := s.Plugin; p.Enabled {
		if checkPluginName(p.Name) != nil {
			t.Fatalf("accepted plugin %q", p.Name)
		}
		if err := c.ValidatePlugin(p.Name); err != nil {
			t.Fatalf("accepted, but the selected plugin is invalid: %v", err)
		}
	}
}

// oneWord reports whether v is one word of a command line that no program
// takes for an option.
func oneWord(v string) bool {
	return !strings.HasPrefix(v, "-") && !strings.ContainsAny(v, " \t\n\r")
}
