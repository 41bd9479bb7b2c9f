package replicate

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
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
	s, ctx, _ := runService(t, load(t, c, ""), Options{SyncAll: true, RetryBase: 20 * time.Millisecond})
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

// TestServiceReloadFile: a configuration file that does not load, or
// that cannot start, is refused, logged and counted, the running
// configuration kept; one that loads is reloaded and its warnings are
// logged.
func TestServiceReloadFile(t *testing.T) {
	t.Parallel()
	src := mkdir(t, filepath.Join(t.TempDir(), "src"))
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: "127.0.0.1", Name: "www"}}}}}
	good := load(t, c, "")
	gone := mkdir(t, filepath.Join(t.TempDir(), "gone"))
	c.Roots[0].Watch = gone
	cannotStart := load(t, c, "")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	s, ctx, log := runService(t, good, Options{})
	warned := good
	warned.Warnings = []string{"a warning of the file"}
	tests := []struct {
		name              string
		load              func() (confxml.Config, error)
		reloads, failures uint64
		logged            string
	}{
		{"does not load", func() (confxml.Config, error) { return confxml.Config{}, errors.New("bad file") },
			0, 1, `msg="reload refused: the configuration file does not load; the running configuration stays" file=conf.xml err="bad file"`},
		{"cannot start", func() (confxml.Config, error) { return cannotStart, nil }, 0, 2, `msg="reload refused" file=conf.xml`},
		{"loads, with a warning", func() (confxml.Config, error) { return warned, nil }, 1, 2, `msg=config file=conf.xml warning="a warning of the file"`},
	}
	for _, tt := range tests {
		s.ReloadFile(ctx, "conf.xml", tt.load)
		st := s.State()
		if st.Reloads != tt.reloads || st.ReloadFailures != tt.failures || !strings.Contains(log.String(), tt.logged) {
			t.Errorf("%s: %d reloads, %d refused, want %d, %d; log lacks %q:\n%s", tt.name, st.Reloads, st.ReloadFailures, tt.reloads, tt.failures, tt.logged, log.String())
		}
		if st.Roots[0] != src {
			t.Errorf("%s: root %s, want %s", tt.name, st.Roots[0], src)
		}
	}
}

// runService builds a Service for cfg with o and runs it until the test
// ends; its log (debug level) is returned, and shown if the test fails.
func runService(t *testing.T, cfg confxml.Config, o Options) (*Service, context.Context, *outbuf.Buffer) {
	t.Helper()
	log := &outbuf.Buffer{}
	o.Log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewService(ctx, cfg, o)
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
	return s, ctx, log
}
