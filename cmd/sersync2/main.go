// Command sersync2 watches directory trees with inotify and replicates every
// change to rsync daemons (or over ssh), reading the original sersync 2.5.x
// confxml.xml and accepting its command line (-d -r -n -o -m -h).
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// version is stamped by the Makefile with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, as the original's where it had one (docs/compat.md).
const (
	exitOK       = 0
	exitFailure  = 1
	exitXMLError = 255
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; main only turns its result into an exit code.
func run(args []string, stdout, stderr io.Writer) int {
	child := os.Getenv(envDaemonChild) != ""
	ready := daemonReadyFunc()
	// rsync and plugin commands must not think they are a daemon child.
	os.Unsetenv(envDaemonChild)
	o, err := parseArgs(args)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sersync2: %s\n", ue.reason)
		fmt.Fprintf(stdout, "命令行参数错误: 没有该选项-%s\n", strings.TrimPrefix(ue.opt, "-"))
		return exitFailure
	}
	if o.version {
		fmt.Fprintf(stdout, "sersync2 %s\n", version)
		return exitOK
	}
	if o.man {
		manPage(stdout)
		return exitOK
	}
	log := newLogger(stderr, o.logLevel, o.logFormat)
	if !child && !o.help && !o.check {
		fmt.Fprintln(stdout, "set the system param")
		tuneKernel(stdout, log, !o.noTune, "/")
	}
	if !child {
		fmt.Fprintln(stdout, "parse the command param")
		for _, l := range o.optionLines {
			fmt.Fprintln(stdout, l)
		}
	}
	if o.help {
		printHelp(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "sersync2: %v\n", err)
		return exitFailure
	}
	if o.config == "" {
		fmt.Fprintln(stdout, "ERROR config file name empty")
		return exitFailure
	}
	for _, p := range o.positional {
		log.Warn("ignoring command-line argument (the original ignored it too); give the config file with -o", "arg", p)
	}
	if o.threads == 0 {
		o.threads = replicate.DefaultThreads
		if !child {
			fmt.Fprintf(stdout, "daemon thread num: %d\n", o.threads)
		}
	}
	mode, err := pluginMode(o.modules)
	if err != nil {
		fmt.Fprintln(stdout, "模块名称错误")
		fmt.Fprintf(stderr, "sersync2: %v\n", err)
		return exitFailure
	}

	if !child {
		fmt.Fprintln(stdout, "parse xml config file")
	}
	cfg, err := loadConfig(o.config, mode)
	var hostErr error
	if o.check && confxml.OnlyHostErrors(err) {
		hostErr, err = err, nil
	}
	if err != nil {
		var pe *confxml.ParseError
		if errors.As(err, &pe) {
			fmt.Fprint(stdout, pe.Report())
			return exitXMLError
		}
		if mode == "" && errors.Is(err, confxml.ErrUnknownPlugin) {
			fmt.Fprintln(stdout, "sersync plugin error，please confirm the config xml")
		}
		fmt.Fprintf(stderr, "sersync2: %s: configuration refused:\n%v\n", o.config, err)
		return exitFailure
	}
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
		printHeader(stdout, cfg)
	}
	if o.daemon && !child {
		fmt.Fprintln(stdout, "daemon start，sersync run behind the console ")
		return daemonize(stdout, stderr, log)
	}

	o.daemonChild = child
	return start(stdout, stderr, log, cfg, o, mode, ready)
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
	unlock, err := lockConfig(o.lockDir, o.config)
	if err != nil {
		ready(err)
		fmt.Fprintf(stderr, "sersync2: %v\n", err)
		return exitFailure
	}
	defer unlock()
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile); err != nil {
			fmt.Fprintf(stderr, "sersync2: %v\n", err)
			return exitFailure
		}
		defer os.Remove(o.pidFile)
	}
	if err := serve(stdout, stderr, log, cfg, o, mode, ready); err != nil {
		ready(err)
		log.Error("stopped", "err", err)
		fmt.Fprintf(stderr, "sersync2: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// pluginMode picks the -m plugin the way the original did: refreshCDN,
// then socket, then command, whichever was given.
func pluginMode(mods []string) (string, error) {
	if len(mods) == 0 {
		return "", nil
	}
	for _, want := range []string{"refreshCDN", "socket", "command"} {
		for _, m := range mods {
			if m == want {
				return m, nil
			}
		}
	}
	for _, m := range mods {
		if m == "http" {
			return "", fmt.Errorf("-m http: the http plugin is not supported (the original's build had it compiled out)")
		}
	}
	return "", fmt.Errorf("-m %s: unknown plugin; use refreshCDN, socket or command", strings.Join(mods, ","))
}

// printHeader prints the original's lines after the config was parsed
// (its start-up steps 6-11).
func printHeader(w io.Writer, cfg confxml.Config) {
	fmt.Fprintf(w, "host ip : %s\thost port: %d\n", cfg.Host.IP, cfg.Host.PortNumber())
	if cfg.Filter.Enabled {
		fmt.Fprintln(w, "now the filter work ,if you set the crontab,you have to set crontab filter ")
	}
	if !cfg.Inotify.Delete {
		fmt.Fprintln(w, "will ignore the inotify delete event")
	}
	if cfg.Inotify.CreateFile {
		fmt.Fprintln(w, "will ignore the inotify createFile event ")
	}
	if cfg.Debug {
		fmt.Fprintln(w, "Open debug, you will see debug infomation ")
	}
	if cfg.XFS {
		fmt.Fprintln(w, "WARNING XFS FILE SYSTEM WORK")
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if os.Getenv("JOURNAL_STREAM") != "" {
		// journald adds its own timestamps.
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func writePidFile(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}
