package packaging

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeb: make deb builds a package that dpkg installs into a scratch
// root with the binary, the stock confxml.xml as a conffile, the units
// and the man page; sersync2 --version runs from it.
func TestDeb(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"make", "dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	build := t.TempDir()
	run(t, "..", "make", "deb", "BUILD="+build, "VERSION=v9.8.7-test")
	debs, _ := filepath.Glob(filepath.Join(build, "*.deb"))
	if len(debs) != 1 || !strings.Contains(filepath.Base(debs[0]), "sersync2_9.8.7.test_") {
		t.Fatalf("make deb made %v", debs)
	}

	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// rsync is a dependency the scratch root does not have.
	run(t, "", "dpkg", "--root="+root, "--force-not-root", "--force-depends", "--force-script-chrootless", "--log=/dev/null", "-i", debs[0])

	for _, f := range []string{"usr/bin/sersync2", "etc/sersync/confxml.xml", "lib/systemd/system/sersync2.service",
		"lib/systemd/system/sersync2@.service", "usr/share/man/man8/sersync2.8.gz", "usr/share/doc/sersync2/examples/alerts.yml"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	stock, err := os.ReadFile("../testdata/confxml/stock-2.5.4.xml")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "etc/sersync/confxml.xml")); string(got) != string(stock) {
		t.Error("/etc/sersync/confxml.xml is not the stock file")
	}
	if cf, _ := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info/sersync2.conffiles")); strings.TrimSpace(string(cf)) != "/etc/sersync/confxml.xml" {
		t.Errorf("conffiles = %q", cf)
	}
	if out := run(t, "", filepath.Join(root, "usr/bin/sersync2"), "--version"); strings.TrimSpace(out) != "sersync2 v9.8.7-test" {
		t.Errorf("--version = %q", out)
	}
	f, err := os.Open(filepath.Join(root, "usr/share/man/man8/sersync2.8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	man, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH SERSYNC2 8", `\-\-status\-addr`, "SIGHUP", "EXIT STATUS"} {
		if !strings.Contains(string(man), want) {
			t.Errorf("man page lacks %s", want)
		}
	}
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
