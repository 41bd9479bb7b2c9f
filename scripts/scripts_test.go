package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubs writes executable shell scripts named by the keys into a new
// directory and returns it.
func stubs(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAptInstallStartsNoService: while apt-get installs, a policy-rc.d
// forbids starting services (exit 101), and it is gone afterwards; an
// operator's own policy-rc.d is left alone; nothing is installed when
// nothing is missing.
func TestAptInstallStartsNoService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		installed bool   // dpkg-query says every package is installed
		ownPolicy string // an existing policy-rc.d, "" for none
		wantCalls string
	}{
		{name: "missing packages", wantCalls: "update policy=101\ninstall -y --no-install-recommends rsync prometheus policy=101\n"},
		{name: "operator's policy-rc.d", ownPolicy: "#!/bin/sh\nexit 0\n", wantCalls: "update policy=0\ninstall -y --no-install-recommends rsync prometheus policy=0\n"},
		{name: "nothing missing", installed: true, wantCalls: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			policy, calls := filepath.Join(work, "policy-rc.d"), filepath.Join(work, "calls")
			status := "exit 1"
			if tt.installed {
				status = "echo 'install ok installed'"
			}
			bin := stubs(t, map[string]string{
				"dpkg-query": status + "\n",
				// apt-get records its arguments and what policy-rc.d answers
				// at that moment.
				"apt-get": `"$POLICY_RC_D" start ssh; echo "$* policy=$?" >> ` + calls + "\n",
				"sudo":    `exec "$@"` + "\n",
			})
			if tt.ownPolicy != "" {
				if err := os.WriteFile(policy, []byte(tt.ownPolicy), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("/bin/sh", "apt-install.sh", "rsync", "prometheus")
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "POLICY_RC_D=" + policy}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("apt-install.sh: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(calls)
			if string(got) != tt.wantCalls {
				t.Errorf("apt-get calls:\n%s\nwant:\n%s", got, tt.wantCalls)
			}
			left, err := os.ReadFile(policy)
			switch {
			case tt.ownPolicy != "" && string(left) != tt.ownPolicy:
				t.Errorf("the operator's policy-rc.d was changed: %q", left)
			case tt.ownPolicy == "" && err == nil:
				t.Errorf("policy-rc.d left behind: %q", left)
			}
		})
	}
}

// TestNeedGo: a missing go, or one older than go.mod's with
// GOTOOLCHAIN=local, fails with a message that says how to get it; the go
// that runs this test passes.
func TestNeedGo(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, l := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			want = v
		}
	}
	old := stubs(t, map[string]string{"go": `case "$2" in GOVERSION) echo go1.21.0;; GOTOOLCHAIN) echo local;; esac` + "\n"})
	tests := []struct {
		name    string
		goCmd   string
		ok      bool
		message string
	}{
		{"missing", filepath.Join(t.TempDir(), "go"), false, "GOTOOLCHAIN=go" + want + "+auto"},
		{"too old, local toolchain only", filepath.Join(old, "go"), false, "is 1.21.0"},
		{"this one", "go", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "scripts/need-go.sh", tt.goCmd)
			cmd.Dir = ".."
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok {
				t.Fatalf("need-go.sh %s: %v\n%s", tt.goCmd, err, out)
			}
			if !strings.Contains(string(out), tt.message) || !tt.ok && !strings.Contains(string(out), want) {
				t.Errorf("message %q lacks %q or %s", out, tt.message, want)
			}
		})
	}
}
