package rsyncexec

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/queue"
)

// localTarget returns a target pushing a new directory to a local target
// whose path holds a space, quotes, "$(…)" and a colon (rsync must not
// take it for host:path). <auth> with a password file that does not
// exist and <userDefinedPort> are on: a local rsync must get neither, or
// it fails.
func localTarget(t *testing.T) (Target, string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), `back up 'it' "$(touch PWNED)":1`)
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	return Target{
		Root:   t.TempDir(),
		Remote: confxml.Remote{Dir: dst},
		Rsync: confxml.Rsync{
			CommonParams: "-artuz",
			Params:       []string{"-artuz"},
			Auth:         confxml.Auth{Enabled: true, Users: "nobody", PasswordFile: "/nonexistent/rsync.secrets"},
			Port:         confxml.Port{Enabled: true, Port: 1},
			Timeout:      confxml.Timeout{Enabled: true, Seconds: 30},
		},
		Delete: true,
	}, dst
}

// TestHostileNamesLocal runs the hostile scenario to a local target.
func TestHostileNamesLocal(t *testing.T) {
	tgt, dst := localTarget(t)
	hostileScenario(t, NewRunner("rsync", 3, nil), tgt, dst)
}

// TestLocalMovesSendData: a rename to a local target is not done in place
// (no ssh session is started, whatever <ssh> says, nor is -e given to
// rsync): the batch's runs send the renamed data, and the target equals
// the source.
func TestLocalMovesSendData(t *testing.T) {
	tgt, dst := localTarget(t)
	tgt.Rsync.SSH = confxml.SSH{Enabled: true, Command: "false"}
	src := tgt.Root
	r := NewRunner("rsync", 2, nil)
	writeFile(t, src, "d/f", "f")
	writeFile(t, src, "g", "g")
	mustRun(t, r, tgt, queue.Batch{Root: src, Full: true})
	sameTree(t, src, dst)

	rename(t, src, "d", "e/d")
	rename(t, src, "g", "-g")
	res := r.Run(context.Background(), tgt, moveBatch(src, queue.Move{From: "d", To: "e/d", Dir: true}, queue.Move{From: "g", To: "-g"}), RunOptions{})
	if res.Err != nil {
		t.Fatalf("Run: %v", res.Err)
	}
	if res.MovesDone != 0 || res.MovesFailed != 0 {
		t.Fatalf("moves done %d, failed %d; want none tried for a local target", res.MovesDone, res.MovesFailed)
	}
	sameTree(t, src, dst)
}
