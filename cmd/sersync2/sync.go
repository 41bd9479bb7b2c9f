package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/plugins"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// shutdownGrace is how long in-flight rsyncs may run on after SIGTERM
// before they are stopped too.
const shutdownGrace = 10 * time.Second

// lane is one queue and worker of a (watch root, remote) pair; a remote
// has --queues of them (route.go). A remote that is down or slow
// never delays the others.
type lane struct {
	root   string
	target rsyncexec.Target
	q      *queue.Queue
	// first marks the first remote of its root: its successful batches
	// drive the plugin, so the plugin runs once per change, not per remote.
	first bool
	// pluginWatch is the root as the plugin is told it (verbatim).
	pluginWatch string
}

// counters are the process-wide figures logged at exit.
type counters struct {
	batches, runs, paths, failures atomic.Int64
}

// syncWriter serialises writes of several goroutines to stdout.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) println(line string) { fmt.Fprintln(s, line) }

// watchRoots returns the roots to watch in sync mode. A socket or
// refreshCDN plugin replaces the first <localpath> with its own, as the
// original did (D-20); the plugin's watch is kept verbatim for the paths
// it is told.
func watchRoots(cfg confxml.Config, log *slog.Logger) (roots []confxml.LocalPath, pluginWatch string) {
	roots = append(roots, cfg.Sersync.LocalPaths...)
	pluginWatch = roots[0].Watch
	if !cfg.Sersync.Plugin.Enabled {
		return roots, pluginWatch
	}
	switch cfg.Sersync.Plugin.Name {
	case plugins.NameSocket:
		pluginWatch = cfg.Socket.Watch
	case plugins.NameRefreshCDN:
		pluginWatch = cfg.RefreshCDN.Watch
	case plugins.NameCommand:
		return roots, pluginWatch
	}
	if w := trimOneSlash(pluginWatch); w != roots[0].Watch {
		log.Warn("the plugin's <localpath> replaces the synced directory, as the original did (D-20)",
			"plugin", cfg.Sersync.Plugin.Name, "configured", roots[0].Watch, "watching", w)
		roots[0].Watch = w
	}
	return roots, pluginWatch
}

func trimOneSlash(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return p[:len(p)-1]
	}
	return p
}

// targetFor builds the rsync target of one remote of one root.
func targetFor(cfg confxml.Config, root string, r confxml.Remote, exclude func(string, bool) bool) rsyncexec.Target {
	t := rsyncexec.Target{
		Root:    root,
		Remote:  r,
		Rsync:   cfg.Sersync.Rsync,
		Delete:  cfg.Inotify.Delete,
		Exclude: exclude,
	}
	if cfg.Sersync.Crontab.Enabled && cfg.Sersync.Crontab.FilterEnabled {
		t.CrontabExcludes = cfg.Sersync.Crontab.Exclude
	}
	return t
}

// printSersyncLines prints the original's lines of spec 1.3 step 13.
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

