package queue

import (
	"testing"

	"github.com/sersync-go/sersync2/inotifymask"
)

func TestMergeRules(t *testing.T) {
	t.Parallel()
	type tc struct {
		name      string
		recursive bool
		events    []inotifymask.Event
		updates   []Entry
		removes   []Entry
	}
	rep := func(n int, ev inotifymask.Event) []inotifymask.Event {
		out := make([]inotifymask.Event, n)
		for i := range out {
			out[i] = ev
		}
		return out
	}
	tests := []tc{
		{name: "write x5 is one update", events: rep(5, upd("a.txt")),
			updates: []Entry{U("a.txt")}},
		{name: "create then delete is a remove", events: []inotifymask.Event{upd("m.txt"), rm("m.txt")},
			removes: []Entry{R("m.txt")}},
		{name: "delete then create is an update", events: []inotifymask.Event{rm("m.txt"), upd("m.txt")},
			updates: []Entry{U("m.txt")}},
		{name: "rename file", events: []inotifymask.Event{mv("a.txt", "b.txt", false)},
			updates: []Entry{U("b.txt")}, removes: []Entry{R("a.txt")}},
		{name: "rename file onto pending path", events: []inotifymask.Event{upd("b"), mv("a", "b", false)},
			updates: []Entry{U("b")}, removes: []Entry{R("a")}},
		{name: "rename there and back", events: []inotifymask.Event{mv("a", "b", false), mv("b", "a", false)},
			updates: []Entry{U("a")}, removes: []Entry{R("b")}},
		{name: "rename to itself is an update", events: []inotifymask.Event{mv("a", "a", false)},
			updates: []Entry{U("a")}},
		{name: "dir flag of the latest event", events: []inotifymask.Event{updDir("x"), rm("x")},
			removes: []Entry{R("x")}},
		{name: "rename dir with children pending", recursive: true,
			events:  []inotifymask.Event{upd("d/x"), updDir("d/sub"), upd("d/sub/y"), rm("d/gone"), mv("d", "e", true)},
			updates: []Entry{UD("e")}, removes: []Entry{RD("d")}},
		{name: "rename dir with children pending, not recursive",
			events:  []inotifymask.Event{upd("d/x"), updDir("d/sub"), upd("d/sub/y"), rm("d/gone"), mv("d", "e", true)},
			updates: []Entry{UD("e")}, removes: []Entry{RD("d")}},
		{name: "rename dir then write inside the new name", recursive: true,
			events:  []inotifymask.Event{mv("d", "e", true), upd("e/f")},
			updates: []Entry{UD("e")}, removes: []Entry{RD("d")}},
		{name: "rename dir then write inside the new name, not recursive",
			events:  []inotifymask.Event{mv("d", "e", true), upd("e/f")},
			updates: []Entry{UD("e"), U("e/f")}, removes: []Entry{RD("d")}},
		{name: "rm -rf tree, children first", recursive: true,
			events:  []inotifymask.Event{rm("d/a"), rm("d/sub/b"), rmDir("d/sub"), rm("d/c"), rmDir("d")},
			removes: []Entry{RD("d")}},
		{name: "rm -rf after writes", recursive: true,
			events:  []inotifymask.Event{updDir("d"), upd("d/a"), upd("d/sub/b"), rm("d/a"), rm("d/sub/b"), rmDir("d/sub"), rmDir("d")},
			removes: []Entry{RD("d")}},
		{name: "dir removed then recreated with new child", recursive: true,
			events:  []inotifymask.Event{upd("d/old"), rm("d/gone"), rmDir("d"), updDir("d"), upd("d/new")},
			updates: []Entry{{Path: "d", Dir: true, Replaced: true}}, removes: []Entry{R("d/gone")}},
		{name: "dir removed then recreated with new child, not recursive",
			events:  []inotifymask.Event{upd("d/old"), rm("d/gone"), rmDir("d"), updDir("d"), upd("d/new")},
			updates: []Entry{{Path: "d", Dir: true, Replaced: true}, U("d/new")}, removes: []Entry{R("d/gone")}},
		{name: "updates under updated dir, recursive", recursive: true,
			events:  []inotifymask.Event{upd("d/a"), updDir("d"), upd("d/b/c"), updDir("d/b"), upd("e")},
			updates: []Entry{UD("d"), U("e")}},
		{name: "updates under updated dir, not recursive",
			events:  []inotifymask.Event{upd("d/a"), updDir("d"), upd("d/b/c"), updDir("d/b"), upd("e")},
			updates: []Entry{UD("d"), U("d/a"), UD("d/b"), U("d/b/c"), U("e")}},
		{name: "removes under updated dir are kept", recursive: true,
			events:  []inotifymask.Event{rm("d/x"), updDir("d"), rmDir("d/sub"), upd("d/y")},
			updates: []Entry{UD("d")}, removes: []Entry{RD("d/sub"), R("d/x")}},
		{name: "change below a removed dir newer than the removal is kept", recursive: true,
			events:  []inotifymask.Event{rmDir("d"), upd("d/late")},
			updates: []Entry{U("d/late")}, removes: []Entry{RD("d")}},
		{name: "file removal covers nothing", recursive: true,
			events:  []inotifymask.Event{upd("f/x"), rm("f")},
			updates: []Entry{U("f/x")}, removes: []Entry{R("f")}},
		{name: "file update covers nothing", recursive: true,
			events:  []inotifymask.Event{upd("f"), upd("f/x")},
			updates: []Entry{U("f"), U("f/x")}},
		{name: "nested removed dir under updated dir", recursive: true,
			events:  []inotifymask.Event{upd("a/b/c"), updDir("a"), rmDir("a/b")},
			updates: []Entry{UD("a")}, removes: []Entry{RD("a/b")}},
		{name: "update covered by a removed dir that was recreated as a file",
			events:  []inotifymask.Event{upd("d/x"), rmDir("d"), upd("d")},
			updates: []Entry{{Path: "d", Replaced: true}}},
		{name: "shared prefix is not a descendant", recursive: true,
			events: []inotifymask.Event{upd("a/bc"), upd("a/b-c"), upd("a/b c"), upd("a/b.d/x"), rmDir("a/b"),
				updDir("x/y"), upd("x/yz"), upd("x/y-"), upd("x/y/z")},
			updates: []Entry{U("a/b c"), U("a/b-c"), U("a/b.d/x"), U("a/bc"), UD("x/y"), U("x/y-"), U("x/yz")},
			removes: []Entry{RD("a/b")}},
		{name: "tree order puts a directory before its content",
			events:  []inotifymask.Event{upd("a-b"), upd("a/x"), updDir("a"), upd("a.c"), upd("a/x/y"), upd("ab")},
			updates: []Entry{UD("a"), U("a/x"), U("a/x/y"), U("a-b"), U("a.c"), U("ab")}},
		{name: "hostile names merge like any other", recursive: true,
			events: []inotifymask.Event{
				upd("new\nline"), upd("new\nline"), upd("\xff\xfe"), rm("\xff\xfe"), upd("-dash"),
				upd("-d\n/\xff"), rmDir("-d\n"), upd("bq`touch PWNED`x"), rm("$(touch X)"), upd("$(touch X)"),
				mv("star*", "br[1]", false), upd(`back\slash`), upd("new"),
			},
			updates: []Entry{U("$(touch X)"), U("-dash"), U(`back\slash`), U("bq`touch PWNED`x"), U("br[1]"), U("new"), U("new\nline")},
			removes: []Entry{RD("-d\n"), R("star*"), R("\xff\xfe")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := New(root, Options{Recursive: tt.recursive})
			for _, ev := range tt.events {
				q.Add(ev)
			}
			b := mustNext(t, q)
			want := Batch{Updates: tt.updates, Removes: tt.removes}
			if !sameEntries(b.Updates, tt.updates) || !sameEntries(b.Removes, tt.removes) {
				t.Errorf("batch\n got  %s\n want %s", show(b), show(want))
			}
			if b.Root != root || b.Full || b.Attempt != 0 {
				t.Errorf("batch header: root %q full %v attempt %d", b.Root, b.Full, b.Attempt)
			}
			st := q.Stats()
			if st.Pending != 0 || st.InFlight != 1 || st.InFlightPaths != b.Len() {
				t.Errorf("after cut: %+v", st)
			}
			if got := st.Merged + st.Covered + uint64(b.Len()); got < uint64(len(tt.events)) {
				t.Errorf("merged %d + covered %d + sent %d < %d events: something vanished", st.Merged, st.Covered, b.Len(), len(tt.events))
			}
			q.Done(b, nil)
			noNext(t, q)
		})
	}
}

func TestTreeCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"a", "a", 0},
		{"", "a", -1},
		{"a", "a/b", -1},
		{"a/b", "a-b", -1},
		{"a/b", "a b", -1},
		{"a/zzz", "a0", -1},
		{"a/b/c", "a/b", 1},
		{"a/\xff", "a/b", 1},
		{"ab", "a/b", 1},
		{"a\n/x", "a\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"|"+tt.b, func(t *testing.T) {
			if got := treeCompare(tt.a, tt.b); sign(got) != tt.want {
				t.Errorf("treeCompare(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
			}
			if got := treeCompare(tt.b, tt.a); sign(got) != -tt.want {
				t.Errorf("treeCompare(%q, %q) = %d, want sign %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
