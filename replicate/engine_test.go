package replicate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/socksink"
)

// TestSyncMode: -r pushes what exists, live changes follow, a full-sync
// request removes what only the remote has, the plugin is told each synced
// path after the remote has it, and State counts it all.
func TestSyncMode(t *testing.T) {
	t.Parallel()
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	src := mkdir(t, filepath.Join(t.TempDir(), "src"))
	dst := d.ModuleDir("www")
	writeFile(t, filepath.Join(src, "before.txt"), "pushed by -r")
	addr, told := socksink.Listen(t)
	cfg := load(t, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port, Plugin: "socket", Socket: addr}, "")
	// The socket plugin's own block watches src too (confgen writes the
	// first root), so the plugin is told paths under src.
	e := start(t, cfg, Options{SyncAll: true, Queues: 2})
	waitTreesEqual(t, src, dst)

	writeFile(t, filepath.Join(src, "a", "new.txt"), "live")
	writeFile(t, filepath.Join(src, "b.txt"), "live")
	waitTreesEqual(t, src, dst)
	socksink.Wait(t, told, cfg.PluginWatch("socket")+"/b.txt")

	writeFile(t, filepath.Join(dst, "remote-only.txt"), "must go")
	e.RequestFullSync("test")
	poll.Until(t, 30*time.Second, "the full sync to delete remote-only.txt", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dst, "remote-only.txt"))
		return os.IsNotExist(err), ""
	})

	if rep, err := e.CheckWatches(context.Background()); err != nil || !rep.OK() || rep.Dirs != 2 {
		t.Errorf("CheckWatches = %+v, %v; want both directories watched", rep, err)
	}
	st := e.State()
	if len(st.Remotes) != 1 || st.QueuesPerRemote != 2 || st.Watches < 2 || len(st.Roots) != 1 || st.Roots[0] != src {
		t.Fatalf("State = %+v", st)
	}
	r := st.Remotes[0]
	if r.Root != src || !strings.HasSuffix(r.Remote, "::www") || r.Batches < 3 || r.RsyncRuns < 3 || r.Failures != 0 || r.Last.Err != nil || r.Last.At.IsZero() {
		t.Errorf("RemoteState = %+v", r)
	}
	if strings.Contains(e.console.String(), "add watch") {
		t.Errorf("debug off, yet debug lines on the console:\n%s", e.console.String())
	}
}

// TestRemoteDown: a remote that refuses connections keeps its changes,
// counts the failures and shows them pending; once it is back they arrive.
func TestRemoteDown(t *testing.T) {
	t.Parallel()
	cfg, src, d := daemonConf(t, confgen.Config{Timeout: 5})
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	e := start(t, cfg, Options{Queues: 1, RetryBase: 50 * time.Millisecond})
	writeFile(t, filepath.Join(src, "while-down.txt"), "kept")
	poll.Until(t, 30*time.Second, "failed batches", func() (bool, string) {
		r := e.State().Remotes[0]
		return r.Failures >= 2 && r.Last.Err != nil && (r.Pending > 0 || r.InFlight > 0), ""
	})
	if r := e.State().Remotes[0]; r.Pending > 0 && r.PendingSince.IsZero() {
		t.Errorf("pending without PendingSince: %+v", r)
	}
	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, d.ModuleDir("www"))
	poll.Until(t, 30*time.Second, "a successful batch", func() (bool, string) {
		r := e.State().Remotes[0]
		return r.Last.Err == nil && r.Pending == 0, ""
	})
}

// TestPluginOnlyMode: -m socket is the same pipeline without rsync: each
// change reaches the plugin, as the plugin's watch path is configured, and
// no rsync runs. Debug on echoes the watcher's lines to the console.
func TestPluginOnlyMode(t *testing.T) {
	t.Parallel()
	addr, got := socksink.Listen(t)
	src := mkdir(t, filepath.Join(t.TempDir(), "src"))
	cfg := load(t, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}},
		Socket: addr, Debug: true}, "socket")
	e := start(t, cfg, Options{Plugin: "socket", Rsync: "/nonexistent/rsync", SyncAll: true})
	name := "sp ace\nnl `touch PWNED` $(x) \xff"
	writeFile(t, filepath.Join(src, name), "x")
	socksink.Wait(t, got, src+"/"+name)
	st := e.State()
	if len(st.Remotes) != 1 || st.Remotes[0].Remote != "" || st.Remotes[0].RsyncRuns != 0 || st.Remotes[0].Batches == 0 || st.QueuesPerRemote != 1 {
		t.Errorf("State = %+v", st)
	}
	if !strings.Contains(e.console.String(), "add watch: "+src) {
		t.Errorf("debug on, but no watcher lines on the console:\n%s", e.console.String())
	}
}

