package status

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeFiles rewrites the status file every `every` until ctx ends.
func (s *Server) writeFiles(ctx context.Context, path string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := WriteFile(path, s.Report(shownPending)); err != nil {
			s.log.Warn("status file not written", "path", path, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// WriteFile writes r as text to path, atomically (a temporary file in the
// same directory renamed over it), so a reader never sees half a file.
func WriteFile(path string, r Report) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteText(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("status: %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("status: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("status: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// WriteText writes r as the status file's text: a header of key: value
// lines, then one block per remote.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "sersync2 status %s\n", r.Time.Format(time.RFC3339))
	fmt.Fprintf(&b, "version: %s\nstarted: %s\n", r.Version, r.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "watches: %d of %d (max_user_watches)\n", r.Watches, r.MaxUserWatches)
	for _, a := range r.AbsentRoots {
		fmt.Fprintf(&b, "absent root: %s since %s (nothing synced from it): %s\n", a.Root, a.Since.Format(time.RFC3339), oneLine(a.Reason))
	}
	for _, a := range r.AbsentTargets {
		fmt.Fprintf(&b, "absent local target: %s since %s (nothing written to it): %s\n", a.Remote, a.Since.Format(time.RFC3339), oneLine(a.Reason))
	}
	fmt.Fprintf(&b, "events read: %d\noverflows: %d\nreloads: %d (%d refused)\n", r.EventsRead, r.Overflows, r.Reloads, r.ReloadFailures)
	fmt.Fprintf(&b, "failLog entries: %d\n", r.FailLogEntries)
	if r.Plugin != nil {
		fmt.Fprintf(&b, "plugin %s: %d deliveries, %d failures\n", r.Plugin.Name, r.Plugin.Deliveries, r.Plugin.Failures)
	}
	for _, rr := range r.Remotes {
		fmt.Fprintf(&b, "\nremote %s -> %s\n", rr.Root, rr.Remote)
		fmt.Fprintf(&b, "  lag: %s\n  pending: %d\n  in flight: %d\n  full sync pending: %t\n  failing: %t\n",
			seconds(rr.LagSeconds), rr.Pending, rr.InFlight, rr.FullPending, rr.Failing)
		fmt.Fprintf(&b, "  batches: %d (%d failed, %d retries)\n  synced paths: %d\n  rsync runs: %d\n", rr.Batches, rr.FailedBatches, rr.Retries, rr.SyncedPaths, rr.RsyncRuns)
		if rr.MovesDone+rr.MovesFailed > 0 {
			fmt.Fprintf(&b, "  remote moves: %d done, %d failed\n", rr.MovesDone, rr.MovesFailed)
		}
		if p := rr.FullSync; p != nil {
			fmt.Fprintf(&b, "  full sync: %d%% (%s), %d files, %d bytes, %.0f bytes/s, ETA %.0f s\n", p.Percent, p.Reason, p.Files, p.Bytes, p.BytesPerSecond, p.ETASeconds)
		}
		if rr.LastSync != nil {
			fmt.Fprintf(&b, "  last sync: %s (%s, %.3f s)\n", rr.LastSync.At.Format(time.RFC3339), plural(rr.LastSync.Paths, "path", "paths"), rr.LastSync.TookSeconds)
		} else {
			fmt.Fprintf(&b, "  last sync: never\n")
		}
		if rr.LastError != nil {
			fmt.Fprintf(&b, "  last error: %s %s\n", rr.LastError.At.Format(time.RFC3339), oneLine(rr.LastError.Error))
		}
		pendingText(&b, rr)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
