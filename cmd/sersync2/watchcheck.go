package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sersync-go/sersync2/replicate"
)

// checkWatchesOnSignal makes SIGUSR2 run the watcher's self-check and log
// what it found (docs/compat.md, "Watching"). The signal is caught from
// the moment this returns until ctx ends.
func checkWatchesOnSignal(ctx context.Context, e *replicate.Engine, log *slog.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-sig:
				r, err := e.CheckWatches(ctx)
				if err != nil {
					log.Warn("watch check failed", "err", err)
					continue
				}
				r.Log(log)
			case <-ctx.Done():
				return
			}
		}
	}()
}
