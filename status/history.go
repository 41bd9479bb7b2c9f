package status

import (
	"time"

	"github.com/sersync-go/sersync2/replicate"
)

// point is one sample of one remote: its lag and how many paths it had
// synced in all.
type point struct {
	at    time.Time
	lag   float64 // seconds
	paths uint64
}

// history keeps the last n samples of every remote, for the page's
// charts.
type history struct {
	n      int
	series map[[2]string][]point // by root and remote
}

func newHistory(n int) *history { return &history{n: n, series: map[[2]string][]point{}} }

func (h *history) add(now time.Time, st replicate.State) {
	for _, r := range st.Remotes {
		k := [2]string{r.Root, r.Remote}
		s := append(h.series[k], point{at: now, lag: r.Lag(now).Seconds(), paths: synced(r)})
		if len(s) > h.n {
			s = s[len(s)-h.n:]
		}
		h.series[k] = s
	}
}

// synced is the path count behind the throughput chart: paths synced
// successfully, or handed to the plugin in plugin-only mode.
func synced(r replicate.RemoteState) uint64 {
	if r.Remote == "" {
		return r.Paths
	}
	return r.SyncedPaths
}

// get returns the samples of one remote (a copy), oldest first.
func (h *history) get(root, remote string) []point {
	return append([]point(nil), h.series[[2]string{root, remote}]...)
}

// rates turns cumulative path counts into paths per second between
// neighbouring samples (0 for the first sample).
func rates(ps []point) []float64 {
	if len(ps) == 0 {
		return nil
	}
	out := make([]float64, 1, len(ps))
	for i := 1; i < len(ps); i++ {
		d := ps[i].at.Sub(ps[i-1].at).Seconds()
		if d <= 0 || ps[i].paths < ps[i-1].paths {
			out = append(out, 0)
			continue
		}
		out = append(out, float64(ps[i].paths-ps[i-1].paths)/d)
	}
	return out
}
