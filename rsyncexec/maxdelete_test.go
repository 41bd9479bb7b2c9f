package rsyncexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/sshd"
	"github.com/sersync-go/sersync2/queue"
)

// TestMaxDelete: a full run against a remote holding 50 extra files with
// --max-delete 10 deletes 10 of them, still sends every local change, and
// fails with exit 25, which is not retryable and is told apart
// (DeletionsStopped) with a message saying what to do.
func TestMaxDelete(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (Target, string)
	}{
		// The daemon's client exits 0 and only prints the receiver's
		// message; over ssh rsync exits 25.
		{"daemon", func(t *testing.T) (Target, string) {
			tgt, dst, _ := daemonTarget(t)
			return tgt, dst
		}},
		{"ssh", func(t *testing.T) (Target, string) {
			s := sshd.StartT(t)
			dst := t.TempDir()
			return Target{
				Root:   t.TempDir(),
				Remote: confxml.Remote{IP: s.IP, Name: dst},
				Rsync:  confxml.Rsync{Params: []string{"-artuz"}, SSH: confxml.SSH{Enabled: true, Command: s.SSHCommand()}},
				Delete: true,
			}, dst
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgt, dst := tt.setup(t)
			tgt.MaxDelete = 10
			for i := range 5 {
				writeFile(t, tgt.Root, fmt.Sprintf("new/f%d", i), "local")
			}
			for i := range 50 {
				writeFile(t, dst, fmt.Sprintf("x%02d", i), "remote only")
			}
			res := NewRunner("rsync", 1, nil).Run(context.Background(), tgt, queue.Batch{Full: true}, RunOptions{})
			var xe *ExitError
			if !errors.As(res.Err, &xe) || xe.Code != 25 {
				t.Fatalf("err %v, want exit 25", res.Err)
			}
			if Retryable(res.Err) || !DeletionsStopped(res.Err) {
				t.Errorf("Retryable %v, DeletionsStopped %v; want false, true", Retryable(res.Err), DeletionsStopped(res.Err))
			}
			for _, want := range []string{"--max-delete", "run a full sync", "Deletions stopped due to --max-delete limit"} {
				if !strings.Contains(res.Err.Error(), want) {
					t.Errorf("error %q does not say %q", res.Err, want)
				}
			}
			left, err := filepath.Glob(filepath.Join(dst, "x*"))
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 40 {
				t.Errorf("%d of 50 extra files left, want 40 (10 deleted)", len(left))
			}
			for i := range 5 {
				if b, err := os.ReadFile(filepath.Join(dst, fmt.Sprintf("new/f%d", i))); err != nil || string(b) != "local" {
					t.Errorf("new/f%d not sent: %q %v", i, b, err)
				}
			}
		})
	}
	if DeletionsStopped(nil) || DeletionsStopped(errors.Join(errors.New("x"), &ExitError{Code: 23})) {
		t.Error("DeletionsStopped true without an exit 25")
	}
}
