package replicate

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// TestRunCounts: rsync runs are counted by kind and exit status as
// rsyncexec reports them; errors of runs that never started (rsync
// missing, a path refused) are no runs, and every started run that did not
// fail counts as exit 0.
func TestRunCounts(t *testing.T) {
	t.Parallel()
	missing := fmt.Errorf("rsyncexec: update run of 2 paths to x::m: %w", exec.ErrNotFound)
	tests := []struct {
		name string
		full bool
		res  rsyncexec.Result
		want []RunCount
	}{
		{"success", false, rsyncexec.Result{Runs: 2}, []RunCount{{"changes", 0, 2}}},
		{"rsync missing", false, rsyncexec.Result{Runs: 0, Err: errors.Join(missing, missing)}, []RunCount{}},
		{"refused before the run, one run fine", false, rsyncexec.Result{Runs: 1, Err: errors.New("rsyncexec: path \"../x\" leaves the root")},
			[]RunCount{{"changes", 0, 1}}},
		{"one failed of two", true, rsyncexec.Result{Runs: 2, Err: fmt.Errorf("full: %w", &rsyncexec.ExitError{Code: 10})},
			[]RunCount{{"full", 0, 1}, {"full", 10, 1}}},
		{"killed and failed", false, rsyncexec.Result{Runs: 2, Err: errors.Join(&rsyncexec.ExitError{Code: -1}, &rsyncexec.ExitError{Code: 23})},
			[]RunCount{{"changes", -1, 1}, {"changes", 23, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o outcomes
			o.add(queue.Batch{Full: tt.full}, tt.res, time.Now())
			got, _, _, _ := o.snapshot()
			if !slices.Equal(got, tt.want) {
				t.Errorf("run counts %v, want %v", got, tt.want)
			}
		})
	}
}
