package failog

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStateSequence: first start, clean stop, unclean stop, garbage.
func TestStateSequence(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "state", "s.state")
	steps := []struct {
		name      string
		clean     bool // MarkClean before Close
		prepare   string
		wantFirst bool
		unclean   bool
	}{
		{name: "first start", wantFirst: true, clean: true},
		{name: "after a clean stop"},
		{name: "after an unclean stop", unclean: true, clean: true},
		{name: "garbage", prepare: "\x00\x01zz", unclean: true, clean: true},
		{name: "clean again"},
	}
	for _, s := range steps {
		if s.prepare != "" {
			if err := os.WriteFile(p, []byte(s.prepare), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		st, prev, err := OpenState(p)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if prev.Unclean != s.unclean || prev.First != s.wantFirst || prev.Detail == "" {
			t.Fatalf("%s: previous %+v", s.name, prev)
		}
		if m := mode(t, p); m != 0o600 {
			t.Fatalf("%s: mode %04o", s.name, m)
		}
		if got := readFile(t, p); !strings.HasPrefix(got, "running pid=") {
			t.Fatalf("%s: content %q", s.name, got)
		}
		if s.clean {
			if err := st.MarkClean(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, p); !strings.HasPrefix(got, "clean pid=") {
				t.Fatalf("%s: content after MarkClean %q", s.name, got)
			}
		}
		st.Close()
	}
}

// TestStateFileName: one state file per configuration file.
func TestStateFileName(t *testing.T) {
	t.Parallel()
	a, b := StateFile("/var/lib/sersync2", "/etc/a.xml"), StateFile("/var/lib/sersync2", "/etc/b.xml")
	if a == b || filepath.Dir(a) != "/var/lib/sersync2" || !strings.HasSuffix(a, ".state") {
		t.Fatalf("%s, %s", a, b)
	}
	if StateFile("/d", "/etc/a.xml") != StateFile("/d", "/etc/../etc/a.xml") {
		t.Fatal("the same file under two spellings gets two state files")
	}
}

// TestStateHelper is the child process of TestStateKill: it opens the
// state file named by FAILOG_STATE_HELPER, says "ready" and waits to be
// killed, or with FAILOG_STATE_CLEAN=1 stops cleanly.
func TestStateHelper(t *testing.T) {
	p := os.Getenv("FAILOG_STATE_HELPER")
	if p == "" {
		t.Skip("helper process of TestStateKill (run by it, with FAILOG_STATE_HELPER set)")
	}
	st, _, err := OpenState(p)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	if os.Getenv("FAILOG_STATE_CLEAN") == "1" {
		if err := st.MarkClean(); err != nil {
			os.Exit(1)
		}
		st.Close()
		os.Exit(0)
	}
	select {} // until killed
}

// TestStateKill: a real process holding the state file is killed with
// SIGKILL; while it runs the file is locked, and the next start knows the
// stop was unclean. A process that stops cleanly leaves a clean state.
func TestStateKill(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "s.state")
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateHelper$")
		cmd.Env = append(os.Environ(), "FAILOG_STATE_HELPER="+p)
		if clean {
			cmd.Env = append(cmd.Env, "FAILOG_STATE_CLEAN=1")
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper said %q, %v", line, err)
		}
		if !clean {
			if _, _, err := OpenState(p); !errors.Is(err, ErrStateLocked) {
				t.Fatalf("state file opened twice: %v", err)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		err = cmd.Wait()
		if clean && err != nil {
			t.Fatalf("helper: %v", err)
		}
		// The kernel drops the dead process's lock once it is reaped; poll
		// with a deadline all the same.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, prev, err := OpenState(p)
			if errors.Is(err, ErrStateLocked) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if prev.Unclean == clean {
				t.Fatalf("clean stop %v: previous %+v", clean, prev)
			}
			st.Close()
			break
		}
	}
}
