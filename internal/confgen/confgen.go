// Package confgen renders confxml.xml files in the layout of the stock
// 2.5.4 file, for the end-to-end tests, the demo and the benchmark harness.
// It checks nothing: confxml.Load does that.
package confgen

import (
	"cmp"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Remote is one <remote ip name>.
type Remote struct{ IP, Name string }

// Root is one <localpath watch> with its remotes and local targets.
type Root struct {
	Watch   string
	Remotes []Remote
	// LocalTargets are <localtarget dir> elements, after the remotes.
	LocalTargets []string
}

// Config is what a generated file says; zero values give the stock file's
// settings (commonParams -artuz; delete, createFolder, closeWrite,
// moveFrom, moveTo on; filter, crontab and plugins off).
type Config struct {
	Roots []Root
	// Users and PasswordFile turn <auth> on when PasswordFile is set.
	Users, PasswordFile string
	Port                int    // <userDefinedPort>; 0 = off
	Timeout             int    // <timeout> seconds; 0 = off
	SSH                 string // <ssh command=…>; "" = daemon mode
	Filter              []string
	SyncDotfiles        bool
	Debug               bool
	DeleteOff           bool
	Attrib              bool
	CrontabMinutes      int // 0 = off
	CrontabExcludes     []string
	Plugin              string    // <sersync><plugin name=…>; "" = off
	Socket              [2]string // socket plugin deshost ip, port; "" = no block
	// CommandPrefix is the command plugin's prefix ("" = /bin/true); the
	// plugin reports failures unless CommandIgnoreError.
	CommandPrefix      string
	CommandIgnoreError bool
	// RefreshCDN is the refreshCDN plugin block (watching the first root);
	// a zero Port writes none.
	RefreshCDN CDN
	FailLog    string
}

// CDN is a refreshCDN plugin's <cdninfo> and <sendurl>.
type CDN struct {
	DomainName     string
	Port           int
	User, Password string
	Base           string
}

var esc = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace

func on(b bool) string { return strconv.FormatBool(b) }

// Render returns the file's bytes.
func (c Config) Render() []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<head version=\"2.5\">\n")
	w("    <host hostip=\"localhost\" port=\"8008\"></host>\n    <debug start=\"%s\"/>\n    <fileSystem xfs=\"false\"/>\n", on(c.Debug))
	w("    <filter start=\"%s\" syncDotfiles=\"%s\">\n", on(len(c.Filter) > 0), on(c.SyncDotfiles))
	for _, f := range c.Filter {
		w("\t<exclude expression=\"%s\"></exclude>\n", esc(f))
	}
	w("    </filter>\n    <inotify>\n\t<delete start=\"%s\"/>\n\t<createFolder start=\"true\"/>\n\t<createFile start=\"false\"/>\n", on(!c.DeleteOff))
	w("\t<closeWrite start=\"true\"/>\n\t<moveFrom start=\"true\"/>\n\t<moveTo start=\"true\"/>\n\t<attrib start=\"%s\"/>\n\t<modify start=\"false\"/>\n    </inotify>\n    <sersync>\n", on(c.Attrib))
	for _, r := range c.Roots {
		w("\t<localpath watch=\"%s\">\n", esc(r.Watch))
		for _, rm := range r.Remotes {
			w("\t    <remote ip=\"%s\" name=\"%s\"/>\n", esc(rm.IP), esc(rm.Name))
		}
		for _, d := range r.LocalTargets {
			w("\t    <localtarget dir=\"%s\"/>\n", esc(d))
		}
		w("\t</localpath>\n")
	}
	w("\t<rsync>\n\t    <commonParams params=\"-artuz\"/>\n")
	w("\t    <auth start=\"%s\" users=\"%s\" passwordfile=\"%s\"/>\n", on(c.PasswordFile != ""), esc(cmp.Or(c.Users, "root")), esc(cmp.Or(c.PasswordFile, "/etc/rsync.pas")))
	w("\t    <userDefinedPort start=\"%s\" port=\"%d\"/>\n", on(c.Port != 0), cmp.Or(c.Port, 874))
	w("\t    <timeout start=\"%s\" time=\"%d\"/>\n", on(c.Timeout != 0), cmp.Or(c.Timeout, 100))
	w("\t    <ssh start=\"%s\" command=\"%s\"/>\n\t</rsync>\n", on(c.SSH != ""), esc(c.SSH))
	w("\t<failLog path=\"%s\" timeToExecute=\"60\"/>\n", esc(cmp.Or(c.FailLog, "/tmp/rsync_fail_log.sh")))
	w("\t<crontab start=\"%s\" schedule=\"%d\">\n\t    <crontabfilter start=\"%s\">\n", on(c.CrontabMinutes > 0), cmp.Or(c.CrontabMinutes, 600), on(len(c.CrontabExcludes) > 0))
	for _, e := range c.CrontabExcludes {
		w("\t\t<exclude expression=\"%s\"></exclude>\n", esc(e))
	}
	w("\t    </crontabfilter>\n\t</crontab>\n")
	w("\t<plugin start=\"%s\" name=\"%s\"/>\n    </sersync>\n", on(c.Plugin != ""), esc(cmp.Or(c.Plugin, "command")))
	w("    <plugin name=\"command\">\n\t<param prefix=\"%s\" suffix=\"\" ignoreError=\"%s\"/>\n\t<filter start=\"false\"/>\n    </plugin>\n",
		esc(cmp.Or(c.CommandPrefix, "/bin/true")), on(c.CommandPrefix == "" || c.CommandIgnoreError))
	if c.Socket[0] != "" && len(c.Roots) > 0 {
		w("    <plugin name=\"socket\">\n\t<localpath watch=\"%s\">\n\t    <deshost ip=\"%s\" port=\"%s\"/>\n\t</localpath>\n    </plugin>\n", esc(c.Roots[0].Watch), esc(c.Socket[0]), esc(c.Socket[1]))
	}
	if cdn := c.RefreshCDN; cdn.Port != 0 && len(c.Roots) > 0 {
		w("    <plugin name=\"refreshCDN\">\n\t<localpath watch=\"%s\">\n", esc(c.Roots[0].Watch))
		w("\t    <cdninfo domainname=\"%s\" port=\"%d\" username=\"%s\" passwd=\"%s\"/>\n", esc(cdn.DomainName), cdn.Port, esc(cdn.User), esc(cdn.Password))
		w("\t    <sendurl base=\"%s\"/>\n\t    <regexurl regex=\"false\" match=\"\"/>\n\t</localpath>\n    </plugin>\n", esc(cdn.Base))
	}
	w("</head>\n")
	return []byte(b.String())
}

// WriteFile writes the rendered file to path.
func (c Config) WriteFile(path string) error {
	if err := os.WriteFile(path, c.Render(), 0o644); err != nil {
		return fmt.Errorf("confgen: %w", err)
	}
	return nil
}
