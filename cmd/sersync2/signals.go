package main

import (
	"context"
	"log/slog"
	"os"
	"syscall"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/replicate"
)

// handleSignals turns the operator's signals, received on sig (SIGHUP,
// SIGUSR1, SIGUSR2), into engine calls until ctx ends (docs/operations.md, "Signals"):
//   - SIGHUP opens --log-file again and reloads the configuration file: a file that does not load, or
//     a configuration the engine cannot start, is refused with the error
//     and the running configuration stays;
//   - SIGUSR1 starts a full sync of every root to every remote;
//   - SIGUSR2 runs the watcher's self-check and logs what it found
//     (docs/compat.md, "How every directory stays watched").
func handleSignals(ctx context.Context, sig <-chan os.Signal, e *replicate.Service, load func() (confxml.Config, error), file string, log *slog.Logger, reopenLog func() error) {
	go func() {
		for {
			var s os.Signal
			select {
			case s = <-sig:
			case <-ctx.Done():
				return
			}
			switch s {
			case syscall.SIGHUP:
				// logrotate moved the log file away: the lines of the
				// reload go to the new one.
				if reopenLog != nil {
					if err := reopenLog(); err != nil {
						log.Error("cannot reopen the log file; logging to the old one", "err", err)
					}
				}
				log.Info("reloading the configuration", "signal", "SIGHUP", "file", file)
				e.ReloadFile(ctx, file, load)
			case syscall.SIGUSR1:
				log.Info("full sync requested", "signal", "SIGUSR1")
				e.RequestFullSync("SIGUSR1")
			case syscall.SIGUSR2:
				r, err := e.CheckWatches(ctx)
				if err != nil {
					log.Warn("watch check failed", "err", err)
					continue
				}
				r.Log(log)
			}
		}
	}()
}
