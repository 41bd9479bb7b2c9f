package replicate

import (
	"hash/fnv"
	"reflect"
	"testing"

	"github.com/sersync-go/sersync2/inotifymask"
)

func TestRoute(t *testing.T) {
	// Find two top-level names that land in different queues.
	a, b := "a", ""
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		if queueOf(n, 4) != queueOf(a, 4) {
			b = n
			break
		}
	}
	if b == "" {
		t.Fatal("no two names in different queues")
	}
	pa, pb := queueOf(a, 4), queueOf(b, 4)
	up := func(p string) inotifymask.Event {
		return inotifymask.Event{Root: "/r", Path: p, Op: inotifymask.OpUpdate}
	}
	tests := []struct {
		name string
		ev   inotifymask.Event
		n    int
		want []routed
	}{
		{"descendants share the queue", up(a + "/x/y\n\xff"), 4, []routed{{pa, up(a + "/x/y\n\xff")}}},
		{"top-level entry", up(a), 4, []routed{{pa, up(a)}}},
		{"overflow to queue 0", inotifymask.Event{Root: "/r", Op: inotifymask.OpOverflow}, 4, []routed{{0, inotifymask.Event{Root: "/r", Op: inotifymask.OpOverflow}}}},
		{"root itself to queue 0", up(""), 4, []routed{{0, up("")}}},
		{"one queue", up(b + "/z"), 1, []routed{{0, up(b + "/z")}}},
		{"rename within a queue", inotifymask.Event{Root: "/r", OldPath: a + "/1", Path: a + "/2", Op: inotifymask.OpRename, Dir: true}, 4,
			[]routed{{pa, inotifymask.Event{Root: "/r", OldPath: a + "/1", Path: a + "/2", Op: inotifymask.OpRename, Dir: true}}}},
		{"rename across queues", inotifymask.Event{Root: "/r", OldPath: a, Path: b, Op: inotifymask.OpRename, Dir: true}, 4,
			[]routed{{pa, inotifymask.Event{Root: "/r", Path: a, Op: inotifymask.OpRemove, Dir: true}}, {pb, inotifymask.Event{Root: "/r", Path: b, Op: inotifymask.OpUpdate, Dir: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs, k := route(tt.ev, tt.n)
			if got := xs[:k]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestQueueOfIsFNV1a: queueOf keeps hash/fnv's 32-bit FNV-1a, so a path
// goes to the queue it always went to.
func TestQueueOfIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "top", "\xff\n", "a-much-longer-top-level-name.txt"} {
		h := fnv.New32a()
		h.Write([]byte(s))
		if got, want := fnv1a(s), h.Sum32(); got != want {
			t.Errorf("fnv1a(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestRouteAllocs: routing an event to a queue, or a plugin change to its
// delivery worker, allocates nothing.
func TestRouteAllocs(t *testing.T) {
	ev := inotifymask.Event{Root: "/r", Path: "top/dir/file", Op: inotifymask.OpUpdate}
	mv := inotifymask.Event{Root: "/r", OldPath: "a", Path: "b", Op: inotifymask.OpRename}
	var sink int
	if n := testing.AllocsPerRun(100, func() {
		xs, k := route(ev, 4)
		ys, l := route(mv, 4)
		sink += xs[0].queue + k + ys[0].queue + l + workerOf("/r/top/dir/file", PluginWorkers)
	}); n != 0 {
		t.Errorf("route allocates %.1f times per call, want 0", n)
	}
	_ = sink
}
