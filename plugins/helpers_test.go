package plugins

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/outbuf"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata/plugins")

// Environment of the helper process: the test binary re-executed by the
// command plugin (see TestMain).
const (
	helperModeEnv = "PLUGINS_TEST_HELPER" // "argv", "fail" or "hang"
	helperOutEnv  = "PLUGINS_TEST_OUT"    // directory the helper writes to
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(helperMain(mode, os.Getenv(helperOutEnv), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helperMain is a tiny program run by command-plugin tests. "argv" records
// its arguments, NUL-terminated, in a new file under out; "fail" writes to
// stdout and stderr and exits 3; "hang" creates out/started and blocks until
// killed.
func helperMain(mode, out string, args []string) int {
	switch mode {
	case "argv":
		f, err := os.CreateTemp(out, "argv-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		for _, a := range args {
			f.WriteString(a + "\x00")
		}
		if err := f.Close(); err != nil {
			return 2
		}
		return 0
	case "fail":
		fmt.Println("helper says no on stdout")
		fmt.Fprintln(os.Stderr, "helper says no on stderr")
		return 3
	case "hang":
		if err := os.WriteFile(filepath.Join(out, "started"), nil, 0o644); err != nil {
			return 2
		}
		select {}
	}
	return 2
}

// hostileNames are file names that break naive quoting; each must reach a
// plugin's peer byte for byte.
var hostileNames = []string{
	"sp ace.txt",
	"q'uote",
	`dq"uote`,
	"bq`touch PWNED`x",
	"$(touch PWNED)",
	"semi;touch PWNED",
	"-leading-dash",
	"star*",
	"br[1]",
	`back\slash`,
	"new\nline",
	"\xff\xfe",
	"tab\there",
	"pipe|touch PWNED",
	"amp&&touch PWNED",
}

func testLogger(t *testing.T) (*slog.Logger, *outbuf.Buffer) {
	t.Helper()
	buf := &outbuf.Buffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", d, what)
		case <-tick.C:
		}
	}
}

// golden compares got with testdata/plugins/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "plugins", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plugins -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n got %s\nwant %s", name, strconv.Quote(string(got)), strconv.Quote(string(want)))
	}
}

// sq single-quotes s for shellwords.Split.
func sq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
