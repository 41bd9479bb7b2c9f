package replicate

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
)

// TestServiceReload: a reload adding a remote keeps the first remote's
// counters and its pending changes (its daemon is down meanwhile), gives
// the new remote a full sync, and a configuration that cannot start is
// refused with the old one still running.
func TestServiceReload(t *testing.T) {
	t.Parallel()
	a := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	b := rsyncd.StartT(t, rsyncd.Options{Auth: true, IP: "127.0.0.2", Port: a.Port})
	src := mkdir(t, filepath.Join(t.TempDir(), "src"))
	writeFile(t, filepath.Join(src, "old.txt"), "x")
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: a.IP, Name: "www"}}}},
		Users: a.User, PasswordFile: a.PasswordFile, Port: a.Port}
	log := &outbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewService(ctx, load(t, c, ""), Options{SyncAll: true, RetryBase: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	})
	waitTreesEqual(t, src, a.ModuleDir("www"))

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "pending.txt"), "x")
	poll.Until(t, 30*time.Second, "a failed batch to a", func() (bool, string) {
		return s.State().Remotes[0].Failures > 0, ""
	})
	before := s.State().Remotes[0]

	// A watch directory gone between loading and starting.
	gone := mkdir(t, filepath.Join(t.TempDir(), "gone"))
	bad := c
	bad.Roots = []confgen.Root{{Watch: gone, Remotes: c.Roots[0].Remotes}}
	badCfg := load(t, bad, "")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx, badCfg); err == nil {
		t.Fatal("Reload with a missing watch directory succeeded")
	}
	c.Roots[0].Remotes = append(c.Roots[0].Remotes, confgen.Remote{IP: b.IP, Name: "www"})
	if err := s.Reload(ctx, load(t, c, "")); err != nil {
		t.Fatal(err)
	}
	st := s.State()
	if len(st.Remotes) != 2 || st.Reloads != 1 || st.ReloadFailures != 1 {
		t.Fatalf("after reload: %d remotes, %d reloads, %d refused", len(st.Remotes), st.Reloads, st.ReloadFailures)
	}
	if r := st.Remotes[0]; r.Batches < before.Batches || r.Failures < before.Failures || r.Events < before.Events {
		t.Errorf("counters not carried: before %+v after %+v", before, r)
	}
	waitTreesEqual(t, src, b.ModuleDir("www"))
	if err := a.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTreesEqual(t, src, a.ModuleDir("www"))
}
