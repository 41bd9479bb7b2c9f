package packaging

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// shipped are the files both packages install, below the install root.
var shipped = []string{
	"usr/bin/sersync2",
	"etc/sersync/confxml.xml",
	"usr/lib/systemd/system/sersync2.service",
	"usr/lib/systemd/system/sersync2@.service",
	"usr/share/man/man8/sersync2.8.gz",
	"usr/share/doc/sersync2/examples/alerts.yml",
	"usr/share/doc/sersync2/examples/prometheus.yml",
	"usr/share/doc/sersync2/README.md",
	"etc/logrotate.d/sersync2",
}

// need skips (fails with SERSYNC_TEST_NO_SKIP=1) when a tool is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed (make deps installs it)"
			if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// packages runs make deb and make rpm once for the package's tests and
// returns the directory holding both.
func packages(t *testing.T) string {
	t.Helper()
	need(t, "make")
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "sersync2-pkg-"); buildErr != nil {
			return
		}
		cmd := exec.Command("make", "deb", "rpm", "BUILD="+buildDir, "VERSION=v9.8.7-test")
		cmd.Dir = ".."
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("make deb rpm: %v\n%s", buildErr, buildOut)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// one returns the single file matching pattern in dir.
func one(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("%s in %s: %v", pattern, dir, m)
	}
	return m[0]
}

// TestDeb: make deb builds a package that dpkg installs into a scratch
// root with the binary, the stock confxml.xml and /etc/default/sersync2 as
// conffiles, the units, the man page and the copyright file; sersync2
// --version runs from it; the maintainer scripts are the systemd ones.
func TestDeb(t *testing.T) {
	t.Parallel()
	need(t, "dpkg", "dpkg-deb")
	deb := one(t, packages(t), "sersync2_9.8.7.test_*.deb")

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
	// rsync is a dependency the scratch root does not have; the scripts
	// run outside it and find no systemd to talk to.
	run(t, "", "dpkg", "--root="+root, "--force-not-root", "--force-depends", "--force-script-chrootless", "--log=/dev/null", "-i", deb)

	installed(t, root, append(shipped, "etc/default/sersync2", "usr/share/doc/sersync2/copyright"))
	cf, _ := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info/sersync2.conffiles"))
	conffiles := strings.Fields(string(cf))
	slices.Sort(conffiles)
	if !slices.Equal(conffiles, []string{"/etc/default/sersync2", "/etc/logrotate.d/sersync2", "/etc/sersync/confxml.xml"}) {
		t.Errorf("conffiles = %q", cf)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		got, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info/sersync2."+s))
		if err != nil {
			t.Fatalf("no %s: %v", s, err)
		}
		want, _ := os.ReadFile(filepath.Join("scripts", "deb-"+s+".sh"))
		if string(got) != string(want) {
			t.Errorf("installed %s is not scripts/deb-%s.sh", s, s)
		}
	}
	info := run(t, "", "dpkg-deb", "--field", deb, "Maintainer")
	if strings.Contains(info, "localhost") || !strings.Contains(info, "@") {
		t.Errorf("Maintainer = %q", info)
	}
	if cr, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/sersync2/copyright")); !strings.Contains(string(cr), "License: Apache-2.0") {
		t.Error("the copyright file does not name Apache-2.0")
	}
}

