package replicate

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/inotifymask"
	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// running is an engine started by a test; it is stopped when the test ends.
type running struct {
	*Engine
	console, log *outbuf.Buffer
	done         chan error
}

// load writes c as confxml.xml into a temporary directory and loads it
// (for plugin-only mode with LoadPlugin).
func load(t testing.TB, c confgen.Config, plugin string) confxml.Config {
	t.Helper()
	c.FailLog = filepath.Join(t.TempDir(), "fail.sh")
	p := filepath.Join(t.TempDir(), "confxml.xml")
	if err := c.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	load := confxml.Load
	if plugin != "" {
		load = func(p string) (confxml.Config, error) { return confxml.LoadPlugin(p, plugin) }
	}
	cfg, err := load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// daemonConf starts an authenticated rsync daemon and loads c with one
// root, a new directory src, pushed to the daemon's module "www".
func daemonConf(t *testing.T, c confgen.Config) (cfg confxml.Config, src string, d *rsyncd.Daemon) {
	t.Helper()
	d = rsyncd.StartT(t, rsyncd.Options{Auth: true})
	src = mkdir(t, filepath.Join(t.TempDir(), "src"))
	c.Roots = []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}}
	c.Users, c.PasswordFile, c.Port = d.User, d.PasswordFile, d.Port
	return load(t, c, ""), src, d
}

// start builds an engine for cfg and runs it until the test ends.
func start(t testing.TB, cfg confxml.Config, o Options) *running {
	t.Helper()
	r := &running{console: &outbuf.Buffer{}, log: &outbuf.Buffer{}, done: make(chan error, 1)}
	o.Console = r.console
	o.Log = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.RetryBase = cmp.Or(o.RetryBase, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	e, err := New(ctx, cfg, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r.Engine = e
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30s of cancel")
		}
		if t.Failed() {
			t.Logf("console:\n%s\nlog:\n%s", r.console.String(), r.log.String())
		}
	})
	return r
}

// waitTreesEqual polls until dst mirrors src.
func waitTreesEqual(t *testing.T, src, dst string) {
	t.Helper()
	poll.Until(t, 30*time.Second, fmt.Sprintf("%s to mirror %s", dst, src), func() (bool, string) {
		diff, err := treecmp.Diff(src, dst, treecmp.Options{})
		if err != nil {
			return false, err.Error()
		}
		return len(diff) == 0, strings.Join(diff, "\n")
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, path string) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// requireFanotify skips t where fanotify cannot watch dir, saying why; it
// fails instead under SERSYNC_TEST_NO_SKIP=1.
func requireFanotify(t *testing.T, dir string) {
	t.Helper()
	if err := inotifymask.FanotifyUsable(dir); err != nil {
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatalf("%v (SERSYNC_TEST_NO_SKIP=1)", err)
		}
		t.Skip(err)
	}
}
