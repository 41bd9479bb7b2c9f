package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/plugins"
	"github.com/sersync-go/sersync2/queue"
)

// runPluginMode is -m NAME (spec 7.6): watch the plugin's path and feed
// every change to the plugin; no rsync, no failLog, no crontab.
func runPluginMode(ctx context.Context, stdout io.Writer, log *slog.Logger, cfg confxml.Config, mode string, ready func(error)) error {
	out := &syncWriter{w: stdout}
	var watch string
	switch mode {
	case plugins.NameRefreshCDN:
		out.println("启动刷新CDN模块")
		watch = cfg.RefreshCDN.Watch
	case plugins.NameSocket:
		out.println("启动SOCKET接口")
		watch = cfg.Socket.Watch
		fmt.Fprintf(out, "监控路径: %s  ip:  %s 端口号: %d\n", cfg.Socket.Watch, cfg.Socket.IP, cfg.Socket.Port)
	default:
		out.println("start command interface")
		watch = cfg.Sersync.LocalPaths[0].Watch
	}
	root := trimOneSlash(watch)
	p, err := plugins.New(mode, cfg, log, out)
	if err != nil {
		return err
	}
	defer p.Close()

	w, err := inotifymask.New(watcherOptions(cfg, []string{root}, out, log))
	if err != nil {
		return err
	}
	defer w.Close()
	checkWatchesOnSignal(ctx, w, log)
	// Every path matters to a plugin: nothing below an updated directory
	// is folded into it.
	q := queue.New(root, queue.Options{Log: log})
	go func() {
		defer q.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events():
				if !ok {
					return
				}
				q.Add(ev)
			}
		}
	}()
	log.Info("sersync2 started in plugin mode", "plugin", mode, "root", root)
	ready(nil)
	if err := notifySystemd("READY=1"); err != nil {
		log.Warn("cannot notify systemd", "err", err)
	}
	for {
		b, err := q.Next(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, queue.ErrClosed) {
				return nil
			}
			return err
		}
		for _, c := range plugins.Changes(watch, b) {
			if err := p.Handle(ctx, c); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("plugin failed", "plugin", mode, "path", c.Abs, "err", err)
			}
		}
		// Plugins are told once, as the original did; a failure is logged.
		q.Done(b, nil)
	}
}
