package rsyncexec

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/queue"
)

const hostileFile = "../testdata/rsyncexec/hostile-names.txt"

// hostileNames reads testdata/rsyncexec/hostile-names.txt.
func hostileNames(tb testing.TB) []string {
	tb.Helper()
	names, err := hostile.Read(hostileFile)
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) < 20 {
		tb.Fatalf("%s: only %d names", hostileFile, len(names))
	}
	return names
}

// stock is the target of the base configuration (testdata/confxml/base.xml):
// /data, -artuz, 10.0.0.2::www, delete on.
func stock() Target {
	return Target{
		Root:   "/data",
		Remote: confxml.Remote{IP: "10.0.0.2", Name: "www"},
		Rsync:  confxml.Rsync{CommonParams: "-artuz", Params: []string{"-artuz"}},
		Delete: true,
	}
}

func files(paths ...string) []queue.Entry {
	out := make([]queue.Entry, len(paths))
	for i, p := range paths {
		out[i] = queue.Entry{Path: p}
	}
	return out
}

func dirs(paths ...string) []queue.Entry {
	out := files(paths...)
	for i := range out {
		out[i].Dir = true
	}
	return out
}

var fixedTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// writeFile creates root/rel (and its parents) with content and a fixed
// mtime.
func writeFile(tb testing.TB, root, rel, content string) {
	tb.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chtimes(p, fixedTime, fixedTime); err != nil {
		tb.Fatal(err)
	}
}

func exists(tb testing.TB, p string) bool {
	tb.Helper()
	_, err := os.Lstat(p)
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return err == nil
}
