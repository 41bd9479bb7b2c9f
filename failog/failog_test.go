package failog

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/failog")

// step is one call on a Log in a scenario.
type step struct {
	fail    bool // Fail, else Synced
	target  func(string) rsyncexec.Target
	batch   queue.Batch
	advance time.Duration // clock moves before the call
	// started, for Synced: how long before the call the batch started.
	startedAgo time.Duration
}

func failed(b queue.Batch) step {
	return step{fail: true, target: stock, batch: b, advance: time.Second}
}
func synced(b queue.Batch) step { return step{target: stock, batch: b, advance: time.Second} }

// TestRecordAndClear: what stays in the failLog after a sequence of
// failures and successes.
func TestRecordAndClear(t *testing.T) {
	t.Parallel()
	full := queue.Batch{Full: true}
	tests := []struct {
		name      string
		recursive bool
		steps     []step
		want      []string
	}{
		{"failure recorded", false, []step{failed(queue.Batch{Updates: upd("a", "b"), Removes: upd("gone")})},
			[]string{"update a", "update b", "remove gone"}},
		{"a success is never a failure", false, []step{{fail: true, target: stock, batch: queue.Batch{Updates: upd("a")}}}, nil},
		{"synced path leaves", false, []step{
			failed(queue.Batch{Updates: upd("a", "b")}),
			synced(queue.Batch{Updates: upd("a")}),
		}, []string{"update b"}},
		{"newer change made it moot", false, []step{
			failed(queue.Batch{Updates: upd("a")}),
			synced(queue.Batch{Removes: upd("a")}),
		}, nil},
		{"latest operation wins", false, []step{
			failed(queue.Batch{Updates: upd("a")}),
			failed(queue.Batch{Removes: upd("a")}),
		}, []string{"remove a"}},
		{"removed directory covers below", false, []step{
			failed(queue.Batch{Updates: upd("d/x", "d/y/z", "dd/x"), Removes: upd("d/old")}),
			synced(queue.Batch{Removes: []queue.Entry{dir("d")}}),
		}, []string{"update dd/x"}},
		{"updated directory covers updates below when recursive", true, []step{
			failed(queue.Batch{Updates: upd("d/x"), Removes: upd("d/old")}),
			synced(queue.Batch{Updates: []queue.Entry{dir("d")}}),
		}, []string{"remove d/old"}},
		{"not when rsync does not recurse", false, []step{
			failed(queue.Batch{Updates: upd("d/x")}),
			synced(queue.Batch{Updates: []queue.Entry{dir("d")}}),
		}, []string{"update d/x"}},
		{"other remote untouched", false, []step{
			failed(queue.Batch{Updates: upd("a")}),
			{fail: true, target: second, batch: queue.Batch{Updates: upd("a")}, advance: time.Second},
			synced(queue.Batch{Updates: upd("a")}),
		}, []string{"update a @10.0.0.3::www"}},
		{"full sync clears what failed before it started", false, []step{
			failed(queue.Batch{Updates: upd("a", "b")}),
			synced(full),
		}, nil},
		{"full sync keeps what failed after it started", false, []step{
			failed(queue.Batch{Updates: upd("a")}),
			failed(queue.Batch{Updates: upd("b")}),
			{target: stock, batch: full, advance: time.Second, startedAgo: 1500 * time.Millisecond},
		}, []string{"update b"}},
		{"failed full sync is one entry", false, []step{
			failed(queue.Batch{Updates: upd("a")}),
			failed(full),
			failed(queue.Batch{Updates: upd("b")}),
		}, []string{"full"}},
		{"full entry leaves with a full sync", false, []step{
			failed(full),
			synced(queue.Batch{Updates: upd("a")}),
			synced(full),
		}, nil},
		{"full entry stays after path successes", false, []step{
			failed(full),
			synced(queue.Batch{Updates: upd("a")}),
		}, []string{"full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := "/data"
			clk := newClock()
			l, _ := open(t, t.TempDir(), Options{Now: clk.Now, Recursive: tt.recursive}, stock(root), second(root))
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				var err error
				if s.fail {
					var e error
					if s.batch.Len() > 0 || s.batch.Full {
						e = exitErr(10)
					}
					if strings.HasPrefix(tt.name, "a success") {
						e = nil
					}
					_, err = l.Fail(s.target(root), s.batch, e)
				} else {
					err = l.Synced(s.target(root), s.batch, clk.Now().Add(-s.startedAgo))
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			got := paths(l.Entries())
			if !slices.Equal(got, tt.want) {
				t.Fatalf("entries %q, want %q", got, tt.want)
			}
			// The file says the same after a restart.
			l2, _ := open(t, filepath.Dir(l.Path()), Options{Now: clk.Now}, stock(root), second(root))
			if got2 := paths(l2.Entries()); !slices.Equal(got2, tt.want) {
				t.Fatalf("reopened: entries %q, want %q", got2, tt.want)
			}
		})
	}
}

// TestCrontabExcludesDoNotClear: a full sync that left paths out (crontab
// excludes) does not clear anything.
func TestCrontabExcludesDoNotClear(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l, _ := open(t, t.TempDir(), Options{Now: clk.Now}, stock("/data"))
	if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a.php")}, exitErr(10)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	tg := stock("/data")
	tg.CrontabExcludes = []string{"*.php"}
	if err := l.Synced(tg, queue.Batch{Full: true}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := paths(l.Entries()); !slices.Equal(got, []string{"update a.php"}) {
		t.Fatalf("entries %q", got)
	}
}

// TestCollapse: past MaxEntries the entries of one remote become one full
// sync entry (reported once), the other remote keeps its entries, and the
// file stays small.
func TestCollapse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l, logs := open(t, t.TempDir(), Options{Now: clk.Now, MaxEntries: 5}, stock("/data"), second("/data"))
	var many []queue.Entry
	for i := range 4 {
		many = append(many, queue.Entry{Path: "f" + string(rune('a'+i))})
	}
	c, err := l.Fail(stock("/data"), queue.Batch{Updates: many}, exitErr(10))
	if err != nil || c {
		t.Fatalf("4 entries: collapsed %v err %v", c, err)
	}
	if _, err := l.Fail(second("/data"), queue.Batch{Updates: many[:1]}, exitErr(10)); err != nil {
		t.Fatal(err)
	}
	c, err = l.Fail(stock("/data"), queue.Batch{Updates: upd("x", "y")}, exitErr(10))
	if err != nil || !c {
		t.Fatalf("6 entries: collapsed %v err %v", c, err)
	}
	c, err = l.Fail(stock("/data"), queue.Batch{Updates: upd("z")}, exitErr(10))
	if err != nil || c {
		t.Fatalf("after the collapse: collapsed %v err %v", c, err)
	}
	want := []string{"full", "update fa @10.0.0.3::www"}
	if got := paths(l.Entries()); !slices.Equal(got, want) {
		t.Fatalf("entries %q, want %q", got, want)
	}
	if st := l.Stats(); st.Collapses != 1 || st.Entries != 2 || st.Full != 1 || st.Recorded != 4 {
		t.Fatalf("stats %+v", st)
	}
	if e := l.Entries()[0]; !e.First.Equal(t0) || e.Errno != 10 {
		t.Fatalf("full entry %+v: want the first failure's time and errno 10", e)
	}
	if !strings.Contains(logs.String(), "collapsed into one full sync") {
		t.Fatalf("collapse not logged:\n%s", logs)
	}
}

// TestFileMode: the file is created 0600; an existing looser one is
// tightened with a warning; written files stay 0600.
func TestFileMode(t *testing.T) {
	t.Parallel()
	for _, perm := range []os.FileMode{0o600, 0o644, 0o666, 0o777} {
		t.Run(perm.String(), func(t *testing.T) {
			t.Parallel()
			d := t.TempDir()
			p := filepath.Join(d, "rsync_fail_log.sh")
			if perm != 0o600 {
				if err := os.WriteFile(p, []byte("#preexisting line\n"), perm); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, perm); err != nil {
					t.Fatal(err)
				}
			}
			l, logs := open(t, d, Options{}, stock("/data"))
			if m := mode(t, p); m != 0o600 {
				t.Fatalf("mode %04o after Open", m)
			}
			warned := strings.Contains(logs.String(), "mode set to 0600")
			if warned != (perm != 0o600) {
				t.Fatalf("warning %v for %04o:\n%s", warned, perm, logs)
			}
			if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a")}, exitErr(10)); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, p); m != 0o600 {
				t.Fatalf("mode %04o after a write", m)
			}
			if perm != 0o600 && !strings.Contains(readFile(t, p), "# #preexisting line") && !strings.Contains(readFile(t, p), "#preexisting line") {
				t.Fatalf("earlier line not kept:\n%s", readFile(t, p))
			}
		})
	}
}