func runSync(parent context.Context, stdout io.Writer, log *slog.Logger, cfg confxml.Config, o *options, ready func(error)) error {
	// The watcher ending on its own (its fd failed) stops everything with
	// an error, so a service manager restarts us instead of a daemon that
	// no longer sees changes.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	out := &syncWriter{w: stdout}
	roots, pluginWatch := watchRoots(cfg, log)
	nremotes := len(roots[0].Remotes)
	printSersyncLines(out, cfg, o.threads, nremotes)

	if _, err := rsyncexec.Probe(ctx, "rsync"); err != nil {
		return err
	}
	exclude, err := inotifymask.Excluder(cfg.Filter)
	if err != nil {
		return err
	}
	runner := rsyncexec.NewRunner("rsync", o.threads, log)
	runOpts := rsyncexec.RunOptions{Debug: cfg.Debug, DebugOut: out}

	if o.syncAll {
		out.println("------------------------------------------")
		out.println("rsync the directory recursivly to the remote servers once")
		out.println("working please wait...")
		for i, lp := range roots {
			for j, r := range lp.Remotes {
				c := rsyncexec.FullCommand(targetFor(cfg, lp.Watch, r, exclude), nil)
				s := rsyncexec.Shell(c.Argv, lp.Watch, nil)
				if i == 0 && j == 0 {
					out.println("execute command: " + s)
				}
				if cfg.Debug {
					out.println("crontab command:" + s)
				}
			}
		}
	}

	var plugin plugins.Plugin
	if cfg.Sersync.Plugin.Enabled {
		if cfg.Sersync.Plugin.Name == plugins.NameSocket {
			fmt.Fprintf(out, "监控路径: %s  ip:  %s 端口号: %d\n", cfg.Socket.Watch, cfg.Socket.IP, cfg.Socket.Port)
		}
		plugin, err = plugins.New(cfg.Sersync.Plugin.Name, cfg, log, out)
		if err != nil {
			return err
		}
		defer plugin.Close()
	}

	var paths []string
	for _, lp := range roots {
		paths = append(paths, lp.Watch)
	}
	w, err := inotifymask.New(watcherOptions(cfg, paths, out, log))
	if err != nil {
		return err
	}
	defer w.Close()
	checkWatchesOnSignal(ctx, w, log)

	var cnt counters
	qopts := queue.Options{
		Recursive: rsyncexec.Recursive(cfg.Sersync.Rsync.Params),
		MinDelay:  o.minDelay,
		Log:       log,
	}
	// Each (root, remote) gets parts queues (--queues, at most -n), see route.go.
	parts := min(o.queues, o.threads)
	var lanes []*lane
	byRoot := map[string][][]*lane{} // root -> remote -> part
	for i, lp := range roots {
		pw := lp.Watch
		if i == 0 {
			pw = pluginWatch
		}
		for j, r := range lp.Remotes {
			lo := qopts
			dest := rsyncexec.Destination(targetFor(cfg, lp.Watch, r, nil))
			lo.OnRetry = func(b queue.Batch, err error, next time.Duration) {
				log.Warn("sync failed; will retry", "root", lp.Watch, "remote", dest, "paths", b.Len(), "full", b.Full, "attempt", b.Attempt+1, "retry_in", next.Round(time.Millisecond), "err", err)
			}
			group := make([]*lane, parts)
			for k := range group {
				group[k] = &lane{root: lp.Watch, target: targetFor(cfg, lp.Watch, r, exclude), q: queue.New(lp.Watch, lo), first: j == 0, pluginWatch: pw}
				lanes = append(lanes, group[k])
			}
			if o.syncAll {
				group[0].q.RequestFull("-r")
			}
			byRoot[lp.Watch] = append(byRoot[lp.Watch], group)
		}
	}

	out.println("run the sersync: ")
	for _, lp := range roots {
		out.println("watch path is: " + lp.Watch)
	}

	var sched *cron.Cron
	if cfg.Sersync.Crontab.Enabled {
		sched = cron.New()
		spec := fmt.Sprintf("@every %s", cfg.Sersync.Crontab.Schedule)
		if _, err := sched.AddFunc(spec, func() {
			for _, groups := range byRoot {
				for _, g := range groups {
					g[0].q.RequestFull("crontab")
				}
			}
		}); err != nil {
			return fmt.Errorf("crontab schedule %s: %w", cfg.Sersync.Crontab.Schedule, err)
		}
		sched.Start()
	}

	// Rsyncs keep running for a grace period after a stop signal.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()

	var wg sync.WaitGroup
	for _, l := range lanes {
		wg.Go(func() {
			runLane(ctx, runCtx, l, runner, runOpts, plugin, log, &cnt)
		})
	}
	wg.Go(func() {
		dispatch(ctx, w, byRoot, log)
		cancel(errWatcherStopped)
	})

	log.Info("sersync2 started", "version", version, "roots", len(roots), "remotes", len(lanes)/parts, "queues_per_remote", parts, "threads", o.threads, "watches", w.Stats().Watches)
	ready(nil)
	if err := notifySystemd("READY=1"); err != nil {
		log.Warn("cannot notify systemd", "err", err)
	}

	<-ctx.Done()
	_ = notifySystemd("STOPPING=1")
	log.Info("stopping: finishing in-flight rsyncs", "grace", shutdownGrace)
	if sched != nil {
		<-sched.Stop().Done()
	}
	w.Close()
	for _, l := range lanes {
		l.q.Close()
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(shutdownGrace):
		cancelRuns()
		<-stopped
	}
	pending := 0
	for _, l := range lanes {
		pending += len(l.q.Snapshot().Items)
	}
	ws := w.Stats()
	log.Info("stopped", "batches", cnt.batches.Load(), "rsync_runs", cnt.runs.Load(), "paths", cnt.paths.Load(),
		"failed_batches", cnt.failures.Load(), "overflows", ws.Overflows, "unsynced_paths", pending)
	if err := context.Cause(ctx); errors.Is(err, errWatcherStopped) && parent.Err() == nil {
		return err
	}
	return nil
}

