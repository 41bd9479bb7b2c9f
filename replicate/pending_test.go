package replicate

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
)

// TestPendingMergesQueues: with the remote down, the paths written one
// after the other land in different queues of the remote; Pending lists
// them across the queues oldest first, with their failed attempts, and
// n cuts the list, not the total. Once the remote is back the list
// empties.
func TestPendingMergesQueues(t *testing.T) {
	t.Parallel()
	cfg, src, d := daemonConf(t, confgen.Config{Timeout: 5})
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	const queues = 4
	e := start(t, cfg, Options{Queues: queues, RetryBase: 50 * time.Millisecond})
	names := []string{"new\nline", "\xff\xfe", "sp ace", "-dash", "dq$(touch PWNED)x", "q?"}
	used := map[int]bool{}
	for _, n := range names {
		used[queueOf(n, queues)] = true
	}
	if len(used) < 2 {
		t.Fatalf("the names land in %d queue(s); the test needs several", len(used))
	}
	listed := func() []string {
		var ps []string
		for _, p := range e.Pending(100)[0].Paths {
			ps = append(ps, p.Path)
		}
		return ps
	}
	for _, n := range names {
		writeFile(t, filepath.Join(src, n), "x")
		// The next file is written once this one is pending, so their
		// times differ.
		poll.Until(t, 30*time.Second, fmt.Sprintf("%q pending", n), func() (bool, string) {
			return slices.Contains(listed(), n), fmt.Sprintf("%q", listed())
		})
	}
	poll.Until(t, 30*time.Second, "every path tried and pending in write order", func() (bool, string) {
		rp := e.Pending(100)[0]
		var got []string
		for _, p := range rp.Paths {
			if p.Attempts < 1 {
				return false, fmt.Sprintf("%q not tried yet", p.Path)
			}
			got = append(got, p.Path)
		}
		return slices.Equal(got, names) && rp.Total == len(names), fmt.Sprintf("%+v", rp)
	})
	rp := e.Pending(2)[0]
	if rp.Total != len(names) || len(rp.Paths) != 2 || rp.Paths[0].Path != names[0] || rp.Paths[1].Path != names[1] || rp.Full {
		t.Errorf("Pending(2) = %+v, want the two oldest of %d", rp, len(names))
	}
	if rp := e.Pending(0)[0]; rp.Paths != nil || rp.Total != len(names) {
		t.Errorf("Pending(0) = %+v, want the total only", rp)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, "nothing pending", func() (bool, string) {
		rp := e.Pending(100)[0]
		return rp.Total == 0 && len(rp.Paths) == 0, fmt.Sprintf("%+v", rp)
	})
}
