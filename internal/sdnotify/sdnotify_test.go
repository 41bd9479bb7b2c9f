package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestNotifySystemd: READY=1 reaches a real unixgram socket named by
// NOTIFY_SOCKET; without it nothing is sent and nothing fails.
func TestNotifySystemd(t *testing.T) {
	l, sock := listen(t)
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v", err)
	}
	t.Setenv("NOTIFY_SOCKET", sock)
	if err := Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = l.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := l.ReadFromUnix(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Fatalf("got %q, %v; want READY=1", buf[:n], err)
	}
}

// TestReady: READY=1 is sent at once, STOPPING=1 when the context ends.
func TestReady(t *testing.T) {
	l, sock := listen(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	_ = l.SetReadDeadline(time.Now().Add(5 * time.Second))
	read := func() string {
		buf := make([]byte, 64)
		n, _, err := l.ReadFromUnix(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "READY=1" {
		t.Fatalf("first %q, want READY=1", got)
	}
	cancel()
	if got := read(); got != "STOPPING=1" {
		t.Fatalf("then %q, want STOPPING=1", got)
	}
}

// listen opens a unixgram socket as systemd's, closed when the test ends.
func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, sock
}
