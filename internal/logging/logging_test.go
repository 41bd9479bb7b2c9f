package logging

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "INFO", true}, {"debug", "DEBUG", true}, {"INFO", "INFO", true}, {"warn", "WARN", true}, {"error", "ERROR", true},
		{"verbose", "", false}, {"warning", "", false}, {"info+2", "", false},
	}
	for _, tt := range tests {
		l, err := ParseLevel(tt.in)
		if (err == nil) != tt.ok || tt.ok && l.String() != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v", tt.in, l, err)
		}
		if !tt.ok && !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
			t.Errorf("error %q does not name the value", err)
		}
	}
	if _, err := New(Options{Level: "loud"}); err == nil {
		t.Error("New accepted --log-level loud")
	}
}

// TestLogFile: the file is appended to with mode 0640, a symbolic link at
// its path is refused and its target untouched, and Reopen after a
// rotation writes to a new file at the path.
func TestLogFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sersync2.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{File: path, Stderr: failWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Info("first", "k", "v")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Info("still the rotated file")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Warn("after reopen")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(old), "earlier line\n") || !strings.Contains(string(old), "msg=first k=v") || !strings.Contains(string(old), "msg=\"still the rotated file\"") {
		t.Errorf("rotated file:\n%s", old)
	}
	if !strings.Contains(string(cur), "level=WARN msg=\"after reopen\"") || strings.Contains(string(cur), "first") {
		t.Errorf("new file:\n%s", cur)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %v, want 0640", st.Mode().Perm())
	}

	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{File: link}); err == nil {
		t.Error("a symbolic link was opened as the log file")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen followed a symbolic link")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// TestJournal: with stderr connected to the journal (JOURNAL_STREAM names
// its device and inode), each line starts with its syslog priority and has
// no timestamp; with another stream named, lines are plain.
func TestJournal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, stream string
		want         []string
	}{
		{"journal", strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(st.Ino, 10),
			[]string{"<7>level=DEBUG msg=d", "<6>level=INFO msg=i", "<4>level=WARN msg=w", "<3>level=ERROR msg=e"}},
		{"another stream", strconv.FormatUint(uint64(st.Dev), 10) + ":1", []string{"time=", "level=DEBUG msg=d"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", tt.stream)
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			l, err := New(Options{Level: "debug", Stderr: f})
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("d")
			l.With("root", "/data").Info("i")
			l.Warn("w")
			l.Error("e")
			b, _ := os.ReadFile(f.Name())
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("log lacks %q:\n%s", w, b)
				}
			}
			if tt.name == "journal" && (strings.Contains(string(b), "time=") || !strings.Contains(string(b), "<6>level=INFO msg=i root=/data\n")) {
				t.Errorf("journal lines:\n%s", b)
			}
		})
	}
}

// TestSyslog: records reach a syslog socket with facility daemon, the
// priority of their level and the tag sersync2; with a log file as well,
// both get them.
func TestSyslog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	file := filepath.Join(dir, "sersync2.log")
	l, err := New(Options{Syslog: true, SyslogAddr: sock, File: file, Stderr: failWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Error("rsync failed", "remote", "10.0.0.2::www")
	l.Info("synced")
	var got []string
	buf := make([]byte, 4096)
	for range 2 {
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	// daemon (3) * 8 + err (3) = 27; + info (6) = 30.
	if !strings.HasPrefix(got[0], "<27>") || !strings.Contains(got[0], "sersync2[") || !strings.Contains(got[0], `msg="rsync failed" remote=10.0.0.2::www`) || strings.Contains(got[0], "time=") {
		t.Errorf("syslog message %q", got[0])
	}
	if !strings.HasPrefix(got[1], "<30>") || !strings.Contains(got[1], "msg=synced") {
		t.Errorf("syslog message %q", got[1])
	}
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "msg=\"rsync failed\"") || !strings.Contains(string(b), "msg=synced") {
		t.Errorf("log file:\n%s", b)
	}
}

// failWriter fails the test when anything is written to it.
type failWriter struct{ t *testing.T }

func (f failWriter) Write(b []byte) (int, error) {
	f.t.Errorf("written to stderr: %q", b)
	return len(b), nil
}
