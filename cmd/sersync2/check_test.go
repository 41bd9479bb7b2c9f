package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/mnt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cli")

const fixtures = "../../testdata/confxml"

// fixtureEnv copies a confxml fixture into a temp dir with its
// placeholders replaced (see testdata/confxml/README.md) and returns the
// copy's path and the temp dir.
func fixtureEnv(t *testing.T, name string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{"watch", "watch2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secrets := filepath.Join(dir, "rsync.secrets")
	if err := os.WriteFile(secrets, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("@WATCH2@", filepath.Join(dir, "watch2"), "@WATCH@", filepath.Join(dir, "watch"), "@SECRETS@", secrets, "@TMP@", dir)
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(r.Replace(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("../../testdata/cli", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/sersync2 -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update after checking):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// notRecorded is --check's line for a root whose identity is not recorded
// yet: what follows names this host's file system (or says that the
// directory looks like an unmounted mount point when it is empty and on
// the file system of "/").
var notRecorded = regexp.MustCompile(`(?m)^(  root \S+: not recorded yet);.*$`)

// watcherLine is --check's line saying which backend watches a root and
// why: by default fanotify where this host lets it watch the root,
// inotify elsewhere (TestCheckWatcher pins both).
var watcherLine = regexp.MustCompile(`(?m)^(  watcher              \S+: ).*$`)

// normHost replaces the host-dependent parts of --check's output: the
// identity of roots not recorded yet and each root's backend.
func normHost(s string) string {
	return watcherLine.ReplaceAllString(notRecorded.ReplaceAllString(s, "$1; IDENTITY"), "${1}BACKEND (WHY)")
}

// TestCheckGolden: --check prints the effective settings and the rsync
// command lines of every remote and exits 0 for valid files; the stock
// 2.5.4 file is valid, but its /opt/tongbu is missing on this host, which
// --check names and exits 3 for (valid, not startable here).
func TestCheckGolden(t *testing.T) {
	t.Parallel()
	t.Run("stock", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/opt/tongbu"); err == nil {
			t.Skip("/opt/tongbu exists here; the golden output reports it missing")
		}
		abs, err := filepath.Abs(fixtures)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		r := runBin(t, dir, "--check", "-o", filepath.Join(abs, "stock-2.5.4.xml"))
		if r.code != exitHost || !strings.Contains(r.stdout, "not ready on this host") || !strings.Contains(r.stdout, "/opt/tongbu") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		golden(t, "check-stock.golden", normHost(strings.NewReplacer(abs, "FIXTURES", dir, "TMP").Replace(r.stdout)))
	})
	for _, name := range []string{"several-remotes.xml", "ssh-command.xml", "crontab-crontabfilter.xml", "filter-on.xml", "auth-on.xml", "several-localpaths.xml", "local-target.xml", "local-target-auth-port.xml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, dir := fixtureEnv(t, name)
			r := runBin(t, dir, "--check", "-o", path)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			golden(t, "check-"+strings.TrimSuffix(name, ".xml")+".golden", normHost(strings.ReplaceAll(r.stdout, dir, "TMP")))
		})
	}
	// --max-delete shows in the settings and in the full command only.
	t.Run("max-delete", func(t *testing.T) {
		t.Parallel()
		path, dir := fixtureEnv(t, "auth-on.xml")
		r := runBin(t, dir, "--check", "--max-delete", "10", "-o", path)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		golden(t, "check-auth-on-max-delete.golden", normHost(strings.ReplaceAll(r.stdout, dir, "TMP")))
	})
}

// TestMalformedFixturesExit: every bad-*.xml fixture makes a real start
// exit before anything runs: 255 with the original's XML report for a
// broken file, 1 with a message naming the element for a bad value.
func TestMalformedFixturesExit(t *testing.T) {
	t.Parallel()
	bad, err := filepath.Glob(filepath.Join(fixtures, "bad-*.xml"))
	if err != nil || len(bad) < 20 {
		t.Fatalf("found %d bad fixtures (%v)", len(bad), err)
	}
	parseErrors := map[string]bool{"bad-no-head.xml": true, "bad-unclosed-element.xml": true, "bad-empty-file.xml": true, "bad-end-tag-case.xml": true}
	hostProblems := map[string]bool{"bad-watch-missing-dir.xml": true, "bad-password-file-missing.xml": true, "bad-password-file-world-readable.xml": true}
	for _, p := range bad {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, dir := fixtureEnv(t, name)
			switch name {
			case "bad-password-file-world-readable.xml":
				if err := os.Chmod(filepath.Join(dir, "rsync.secrets"), 0o644); err != nil {
					t.Fatal(err)
				}
			case "bad-nested-localpaths.xml":
				if err := os.Mkdir(filepath.Join(dir, "watch", "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			r := runBin(t, dir, "--no-tune-kernel", "-o", path)
			if strings.Contains(r.stdout, "run the sersync") {
				t.Fatalf("started with a bad config:\n%s", r.stdout)
			}
			if parseErrors[name] {
				if r.code != 255 || !strings.Contains(r.stdout, "XML Parsing error inside file '"+path+"'.") {
					t.Errorf("exit %d, want 255 with the XML report\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
				}
				return
			}
			// A valid file naming what this machine lacks exits 3, a bad
			// file 1.
			want := exitUsage
			if hostProblems[name] {
				want = exitHost
			}
			if r.code != want || !strings.Contains(r.stderr, "confxml: <") {
				t.Errorf("exit %d, want %d with a message naming the element\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
			}
		})
	}
}

// TestCheckPluginModeNotReady: --check -m, as for sync mode, exits 3 when
// the file is valid but the plugin-only start would be refused on this host
// (the stock file's /opt/tongbu is missing here).
func TestCheckPluginModeNotReady(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/opt/tongbu"); err == nil {
		t.Skip("/opt/tongbu exists here")
	}
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"command", "socket", "refreshCDN"} {
		r := runBin(t, t.TempDir(), "--check", "-m", mode, "-o", filepath.Join(abs, "stock-2.5.4.xml"))
		if r.code != exitHost || !strings.Contains(r.stdout, "not ready on this host") {
			t.Errorf("-m %s: exit %d, want %d with the host's problem\n%s\n%s", mode, r.code, exitHost, r.stdout, r.stderr)
		}
	}
}

// TestCheckWatcher: --check says which backend watches each root. By
// default each root gets fanotify where this host lets it watch the root,
// and inotify, with the reason, where it cannot (a ramfs gives no file
// handles), in one process; --watcher inotify puts every root on inotify.
func TestCheckWatcher(t *testing.T) {
	t.Parallel()
	requireWatcher(t, "fanotify")
	path, dir := fixtureEnv(t, "several-localpaths.xml")
	mnt.Ramfs(t, filepath.Join(dir, "watch2"))
	const (
		fanotify = "fanotify ("
		inotify  = "inotify (asked for)"
		noFan    = "inotify (" // and a reason other than "asked for"
	)
	tests := []struct {
		name          string
		args          []string
		watch, watch2 string
	}{
		{"default", nil, fanotify, noFan},
		{"auto", []string{"--watcher", "auto"}, fanotify, noFan},
		{"inotify", []string{"--watcher", "inotify"}, inotify, inotify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBin(t, dir, append(tt.args, "--check", "-o", path)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for root, want := range map[string]string{"watch": tt.watch, "watch2": tt.watch2} {
				prefix := "  watcher              " + filepath.Join(dir, root) + ": "
				i := strings.Index(r.stdout, "\n"+prefix)
				if i < 0 {
					t.Errorf("no watcher line for %s:\n%s", root, r.stdout)
					continue
				}
				line, _, _ := strings.Cut(r.stdout[i+1+len(prefix):], "\n")
				if !strings.HasPrefix(line, want) || want == noFan && line == inotify {
					t.Errorf("%s: watcher %q, want %q…", root, line, want)
				}
			}
		})
	}
}
