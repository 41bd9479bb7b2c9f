package lsyncdconf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/shellwords"
)

// FailLogPath is the <failLog path> of converted files: a directory only
// root writes to (a failLog in /tmp can be prepared by any user).
const FailLogPath = "/var/lib/sersync2/rsync_fail_log.sh"

func joinArgs(args []string) string { return shellwords.Join(args) }

// regexpCheck compiles an expression as confxml does.
func regexpCheck(expr string) (bool, error) {
	_, err := confxml.CompileFullMatch(expr)
	return err == nil, err
}

// attr escapes an attribute value. Line breaks and tabs are written as
// character references, which XML keeps (a literal one becomes a space).
var attr = strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;",
	"\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace

// comment makes s safe inside an XML comment, which cannot hold "--".
func comment(s string) string {
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "- -")
	}
	return strings.TrimSuffix(s, "-")
}

func on(b bool) string { return strconv.FormatBool(b) }

// render writes the confxml.xml text, in the stock file's layout.
func (c *converter) render(path string) []byte {
	f := c.first
	if f.ssh && f.password != "" {
		c.add(f.at, "rsync.password_file", true, "rsync refuses --password-file over ssh; left out")
		f.password = ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	w("<!-- Converted by sersync2 from the lsyncd configuration %s.\n", comment(path))
	w("     Run it with the command line the converter printed on stderr; its words,\n")
	w("     one a line (long options are written here without their two leading\n")
	w("     dashes, which an XML comment cannot hold):\n")
	for i := 1; i < len(c.args); i++ {
		a := c.args[i]
		if strings.HasPrefix(a, "--") && i+1 < len(c.args) && !strings.HasPrefix(c.args[i+1], "-") {
			w("       %s %s\n", comment(a[2:]), comment(shellwords.Quote(c.args[i+1])))
			i++
			continue
		}
		if a == "-n" || a == "-o" {
			w("       %s %s\n", a, comment(shellwords.Quote(c.args[i+1])))
			i++
			continue
		}
		w("       %s\n", comment(strings.TrimPrefix(a, "--")))
	}
	w("-->\n")
	w("<head version=\"2.5\">\n")
	w("    <host hostip=\"localhost\" port=\"8008\"></host>\n    <debug start=\"false\"/>\n    <fileSystem xfs=\"false\"/>\n")
	// lsyncd replicates dotfiles and editor backups: syncDotfiles turns
	// off sersync's built-in skip of them.
	w("    <filter start=\"%s\" syncDotfiles=\"true\">\n", on(len(f.excludes) > 0))
	for _, e := range f.excludes {
		w("\t<exclude expression=\"%s\"></exclude>\n", attr(e))
	}
	closeWrite := c.inotifyMode != "Modify"
	modify := strings.Contains(c.inotifyMode, "Modify")
	w("    </filter>\n    <inotify>\n\t<delete start=\"%s\"/>\n\t<createFolder start=\"true\"/>\n\t<createFile start=\"false\"/>\n", on(f.delete))
	w("\t<closeWrite start=\"%s\"/>\n\t<moveFrom start=\"true\"/>\n\t<moveTo start=\"true\"/>\n\t<attrib start=\"true\"/>\n\t<modify start=\"%s\"/>\n    </inotify>\n    <sersync>\n", on(closeWrite), on(modify))
	for _, r := range c.roots {
		w("\t<localpath watch=\"%s\">\n", attr(r.watch))
		for _, rm := range r.remotes {
			if rm.dir != "" {
				continue
			}
			ip := rm.ip
			if len(c.users) > 1 && rm.user != "" {
				ip = rm.user + "@" + ip
			}
			w("\t    <remote ip=\"%s\" name=\"%s\"/>\n", attr(ip), attr(rm.name))
		}
		for _, rm := range r.remotes {
			if rm.dir != "" {
				w("\t    <localtarget dir=\"%s\"/>\n", attr(rm.dir))
			}
		}
		w("\t</localpath>\n")
	}
	w("\t<rsync>\n\t    <commonParams params=\"%s\"/>\n", attr(shellwords.Join(f.params)))
	user := f.user
	if len(c.users) > 1 {
		user = ""
	}
	w("\t    <auth start=\"%s\" users=\"%s\" passwordfile=\"%s\"/>\n", on(f.password != "" || user != ""), attr(user), attr(f.password))
	port := f.port
	w("\t    <userDefinedPort start=\"%s\" port=\"%d\"/>\n", on(port != 0), max(port, 874*boolInt(port == 0)))
	w("\t    <timeout start=\"%s\" time=\"%d\"/>\n", on(f.timeout != 0), max(f.timeout, 100*boolInt(f.timeout == 0)))
	w("\t    <ssh start=\"%s\" command=\"%s\"/>\n\t</rsync>\n", on(f.ssh), attr(f.sshCmd))
	w("\t<failLog path=\"%s\" timeToExecute=\"60\"/>\n", FailLogPath)
	w("\t<crontab start=\"false\" schedule=\"600\">\n\t    <crontabfilter start=\"false\"></crontabfilter>\n\t</crontab>\n")
	w("\t<plugin start=\"false\" name=\"command\"/>\n    </sersync>\n</head>\n")
	return []byte(b.String())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
