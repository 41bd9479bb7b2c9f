package replicate

import (
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
			if got := route(tt.ev, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route = %+v, want %+v", got, tt.want)
			}
		})
	}
}
