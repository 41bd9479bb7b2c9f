package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/sersync-go/sersync2/internal/instance"
	"github.com/sersync-go/sersync2/internal/logging"
	"github.com/sersync-go/sersync2/replicate"
	"github.com/sersync-go/sersync2/startlines"
	"github.com/sersync-go/sersync2/status"
)

// options is the parsed command line.
type options struct {
	daemon      bool
	threadsRaw  string   // -n as written, echoed in the original's option line
	config      string   // -o
	modules     []string // -m, in command-line order
	help        bool
	check       bool
	version     bool
	noTune      bool
	pidFile     string
	batching    string
	stateDir    string   // "" before defaulting; see stateDir
	acceptRoots []string // --accept-root: record these roots' file systems, exit
	positional  []string
	// engine holds the engine's settings the flags give directly (-r, -n
	// once parsed, --queues, --min-delay, --max-delete, --dry-run, …);
	// engineOptions adds the others.
	engine replicate.Options
	// logger holds --log-level, --log-format, --log-file and --syslog.
	logger logging.Options
	// daemonChild is set in the process -d started: its stderr may still
	// be the terminal it was started from, but nobody watches it.
	daemonChild bool

	statusAddr      string // --status-addr: serve /metrics, /status and the page
	statusPublic    bool   // --status-addr-public: allow a non-loopback address
	statusAuthFile  string // --status-auth-file: bearer token every request must carry
	statusFile      string // --status-file: write the status as text
	statusFileEvery time.Duration
	lockDir         string
	man             bool   // --man (hidden): print the man page
	pending         bool   // --pending: print a running instance's pending paths
	fromLsyncd      string // --from-lsyncd: convert this lsyncd configuration
	// reopenLog opens --log-file again (SIGHUP); run sets it.
	reopenLog func() error

	// optionLines are the original's "option: …" stdout lines, in
	// command-line order.
	optionLines []string
}

// errHelp stops parsing at -h, as the original did.
var errHelp = errors.New("help requested")

// usageError is a bad command line: the offending option letter or name.
type usageError struct {
	opt    string // "x" for -x, "--foo" for a long option
	reason string // glibc-style text for stderr
}

