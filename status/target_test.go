package status

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/replicate"
)

// TestLocalTargetAbsent: a local target that is absent shows in
// /metrics (1 for it, 0 for the present one), in /status, on the page and
// in the status file, named by its directory.
func TestLocalTargetAbsent(t *testing.T) {
	t.Parallel()
	now := time.Now()
	st := replicate.State{
		Roots:   []string{"/data"},
		Targets: []string{"/mnt/backup <b>", "/mnt/other"},
		AbsentTargets: []replicate.AbsentTarget{{Root: "/data", Target: "/mnt/backup <b>", Since: now.Add(-time.Minute),
			Reason: "local target /mnt/backup <b> is absent: its file system is not mounted (the bare mount point is there)"}},
		Remotes: []replicate.RemoteState{
			{Root: "/data", Remote: "10.0.0.2::www"},
			{Root: "/data", Remote: "/mnt/backup <b>", Pending: 3},
			{Root: "/data", Remote: "/mnt/other"},
		},
	}
	s := New(fixed{st: st}, Options{})
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)

	metrics := get(t, hs.URL+"/metrics")
	for _, want := range []string{
		`sersync2_target_absent{remote="/mnt/backup <b>",root="/data"} 1`,
		`sersync2_target_absent{remote="/mnt/other",root="/data"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `sersync2_target_absent{remote="10.0.0.2::www"`) {
		t.Error("/metrics has sersync2_target_absent for a daemon remote")
	}

	var r Report
	if err := json.Unmarshal([]byte(get(t, hs.URL+"/status")), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.AbsentTargets) != 1 || r.AbsentTargets[0].Remote != "/mnt/backup <b>" || r.AbsentTargets[0].Root != "/data" || r.AbsentTargets[0].Since.IsZero() {
		t.Errorf("absent_targets = %+v", r.AbsentTargets)
	}
	page := get(t, hs.URL+"/")
	if want := `Local target /mnt/backup &lt;b&gt; is absent since`; !strings.Contains(page, want) {
		t.Errorf("page lacks %s", want)
	}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if want := "absent local target: /mnt/backup <b> since "; !strings.Contains(b.String(), want) {
		t.Errorf("status file lacks %q:\n%s", want, b.String())
	}
}
