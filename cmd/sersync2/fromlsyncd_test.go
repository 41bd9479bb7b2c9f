package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// TestFromLsyncdConfigs converts every lsyncd configuration under
// testdata/lsyncd with the real binary: exit 0 exactly when the report
// says everything was carried over, 1 with nothing on stdout for input
// that cannot be converted, and --check accepts every converted file,
// local targets included (exit 0, or 3 when only this host lacks a watch
// directory or password file).
func TestFromLsyncdConfigs(t *testing.T) {
	all, err := filepath.Glob("../../testdata/lsyncd/*.lua")
	if err != nil || len(all) < 8 {
		t.Fatalf("configurations: %v %v", all, err)
	}
	for _, p := range all {
		if strings.HasSuffix(p, ".inc.lua") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(p), ".lua")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			abs, err := filepath.Abs(p)
			if err != nil {
				t.Fatal(err)
			}
			r := runBin(t, dir, "--from-lsyncd", abs)
			if strings.HasPrefix(name, "bad-") {
				if r.code != exitUsage || r.stdout != "" {
					t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
				}
				return
			}
			complete := strings.Contains(r.stderr, "every setting was carried over")
			if complete != (r.code == exitOK) || r.code != exitOK && r.code != exitUsage {
				t.Fatalf("exit %d with report:\n%s", r.code, r.stderr)
			}
			conf := filepath.Join(dir, "converted.xml")
			if err := os.WriteFile(conf, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			c := runBin(t, dir, "--check", "-o", conf)
			if c.code != exitOK && c.code != exitHost || !strings.Contains(c.stdout, "valid") {
				t.Fatalf("--check exit %d:\n%s\n%s\nconverted:\n%s", c.code, c.stdout, c.stderr, r.stdout)
			}
		})
	}
}

// TestFromLsyncdE2E converts an lsyncd configuration (string
// concatenation, excludes, a daemon port in rsync._extra), runs the
// converted file against a real rsync daemon and checks that everything
// but the excluded paths arrives, hostile names included, at start-up
// (-r) and while running.
func TestFromLsyncdE2E(t *testing.T) {
	d := rsyncd.StartT(t, rsyncd.Options{Modules: []string{"www"}})
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	dst := d.ModuleDir("www")
	names := hostileNames(t)
	// Excluded at any depth, and at the root only (/cache/).
	excluded := []string{"a.tmp", "sub/b.tmp", ".git/config", "sub/.git", "logs/app.log"}
	for _, n := range names {
		writeFile(t, filepath.Join(src, "old", n), "old "+n)
	}
	for _, e := range excluded {
		writeFile(t, filepath.Join(src, "old", e), "excluded")
		writeFile(t, filepath.Join(src, e), "excluded")
	}
	writeFile(t, filepath.Join(src, "cache", "x"), "excluded")
	writeFile(t, filepath.Join(src, "old", "cache", "kept"), "only /cache/ at the root is excluded")
	writeFile(t, filepath.Join(src, "logs", "app.txt"), "kept")
	// The live phase writes into directories that exist (and are
	// watched, or excluded) from the start.
	for _, d := range []string{"live/sub", "live/logs", "live/.git"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lua := fmt.Sprintf(`
local host = "%s"
sync {
    default.rsync,
    source  = %q,
    target  = host .. "::" .. "www",
    exclude = { "*.tmp", "/cache/", ".git", "logs/*.log" },
    rsync   = { archive = true, _extra = { "--port=" .. %d } },
}
`, d.IP, src, d.Port)
	luaPath := filepath.Join(dir, "lsyncd.conf.lua")
	if err := os.WriteFile(luaPath, []byte(lua), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, dir, "--from-lsyncd", luaPath)
	if r.code != exitOK {
		t.Fatalf("--from-lsyncd exit %d:\n%s", r.code, r.stderr)
	}
	conf := filepath.Join(dir, "confxml.xml")
	if err := os.WriteFile(conf, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stderr, "sersync2 -d -r -o confxml.xml") {
		t.Fatalf("report without the command line:\n%s", r.stderr)
	}
	// The command line the report gives, without -d so that the test
	// owns the process.
	p := startSersync(t, dir, "-r", "-o", conf)
	p.waitReady(t)
	// The start-up full sync excludes the paths the filter excluded when
	// it walked the tree; what is created while it runs is the live
	// phase's, so that starts after it.
	poll.Until(t, 30*time.Second, "the start-up full sync", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "full sync done"), ""
	})
	for _, n := range names {
		writeFile(t, filepath.Join(src, "live", n), "live "+n)
	}
	for _, e := range excluded {
		writeFile(t, filepath.Join(src, "live", e), "excluded")
	}
	writeFile(t, filepath.Join(src, "cache", "y"), "excluded")
	skip := func(rel string, _ bool) bool {
		base := filepath.Base(rel)
		return strings.HasSuffix(base, ".tmp") || rel == "cache" || base == ".git" ||
			filepath.Base(filepath.Dir(rel)) == "logs" && strings.HasSuffix(base, ".log")
	}
	waitTreesEqual(t, src, dst, treecmp.Options{Skip: skip})
	for _, top := range []string{"", "old", "live"} {
		for _, e := range append(excluded, ".git") {
			if _, err := os.Lstat(filepath.Join(dst, top, e)); err == nil {
				t.Errorf("%s reached the daemon: the exclude did not hold", filepath.Join(top, e))
			}
		}
	}
	if _, err := os.Lstat(filepath.Join(dst, "cache")); err == nil {
		t.Error("cache reached the daemon: the exclude /cache/ did not hold")
	}
	if _, err := os.Stat(filepath.Join(dst, "old", "cache", "kept")); err != nil {
		t.Errorf("old/cache/kept missing: /cache/ is anchored at the root: %v", err)
	}
	hostile.NoPWNED(t, src, dst)
}
