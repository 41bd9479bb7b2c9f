package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/buildinfo"
	"github.com/sersync-go/sersync2/internal/memstat"
	"github.com/sersync-go/sersync2/internal/sdnotify"
	"github.com/sersync-go/sersync2/replicate"
	"github.com/sersync-go/sersync2/status"
)

// serve runs the replication engine for cfg until SIGINT or SIGTERM: sync
// mode, or plugin-only mode when mode (-m) is set.
func serve(stdout, stderr io.Writer, log *slog.Logger, cfg confxml.Config, o *options, mode string, ready func(error)) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Caught from now on: during a long start-up their default action
	// would end the process. They are acted on once the engine runs.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	// The status address is taken before the watches are set up: a busy
	// port is reported at once, and nothing was started for nothing.
	ep, err := status.Open(o.statusAddr, o.statusPublic, o.statusAuthFile)
	if err != nil {
		return err
	}
	defer ep.Close()
	if err := printStartLines(stdout, cfg, o, mode); err != nil {
		return err
	}
	if mode == "" {
		// As the original, before the watches are added (their debug
		// lines follow).
		fmt.Fprintln(stdout, "run the sersync: ")
		for i, r := range cfg.WatchRoots("") {
			w := r.Watch
			if i == 0 && cfg.Sersync.Plugin.TakesOverWatch() {
				w = cfg.PluginWatch(cfg.Sersync.Plugin.Name) // as configured: the socket plugin's trailing "/" stays
			}
			fmt.Fprintln(stdout, "watch path is: "+w)
		}
	}
	opts := o.engineOptions(mode)
	opts.Terminal, opts.Log, opts.Console = terminal(stderr, o.daemonChild), log, stdout
	e, err := replicate.NewService(ctx, cfg, opts)
	if err != nil {
		return err
	}
	stopStatus := status.Start(ctx, e, ep, o.statusFile, o.statusFileEvery, status.Options{Build: buildinfo.Read(version), Log: log})
	defer stopStatus()
	handleSignals(ctx, sigs, e, func() (confxml.Config, error) { return loadConfig(o.config, mode) }, o.config, log, o.reopenLog)
	st := e.State()
	heap := memstat.LiveHeap()
	if mode == "" {
		log.Info("sersync2 started", "version", version, "roots", len(st.Roots), "remotes", len(st.Remotes),
			"queues_per_remote", st.QueuesPerRemote, "threads", st.Threads, "watches", st.Watches, "heap_live_bytes", heap)
	} else {
		log.Info("sersync2 started in plugin mode", "version", version, "plugin", mode, "root", st.Roots[0], "watches", st.Watches, "heap_live_bytes", heap)
	}
	ready(nil)
	if err := sdnotify.Ready(ctx); err != nil {
		log.Warn("cannot notify systemd", "err", err)
	}
	return e.Run(ctx)
}

// terminal returns w when it is a terminal in the foreground (progress is
// redrawn there), else nil.
func terminal(w io.Writer, daemonChild bool) io.Writer {
	if f, ok := w.(*os.File); ok && !daemonChild && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// printStartLines prints the original's lines between the config summary
// and the start of watching (its start-up steps 12-13).
func printStartLines(w io.Writer, cfg confxml.Config, o *options, mode string) error {
	switch mode {
	case "refreshCDN":
		fmt.Fprintln(w, "启动刷新CDN模块")
	case "socket":
		fmt.Fprintln(w, "启动SOCKET接口")
	case "command":
		fmt.Fprintln(w, "start command interface")
	default:
		printSersyncLines(w, cfg, o.engine.Threads, len(cfg.WatchRoots("")[0].Remotes))
		if o.engine.SyncAll {
			plan, err := replicate.Plan(cfg, o.engine.MaxDelete)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "------------------------------------------")
			fmt.Fprintln(w, "rsync the directory recursivly to the remote servers once")
			fmt.Fprintln(w, "working please wait...")
			// The original's redirect when debug is off: the full sync's
			// output does not reach the console then (rsync's error text
			// goes to our log if it fails).
			redir := " >/dev/null 2>&1 "
			if cfg.Debug {
				redir = ""
			}
			for i, c := range plan {
				if i == 0 {
					fmt.Fprintln(w, "execute command: "+c.FullAnnounced+redir)
				}
				if cfg.Debug {
					fmt.Fprintln(w, "crontab command:"+c.FullAnnounced)
				}
			}
		}
	}
	if mode == "socket" || mode == "" && cfg.Sersync.Plugin.Enabled && cfg.Sersync.Plugin.Name == "socket" {
		fmt.Fprintf(w, "监控路径: %s  ip:  %s 端口号: %d\n", cfg.Socket.Watch, cfg.Socket.IP, cfg.Socket.Port)
	}
	return nil
}

// printSersyncLines prints the original's lines about the <sersync>
// settings and its threads (its start-up step 13).
func printSersyncLines(w io.Writer, cfg confxml.Config, threads, remotes int) {
	s := cfg.Sersync
	if s.Crontab.Enabled {
		fmt.Fprintf(w, "Start the crontab \tEvery %d minutes rsync all the files to the remote servers entirely\n", int(s.Crontab.Schedule/time.Minute))
		if s.Crontab.FilterEnabled {
			fmt.Fprintln(w, "开启crontab过滤功能:\t作整体同步的时候会对如下文件进行过滤")
			for _, e := range s.Crontab.Exclude {
				fmt.Fprintln(w, e)
			}
		}
		if cfg.Filter.Enabled && len(cfg.Filter.Exclude) > 0 && (!s.Crontab.FilterEnabled || len(s.Crontab.Exclude) == 0) {
			// The original switched crontab off here, with five lines
			// saying so. It stays on: its full syncs leave out what the
			// filter excludes.
			fmt.Fprintln(w, "************************WARNING***********************************")
			fmt.Fprintln(w, "crontab stays on: its full syncs leave out the paths the <filter> excludes (they are neither sent nor deleted)")
		}
	}
	if s.Rsync.Auth.Enabled {
		fmt.Fprintln(w, "use rsync password-file :")
		fmt.Fprintln(w, "user is\t"+s.Rsync.Auth.Users)
		fmt.Fprintln(w, "passwordfile is \t"+s.Rsync.Auth.PasswordFile)
	}
	if s.Plugin.Enabled {
		fmt.Fprintln(w, "after each synchronize run the plugin \tplugin name is: "+s.Plugin.Name)
	}
	fmt.Fprintln(w, "config xml parse success")
	fmt.Fprintln(w, "please set /etc/rsyncd.conf max connections=0 Manually")
	fmt.Fprintf(w, "sersync working thread %d  = 1(primary thread) + 1(fail retry thread) + %d(daemon sub threads) \n", threads+2, threads)
	fmt.Fprintf(w, "Max threads numbers is: %d = %d(Thread pool nums) + %d(Sub threads)\n", 2+threads+remotes*threads, threads+2, remotes*threads)
	fmt.Fprintln(w, "please according your cpu ，use -n param to adjust the cpu rate")
}
