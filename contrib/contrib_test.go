package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need returns the path of tool, or skips (fails with
// SERSYNC_TEST_NO_SKIP=1) when it is not installed.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		msg := tool + " not installed (Debian package " + pkg + ", make deps installs it)"
		if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// TestSystemdUnits: systemd-analyze verify accepts both units, with
// /usr/bin/sersync2 replaced by an executable stand-in (the test does not
// install the binary).
func TestSystemdUnits(t *testing.T) {
	t.Parallel()
	analyze := need(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "sersync2")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ file, as string }{
		{"sersync2.service", "sersync2.service"},
		{"sersync2@.service", "sersync2@www.service"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("systemd", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			unit := string(b)
			for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "ExecStart=/usr/bin/sersync2 ",
				// SIGTERM to sersync2 alone, so running rsyncs may finish.
				"KillMode=mixed\n",
				"TimeoutStartSec=", "WorkingDirectory=/var/lib/sersync2\n", "StateDirectory=sersync2\n",
				"RestartPreventExitStatus=", "EnvironmentFile=-/etc/default/sersync2\n", "EnvironmentFile=-/etc/sysconfig/sersync2\n",
				"$SERSYNC2_OPTS\n", "RequiresMountsFor="} {
				if !strings.Contains(unit, want) {
					t.Errorf("%s lacks %s", tt.file, want)
				}
			}
			// Under ProtectSystem=full only /usr, /boot and /etc are read-only:
			// a ReadWritePaths= elsewhere would promise what it does not do,
			// and a private /tmp would hide the stock failLog.
			for _, bad := range []string{"\nReadWritePaths=", "\nPrivateTmp=yes"} {
				if strings.Contains(unit, bad) {
					t.Errorf("%s has %s", tt.file, bad)
				}
			}
			p := filepath.Join(dir, tt.as)
			if err := os.WriteFile(p, []byte(strings.ReplaceAll(unit, "/usr/bin/sersync2", bin)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
			if err != nil || strings.Contains(string(out), tt.as) {
				t.Errorf("systemd-analyze verify %s: %v\n%s", tt.file, err, out)
			}
		})
	}
}

// TestLogrotate: logrotate accepts the rules for --log-file and rotates a
// log with them, running the postrotate command that sends SIGHUP.
func TestLogrotate(t *testing.T) {
	t.Parallel()
	logrotate := need(t, "logrotate", "logrotate")
	rules, err := os.ReadFile(filepath.Join("logrotate", "sersync2"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "www.log")
	if err := os.WriteFile(log, []byte("line\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	// The rules on the test's directory, with a systemctl that records
	// what it is asked, and without the owner change (the test's user may
	// not be in group adm).
	conf := strings.ReplaceAll(string(rules), "/var/log/sersync2/", dir+"/")
	conf = strings.ReplaceAll(conf, "create 0640 root adm", "create 0640")
	conf = strings.ReplaceAll(conf, "systemctl ", filepath.Join(dir, "systemctl")+" ")
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte("#!/bin/sh\necho \"$*\" > "+filepath.Join(dir, "calls")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rf := filepath.Join(dir, "rules")
	if err := os.WriteFile(rf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(logrotate, "--force", "--state", filepath.Join(dir, "state"), rf).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate: %v\n%s", err, out)
	}
	if _, err := os.Stat(log + ".1"); err != nil {
		t.Errorf("not rotated: %v\n%s", err, out)
	}
	if st, err := os.Stat(log); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("new log: %v %v", st, err)
	}
	if calls, _ := os.ReadFile(filepath.Join(dir, "calls")); string(calls) != "kill --kill-whom=main -s HUP sersync2.service sersync2@*.service\n" {
		t.Errorf("postrotate ran systemctl %q", calls)
	}
}

// TestAlertRules: promtool accepts the alerting rules, and they fire as
// prometheus/alerts_test.yml says.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	promtool := need(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "check", "rules", filepath.Join("prometheus", "alerts.yml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = "prometheus"
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// TestScrapeConfig: promtool accepts the example scrape job (with its
// bearer token file) and the rules it loads.
func TestScrapeConfig(t *testing.T) {
	t.Parallel()
	promtool := need(t, "promtool", "prometheus")
	dir := t.TempDir()
	for _, f := range []string{"prometheus.yml", "alerts.yml"} {
		b, err := os.ReadFile(filepath.Join("prometheus", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sersync2.token"), []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid prometheus config") {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}
