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
			for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "ExecStart=/usr/bin/sersync2 "} {
				if !strings.Contains(unit, want) {
					t.Errorf("%s lacks %s", tt.file, want)
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
