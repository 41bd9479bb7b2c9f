package replicate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// FullSyncProgress is how far the running full sync of one remote is, as
// rsync reports it (-r, the crontab, SIGUSR1, an overflow).
type FullSyncProgress struct {
	Started time.Time
	Reason  string
	// Progress is rsync's latest report (zero until the first).
	rsyncexec.Progress
}

// Rate is the bytes transferred per second so far.
func (p FullSyncProgress) Rate(now time.Time) float64 {
	d := now.Sub(p.Started).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(p.Bytes) / d
}

// ETA estimates the time left from rsync's percentage; 0 when it cannot
// tell yet.
func (p FullSyncProgress) ETA(now time.Time) time.Duration {
	if p.Percent <= 0 || p.Percent >= 100 {
		return 0
	}
	el := now.Sub(p.Started)
	return time.Duration(float64(el) * float64(100-p.Percent) / float64(p.Percent))
}

// fullProgress keeps the running full sync of one remote.
type fullProgress struct {
	mu  sync.Mutex
	cur *FullSyncProgress
}

func (f *fullProgress) start(reason string) {
	f.mu.Lock()
	f.cur = &FullSyncProgress{Started: time.Now(), Reason: reason}
	f.mu.Unlock()
}

func (f *fullProgress) update(p rsyncexec.Progress) {
	f.mu.Lock()
	if f.cur != nil {
		f.cur.Progress = p
	}
	f.mu.Unlock()
}

// end forgets the running full sync and returns it.
func (f *fullProgress) end() FullSyncProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p FullSyncProgress
	if f.cur != nil {
		p = *f.cur
	}
	f.cur = nil
	return p
}

// get returns a copy of the running full sync, nil when none runs.
func (f *fullProgress) get() *FullSyncProgress {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		return nil
	}
	p := *f.cur
	return &p
}

// runOptions are the rsyncexec options of one batch of r: a full batch
// reports its progress.
func (e *Engine) runOptions(r *remote, b queue.Batch) rsyncexec.RunOptions {
	o := rsyncexec.RunOptions{Echo: e.echo, NoMoves: e.opts.NoRemoteMoves, Present: e.presence(r)}
	if b.Full {
		r.full.start(b.Reason)
		o.Progress = r.full.update
	}
	return o
}

// fullDone logs the end of a full sync with what rsync reported.
func (e *Engine) fullDone(r *remote, b queue.Batch, res rsyncexec.Result) {
	if !b.Full {
		return
	}
	p := r.full.end()
	if res.Err != nil {
		return // logged as a failure
	}
	now := time.Now()
	e.log.Info("full sync done", "root", r.root, "remote", r.dest, "reason", b.Reason, "files", p.Files, "checked", p.Checked,
		"bytes", p.Bytes, "took", now.Sub(p.Started).Round(time.Millisecond), "bytes_per_second", int64(p.Rate(now)))
}

// LogProgress logs one line per running full sync of st (the periodic
// progress lines when no terminal shows them).
func LogProgress(log *slog.Logger, st State, now time.Time) {
	for _, r := range st.Remotes {
		if p := r.FullSync; p != nil {
			log.Info("full sync progress", "root", r.Root, "remote", r.Remote, "reason", p.Reason, "percent", p.Percent,
				"files", p.Files, "checked", p.Checked, "total", p.Total, "bytes", p.Bytes,
				"bytes_per_second", int64(p.Rate(now)), "eta", p.ETA(now).Round(time.Second))
		}
	}
}

// DefaultProgressEvery is how often a Service logs the progress of a
// running full sync (Options.ProgressEvery) when no terminal shows it.
const DefaultProgressEvery = 10 * time.Second

// showProgress reports running full syncs until ctx ends: redrawn every
// second on Options.Terminal when set, else one log line per full sync
// every Options.ProgressEvery.
func (s *Service) showProgress(ctx context.Context) {
	every := s.opts.ProgressEvery
	if every <= 0 {
		every = DefaultProgressEvery
	}
	if s.opts.Terminal != nil {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	drawn := false
	for {
		select {
		case <-ctx.Done():
			if drawn {
				fmt.Fprintln(s.opts.Terminal)
			}
			return
		case <-t.C:
		}
		st, now := s.State(), time.Now()
		if s.opts.Terminal == nil {
			LogProgress(s.log, st, now)
			continue
		}
		var parts []string
		for _, r := range st.Remotes {
			if p := r.FullSync; p != nil {
				parts = append(parts, fmt.Sprintf("%s: %d%% %d files %s %s/s ETA %s", r.Remote, p.Percent, p.Files,
					sizeOf(float64(p.Bytes)), sizeOf(p.Rate(now)), p.ETA(now).Round(time.Second)))
			}
		}
		switch {
		case len(parts) > 0:
			fmt.Fprintf(s.opts.Terminal, "\r\x1b[Kfull sync %s", strings.Join(parts, "; "))
			drawn = true
		case drawn:
			fmt.Fprintln(s.opts.Terminal)
			drawn = false
		}
	}
}

// sizeOf formats a byte count for people.
func sizeOf(b float64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	exp := 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", b/math.Pow(unit, float64(exp+1)), "KMGTP"[exp])
}
