package main

import (
	"fmt"
	"io/fs"
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
	excluded := lsyncdTree(t, src, names)
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
	conf, r := convertLsyncd(t, dir, lua)
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
	waitTreesEqual(t, src, dst, treecmp.Options{Skip: lsyncdExcluded})
	noneExcluded(t, "after the live phase", dst)
	if _, err := os.Stat(filepath.Join(dst, "old", "cache", "kept")); err != nil {
		t.Errorf("old/cache/kept missing: /cache/ is anchored at the root: %v", err)
	}
	hostile.NoPWNED(t, src, dst)
}

// lsyncdTree fills src for the end-to-end tests of converted
// configurations: names below old/, the paths it returns (excluded by the
// excludes lsyncdExcluded reads) below old/ and at the root, a /cache/
// excluded at the root only, and the directories the live phase writes
// into, which exist (and are watched, or excluded) from the start.
func lsyncdTree(t *testing.T, src string, names []string) (excluded []string) {
	t.Helper()
	excluded = []string{"a.tmp", "sub/b.tmp", ".git/config", "sub/.git", "logs/app.log"}
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
	for _, d := range []string{"live/sub", "live/logs", "live/.git"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return excluded
}

// convertLsyncd writes lua as dir/lsyncd.conf.lua, converts it with the
// binary, which must carry every setting over, and writes the result as
// dir/confxml.xml, whose path it returns with the run.
func convertLsyncd(t *testing.T, dir, lua string) (string, result) {
	t.Helper()
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
	return conf, r
}

// lsyncdExcluded tells the paths (relative to the watch root) that the
// excludes { "*.tmp", "/cache/", ".git", "logs/*.log" } keep off a target,
// as rsync reads those patterns.
func lsyncdExcluded(rel string, _ bool) bool {
	base := filepath.Base(rel)
	return strings.HasSuffix(base, ".tmp") || rel == "cache" || base == ".git" ||
		filepath.Base(filepath.Dir(rel)) == "logs" && strings.HasSuffix(base, ".log")
}

// noneExcluded fails the test for every path below dst that
// lsyncdExcluded says must not be there.
func noneExcluded(t *testing.T, when, dst string) {
	t.Helper()
	err := filepath.WalkDir(dst, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == dst {
			return err
		}
		rel, err := filepath.Rel(dst, p)
		if err != nil {
			return err
		}
		if lsyncdExcluded(rel, e.IsDir()) {
			t.Errorf("%s: %q reached %s: the exclude did not hold", when, rel, dst)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFromLsyncdLocalAndDaemon converts an lsyncd configuration whose loop
// gives one source two sync{}s, one to an rsync daemon with auth and a
// port in rsync._extra, one to a local directory, with the same excludes;
// runs the converted file with -r; and checks that both targets end equal
// to the source minus the excluded paths after the start-up sync and
// after live changes (hostile names, renames, removes, a file renamed
// into and out of an excluded name), and that no excluded path reached
// either at any point checked.
//
// The live phase starts once both start-up full syncs are done: a file
// the filter excludes that is created while a full sync runs can be sent
// by that full sync, a separate known gap this test does not cover.
func TestFromLsyncdLocalAndDaemon(t *testing.T) {
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mirror := d.ModuleDir("www")
	local := filepath.Join(dir, `back up 'it' "$(touch PWNED)"`)
	if err := os.Mkdir(local, 0o755); err != nil {
		t.Fatal(err)
	}
	names := hostileNames(t)
	excluded := lsyncdTree(t, src, names)
	for _, n := range names {
		writeFile(t, filepath.Join(src, "old", "d", n), "old d "+n)
		writeFile(t, filepath.Join(src, "old", "e", n), "old e "+n)
	}
	for _, e := range excluded {
		writeFile(t, filepath.Join(src, "old", "d", e), "excluded")
	}
	writeFile(t, filepath.Join(src, "old", "was.tmp"), "excluded until renamed")
	writeFile(t, filepath.Join(src, "old", "becomes.txt"), "excluded once renamed")
	lua := fmt.Sprintf(`
local host = "%s"
local targets = { "%s@" .. host .. "::" .. "www", %q }
for _, target in ipairs(targets) do
    sync {
        default.rsync,
        source  = %q,
        target  = target,
        exclude = { "*.tmp", "/cache/", ".git", "logs/*.log" },
        rsync   = { archive = true, password_file = %q, _extra = { "--port=" .. %d } },
    }
end
`, d.IP, d.User, local, src, d.PasswordFile, d.Port)
	conf, r := convertLsyncd(t, dir, lua)
	if !strings.Contains(r.stdout, "<localtarget dir=") || !strings.Contains(r.stdout, `<remote ip="`+d.IP+`" name="www"/>`) {
		t.Fatalf("converted without both targets:\n%s", r.stdout)
	}
	p := startSersync(t, dir, "-r", "-o", conf)
	p.waitReady(t)
	poll.Until(t, 60*time.Second, "both start-up full syncs", func() (bool, string) {
		n := strings.Count(p.stderr.String(), `msg="full sync done"`)
		return n >= 2, fmt.Sprintf("%d done", n)
	})
	for _, dst := range []string{mirror, local} {
		waitTreesEqual(t, src, dst, treecmp.Options{Skip: lsyncdExcluded})
		noneExcluded(t, "start-up", dst)
	}

	for _, n := range names {
		writeFile(t, filepath.Join(src, "live", n), "live "+n)
	}
	for _, e := range excluded {
		writeFile(t, filepath.Join(src, "live", e), "excluded")
	}
	writeFile(t, filepath.Join(src, "cache", "y"), "excluded")
	renames := [][2]string{
		{"old/e", "live/renamed e"},          // a directory
		{"old/" + names[0], "live/-renamed"}, // a hostile file name
		{"old/was.tmp", "live/was.txt"},      // out of an excluded name
		{"old/becomes.txt", "old/now.tmp"},   // into one
	}
	for _, mv := range renames {
		if err := os.Rename(filepath.Join(src, mv[0]), filepath.Join(src, mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, rm := range []string{"old/" + names[1], "old/cache", "logs/app.txt"} {
		if err := os.RemoveAll(filepath.Join(src, rm)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []string{mirror, local} {
		waitTreesEqual(t, src, dst, treecmp.Options{Skip: lsyncdExcluded})
		noneExcluded(t, "live", dst)
	}
	t.Run("directory with excluded files renamed", func(t *testing.T) {
		if err := os.Rename(filepath.Join(src, "old", "d"), filepath.Join(src, "live", "renamed d")); err != nil {
			t.Fatal(err)
		}
		for _, dst := range []string{mirror, local} {
			waitTreesEqual(t, src, dst, treecmp.Options{Skip: lsyncdExcluded})
			noneExcluded(t, "directory renamed", dst)
		}
	})
	if strings.Contains(p.stderr.String(), `msg="rsync failed"`) {
		t.Error("an rsync run failed")
	}
	hostile.NoPWNED(t, dir, mirror)
}