func (e *usageError) Error() string { return e.reason }

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("sersync2", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.BoolVarP(&o.daemon, "daemon", "d", false, "run as a daemon: validate the config, then detach (the caller's exit code says whether start-up succeeded)")
	fs.BoolVarP(&o.engine.SyncAll, "sync-all", "r", false, "push every watch root to every remote once before live replication starts")
	fs.StringVarP(&o.threadsRaw, "threads", "n", "", "at most `N` rsync processes at once (default 10)")
	fs.StringVarP(&o.config, "config", "o", "confxml.xml", "configuration `FILE`")
	fs.StringArrayVarP(&o.modules, "module", "m", nil, "plugin-only mode: `NAME` is refreshCDN, socket or command (no rsync)")
	fs.BoolVarP(&o.help, "help", "h", false, "print this help and exit")
	fs.BoolVar(&o.engine.DryRun, "dry-run", false, "watch and batch as usual, but run nothing: log every rsync command (with its paths) and ssh rename that would run; no plugin, and nothing written to the failLog or the state directory")
	fs.BoolVar(&o.check, "check", false, "load and validate the config, print the effective settings and the rsync commands, exit 0 or 1")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.noTune, "no-tune-kernel", false, "do not raise fs.inotify.max_user_watches / max_queued_events")
	fs.StringVar(&o.pidFile, "pidfile", "", "write the daemon's process id to `FILE`")
	fs.DurationVar(&o.engine.MinDelay, "min-delay", 0, "wait at least this long after a change before syncing it (default 0: at once)")
	o.engine.Watcher = replicate.DefaultWatcher
	fs.Var(&o.engine.Watcher, "watcher", "kernel `BACKEND` watching the roots: auto (fanotify for each root it can watch, inotify for the others), inotify (a watch per directory) or fanotify (one mark per file system; needs CAP_SYS_ADMIN, Linux >= 5.17, a file system with file handles)")
	fs.StringVar(&o.batching, "batching", "adaptive", "`MODE` adaptive: an idle remote gets a change at once, a busy one fewer, larger batches, several disjoint ones in flight; eager: a batch as soon as the previous one is done, one at a time")
	fs.IntVar(&o.engine.Queues, "queues", 0, fmt.Sprintf("`Q` queues per remote and watch root: changes under different top-level entries sync in parallel, each path stays in order (default %d; 1 over ssh with deletion on, so that renames between top-level entries are done on the remote)", replicate.DefaultQueues))
	fs.StringVar(&o.logger.Level, "log-level", "info", "structured log `LEVEL`: debug, info, warn or error (debug adds one line per batch and per rsync run)")
	fs.StringVar(&o.logger.Format, "log-format", "text", "structured log `FORMAT`: text (key=value) or json")
	fs.StringVar(&o.logger.File, "log-file", "", "write the structured log to `FILE` instead of stderr (appended, mode 0640; reopened on SIGHUP, for logrotate)")
	fs.BoolVar(&o.logger.Syslog, "syslog", false, "send the structured log to the local syslog (facility daemon) instead of stderr; with --log-file, to both")
	fs.DurationVar(&o.engine.SummaryEvery, "summary-every", replicate.DefaultSummaryEvery, "log one summary line this often while changes are synced or pending")
	fs.DurationVar(&o.engine.ProgressEvery, "progress-every", replicate.DefaultProgressEvery, "log the progress of a running full sync (-r, crontab, SIGUSR1) this often; on a terminal it is redrawn every second instead")
	fs.StringVar(&o.statusAddr, "status-addr", "", "serve /metrics (Prometheus), /status (JSON) and a status page on `ADDR`, e.g. 127.0.0.1:9411 (off by default; loopback only unless --status-addr-public)")
	fs.BoolVar(&o.statusPublic, "status-addr-public", false, "allow --status-addr to be an address other hosts can reach; without --status-auth-file anyone who reaches it reads the watched paths, remotes and errors (a warning at start says so)")
	fs.StringVar(&o.statusAuthFile, "status-auth-file", "", "answer --status-addr requests only when they carry Authorization: Bearer TOKEN, TOKEN being the content of `FILE` without surrounding white space (Prometheus: authorization: credentials_file: FILE); the file must not be readable by others")
	fs.StringVar(&o.statusFile, "status-file", "", "rewrite `FILE` with the status as text every --status-file-every")
	fs.DurationVar(&o.statusFileEvery, "status-file-every", status.DefaultFileEvery, "how often --status-file is rewritten")
	fs.BoolVar(&o.pending, "pending", false, "print the paths a running instance has not synced yet, oldest first (age, attempts, remote, path), read through its --status-addr (with --status-auth-file) or its --status-file, and exit (3: no instance answers)")
	fs.StringVar(&o.fromLsyncd, "from-lsyncd", "", "convert the lsyncd 2.x configuration `FILE` to a confxml.xml on stdout and exit; stderr reports what could not be carried over, with its line, and the command line to run (exit 0: all carried over, 1: not all, or not convertible)")
	fs.StringVar(&o.lockDir, "lock-dir", instance.DefaultLockDir(), "`DIR` of the lock files that keep one instance per configuration file")
	fs.BoolVar(&o.man, "man", false, "print the man page (roff) and exit")
	_ = fs.MarkHidden("man")
	fs.BoolVar(&o.engine.NoRemoteMoves, "no-remote-moves", false, "over ssh, send renamed files again instead of renaming them on the remote (for comparisons and remotes whose mv misbehaves)")
	_ = fs.MarkHidden("no-remote-moves")
	fs.IntVar(&o.engine.MaxDelete, "max-delete", 0, "a full sync (-r, crontab, overflow, SIGUSR1) deletes at most `N` paths on the remote (rsync --max-delete); one stopped by it sends everything else, logs an error and is not retried (default 0: no limit)")
	fs.Int64Var(&o.engine.MaxPending, "max-pending-bytes", 0, fmt.Sprintf("bytes of changes one remote of one root may have pending before they collapse into one full sync of it (each path counts its length plus a fixed cost; default %d, about 1,000,000 paths)", replicate.DefaultMaxPending))
	_ = fs.MarkHidden("max-pending-bytes")
	fs.StringArrayVar(&o.acceptRoots, "accept-root", nil, "record the file system now at watch root `DIR` as its own (repeatable) and exit: for data really moved to another file system; an absent root (an unmounted disk) is otherwise never synced")
	fs.StringVar(&o.stateDir, "state-dir", "", "`DIR` of the state file that tells a clean stop from a crash (after a crash every root is synced in full) and of the file recording each watch root's file system (default "+replicate.DefaultStateDirText+")")
	return fs
}

