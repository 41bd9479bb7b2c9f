package rsyncd

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func push(t *testing.T, d *Daemon, module, passwordFile string) (string, error) {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := d.IP + "::" + module
	if d.User != "" {
		dest = d.User + "@" + dest
	}
	args := []string{"-a", "--port=" + strconv.Itoa(d.Port), "./", dest}
	if passwordFile != "" {
		args = append(args, "--password-file="+passwordFile)
	}
	cmd := exec.Command("rsync", args...)
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -2
}

func TestAuthDaemon(t *testing.T) {
	d := StartT(t, Options{Auth: true, Modules: []string{"www", "two"}})
	if d.IP != "127.0.0.1" || d.Port == 0 || d.User == "" || d.PasswordFile == "" {
		t.Fatalf("incomplete daemon: %+v", d)
	}
	fi, err := os.Stat(d.PasswordFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	if out, err := push(t, d, "two", d.PasswordFile); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(d.ModuleDir("two"), "f.txt"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("module content: %q %v", got, err)
	}
	if n, err := d.Transfers("two", "f.txt"); err != nil || n != 1 {
		log, _ := os.ReadFile(d.LogFile)
		t.Fatalf("Transfers(two, f.txt) = %d, %v; want 1\nlog:\n%s", n, err, log)
	}
	if n, _ := d.Transfers("www", "f.txt"); n != 0 {
		t.Fatalf("Transfers(www, f.txt) = %d, want 0", n)
	}

	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := push(t, d, "www", bad)
	if code := exitCode(err); code != 5 || !strings.Contains(out, "auth failed") {
		t.Fatalf("wrong password: code %d, output %q; want 5 and auth failed", code, out)
	}
}

func TestStopRestartClose(t *testing.T) {
	d, err := Start(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if out, err := push(t, d, "www", ""); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	pid := d.proc.cmd.Process.Pid
	port := d.Port

	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if d.Running() {
		t.Fatal("running after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("daemon pid %d still exists after Stop: %v", pid, err)
	}
	out, err := push(t, d, "www", "")
	if code := exitCode(err); code != 10 {
		t.Fatalf("push to stopped daemon: code %d (%v), want 10\n%s", code, err, out)
	}

	if err := d.Restart(); err != nil {
		t.Fatal(err)
	}
	if d.Port != port {
		t.Fatalf("restart moved the port: %d -> %d", port, d.Port)
	}
	if out, err := push(t, d, "www", ""); err != nil {
		t.Fatalf("push after restart: %v\n%s", err, out)
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := d.Restart(); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Restart after Close: %v, want ErrNotRunning", err)
	}
	conn, err := net.DialTimeout("tcp", d.Addr(), time.Second)
	if err == nil {
		conn.Close()
		t.Fatal("port still accepts connections after Close")
	}
}

func TestConfig(t *testing.T) {
	d := StartT(t, Options{Auth: true, User: "u1", Password: "p1"})
	conf, err := os.ReadFile(d.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"use chroot = no", "read only = no", "auth users = u1", "strict modes = yes", "[www]"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if (os.Geteuid() == 0) != bytes.Contains(conf, []byte("uid = root")) {
		t.Errorf("uid = root must be set exactly when running as root:\n%s", conf)
	}
	pw, err := os.ReadFile(d.PasswordFile)
	if err != nil || string(pw) != "p1\n" {
		t.Fatalf("password file %q %v", pw, err)
	}
	if _, err := Start(t.TempDir(), Options{Modules: []string{"bad]name"}}); err == nil {
		t.Fatal("bad module name accepted")
	}
}

// TestSetReadOnly: a module made read-only refuses the next upload without
// a restart, and takes uploads again once switched back.
func TestSetReadOnly(t *testing.T) {
	d := StartT(t, Options{Auth: true})
	if out, err := push(t, d, "www", d.PasswordFile); err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	if err := d.SetReadOnly("www", true); err != nil {
		t.Fatal(err)
	}
	if out, err := push(t, d, "www", d.PasswordFile); exitCode(err) == 0 {
		t.Fatalf("push to a read-only module succeeded\n%s", out)
	} else {
		t.Logf("read-only module: %v: %s", err, out)
	}
	if err := d.SetReadOnly("www", false); err != nil {
		t.Fatal(err)
	}
	if out, err := push(t, d, "www", d.PasswordFile); err != nil {
		t.Fatalf("push after read-only ended: %v\n%s", err, out)
	}
}
