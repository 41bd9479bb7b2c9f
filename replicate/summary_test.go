package replicate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/rsyncexec"
)

// TestErrorSummary: a failure is summed up in one short line: the first
// failed run's exit code and meaning, or the error's first line cut to 80
// characters.
func TestErrorSummary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, ""},
		{"one run", fmt.Errorf("rsyncexec: update run of 5 paths to h::m: %w", &rsyncexec.ExitError{Code: 10, Stderr: "rsync: failed to connect\nmore"}),
			"rsync exit 10: error in socket I/O"},
		{"two runs", errors.Join(&rsyncexec.ExitError{Code: 5}, &rsyncexec.ExitError{Code: 10}), "rsync exit 5: error starting client-server protocol (+1 more)"},
		{"killed", &rsyncexec.ExitError{Code: -1}, "rsync " + rsyncexec.ExitMeaning(-1)},
		{"no run", errors.New("rsyncexec: rsync not found\ninstall it"), "rsyncexec: rsync not found"},
		{"long", errors.New(long), strings.Repeat("x", 79) + "…"},
	}
	for _, tt := range tests {
		if got := ErrorSummary(tt.err); got != tt.want {
			t.Errorf("%s: ErrorSummary = %q, want %q", tt.name, got, tt.want)
		}
	}
}