// TestRefusesSymlinkAndNonRegular: a symbolic link (a classic trap in
// /tmp) or a directory at the failLog path stops Open.
func TestRefusesSymlinkAndNonRegular(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	victim := filepath.Join(d, "victim")
	if err := os.WriteFile(victim, []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(d, "link.sh")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link, nil, Options{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlink: err %v", err)
	}
	if m := mode(t, victim); m != 0o644 || readFile(t, victim) != "secret\n" {
		t.Fatalf("link target touched: mode %04o", m)
	}
	if _, err := Open(d, nil, Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: err %v", err)
	}
}

// TestOtherOwnerIgnored: entries in a file owned by someone else are not
// trusted; the file is replaced by ours.
func TestOtherOwnerIgnored(t *testing.T) {
	if os.Geteuid() != 0 {
		msg := "needs root to give the file to another user"
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
		}
		t.Skip(msg)
	}
	t.Parallel()
	d := t.TempDir()
	p := filepath.Join(d, "rsync_fail_log.sh")
	e := Entry{Root: "/data", Remote: "10.0.0.2::www", Op: Update, Path: "planted", Failures: 1, First: t0, Last: t0}
	if err := os.WriteFile(p, []byte(e.metaLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	l, logs := open(t, d, Options{}, stock("/data"))
	if n := len(l.Entries()); n != 0 {
		t.Fatalf("%d entries read from a foreign file", n)
	}
	if !strings.Contains(logs.String(), "owned by another user") {
		t.Fatalf("not logged:\n%s", logs)
	}
	if m := mode(t, p); m != 0o600 {
		t.Fatalf("mode %04o", m)
	}
	if strings.Contains(readFile(t, p), "planted") {
		t.Fatalf("foreign entry kept:\n%s", readFile(t, p))
	}
}

// TestEarlierFile: what Open makes of a file left by an earlier run:
// entries of our remotes are loaded (and duplicates merged), entries of
// other remotes kept as they are, the original binary's entries for our
// root become a full sync, other lines become comments, a torn last line
// is dropped from replay, and temporary files of a crashed write go.
func TestEarlierFile(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	p := filepath.Join(d, "rsync_fail_log.sh")
	ours := Entry{Root: "/data", Remote: "10.0.0.2::www", Op: Update, Path: "a b", Errno: 10, Failures: 2, First: t0, Last: t0}
	dup := ours
	dup.Failures, dup.Last, dup.Errno = 1, t0.Add(time.Hour), 30
	otherRemote := Entry{Root: "/data", Remote: "10.9.9.9::www", Op: Update, Path: "x", Failures: 1, First: t0, Last: t0}
	web := Entry{Root: "/web", Remote: "10.0.0.2::www", Op: Remove, Path: "y", Failures: 1, First: t0, Last: t0}
	content := ours.metaLine() + "\n\n" +
		dup.metaLine() + "\n\n" +
		"#errno " + "10\n" + otherRemote.metaLine() + "\ncd /data && true\n\n" +
		"#errno 2560\ncd /web && rsync -artuz -R \"./r10.txt\" 10.0.0.2::www >/dev/null 2>&1 \n\n" +
		"#errno 2560\ncd /elsewhere && rsync -artuz -R \"./r10.txt\" 10.0.0.2::www >/dev/null 2>&1 \n\n" +
		web.metaLine()[:30]
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(d, ".rsync_fail_log.sh.tmp12345")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, logs := open(t, d, Options{}, stock("/data"), stock("/web"))
	got := l.Entries()
	if ps := paths(got); !slices.Equal(ps, []string{"update a b", "full"}) {
		t.Fatalf("entries %q", ps)
	}
	if a := got[0]; a.Failures != 3 || !a.First.Equal(t0) || !a.Last.Equal(dup.Last) || a.Errno != 30 {
		t.Fatalf("merged entry %+v", a)
	}
	if got[1].Root != "/web" || got[1].Errno != 10 {
		t.Fatalf("adopted entry %+v: want root /web, errno 10 (wait status 2560)", got[1])
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	file := readFile(t, p)
	for _, want := range []string{otherRemote.metaLine() + "\ncd /data && true\n", "# cd /elsewhere && rsync", "# cd /web && rsync", `path="a b"`} {
		if !strings.Contains(file, want) {
			t.Errorf("file lacks %q:\n%s", want, file)
		}
	}
	if strings.Contains(file, "\ncd /web && rsync -artuz -R \"./r10.txt\"") || strings.Contains(file, "\ncd /elsewhere") {
		t.Errorf("the original's commands are still runnable:\n%s", file)
	}
	for _, want := range []string{"replayed now", "older sersync2", "kept, not replayed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if st := l.Stats(); st.Others != 4 {
		t.Errorf("stats %+v: want 4 other blocks (other remote, the two original entries as comments, torn line)", st)
	}
}

// TestSharedFile: two processes (two configurations) writing one failLog
// keep each other's entries.
func TestSharedFile(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	a, _ := open(t, d, Options{}, stock("/a"))
	b, _ := open(t, d, Options{}, stock("/b"))
	for i := range 20 {
		p := "f" + string(rune('a'+i))
		if _, err := a.Fail(stock("/a"), queue.Batch{Updates: upd(p)}, exitErr(10)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Fail(stock("/b"), queue.Batch{Updates: upd(p)}, exitErr(10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Synced(stock("/a"), queue.Batch{Updates: upd("fa")}, t0); err != nil {
		t.Fatal(err)
	}
	es, other := Parse([]byte(readFile(t, a.Path())))
	if len(es) != 39 || other != 0 {
		t.Fatalf("%d entries, %d other blocks; want 39 and 0", len(es), other)
	}
}

// TestDue: entries are handed out once per interval (timeToExecute),
// counted from Open, and 0 minutes means every minute.
func TestDue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		interval, want time.Duration
	}{{120 * time.Minute, 120 * time.Minute}, {0, time.Minute}} {
		clk := newClock()
		l, _ := open(t, t.TempDir(), Options{Now: clk.Now, Interval: tt.interval}, stock("/data"))
		if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a")}, exitErr(10)); err != nil {
			t.Fatal(err)
		}
		if !l.NextReplay().Equal(t0.Add(tt.want)) {
			t.Fatalf("interval %v: next replay %v", tt.interval, l.NextReplay())
		}
		if due := l.Due(t0.Add(tt.want - time.Second)); due != nil {
			t.Fatalf("interval %v: due early: %v", tt.interval, due)
		}
		if due := l.Due(t0.Add(tt.want)); len(due) != 1 {
			t.Fatalf("interval %v: due %v", tt.interval, due)
		}
		if due := l.Due(t0.Add(tt.want + time.Second)); due != nil {
			t.Fatalf("interval %v: due twice: %v", tt.interval, due)
		}
		if !l.NextReplay().Equal(t0.Add(2 * tt.want)) {
			t.Fatalf("interval %v: next replay %v", tt.interval, l.NextReplay())
		}
	}
}

// TestUnknownTarget: a target not given to Open is an error, not a silent
// drop.
func TestUnknownTarget(t *testing.T) {
	t.Parallel()
	l, _ := open(t, t.TempDir(), Options{}, stock("/data"))
	if _, err := l.Fail(stock("/other"), queue.Batch{Updates: upd("a")}, exitErr(10)); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("Fail: %v", err)
	}
	if err := l.Synced(stock("/other"), queue.Batch{Updates: upd("a")}, t0); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("Synced: %v", err)
	}
}

// TestWriteFailureKeepsEntries: when the file cannot be written (its
// directory is gone) the entries stay in memory, the error is returned,
// and they reach the file once it can be written again.
func TestWriteFailureKeepsEntries(t *testing.T) {
	t.Parallel()
	d := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	l, _ := open(t, d, Options{}, stock("/data"))
	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Fail(stock("/data"), queue.Batch{Updates: upd("a")}, exitErr(10)); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if es, _ := Parse([]byte(readFile(t, l.Path()))); len(es) != 1 || l.Stats().WriteErrs != 1 {
		t.Fatalf("entries %v, stats %+v", es, l.Stats())
	}
}

// TestGolden: the file an operator reads, for the stock target: updates
// with hostile names, a remove of a directory, a replaced directory, and
// a collapsed remote.
func TestGolden(t *testing.T) {
	t.Parallel()
	clk := newClock()
	d := t.TempDir()
	l, _ := open(t, d, Options{Now: clk.Now, MaxEntries: 4}, stock("/data"), second("/data"))
	names := hostileNames(t)
	var hostileUpd []queue.Entry
	for _, n := range names {
		hostileUpd = append(hostileUpd, queue.Entry{Path: "h/" + n})
		if strings.HasPrefix(n, "-") {
			// At the top its entry's printf format starts with '-'.
			hostileUpd = append(hostileUpd, queue.Entry{Path: n})
		}
	}
	steps := []struct {
		t   rsyncexec.Target
		b   queue.Batch
		err error
	}{
		{stock("/data"), queue.Batch{Updates: upd("a.txt", "d1/d2/f.txt")}, exitErr(10)},
		{stock("/data"), queue.Batch{Removes: []queue.Entry{dir("rmme")}, Updates: []queue.Entry{{Path: "swapped", Dir: true, Replaced: true}}}, exitErr(23)},
		{stock("/data"), queue.Batch{Updates: upd("a.txt")}, errors.New("rsync not found")},
		{second("/data"), queue.Batch{Updates: hostileUpd}, exitErr(5)},
	}
	for _, s := range steps {
		clk.Advance(time.Minute)
		if _, err := l.Fail(s.t, s.b, s.err); err != nil {
			t.Fatal(err)
		}
	}
	// A collapse of the second remote would hide the hostile names: write
	// them into a log with a high threshold too.
	l2, _ := open(t, t.TempDir(), Options{Now: clk.Now}, stock("/data"))
	if _, err := l2.Fail(stock("/data"), queue.Batch{Updates: hostileUpd}, exitErr(10)); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"stock.sh": readFile(t, l.Path()), "hostile.sh": readFile(t, l2.Path())} {
		p := filepath.Join(goldenDir, name)
		if *update {
			if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test ./failog -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs (go test ./failog -update rewrites it):\n%s", p, got)
		}
	}
}
