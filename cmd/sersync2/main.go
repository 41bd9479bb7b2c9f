// Command sersync2 watches directory trees with inotify and replicates every
// change to rsync daemons (or over ssh), reading the original sersync 2.5.x
// confxml.xml and accepting its command line (-d -r -n -o -m -h).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/buildinfo"
	"github.com/sersync-go/sersync2/internal/daemon"
	"github.com/sersync-go/sersync2/internal/instance"
	"github.com/sersync-go/sersync2/internal/kernellimits"
	"github.com/sersync-go/sersync2/internal/logging"
	"github.com/sersync-go/sersync2/replicate"
	"github.com/sersync-go/sersync2/startlines"
)

// version is stamped by the Makefile with -ldflags "-X main.version=…".
var version = "dev"

// sysctlRoot is the directory below which tuneKernel finds
// proc/sys/fs/inotify: "/", or a copy in tests.
var sysctlRoot = "/"

// Exit codes (README "Signals and exit codes", the man page): 1 and 255 are the
// original's, kept for scripts written for it; 3 and 4 tell a service
// manager what a restart can fix (a late mount, a remote that comes back)
// from what only an edit can (1, 255).
const (
	exitOK = 0
	// exitUsage: a bad command line or an invalid configuration.
	exitUsage = 1
	// exitHost: the configuration is valid but cannot start on this
	// machine now (a missing watch directory or password file, rsync
	// missing, the status address taken, another instance running).
	exitHost = 3
	// exitRuntime: replication stopped by a failure after it started
	// (the watcher stopped seeing changes).
	exitRuntime = 4
	// exitXMLError: the configuration file is missing or not well-formed
	// XML.
	exitXMLError = 255
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; main only turns its result into an exit code.
func run(args []string, stdout, stderr io.Writer) int {
	child, ready := daemon.Detect()
	o, err := parseArgs(args)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sersync2: %s\n", ue.reason)
		fmt.Fprintf(stdout, "命令行参数错误: 没有该选项-%s\n", strings.TrimPrefix(ue.opt, "-"))
		return exitUsage
	}
	if o.version {
		fmt.Fprintln(stdout, buildinfo.Read(version))
		return exitOK
	}
	if o.man {
		manPage(stdout)
		return exitOK
	}
	if o.fromLsyncd != "" && err == nil && !o.help {
		return fromLsyncd(stdout, stderr, o.fromLsyncd)
	}
	if o.pending && !o.help {
		if err != nil {
			return fail(stderr, exitUsage, err)
		}
		return printPending(stdout, stderr, o, time.Now())
	}
	o.logger.Stderr = stderr
	lg, logErr := logging.New(o.logger)
	if logErr != nil {
		// Reported below, after the original's lines; until then the log
		// goes to stderr.
		lg, _ = logging.New(logging.Options{Stderr: stderr})
	}
	defer lg.Close()
	o.reopenLog = lg.Reopen
	log := lg.Logger
	// The original's lines up to the verdict on the flags and the
	// configuration are held back: the inotify limits are system-wide, so
	// they are raised only once both are known to be good, for a start that
	// will watch a root with inotify; their lines still come first, where
	// the original printed them.
	var held bytes.Buffer
	out := io.Writer(&held)
	banner := !child && !o.help && !o.check && len(o.acceptRoots) == 0
	release := func(tune func()) {
		if banner {
			fmt.Fprintln(stdout, "set the system param")
			if tune != nil {
				tune()
			}
			banner = false
		}
		_, _ = stdout.Write(held.Bytes())
		held.Reset()
	}
	defer release(nil)
	if !child {
		fmt.Fprintln(out, "parse the command param")
		for _, l := range o.optionLines {
			fmt.Fprintln(out, l)
		}
	}
	if o.help {
		printHelp(out)
		return exitOK
	}
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	if logErr != nil {
		return fail(stderr, exitHost, logErr)
	}
	if o.config == "" {
		fmt.Fprintln(out, "ERROR config file name empty")
		return exitUsage
	}
	for _, p := range o.positional {
		log.Warn("ignoring command-line argument (the original ignored it too); give the config file with -o", "arg", p)
	}
	if o.engine.Threads == 0 {
		o.engine.Threads = replicate.DefaultThreads
		if !child {
			fmt.Fprintf(out, "daemon thread num: %d\n", o.engine.Threads)
		}
	}
	mode, err := confxml.PluginMode(o.modules)
	if err != nil {
		fmt.Fprintln(out, "模块名称错误")
		return fail(stderr, exitUsage, err)
	}

	if !child {
		fmt.Fprintln(out, "parse xml config file")
	}
	cfg, err := loadConfig(o.config, mode)
	var hostErr error
	if o.check && confxml.OnlyHostErrors(err) {
		hostErr, err = err, nil
	}
	if err != nil {
		var pe *confxml.ParseError
		if errors.As(err, &pe) {
			fmt.Fprint(out, pe.Report())
			return exitXMLError
		}
		if mode == "" && errors.Is(err, confxml.ErrUnknownPlugin) {
			fmt.Fprintln(out, "sersync plugin error，please confirm the config xml")
		}
		if confxml.OnlyHostErrors(err) {
			fmt.Fprintf(stderr, "sersync2: %s: cannot start on this host:\n%v\n", o.config, err)
			return exitHost
		}
		fmt.Fprintf(stderr, "sersync2: %s: configuration refused:\n%v\n", o.config, err)
		return exitUsage
	}
	release(func() { tuneKernel(stdout, log, cfg, o, mode) })
	for _, w := range cfg.Warnings {
		log.Warn("config", "file", o.config, "warning", w)
	}
	if o.check {
		return runCheck(stdout, cfg, o, mode, hostErr)
	}
	if len(o.acceptRoots) > 0 {
		return acceptRoots(stdout, stderr, cfg, o, mode)
	}
	if !child {
		startlines.Header(stdout, cfg)
	}
	if o.daemon && !child {
		fmt.Fprintln(stdout, "daemon start，sersync run behind the console ")
		pid, err := daemon.Start(stdout, stderr, os.Args[1:])
		var ce *daemon.ChildExitError
		switch {
		case errors.As(err, &ce):
			return ce.Code // the child printed why
		case err != nil:
			return fail(stderr, exitHost, err)
		}
		log.Info("daemon started", "pid", pid)
		return exitOK
	}

	o.daemonChild = child
	return start(stdout, stderr, log, cfg, o, mode, ready)
}

