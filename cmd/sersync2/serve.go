package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/buildinfo"
	"github.com/sersync-go/sersync2/internal/memstat"
	"github.com/sersync-go/sersync2/internal/sdnotify"
	"github.com/sersync-go/sersync2/replicate"
	"github.com/sersync-go/sersync2/startlines"
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
	if err := startlines.Start(stdout, cfg, mode, o.engine.Threads, o.engine.SyncAll, o.engine.MaxDelete); err != nil {
		return err
	}
	startlines.Watching(stdout, cfg, mode)
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
