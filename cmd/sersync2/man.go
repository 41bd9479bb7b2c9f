package main

import (
	"io"

	"github.com/sersync-go/sersync2/internal/manpage"
)

// manPage writes the sersync2(8) man page in roff, its OPTIONS section
// generated from the flag set. make deb installs it (sersync2 --man, a
// hidden flag).
func manPage(w io.Writer) {
	var o options
	manpage.Write(w, manpage.Page{Name: "sersync2", Section: 8, Version: version, Manual: "System Administration",
		Summary:     "real-time replication of directory trees with inotify and rsync",
		Synopsis:    `[\fB\-d\fR] [\fB\-r\fR] [\fB\-n\fR \fIN\fR] [\fB\-o\fR \fIconfxml.xml\fR] [\fB\-m\fR \fIplugin\fR] [\fIoptions\fR]`,
		Description: "sersync2 watches the directory trees named in confxml.xml with Linux inotify and pushes every change to one or more rsync daemons, or over ssh, so that each mirror follows the source within a second. It reads the configuration file and accepts the command line of the original sersync 2.5.4.",
		Flags:       newFlagSet(&o),
		Sections:    manSections,
	})
}

// manSections are the man page's sections after OPTIONS, in roff.
var manSections = []manpage.Section{
	{Title: "SIGNALS", Items: []manpage.Item{
		{Tag: "SIGTERM, SIGINT", Text: "Stop taking changes, let running rsyncs finish (up to 10 s), exit 0."},
		{Tag: "SIGHUP", Text: "Reload the configuration file. A file that does not load or cannot start is refused with the error in the log and the running configuration stays; otherwise pending changes move to the new configuration, added remotes start with a full sync."},
		{Tag: "SIGUSR1", Text: "Run a full sync of every watched tree to every remote."},
		{Tag: "SIGUSR2", Text: "Compare every directory below the roots with the watches held and log the result."},
	}},
	{Title: "EXIT STATUS", Items: []manpage.Item{
		{Tag: "0", Text: `Stopped by SIGTERM or SIGINT; \-\-check found nothing wrong; \-h or \-\-version done.`},
		{Tag: "1", Text: "A bad command line, or an invalid configuration (the message names the element and attribute), as the original."},
		{Tag: "3", Text: `The configuration is valid but cannot start on this host now: a watch directory or password file is missing (\-\-check says so too), rsync is missing, the status address is taken, another instance runs the same configuration file, or the log file is refused.`},
		{Tag: "4", Text: "Replication stopped on a failure after it started (the watcher no longer sees changes)."},
		{Tag: "255", Text: "The configuration file is missing or not well-formed XML, as the original."},
	}},
	{Title: "FILES", Italic: true, Items: []manpage.Item{
		{Tag: "/etc/sersync/confxml.xml", Text: "The configuration read by sersync2.service."},
		{Tag: "/etc/sersync/NAME.xml", Text: "The configuration of the instance sersync2@NAME.service."},
	}},
	{Title: "COPYRIGHT", Text: "sersync2 is licensed under the Apache License, Version 2.0."},
	{Title: "SEE ALSO", Text: `\fBrsync\fR(1), \fBinotify\fR(7), \fBsystemctl\fR(1); /usr/share/doc/sersync2/README.md`},
}