// TestRPM: make rpm builds a package whose file list, config files,
// license and scriptlets are the ones of nfpm.yaml, and that rpm installs
// into a scratch root.
func TestRPM(t *testing.T) {
	t.Parallel()
	need(t, "rpm")
	pkg := one(t, packages(t), "sersync2-9.8.7.test-1.*.rpm")

	list := strings.Fields(run(t, "", "rpm", "-qpl", pkg))
	for _, f := range append(shipped, "etc/sysconfig/sersync2", "usr/share/licenses/sersync2/LICENSE") {
		if !slices.Contains(list, "/"+f) {
			t.Errorf("rpm -qpl lacks /%s: %v", f, list)
		}
	}
	if slices.Contains(list, "/etc/default/sersync2") || slices.Contains(list, "/usr/share/doc/sersync2/copyright") {
		t.Errorf("the RPM carries the .deb's files: %v", list)
	}
	if cf := strings.Fields(run(t, "", "rpm", "-qpc", pkg)); !slices.Equal(cf, []string{"/etc/logrotate.d/sersync2", "/etc/sersync/confxml.xml", "/etc/sysconfig/sersync2"}) {
		t.Errorf("rpm -qpc = %v", cf)
	}
	scripts := run(t, "", "rpm", "-qp", "--scripts", pkg)
	for _, s := range []string{"post", "preun", "postun"} {
		body, _ := os.ReadFile(filepath.Join("scripts", "rpm-"+s+".sh"))
		if !strings.Contains(scripts, strings.TrimSpace(string(body))) {
			t.Errorf("rpm --scripts lacks scripts/rpm-%s.sh:\n%s", s, scripts)
		}
	}
	if lic := run(t, "", "rpm", "-qp", "--queryformat", "%{LICENSE} %{PACKAGER}", pkg); !strings.HasPrefix(lic, "Apache-2.0 ") || strings.Contains(lic, "localhost") {
		t.Errorf("license and packager = %q", lic)
	}

	root := t.TempDir()
	run(t, "", "rpm", "--root", root, "--initdb")
	// The scratch root has no shell for the scriptlets, nor rsync;
	// TestScripts runs the scriptlets.
	run(t, "", "rpm", "--root", root, "-i", "--nodeps", "--noscripts", pkg)
	installed(t, root, append(shipped, "etc/sysconfig/sersync2", "usr/share/licenses/sersync2/LICENSE"))
	if got := strings.TrimSpace(run(t, "", "rpm", "--root", root, "-q", "sersync2")); got != "sersync2-9.8.7.test-1.x86_64" && !strings.HasPrefix(got, "sersync2-9.8.7.test-1.") {
		t.Errorf("rpm -q = %q", got)
	}
}

// installed checks that root holds files, that sersync2 --version runs
// from it and that the man page is sersync2's.
func installed(t *testing.T, root string, files []string) {
	t.Helper()
	for _, f := range files {
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
	if out := run(t, "", filepath.Join(root, "usr/bin/sersync2"), "--version"); !strings.HasPrefix(strings.TrimSpace(out), "sersync2 v9.8.7-test") {
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
	for _, want := range []string{".TH SERSYNC2 8", `\-\-status\-addr`, "SIGHUP", "EXIT STATUS", "Apache License"} {
		if !strings.Contains(string(man), want) {
			t.Errorf("man page lacks %s", want)
		}
	}
}

// TestScripts runs every maintainer script as dpkg and rpm call it, with a
// systemctl that records its arguments: installs reload systemd, upgrades
// restart running instances, removals stop them; nothing is started on a
// fresh install. Without systemctl every script succeeds doing nothing.
func TestScripts(t *testing.T) {
	t.Parallel()
	need(t, "sh")
	const (
		reload  = "daemon-reload"
		restart = "try-restart sersync2.service sersync2@*.service"
		stop    = "stop sersync2.service sersync2@*.service"
	)
	tests := []struct {
		script string
		args   []string
		want   []string
	}{
		{"deb-postinst.sh", []string{"configure", ""}, []string{reload}},
		{"deb-postinst.sh", []string{"configure", "1.0.0"}, []string{reload, restart}},
		{"deb-postinst.sh", []string{"abort-upgrade", "1.0.0"}, nil},
		{"deb-prerm.sh", []string{"remove"}, []string{stop}},
		{"deb-prerm.sh", []string{"upgrade", "2.0.0"}, nil},
		{"deb-postrm.sh", []string{"remove"}, []string{reload}},
		{"deb-postrm.sh", []string{"purge"}, []string{reload}},
		{"deb-postrm.sh", []string{"upgrade", "2.0.0"}, nil},
		{"rpm-post.sh", []string{"1"}, []string{reload}},
		{"rpm-post.sh", []string{"2"}, []string{reload}},
		{"rpm-preun.sh", []string{"0"}, []string{stop}},
		{"rpm-preun.sh", []string{"1"}, nil},
		{"rpm-postun.sh", []string{"0"}, []string{reload}},
		{"rpm-postun.sh", []string{"1"}, []string{reload, restart}},
	}
	for _, tt := range tests {
		t.Run(tt.script+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			bin := t.TempDir()
			calls := filepath.Join(bin, "calls")
			stub := "#!/bin/sh\necho \"$*\" >> " + calls + "\n"
			if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(stub), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{bin + ":/usr/bin:/bin", "/nonexistent"} {
				cmd := exec.Command("/bin/sh", append([]string{filepath.Join("scripts", tt.script)}, tt.args...)...)
				cmd.Env = []string{"PATH=" + path}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("PATH=%s: %v\n%s", path, err, out)
				}
			}
			b, _ := os.ReadFile(calls)
			var got []string
			if s := strings.TrimSpace(string(b)); s != "" {
				got = strings.Split(s, "\n")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("systemctl calls = %q, want %q", got, tt.want)
			}
		})
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
