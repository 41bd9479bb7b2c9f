package status

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/poll"
)

// TestOpen: Open takes the address only when the token file is usable,
// refuses an address other hosts can reach unless public, and without an
// address opens nothing.
func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, loose := filepath.Join(dir, "good"), filepath.Join(dir, "loose")
	for p, mode := range map[string]os.FileMode{good: 0o600, loose: 0o644} {
		if err := os.WriteFile(p, []byte("tok-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, addr, tokenFile string
		public                bool
		open                  bool  // an Endpoint is returned
		err                   error // nil: none; errAny: any
	}{
		{"no address", "", "", false, false, nil},
		{"loopback", "127.0.0.1:0", good, false, true, nil},
		{"other hosts refused", "0.0.0.0:0", "", false, false, errNotLoopback},
		{"other hosts allowed", "0.0.0.0:0", "", true, true, nil},
		{"address taken", busy.Addr().String(), "", false, false, errAny},
		{"token file readable by others", "127.0.0.1:0", loose, false, false, ErrTokenFileMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := Open(tt.addr, tt.public, tt.tokenFile)
			t.Cleanup(ep.Close) // nil-safe: an error leaves no endpoint
			if (ep != nil) != tt.open || (err == nil) != (tt.err == nil) || tt.err != nil && tt.err != errAny && !errors.Is(err, tt.err) {
				t.Errorf("Open = %v, %v; want an endpoint %v, error %v", ep, err, tt.open, tt.err)
			}
			if ep != nil && tt.tokenFile == good && ep.token != "tok-1" {
				t.Errorf("token %q", ep.token)
			}
		})
	}
}

// TestStart: Start serves the status on the endpoint, asking for its
// token, and writes the status file; stop ends both and gives the
// address up.
func TestStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile, file := filepath.Join(dir, "token"), filepath.Join(dir, "status")
	if err := os.WriteFile(tokenFile, []byte("tok-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ep, err := Open("127.0.0.1:0", false, tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	addr := ep.ln.Addr().String()
	stop := Start(context.Background(), fixedSample(time.Now()), ep, file, 10*time.Millisecond, Options{})
	if _, err := FetchPending(addr, ""); !errors.Is(err, ErrTokenRefused) {
		t.Errorf("without the token: %v, want %v", err, ErrTokenRefused)
	}
	if r, err := FetchPending(addr, "tok-2"); err != nil || len(r.Remotes) != 2 {
		t.Errorf("with the token: %+v, %v", r.Remotes, err)
	}
	poll.Until(t, 10*time.Second, "the status file", func() (bool, string) {
		_, err := os.Stat(file)
		return err == nil, ""
	})
	stop()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still answers after stop", addr)
	}
}
