package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// manPage writes the sersync2(8) man page in roff, its OPTIONS section
// generated from the flag set, so the page cannot drift from the flags.
// make deb installs it (sersync2 --man, a hidden flag).
func manPage(w io.Writer) {
	var o options
	fs := newFlagSet(&o)
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p(`.TH SERSYNC2 8 "" "sersync2 %s" "System Administration"`, roffEscape(version))
	p(".SH NAME")
	p(`sersync2 \- real-time replication of directory trees with inotify and rsync`)
	p(".SH SYNOPSIS")
	p(`.B sersync2`)
	p(`[\fB\-d\fR] [\fB\-r\fR] [\fB\-n\fR \fIN\fR] [\fB\-o\fR \fIconfxml.xml\fR] [\fB\-m\fR \fIplugin\fR] [\fIoptions\fR]`)
	p(".SH DESCRIPTION")
	p("sersync2 watches the directory trees named in confxml.xml with Linux inotify and pushes every change to one or more rsync daemons, or over ssh, so that each mirror follows the source within a second. It reads the configuration file and accepts the command line of the original sersync 2.5.4.")
	p(".SH OPTIONS")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		p(".TP")
		var names []string
		if f.Shorthand != "" {
			names = append(names, `\fB\-`+f.Shorthand+`\fR`)
		}
		names = append(names, `\fB\-\-`+roffEscape(f.Name)+`\fR`)
		// The argument's name as --help shows it: the word in backquotes
		// in the usage, else the value's type.
		name, usage := pflag.UnquoteUsage(f)
		arg := ""
		if name != "" {
			arg = ` \fI` + strings.ToUpper(name) + `\fR`
		}
		p("%s%s", strings.Join(names, ", "), arg)
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && d != "0s" && !strings.Contains(usage, "default") {
			usage += " (default " + d + ")"
		}
		p("%s", roffEscape(usage))
	})
	p(".SH SIGNALS")
	p(".TP\n.B SIGTERM, SIGINT\nStop taking changes, let running rsyncs finish (up to 10 s), exit 0.")
	p(".TP\n.B SIGHUP\nReload the configuration file. A file that does not load or cannot start is refused with the error in the log and the running configuration stays; otherwise pending changes move to the new configuration, added remotes start with a full sync.")
	p(".TP\n.B SIGUSR1\nRun a full sync of every watched tree to every remote.")
	p(".TP\n.B SIGUSR2\nCompare every directory below the roots with the watches held and log the result.")
	p(".SH EXIT STATUS")
	p(".TP\n.B 0\nStopped by SIGTERM or SIGINT; \\-\\-check found nothing wrong; \\-h or \\-\\-version done.")
	p(".TP\n.B 1\nA bad command line, or an invalid configuration (the message names the element and attribute), as the original.")
	p(".TP\n.B 3\nThe configuration is valid but cannot start on this host now: a watch directory or password file is missing (\\-\\-check says so too), rsync is missing, the status address is taken, another instance runs the same configuration file, or the log file is refused.")
	p(".TP\n.B 4\nReplication stopped on a failure after it started (the watcher no longer sees changes).")
	p(".TP\n.B 255\nThe configuration file is missing or not well-formed XML, as the original.")
	p(".SH FILES")
	p(".TP\n.I /etc/sersync/confxml.xml\nThe configuration read by sersync2.service.")
	p(".TP\n.I /etc/sersync/NAME.xml\nThe configuration of the instance sersync2@NAME.service.")
	p(".SH COPYRIGHT")
	p("sersync2 is licensed under the Apache License, Version 2.0.")
	p(".SH SEE ALSO")
	p(`\fBrsync\fR(1), \fBinotify\fR(7), \fBsystemctl\fR(1); /usr/share/doc/sersync2/README.md`)
}

// roffEscape makes s safe as roff text: backslashes and hyphens escaped,
// no line starting with a control character.
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