// TestDispatchKeepsOrderPerPath: the engine takes the watcher's events in
// batches and still hands each path's changes on in the order they
// happened: the plugin, which hears every change unfolded, hears files
// written and removed in turn as update, remove, update, ... in order.
// inotify reports every change, so the plugin hears each one. fanotify's
// kernel queue merges the events of one name while they wait to be read
// (their order is lost, only the final state is known), so the plugin
// hears fewer, at most a removal and an update per merged group, in the
// order that leaves the name as it is when read: for every path an
// update last, and more than one change per round never.
func TestDispatchKeepsOrderPerPath(t *testing.T) {
	t.Parallel()
	for _, backend := range []inotifymask.Backend{inotifymask.BackendInotify, inotifymask.BackendFanotify} {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			dispatchKeepsOrderPerPath(t, backend)
		})
	}
}

func dispatchKeepsOrderPerPath(t *testing.T, backend inotifymask.Backend) {
	const paths, rounds = 20, 10
	addr, _ := socksink.Listen(t)
	src := mkdir(t, filepath.Join(t.TempDir(), "src"))
	if backend == inotifymask.BackendFanotify {
		requireFanotify(t, src)
	}
	cfg := load(t, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}},
		Socket: addr}, "socket")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := New(ctx, cfg, Options{Plugin: "socket", Rsync: "/nonexistent/rsync", Watcher: backend})
	if err != nil {
		t.Fatal(err)
	}
	// The socket plugin is started, but the changes go to a recorder.
	rec := &recordingPlugin{}
	e.notes.plugin = rec
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	var want []string
	for r := range rounds {
		for i := range paths {
			writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), strconv.Itoa(r))
		}
		want = append(want, "")
		if r == rounds-1 {
			break
		}
		for i := range paths {
			if err := os.Remove(filepath.Join(src, fmt.Sprintf("f%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, "-")
	}
	// Written last, so heard last: the plugin hears changes in the
	// watcher's order, and a merge only moves a change earlier.
	end := filepath.Join(src, "end")
	writeFile(t, end, "")
	perPath := func() map[string][]string {
		m := map[string][]string{}
		for _, h := range rec.heard() {
			p := strings.TrimPrefix(h, "-")
			m[p] = append(m[p], h[:len(h)-len(p)])
		}
		return m
	}
	if backend == inotifymask.BackendInotify {
		poll.Until(t, 20*time.Second, "every change to reach the plugin", func() (bool, string) {
			n := len(rec.heard())
			return n > paths*len(want), fmt.Sprintf("%d of %d changes", n, paths*len(want)+1)
		})
	} else {
		poll.Until(t, 20*time.Second, "the last change to reach the plugin", func() (bool, string) {
			return perPath()[end] != nil, fmt.Sprintf("%d changes", len(rec.heard()))
		})
	}
	got := perPath()
	for i := range paths {
		p := filepath.Join(src, fmt.Sprintf("f%02d", i))
		if backend == inotifymask.BackendInotify {
			if !slices.Equal(got[p], want) {
				t.Errorf("%s: heard %q, want %q", p, got[p], want)
			}
			continue
		}
		if len(got[p]) == 0 || got[p][len(got[p])-1] != "" || len(got[p]) > len(want) {
			t.Errorf("%s: heard %q, want at most %d changes, an update last", p, got[p], len(want))
		}
	}
}

// TestPlan: the commands --check prints and -r announces, one per remote
// of each root, in configuration order.
func TestPlan(t *testing.T) {
	t.Parallel()
	a, b := mkdir(t, filepath.Join(t.TempDir(), "a")), mkdir(t, filepath.Join(t.TempDir(), "b"))
	cfg := load(t, confgen.Config{Roots: []confgen.Root{
		{Watch: a, Remotes: []confgen.Remote{{IP: "10.0.0.2", Name: "www"}, {IP: "10.0.0.3", Name: "www"}}},
		{Watch: b, Remotes: []confgen.Remote{{IP: "10.0.0.2", Name: "b"}}}}, Filter: []string{`(.*)\.gz`}}, "")
	plan, err := Plan(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ root, remote string }{{a, "10.0.0.2::www"}, {a, "10.0.0.3::www"}, {b, "10.0.0.2::b"}}
	if len(plan) != len(want) {
		t.Fatalf("Plan = %+v", plan)
	}
	for i, w := range want {
		c := plan[i]
		if c.Root != w.root || c.Remote != w.remote || !strings.HasPrefix(c.Full, "cd "+w.root+" && printf '' | rsync ") ||
			!strings.HasPrefix(c.FullAnnounced, "cd "+w.root+" && rsync ") || !strings.Contains(c.Update, "--files-from=-") {
			t.Errorf("Plan[%d] = %+v", i, c)
		}
	}
}
