package replicate

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// RunCount counts rsync processes of one kind that ended with one exit
// status, for one remote.
type RunCount struct {
	// Kind is "full" for a full sync, "changes" for a batch of changes.
	Kind string
	// Exit is rsync's exit status (0 also for the partial-transfer
	// statuses rsyncexec counts as success), -1 when it was killed by a
	// signal. A run that never started (rsync missing) is not a run.
	Exit int
	N    uint64
}

// runKey is the key of a RunCount.
type runKey struct {
	kind string
	exit int
}

// outcomes is what one remote's batches came to, beyond the plain
// counters: rsync runs by kind and exit status, and the latest failure.
type outcomes struct {
	mu       sync.Mutex
	runs     map[runKey]uint64
	lastFail Result
	lastOK   Result
	synced   uint64 // paths of successful batches
}

// add records the rsync runs of one batch and, when it failed, the
// failure.
func (o *outcomes) add(b queue.Batch, res rsyncexec.Result, at time.Time) {
	kind := "changes"
	if b.Full {
		kind = "full"
	}
	codes := rsyncexec.ExitCodes(res.Err)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runs == nil {
		o.runs = map[runKey]uint64{}
	}
	for _, c := range codes {
		o.runs[runKey{kind, c}]++
	}
	if ok := res.Runs - len(codes); ok > 0 {
		o.runs[runKey{kind, 0}] += uint64(ok)
	}
	if res.Err != nil {
		o.lastFail = Result{At: at, Took: res.Elapsed, Full: b.Full, Paths: b.Len(), Err: res.Err}
	} else {
		o.lastOK = Result{At: at, Took: res.Elapsed, Full: b.Full, Paths: b.Len()}
		o.synced += uint64(b.Len())
	}
}

// snapshot returns the run counts in a stable order, the latest failure,
// the latest success and the paths of successful batches.
func (o *outcomes) snapshot() ([]RunCount, Result, Result, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]RunCount, 0, len(o.runs))
	for k, n := range o.runs {
		out = append(out, RunCount{Kind: k.kind, Exit: k.exit, N: n})
	}
	slices.SortFunc(out, func(a, b RunCount) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		return a.Exit - b.Exit
	})
	return out, o.lastFail, o.lastOK, o.synced
}

// carry adds the figures of from (the same remote in the engine being
// replaced) to o.
func (o *outcomes) carry(from *outcomes) {
	runs, fail, ok, synced := from.snapshot()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runs == nil {
		o.runs = map[runKey]uint64{}
	}
	for _, r := range runs {
		o.runs[runKey{r.Kind, r.Exit}] += r.N
	}
	if o.lastFail.At.Before(fail.At) {
		o.lastFail = fail
	}
	o.synced += synced
	if o.lastOK.At.Before(ok.At) {
		o.lastOK = ok
	}
}

// summaryRunes bounds ErrorSummary's text.
const summaryRunes = 80

// ErrorSummary is a one-line account of a batch's failure, for tables
// (the status page): the first failed rsync run's exit code and meaning,
// or else the error's first line, cut to 80 characters. The full text
// stays in the error.
func ErrorSummary(err error) string {
	if err == nil {
		return ""
	}
	if codes := rsyncexec.ExitCodes(err); len(codes) > 0 {
		s := fmt.Sprintf("rsync exit %d: %s", codes[0], rsyncexec.ExitMeaning(codes[0]))
		if codes[0] == -1 {
			s = "rsync " + rsyncexec.ExitMeaning(-1)
		}
		if len(codes) > 1 {
			s += fmt.Sprintf(" (+%d more)", len(codes)-1)
		}
		return s
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	if r := []rune(line); len(r) > summaryRunes {
		line = string(r[:summaryRunes-1]) + "…"
	}
	return line
}
