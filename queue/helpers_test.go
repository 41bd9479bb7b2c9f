package queue

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

const root = "/data"

var errKernelOverflow = errors.New("test: kernel event queue overflowed")

// hostile are file names that break shells, rsync patterns or line-based
// formats; every end-to-end style test feeds them through the queue.
var hostile = []string{
	"sp ace", `q'uo"te`, "bq`touch PWNED`x", "$(touch X)", "semi;colon",
	"-dash", "--delete", "star*", "br[1]", `back\slash`, "new\nline",
	"\xff\xfe", "tab\there", "ünï",
}

func upd(p string) inotifymask.Event {
	return inotifymask.Event{Root: root, Path: p, Op: inotifymask.OpUpdate}
}

func updDir(p string) inotifymask.Event {
	return inotifymask.Event{Root: root, Path: p, Op: inotifymask.OpUpdate, Dir: true}
}

func rm(p string) inotifymask.Event {
	return inotifymask.Event{Root: root, Path: p, Op: inotifymask.OpRemove}
}

func rmDir(p string) inotifymask.Event {
	return inotifymask.Event{Root: root, Path: p, Op: inotifymask.OpRemove, Dir: true}
}

func mv(from, to string, dir bool) inotifymask.Event {
	return inotifymask.Event{Root: root, OldPath: from, Path: to, Op: inotifymask.OpRename, Dir: dir}
}

func overflow() inotifymask.Event {
	return inotifymask.Event{Root: root, Op: inotifymask.OpOverflow, Err: errKernelOverflow}
}

// fakeClock is an injectable Options.Now that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// kick wakes a Next that sleeps on a real timer computed from a fake clock.
func (q *Queue) kick() {
	q.mu.Lock()
	q.wakeLocked()
	q.mu.Unlock()
}

// tryNext is a non-blocking Next: it cuts a batch if one may leave now.
func tryNext(t testing.TB, q *Queue) (Batch, bool) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	b, ok, _ := q.tryCutLocked(q.now())
	return b, ok
}

// mustNext returns the batch that may leave now, failing the test if none.
func mustNext(t testing.TB, q *Queue) Batch {
	t.Helper()
	b, ok := tryNext(t, q)
	if !ok {
		t.Fatalf("no batch could be cut; stats %+v", q.Stats())
	}
	return b
}

// noNext fails the test if a batch could be cut now.
func noNext(t testing.TB, q *Queue) {
	t.Helper()
	if b, ok := tryNext(t, q); ok {
		t.Fatalf("unexpected batch %s", show(b))
	}
}

// nextAsync runs Next on a goroutine owned by the test; the result arrives
// on the returned channel.
type nextResult struct {
	b   Batch
	err error
}

func nextAsync(t *testing.T, ctx context.Context, q *Queue) <-chan nextResult {
	t.Helper()
	ch := make(chan nextResult, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		b, err := q.Next(ctx)
		ch <- nextResult{b, err}
	})
	t.Cleanup(func() {
		q.Close()
		wg.Wait()
	})
	return ch
}

// await waits, with a deadline, for a Next started by nextAsync.
func await(t *testing.T, ch <-chan nextResult) nextResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return within 10s")
	}
	return nextResult{}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

func U(p string) Entry  { return Entry{Path: p} }
func UD(p string) Entry { return Entry{Path: p, Dir: true} }
func R(p string) Entry  { return Entry{Path: p} }
func RD(p string) Entry { return Entry{Path: p, Dir: true} }

// show renders a batch readably (paths quoted, so newlines and invalid
// UTF-8 are visible).
func show(b Batch) string {
	var sb strings.Builder
	if b.Full {
		sb.WriteString("FULL(" + b.Reason + ") ")
	}
	for _, e := range b.Updates {
		sb.WriteString("U" + entryString(e) + " ")
	}
	for _, e := range b.Removes {
		sb.WriteString("R" + entryString(e) + " ")
	}
	return strings.TrimSpace(sb.String())
}

func entryString(e Entry) string {
	s := strconv.Quote(e.Path)
	if e.Dir {
		s += "/"
	}
	if e.Replaced {
		s += "!"
	}
	return s
}

func paths(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

func sameEntries(a, b []Entry) bool { return slices.Equal(a, b) }

// sinceless returns items with their Since cleared, for tests about the
// rest.
func sinceless(items []Item) []Item {
	out := slices.Clone(items)
	for i := range out {
		out[i].Since = time.Time{}
	}
	return out
}
