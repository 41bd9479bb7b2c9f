package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoginAndRsync(t *testing.T) {
	s := StartT(t)
	sshArgs := strings.Fields(s.SSHCommand())
	out, err := exec.Command(sshArgs[0], append(sshArgs[1:], s.User+"@"+s.IP, "echo", "hello-from-sshd")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello-from-sshd") {
		t.Fatalf("ssh login: %v\n%s", err, out)
	}

	src, dst := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("over ssh"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("rsync", "-a", "-e", s.SSHCommand(), "./", s.User+"@"+s.IP+":"+dst)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rsync over ssh: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(dst, "f")); err != nil || string(got) != "over ssh" {
		t.Fatalf("remote content %q %v", got, err)
	}
}

// TestLoginShell: with Options.LoginShell, commands are run by that
// shell, as for a user whose login shell it is.
func TestLoginShell(t *testing.T) {
	tcsh, err := exec.LookPath("tcsh")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	s := StartTWith(t, Options{LoginShell: tcsh})
	sshArgs := strings.Fields(s.SSHCommand())
	// $version is set by tcsh only.
	out, err := exec.Command(sshArgs[0], append(sshArgs[1:], s.User+"@"+s.IP, "echo $version")...).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tcsh ") {
		t.Fatalf("ssh: %v\n%s", err, out)
	}
}

func TestCloseStopsServer(t *testing.T) {
	s := StartT(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	sshArgs := strings.Fields(s.SSHCommand())
	out, err := exec.Command(sshArgs[0], append(sshArgs[1:], s.User+"@"+s.IP, "true")...).CombinedOutput()
	if err == nil {
		t.Fatalf("ssh to a closed server succeeded: %s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 255 {
		t.Fatalf("ssh to a closed server: %v, want exit 255", err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/k":    "/tmp/k",
		"/tmp/a b":  "'/tmp/a b'",
		"/tmp/it's": `'/tmp/it'\''s'`,
		"":          "''",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
}