// tuneKernel raises the inotify limits for a start that may watch a root
// with inotify. They are system-wide: when fanotify watches every root,
// nothing here needs them, and they are left as they are.
func tuneKernel(stdout io.Writer, log *slog.Logger, cfg confxml.Config, o *options, mode string) {
	if !replicate.InotifyNeeded(cfg, o.engineOptions(mode)) {
		kernellimits.Unneeded(stdout, "fanotify watches every root, no inotify watch is needed")
		return
	}
	kernellimits.Raise(stdout, log, !o.noTune, sysctlRoot)
}

// fail writes err as sersync2's message on stderr and returns code.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "sersync2: %v\n", err)
	return code
}

// loadConfig reads the configuration file for sync mode, or for the
// plugin-only mode named by mode.
func loadConfig(path, mode string) (confxml.Config, error) {
	if mode != "" {
		return confxml.LoadPlugin(path, mode)
	}
	return confxml.Load(path)
}

// start writes the pid file and runs the engine until a signal.
func start(stdout, stderr io.Writer, log *slog.Logger, cfg confxml.Config, o *options, mode string, ready func(error)) int {
	// A dry run changes nothing, so it may rehearse next to the instance
	// that replicates with the same file.
	if !o.engine.DryRun {
		unlock, err := instance.Lock(o.lockDir, o.config)
		if err != nil {
			ready(err)
			return fail(stderr, exitHost, err)
		}
		defer unlock()
	}
	if o.pidFile != "" {
		remove, err := instance.WritePidFile(o.pidFile)
		if err != nil {
			ready(err)
			return fail(stderr, exitHost, err)
		}
		defer remove()
	}
	if err := serve(stdout, stderr, log, cfg, o, mode, ready); err != nil {
		ready(err)
		log.Error("stopped", "err", err)
		fmt.Fprintf(stderr, "sersync2: %v\n", err)
		if errors.Is(err, replicate.ErrWatcherStopped) {
			return exitRuntime
		}
		return exitHost
	}
	return exitOK
}
