package failog

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/outbuf"
	"github.com/sersync-go/sersync2/queue"
	"github.com/sersync-go/sersync2/rsyncexec"
)

const (
	hostileFile = "../testdata/rsyncexec/hostile-names.txt"
	goldenDir   = "../testdata/failog"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now; the tests call the Log from
// one goroutine.
type clock struct{ now time.Time }

func newClock() *clock                   { return &clock{now: t0} }
func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// stock is the target of testdata/confxml/base.xml: -artuz to
// 10.0.0.2::www, delete on.
func stock(root string) rsyncexec.Target {
	return rsyncexec.Target{
		Root:   root,
		Remote: confxml.Remote{IP: "10.0.0.2", Name: "www"},
		Rsync:  confxml.Rsync{CommonParams: "-artuz", Params: []string{"-artuz"}},
		Delete: true,
	}
}

// second is another remote of the same root.
func second(root string) rsyncexec.Target {
	t := stock(root)
	t.Remote = confxml.Remote{IP: "10.0.0.3", Name: "www"}
	return t
}

func upd(paths ...string) []queue.Entry {
	out := make([]queue.Entry, len(paths))
	for i, p := range paths {
		out[i] = queue.Entry{Path: p}
	}
	return out
}

func dir(p string) queue.Entry { return queue.Entry{Path: p, Dir: true} }

// exitErr is what rsyncexec returns for rsync exit code code.
func exitErr(code int) error { return &rsyncexec.ExitError{Code: code} }

// open opens a Log at dir/rsync_fail_log.sh with a captured log.
func open(t *testing.T, dir string, o Options, targets ...rsyncexec.Target) (*Log, *outbuf.Buffer) {
	t.Helper()
	logs := &outbuf.Buffer{}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
	}
	l, err := Open(filepath.Join(dir, "rsync_fail_log.sh"), targets, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, logs
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hostileNames(tb testing.TB) []string {
	tb.Helper()
	names, err := hostile.Read(hostileFile)
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

// paths lists "op path" of the entries, for compact comparisons.
func paths(es []Entry) []string {
	var out []string
	for _, e := range es {
		s := e.Op.String()
		if e.Path != "" {
			s += " " + e.Path
		}
		if e.Remote != "10.0.0.2::www" {
			s += " @" + e.Remote
		}
		out = append(out, s)
	}
	return out
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
