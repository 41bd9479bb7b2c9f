package replicate

import (
	"fmt"
	"io"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
)

// Describe writes, for --check, the effective settings of an engine built
// from cfg and o: the configuration's toggles and their meaning, and in
// sync mode the crontab, plugin, failLog, state directory, each watch
// root's identity and the rsync command lines every remote would run for
// a change and for a full sync. It runs nothing and records nothing. When
// the commands cannot be built (a filter expression) it writes why and
// returns the error.
func Describe(w io.Writer, cfg confxml.Config, o Options) error {
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
	threads := o.Threads
	if threads <= 0 {
		threads = DefaultThreads
	}
	fmt.Fprintf(w, "  rsync processes (-n) at most %d at once\n", threads)
	if o.Plugin != "" {
		fmt.Fprintf(w, "  mode                 plugin only (-m %s): no rsync\n", o.Plugin)
		return nil
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
		s.FailLog.Path, failLogInterval(cfg))
	if dir, better, ok := failLogExposed(cfg, o.StateDir); ok {
		fmt.Fprintf(w, "    warning: %s is writable by every user, who can create or hold names there before sersync2 does; a private directory is safer, such as %s\n",
			dir, better)
	}
	if o.MaxDelete > 0 {
		fmt.Fprintf(w, "  max-delete           a full sync deletes at most %d remote paths (with delete on); one stopped by it is not retried\n", o.MaxDelete)
	}
	fmt.Fprintf(w, "  state directory      %s (after an unclean stop every root is synced in full)\n", o.StateDir)
	for _, rb := range rootBackends(cfg, o) {
		if rb.err != nil {
			fmt.Fprintf(w, "  watcher              %s: %v\n", rb.Root, rb.err)
			continue
		}
		fmt.Fprintf(w, "  watcher              %s: %s (%s)\n", rb.Root, rb.Backend, rb.Reason)
	}
	fmt.Fprintln(w, "  watch root identity  (a root that is not its recorded file system is absent: nothing is synced from it)")
	describeIdentities(w, cfg, o.StateDir)
	plan, err := Plan(cfg, o.MaxDelete)
	if err != nil {
		fmt.Fprintf(w, "filter: %v\n", err)
		return err
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
	return nil
}

// describeIdentities writes Describe's lines about each watch root's
// identity recorded in stateDir: recorded and present, absent and why,
// or not recorded yet.
func describeIdentities(w io.Writer, cfg confxml.Config, stateDir string) {
	reps, err := rootIdentities(cfg, stateDir)
	if err != nil {
		fmt.Fprintf(w, "  watch root identities: %v\n", err)
		return
	}
	// The watch roots come first, then the local targets.
	roots := len(cfg.WatchRoots(""))
	for i, r := range reps {
		what, absent := "root", "nothing is synced from it"
		if i >= roots {
			what, absent = "local target", "nothing is written to it"
		}
		switch {
		case r.Recorded != nil && r.Err == nil:
			fmt.Fprintf(w, "  %s %s: present: recorded %s on %s\n", what, r.Root, r.Recorded.ID, r.Recorded.Recorded.Format("2006-01-02"))
		case r.Err != nil:
			fmt.Fprintf(w, "  %s %s: ABSENT, %s: %v\n", what, r.Root, absent, r.Err)
		case r.Suspicion != "":
			fmt.Fprintf(w, "  %s %s: not recorded yet; warning: it looks like an unmounted mount point: %s (recorded once it no longer does)\n", what, r.Root, r.Suspicion)
		default:
			fmt.Fprintf(w, "  %s %s: not recorded yet; recorded at start: %s\n", what, r.Root, r.Found)
		}
	}
}
