package replicate

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/plugins"
	"github.com/sersync-go/sersync2/queue"
)

// recordingPlugin records the changes it is handed.
type recordingPlugin struct {
	mu  sync.Mutex
	got []plugins.Change
}

func (p *recordingPlugin) Name() string { return "recording" }
func (p *recordingPlugin) Close() error { return nil }
func (p *recordingPlugin) Handle(_ context.Context, c plugins.Change) error {
	p.mu.Lock()
	p.got = append(p.got, c)
	p.mu.Unlock()
	return nil
}

func (p *recordingPlugin) heard() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.got {
		s := c.Abs
		if c.Removed {
			s = "-" + s
		}
		out = append(out, s)
	}
	return out
}

// TestNotifierReleases: a change reaches the plugin once every remote's
// queue tried it (queue.Done), in order per queue, whatever else is slow;
// renames are told as remove + update; overflows tell nothing; past the
// memory limit changes are dropped and counted.
func TestNotifierReleases(t *testing.T) {
	t.Parallel()
	ev := func(op inotifymask.Op, p string) inotifymask.Event {
		return inotifymask.Event{Root: "/r", Path: p, Op: op}
	}
	// A step adds an event to queue index q with the given Add numbers of
	// remotes 0 and 1, or marks remote r's queue q tried through n.
	type step struct {
		add     *inotifymask.Event
		q       int
		adds    []uint64
		r       int
		through uint64
	}
	add := func(e inotifymask.Event, q int, adds ...uint64) step { return step{add: &e, q: q, adds: adds} }
	tried := func(r, q int, n uint64) step { return step{r: r, q: q, through: n} }
	tests := []struct {
		name    string
		limit   int64
		steps   []step
		want    []string
		dropped uint64
	}{
		{"waits for every remote", MaxPluginBacklog, []step{
			add(ev(inotifymask.OpUpdate, "a"), 0, 1, 1),
			tried(0, 0, 1),
		}, nil, 0},
		{"released when both tried", MaxPluginBacklog, []step{
			add(ev(inotifymask.OpUpdate, "a"), 0, 1, 1),
			add(ev(inotifymask.OpRemove, "b"), 0, 2, 2),
			tried(1, 0, 2), tried(0, 0, 1),
		}, []string{"/w/a"}, 0},
		{"queues do not wait for each other", MaxPluginBacklog, []step{
			add(ev(inotifymask.OpUpdate, "a"), 0, 1, 1),
			add(ev(inotifymask.OpUpdate, "b"), 1, 1, 1),
			tried(0, 1, 1), tried(1, 1, 1),
		}, []string{"/w/b"}, 0},
		{"rename is remove then update", MaxPluginBacklog, []step{
			add(inotifymask.Event{Root: "/r", OldPath: "x", Path: "y", Op: inotifymask.OpRename}, 0, 1, 1),
			add(inotifymask.Event{Root: "/r", Op: inotifymask.OpOverflow}, 0, 2, 2),
			tried(0, 0, 2), tried(1, 0, 2),
		}, []string{"-/w/x", "/w/y"}, 0},
		{"a closed queue never releases", MaxPluginBacklog, []step{
			add(ev(inotifymask.OpUpdate, "a"), 0, 1, 0),
			tried(0, 0, 5), tried(1, 0, 5),
		}, nil, 0},
		{"over the limit is dropped", 2 * (pluginChangeCost + 16 + 4), []step{
			add(ev(inotifymask.OpUpdate, "a"), 0, 1, 1),
			add(ev(inotifymask.OpUpdate, "b"), 0, 2, 2),
			add(ev(inotifymask.OpUpdate, "c"), 0, 3, 3),
			tried(0, 0, 3), tried(1, 0, 3),
		}, []string{"/w/a", "/w/b"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &recordingPlugin{}
			n := newNotifier(p, slog.New(slog.DiscardHandler), 1, tt.limit)
			rs := []*remote{{queues: []*queue.Queue{queue.New("/r", queue.Options{}), queue.New("/r", queue.Options{})}},
				{queues: []*queue.Queue{queue.New("/r", queue.Options{}), queue.New("/r", queue.Options{})}}}
			n.addRoot("/r", "/w", rs, 2)
			for _, s := range tt.steps {
				if s.add != nil {
					n.add("/r", s.q, s.adds, *s.add)
				} else {
					n.attempted(rs[s.r].queues[s.q], s.through)
				}
			}
			n.close()
			n.deliver(context.Background(), n.workers[0])
			if got := p.heard(); !slices.Equal(got, tt.want) {
				t.Errorf("plugin heard %q, want %q", got, tt.want)
			}
			st := n.stats()
			if st.Dropped < tt.dropped || st.Delivered != uint64(len(tt.want)) {
				t.Errorf("stats %+v, want %d delivered and at least %d dropped", st, len(tt.want), tt.dropped)
			}
		})
	}
}

// slowPlugin blocks every Handle until released.
type slowPlugin struct {
	recordingPlugin
	release chan struct{}
}

func (p *slowPlugin) Handle(ctx context.Context, c plugins.Change) error {
	select {
	case <-p.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.recordingPlugin.Handle(ctx, c)
}

// TestNotifierBehind: a plugin that does not return lets add and
// attempted go on (they never block); delivery says it is behind, and
// every change arrives, in order per path, once the plugin moves.
func TestNotifierBehind(t *testing.T) {
	t.Parallel()
	p := &slowPlugin{release: make(chan struct{})}
	n := newNotifier(p, slog.New(slog.DiscardHandler), 2, MaxPluginBacklog)
	rs := []*remote{{queues: []*queue.Queue{queue.New("/r", queue.Options{})}}}
	n.addRoot("/r", "/r", rs, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range n.workers {
		wg.Go(func() { n.deliver(ctx, w) })
	}
	const total = pluginBehindAt + 10
	for i := range total {
		op := inotifymask.OpUpdate
		if i%2 == 1 {
			op = inotifymask.OpRemove
		}
		n.add("/r", 0, []uint64{uint64(i + 1)}, inotifymask.Event{Root: "/r", Path: "p" + string(rune('a'+i%7)), Op: op})
		n.attempted(rs[0].queues[0], uint64(i+1))
	}
	if st := n.stats(); st.Behind != 1 || st.Queued+int(st.Delivered) != total {
		t.Errorf("stats %+v, want behind once with %d changes", st, total)
	}
	close(p.release)
	poll.Until(t, 30*time.Second, "every change delivered", func() (bool, string) {
		st := n.stats()
		return st.Delivered == total && st.Queued == 0, ""
	})
	n.close()
	wg.Wait()
	// Per path, the order of the watcher: update, remove, update, …
	last := map[string]bool{}
	for _, h := range p.heard() {
		removed := h[0] == '-'
		path := h
		if removed {
			path = h[1:]
		}
		if prev, ok := last[path]; ok && prev == removed {
			t.Fatalf("%s: two changes of the same kind in a row: order lost", path)
		}
		last[path] = removed
	}
}