// watcherOptions is the watcher's configuration for roots, the same in
// sync and plugin mode.
func watcherOptions(cfg confxml.Config, roots []string, out *syncWriter, log *slog.Logger) inotifymask.Options {
	o := inotifymask.Options{Roots: roots, Inotify: cfg.Inotify, Filter: cfg.Filter, XFS: cfg.XFS, Logger: log}
	if cfg.Debug {
		o.Debug = out.println
	}
	return o
}

var errWatcherStopped = errors.New("the watcher stopped: changes are no longer seen")

// dispatch fans every watcher event out to each remote of its root, to
// the queue route picks.
func dispatch(ctx context.Context, w *inotifymask.Watcher, byRoot map[string][][]*lane, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events():
			if !ok {
				return
			}
			if ev.Op == inotifymask.OpOverflow {
				log.Warn("events lost; full sync of the root follows", "root", ev.Root, "err", ev.Err)
			}
			for _, group := range byRoot[ev.Root] {
				for _, r := range route(ev, len(group)) {
					group[r.part].q.Add(r.ev)
				}
			}
		}
	}
}

// runLane is the worker of one queue of a (root, remote) pair.
func runLane(ctx, runCtx context.Context, l *lane, runner *rsyncexec.Runner, opts rsyncexec.RunOptions,
	plugin plugins.Plugin, log *slog.Logger, cnt *counters) {
	dest := rsyncexec.Destination(l.target)
	for {
		b, err := l.q.Next(ctx)
		if err != nil {
			return
		}
		res := runner.Run(runCtx, l.target, b, opts)
		cnt.batches.Add(1)
		cnt.runs.Add(int64(res.Runs))
		cnt.paths.Add(int64(b.Len()))
		if res.Err != nil {
			cnt.failures.Add(1)
			if !rsyncexec.Retryable(res.Err) {
				log.Error("rsync failed and retrying will not help until the cause is fixed", "root", l.root, "remote", dest, "err", res.Err)
			}
		} else {
			log.Info("synced", "root", l.root, "remote", dest, "full", b.Full, "reason", b.Reason,
				"updates", len(b.Updates), "removes", len(b.Removes), "rsync_runs", res.Runs, "took", res.Elapsed.Round(time.Millisecond))
		}
		l.q.Done(b, res.Err)
		if res.Err == nil && plugin != nil && l.first {
			for _, c := range plugins.Changes(l.pluginWatch, b) {
				if err := plugin.Handle(runCtx, c); err != nil && !errors.Is(err, context.Canceled) {
					log.Warn("plugin failed", "plugin", plugin.Name(), "path", c.Abs, "err", err)
				}
			}
		}
	}
}
