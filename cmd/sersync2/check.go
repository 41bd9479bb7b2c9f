package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// runCheck is --check: print the effective settings and, for every remote,
// the rsync command lines a change would run. hostErr holds the problems of
// this machine (missing watch directory, password file): they are printed
// with the rest, and the exit code says the file is valid but would not
// start here.
func runCheck(w io.Writer, cfg confxml.Config, o *options, mode string, hostErr error) int {
	fmt.Fprintf(w, "config %s: valid\n", cfg.Path)
	if hostErr != nil {
		fmt.Fprintln(w, "not ready on this host (sersync2 would refuse to start here):")
		for _, line := range strings.Split(hostErr.Error(), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
	if len(cfg.Warnings) > 0 {
		fmt.Fprintln(w, "warnings:")
		for _, s := range cfg.Warnings {
			fmt.Fprintln(w, "  "+s)
		}
	}
	on := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	fmt.Fprintln(w, "settings:")
	fmt.Fprintf(w, "  host                 %s port %s (printed only)\n", cfg.Host.IP, cfg.Host.Port)
	fmt.Fprintf(w, "  debug                %s\n", on(cfg.Debug))
	fmt.Fprintf(w, "  fileSystem xfs       %s (symlinks are never followed)\n", on(cfg.XFS))
	fmt.Fprintf(w, "  filter               %s\n", on(cfg.Filter.Enabled))
	if cfg.Filter.Enabled {
		for _, e := range cfg.Filter.Exclude {
			fmt.Fprintf(w, "    exclude            %s\n", e)
		}
		fmt.Fprintln(w, "    (a path is excluded when an expression fully matches rel, /rel, or for a directory rel/ or /rel/;")
		fmt.Fprintln(w, "     full syncs send the paths it excludes to rsync as literal excludes, found when they run)")
	}
	fmt.Fprintf(w, "  dotfiles in realtime %s (syncDotfiles)\n", on(cfg.Filter.SyncDotfiles))
	in := cfg.Inotify
	var ons, offs []string
	for _, t := range []struct {
		name string
		v    bool
	}{{"delete", in.Delete}, {"createFolder", in.CreateFolder}, {"createFile", in.CreateFile}, {"closeWrite", in.CloseWrite},
		{"moveFrom", in.MoveFrom}, {"moveTo", in.MoveTo}, {"attrib", in.Attrib}, {"modify", in.Modify}} {
		if t.v {
			ons = append(ons, t.name)
		} else {
			offs = append(offs, t.name)
		}
	}
	fmt.Fprintf(w, "  inotify on           %s\n", strings.Join(ons, " "))
	fmt.Fprintf(w, "  inotify off          %s\n", strings.Join(offs, " "))
	threads := o.threads
	fmt.Fprintf(w, "  rsync processes (-n) at most %d at once\n", threads)
	if mode != "" {
		fmt.Fprintf(w, "  mode                 plugin only (-m %s): no rsync\n", mode)
		return exitOK
	}
	s := cfg.Sersync
	fmt.Fprintf(w, "  commonParams         %q -> %q (recursive: %v)\n", s.Rsync.CommonParams, s.Rsync.Params, s.Rsync.Recursive())
	if s.Crontab.Enabled {
		fmt.Fprintf(w, "  crontab              full sync every %s, excludes %q\n", s.Crontab.Schedule, s.Crontab.Exclude)
	} else {
		fmt.Fprintln(w, "  crontab              off")
	}
	if s.Plugin.Enabled {
		fmt.Fprintf(w, "  plugin               %s after each sync\n", s.Plugin.Name)
	} else {
		fmt.Fprintln(w, "  plugin               off")
	}
	fmt.Fprintf(w, "  failLog              %s (mode 0600): changes still failing after one retry, replayed by sersync2 every %s and removed once synced\n",
		s.FailLog.Path, replicate.FailLogInterval(cfg))
	if dir, better, ok := replicate.FailLogExposed(cfg, o.stateDirOrDefault()); ok {
		fmt.Fprintf(w, "    warning: %s is writable by every user, who can create or hold names there before sersync2 does; a private directory is safer, such as %s\n",
			dir, better)
	}
	if o.maxDelete > 0 {
		fmt.Fprintf(w, "  max-delete           a full sync deletes at most %d remote paths (with delete on); one stopped by it is not retried\n", o.maxDelete)
	}
	fmt.Fprintf(w, "  state directory      %s (after an unclean stop every root is synced in full)\n", o.stateDirOrDefault())
	fmt.Fprintln(w, "  watch root identity  (a root that is not its recorded file system is absent: nothing is synced from it)")
	printIdentities(w, cfg, o)
	plan, err := replicate.Plan(cfg, o.maxDelete)
	if err != nil {
		fmt.Fprintf(w, "filter: %v\n", err)
		return exitUsage
	}
	root := ""
	for _, c := range plan {
		if c.Root != root || root == "" {
			root = c.Root
			fmt.Fprintf(w, "watch %s\n", c.Root)
		}
		fmt.Fprintf(w, "  remote %s\n", c.Remote)
		fmt.Fprintf(w, "    update: %s\n", c.Update)
		fmt.Fprintf(w, "    remove: %s\n", c.Remove)
		fmt.Fprintf(w, "    full:   %s\n", c.Full)
	}
	if s.Plugin.TakesOverWatch() {
		fmt.Fprintf(w, "note: the %s plugin replaces the first watch directory with its own, as the original did\n", s.Plugin.Name)
	}
	if hostErr != nil {
		return exitHost
	}
	return exitOK
}