// parseArgs parses args the way the original's getopt("hdro:n:m:") did,
// plus our long options. It records the original's option lines in order.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
	err := fs.ParseAll(args, func(f *pflag.Flag, value string) error {
		if err := fs.Set(f.Name, value); err != nil {
			return err
		}
		switch f.Name {
		case "daemon":
			o.optionLines = append(o.optionLines, "option: -d \trun as a daemon")
		case "sync-all":
			o.optionLines = append(o.optionLines, "option: -r \trsync all the local files to the remote servers before the sersync work")
		case "config":
			o.optionLines = append(o.optionLines, "option: -o \tconfig xml name：  "+value)
		case "threads":
			o.optionLines = append(o.optionLines, "option: -n \tthread num is：  "+value)
		case "module":
			o.optionLines = append(o.optionLines, "option: -m \tworking plugin name: "+value)
		case "help":
			return errHelp
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errHelp) {
			o.help = true
			return o, nil
		}
		return o, toUsageError(err)
	}
	o.positional = fs.Args()
	if o.batching != "adaptive" && o.batching != "eager" {
		return o, fmt.Errorf("--batching %q: use adaptive or eager", o.batching)
	}
	if o.logger.Format != "text" && o.logger.Format != "json" {
		return o, fmt.Errorf("--log-format %q: use text or json", o.logger.Format)
	}
	if _, err := logging.ParseLevel(o.logger.Level); err != nil {
		return o, err
	}
	// --pending only asks the server at --status-addr: any address will do.
	if o.statusAddr != "" && !o.pending {
		if err := status.CheckAddr(o.statusAddr, o.statusPublic); err != nil {
			return o, err
		}
	}
	if o.statusAuthFile != "" && o.statusAddr == "" {
		return o, errors.New("--status-auth-file needs --status-addr")
	}
	if o.engine.DryRun && len(o.modules) > 0 {
		return o, errors.New("--dry-run replicates without running rsync; -m runs a plugin only: give one of them")
	}
	if o.pending && o.statusAddr == "" && o.statusFile == "" {
		return o, errors.New("--pending needs --status-addr or --status-file: those the running instance was started with")
	}
	if o.engine.MaxDelete < 0 {
		return o, fmt.Errorf("--max-delete %d: must be 0 (no limit) or more", o.engine.MaxDelete)
	}
	if fs.Changed("queues") && o.engine.Queues < 1 {
		return o, fmt.Errorf("--queues %d: must be at least 1", o.engine.Queues)
	}
	if o.threadsRaw != "" {
		n, err := strconv.Atoi(o.threadsRaw)
		if err != nil || n < 0 {
			return o, fmt.Errorf("-n %q: the thread count must be a whole number >= 1", o.threadsRaw)
		}
		o.engine.Threads = n
	}
	return o, nil
}

// stateDirOrDefault returns --state-dir, or the default.
func (o *options) stateDirOrDefault() string {
	if o.stateDir != "" {
		return o.stateDir
	}
	return replicate.DefaultStateDir()
}

// engineOptions are the engine's settings given on the command line;
// mode is the -m plugin, "" in sync mode.
func (o *options) engineOptions(mode string) replicate.Options {
	e := o.engine
	e.Plugin, e.StateDir, e.Eager = mode, o.stateDirOrDefault(), o.batching == "eager"
	return e
}

func toUsageError(err error) error {
	var nf *pflag.NotExistError
	if errors.As(err, &nf) {
		if c := nf.GetSpecifiedShortnames(); c != "" {
			letter := nf.GetSpecifiedName()
			return &usageError{opt: letter, reason: fmt.Sprintf("invalid option -- '%s'", letter)}
		}
		return &usageError{opt: "--" + nf.GetSpecifiedName(), reason: fmt.Sprintf("unrecognized option '--%s'", nf.GetSpecifiedName())}
	}
	var vr *pflag.ValueRequiredError
	if errors.As(err, &vr) {
		name := vr.GetSpecifiedName()
		if vr.GetSpecifiedShortnames() != "" {
			return &usageError{opt: name, reason: fmt.Sprintf("option requires an argument -- '%s'", name)}
		}
		return &usageError{opt: "--" + name, reason: fmt.Sprintf("option '--%s' requires an argument", name)}
	}
	return &usageError{opt: "?", reason: err.Error()}
}

// printHelp prints the original's -h lines, then our options.
func printHelp(w io.Writer) {
	startlines.Help(w)
	fmt.Fprintln(w, "Usage: sersync2 [-d] [-r] [-n N] [-o confxml.xml] [-m refreshCDN|socket|command]")
	fmt.Fprintln(w, "Options (short forms may be combined, e.g. -dro /etc/sersync/confxml.xml):")
	var o options
	fmt.Fprint(w, newFlagSet(&o).FlagUsages())
}
