package failog

import (
	"slices"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

// The set's rules, without a file: what stays after failures and
// successes, what a failure reports, what load and settle make of an
// earlier run's entries, and which lines of the original binary become a
// full sync.

// act is one call on a set at t0 plus at seconds.
type act struct {
	fail   bool // fail, else synced
	remote func(string) rsyncexec.Target
	b      queue.Batch
	at     int
	// for synced: when the batch started (seconds after t0), whether the
	// remote's rsync deletes, and whether the full sync left the crontab's
	// excludes out.
	started  int
	noDelete bool
	excludes bool
}

func fails(at int, b queue.Batch) act  { return act{fail: true, b: b, at: at} }
func syncs(at int, b queue.Batch) act  { return act{b: b, at: at, started: at} }
func updates(ps ...string) queue.Batch { return queue.Batch{Updates: upd(ps...)} }
func removes(ps ...string) queue.Batch { return queue.Batch{Removes: upd(ps...)} }

func testSet(recursive bool, maxEntries int) *set {
	return newSet([]key{keyOf(stock("/data")), keyOf(second("/data"))}, maxEntries, recursive)
}

func (a act) run(s *set) (recorded, int, bool) {
	tg := stock
	if a.remote != nil {
		tg = a.remote
	}
	t := tg("/data")
	t.Delete = !a.noDelete
	if a.excludes {
		t.CrontabExcludes = []string{"*.php"}
	}
	at := t0.Add(time.Duration(a.at) * time.Second)
	if a.fail {
		return s.fail(keyOf(t), a.b, 10, at), 0, true
	}
	removed, told := s.synced(t, a.b, t0.Add(time.Duration(a.started)*time.Second))
	return recorded{}, removed, told
}

func TestSetRules(t *testing.T) {
	t.Parallel()
	full := queue.Batch{Full: true}
	tests := []struct {
		name      string
		recursive bool
		acts      []act
		want      []string
	}{
		{"each path of a failed batch, removes and updates", false,
			[]act{fails(1, queue.Batch{Updates: upd("b", "a"), Removes: upd("gone")})},
			[]string{"update a", "update b", "remove gone"}},
		{"a path rsync would refuse gets no entry", false,
			[]act{fails(1, updates("ok", "../up", "/abs", "a//b", "./x", ""))},
			[]string{"update ok"}},
		{"latest operation wins", false,
			[]act{fails(1, updates("a")), fails(2, removes("a"))},
			[]string{"remove a"}},
		{"each remote has its own entries", false,
			[]act{fails(1, updates("a")), {fail: true, remote: second, b: updates("a"), at: 2}, syncs(3, updates("a"))},
			[]string{"update a @10.0.0.3::www"}},
		{"synced path leaves", false,
			[]act{fails(1, updates("a", "b")), syncs(2, updates("a"))},
			[]string{"update b"}},
		{"a synced removal makes an update moot", false,
			[]act{fails(1, updates("a")), syncs(2, removes("a"))},
			nil},
		{"removed directory covers below when rsync deletes", false,
			[]act{fails(1, queue.Batch{Updates: upd("d/x", "d/y/z", "dd/x"), Removes: upd("d/old")}),
				syncs(2, queue.Batch{Removes: []queue.Entry{dir("d")}})},
			[]string{"update dd/x"}},
		{"removed directory covers nothing below without deletion", false,
			[]act{fails(1, updates("d/x")),
				{b: queue.Batch{Removes: []queue.Entry{dir("d")}}, at: 2, started: 2, noDelete: true}},
			[]string{"update d/x"}},
		{"updated directory covers updates below when recursive", true,
			[]act{fails(1, queue.Batch{Updates: upd("d/x"), Removes: upd("d/old")}),
				syncs(2, queue.Batch{Updates: []queue.Entry{dir("d")}})},
			[]string{"remove d/old"}},
		{"replaced directory also covers removes below", true,
			[]act{fails(1, queue.Batch{Updates: upd("d/x"), Removes: upd("d/old")}),
				syncs(2, queue.Batch{Updates: []queue.Entry{{Path: "d", Dir: true, Replaced: true}}})},
			nil},
		{"updated directory covers nothing when rsync does not recurse", false,
			[]act{fails(1, updates("d/x")), syncs(2, queue.Batch{Updates: []queue.Entry{dir("d")}})},
			[]string{"update d/x"}},
		{"failed full sync absorbs the path entries", false,
			[]act{fails(1, updates("a")), fails(2, full), fails(3, updates("b"))},
			[]string{"full"}},
		{"full entry stays after path successes", false,
			[]act{fails(1, full), syncs(2, updates("a"))},
			[]string{"full"}},
		{"full sync clears what failed before it started", false,
			[]act{fails(1, full), fails(2, updates("x")), fails(2, queue.Batch{}), syncs(3, full)},
			nil},
		{"full sync keeps what failed after it started", false,
			[]act{fails(1, updates("a")), fails(3, updates("b")), {b: full, at: 4, started: 2}},
			[]string{"update b"}},
		{"full sync that left crontab excludes out clears nothing", false,
			[]act{fails(1, updates("a.php")), {b: full, at: 2, started: 2, excludes: true}},
			[]string{"update a.php"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSet(tt.recursive, DefaultMaxEntries)
			for _, a := range tt.acts {
				a.run(s)
			}
			if got := paths(s.entries()); !slices.Equal(got, tt.want) {
				t.Fatalf("entries %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSetReports: what fail and synced say they did, which the Log logs,
// counts and returns to the engine.
func TestSetReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		max         int
		before      []act
		a           act
		want        recorded
		wantRemoved int
		wantTold    bool
	}{
		{"new paths", 5, nil, fails(1, updates("a", "b")), recorded{added: 2, entries: 2}, 0, false},
		{"a path again is not new", 5, []act{fails(1, updates("a"))}, fails(2, updates("a", "b")),
			recorded{added: 1, entries: 2}, 0, false},
		{"past the bound the remote collapses", 3, []act{fails(1, updates("a", "b", "c"))}, fails(2, updates("d")),
			recorded{added: 1, entries: 4, collapsed: 4}, 0, false},
		{"after a collapse the full entry takes the failure", 3, []act{fails(1, updates("a", "b", "c", "d"))}, fails(2, updates("e")),
			recorded{full: true}, 0, false},
		{"a failed full batch is a new full entry", 3, nil, fails(1, queue.Batch{Full: true}),
			recorded{full: true, newFull: true}, 0, false},
		{"synced reports what it cleared", 5, []act{fails(1, updates("a", "b"))}, syncs(2, updates("a", "x")),
			recorded{}, 1, true},
		{"a full sync without the crontab excludes tells nothing", 5, []act{fails(1, updates("a"))},
			act{b: queue.Batch{Full: true}, at: 2, started: 2, excludes: true}, recorded{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSet(false, tt.max)
			for _, a := range tt.before {
				a.run(s)
			}
			r, removed, told := tt.a.run(s)
			if tt.a.fail {
				told = false
			}
			if r != tt.want || removed != tt.wantRemoved || told != tt.wantTold {
				t.Fatalf("got %+v removed %d told %v, want %+v removed %d told %v", r, removed, told, tt.want, tt.wantRemoved, tt.wantTold)
			}
		})
	}
}

// TestSetMerge: an entry folded into one of the same path or into the
// full-sync entry keeps the earliest first failure, adds up the failures
// and takes the latest failure's operation and errno.
func TestSetMerge(t *testing.T) {
	t.Parallel()
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	e := func(op Op, path string, errno, failures, first, last int) Entry {
		return Entry{Root: "/data", Remote: "10.0.0.2::www", Op: op, Path: path, Errno: errno, Failures: failures, First: at(first), Last: at(last)}
	}
	tests := []struct {
		name string
		load []Entry
		want Entry
	}{
		{"later failure wins", []Entry{e(Update, "a", 10, 2, 0, 1), e(Remove, "a", 30, 1, 2, 3)}, e(Remove, "a", 30, 3, 0, 3)},
		{"an older failure read later keeps the newest", []Entry{e(Remove, "a", 30, 1, 2, 3), e(Update, "a", 10, 2, 0, 1)}, e(Remove, "a", 30, 3, 0, 3)},
		{"full entries merge alike", []Entry{e(Full, "", 12, 1, 1, 1), e(Full, "", 23, 4, 0, 2)}, e(Full, "", 23, 5, 0, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSet(false, DefaultMaxEntries)
			for _, en := range tt.load {
				s.load(en)
			}
			got := s.entries()
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("entries %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSetSettle: the entries of an earlier run obey the bounds once read:
// a remote with a full-sync entry keeps no path entries (the full entry
// takes the earliest first failure, the latest errno and the most
// failures), and one past the bound collapses, reported once.
func TestSetSettle(t *testing.T) {
	t.Parallel()
	s := testSet(false, 2)
	mk := func(remote string, op Op, path string, errno, failures int, first, last time.Time) Entry {
		return Entry{Root: "/data", Remote: remote, Op: op, Path: path, Errno: errno, Failures: failures, First: first, Last: last}
	}
	one, two := "10.0.0.2::www", "10.0.0.3::www"
	s.load(mk(one, Full, "", 12, 1, t0.Add(time.Hour), t0.Add(time.Hour)))
	s.load(mk(one, Update, "a", 30, 4, t0, t0.Add(2*time.Hour)))
	for _, p := range []string{"x", "y", "z"} {
		s.load(mk(two, Update, p, 10, 1, t0, t0))
	}
	cs := s.settle()
	if len(cs) != 1 || cs[0].key != (key{"/data", two}) || cs[0].entries != 3 {
		t.Fatalf("collapses %+v, want one of 3 entries of %s", cs, two)
	}
	got := s.entries()
	want := []Entry{
		mk(one, Full, "", 30, 4, t0, t0.Add(2*time.Hour)),
		mk(two, Full, "", 10, 1, t0, t0),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("entries\n%+v\nwant\n%+v", got, want)
	}
}

// TestSetAdopt: a block of the original binary naming a watch root
// becomes a full-sync entry for each remote of that root, with rsync's
// exit code from the wait status; any other block makes none.
func TestSetAdopt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		wantN     int
		wantErrno int
	}{
		{"original's line for our root", "#errno 2560\ncd /data && rsync -artuz -R \"./a\" 10.0.0.2::www\n", 2, 10},
		{"no exit status", "cd /data && rsync -artuz -R \"./a\" 10.0.0.2::www\n", 2, -1},
		{"a status that is no wait status", "#errno 10\ncd /data && rsync -artuz\n", 2, -1},
		{"another root", "#errno 2560\ncd /elsewhere && rsync -artuz\n", 0, 0},
		{"a prefix of our root is not it", "cd /data2 && rsync -artuz\n", 0, 0},
		{"plain comment", "# hello\n", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSet(false, DefaultMaxEntries)
			if n := s.adopt(tt.raw, t0); n != tt.wantN {
				t.Fatalf("adopt made %d entries, want %d", n, tt.wantN)
			}
			got := s.entries()
			if len(got) != tt.wantN {
				t.Fatalf("entries %+v", got)
			}
			for _, e := range got {
				if e.Op != Full || e.Errno != tt.wantErrno || e.Failures != 1 || !e.First.Equal(t0) {
					t.Fatalf("entry %+v: want a full entry, errno %d, one failure at t0", e, tt.wantErrno)
				}
			}
		})
	}
}
