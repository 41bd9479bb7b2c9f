package status

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/outbuf"
)

// slowLimits are limits no test reaches unless it sets one field lower.
var slowLimits = limits{readHeader: time.Minute, read: time.Minute, write: time.Minute, idle: time.Minute, conns: 100}

// runServer serves a fixed state on a new listener at addr with o and lim
// until the test ends, and returns the address to dial and the log.
func runServer(t *testing.T, addr string, o Options, lim limits) (string, *outbuf.Buffer) {
	t.Helper()
	logBuf := &outbuf.Buffer{}
	o.Log = slog.New(slog.NewTextHandler(logBuf, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := New(fixedSample(time.Now()), o).withLimits(lim)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, "", 0) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort("127.0.0.1", port), logBuf
}

// dial opens a raw connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends GET /status on c (kept alive) and reads the response
// within d.
func exchange(c net.Conn, br *bufio.Reader, d time.Duration) (*http.Response, error) {
	if _, err := io.WriteString(c, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return nil, err
	}
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

// get10 sends one HTTP/1.0 GET of path with the header lines head on a new
// connection to addr and returns the response, its body read.
func get10(t *testing.T, addr, path string, head ...string) *http.Response {
	t.Helper()
	c := dial(t, addr)
	req := "GET " + path + " HTTP/1.0\r\n"
	for _, h := range head {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestServerConnectionCap: with room for two connections, a third one is
// not served while the two stay open, and is served as soon as one
// closes.
func TestServerConnectionCap(t *testing.T) {
	t.Parallel()
	lim := slowLimits
	lim.conns = 2
	addr, _ := runServer(t, "127.0.0.1:0", Options{}, lim)
	var held []net.Conn
	for range 2 {
		c := dial(t, addr)
		if resp, err := exchange(c, bufio.NewReader(c), 10*time.Second); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection within the cap: %v, %v", resp, err)
		}
		held = append(held, c)
	}
	third := dial(t, addr)
	br := bufio.NewReader(third)
	// A negative check needs a window: the third connection must not be
	// answered within it.
	resp, err := exchange(third, br, 300*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("third connection over a cap of 2: %v, %v; want no answer", resp, err)
	}
	held[0].Close()
	if err := third.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third connection after one closed: %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
}

// TestServerDropsSlowAndIdle: a connection whose request header never
// ends, or that idles after a request, is closed by the server after the
// timeout; the client's own deadline is far longer.
func TestServerDropsSlowAndIdle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		set   func(*limits)
		start func(t *testing.T, c net.Conn)
	}{
		{"header never ends", func(l *limits) { l.readHeader = 200 * time.Millisecond }, func(t *testing.T, c net.Conn) {
			if _, err := io.WriteString(c, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
				t.Fatal(err)
			}
		}},
		{"request never ends", func(l *limits) { l.read = 200 * time.Millisecond }, func(t *testing.T, c net.Conn) {
			if _, err := io.WriteString(c, "POST /status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nx"); err != nil {
				t.Fatal(err)
			}
		}},
		{"idle after a request", func(l *limits) { l.idle = 200 * time.Millisecond }, func(t *testing.T, c net.Conn) {
			if resp, err := exchange(c, bufio.NewReader(c), 10*time.Second); err != nil || resp.StatusCode != 200 {
				t.Fatalf("request: %v, %v", resp, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim := slowLimits
			tt.set(&lim)
			addr, _ := runServer(t, "127.0.0.1:0", Options{}, lim)
			c := dial(t, addr)
			tt.start(t, c)
			if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := io.ReadAll(c) // returns when the server closes
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection for %v", time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// TestServerHostCheck: on a loopback address only requests for localhost
// or a loopback address are served (a DNS-rebound name gets 421); on a
// public address any Host is, and a warning says it is open.
func TestServerHostCheck(t *testing.T) {
	t.Parallel()
	loop, loopLog := runServer(t, "127.0.0.1:0", Options{}, slowLimits)
	public, publicLog := runServer(t, "0.0.0.0:0", Options{}, slowLimits)
	_, port, _ := net.SplitHostPort(loop)
	tests := []struct {
		addr, host string
		want       int
	}{
		{loop, "127.0.0.1:" + port, 200},
		{loop, "127.0.0.1", 200},
		{loop, "localhost:" + port, 200},
		{loop, "LocalHost", 200},
		{loop, "[::1]:" + port, 200},
		{loop, "[::1]", 200},
		{loop, "127.0.0.2:80", 200},
		{loop, "evil.example", 421},
		{loop, "evil.example:" + port, 421},
		{loop, "127.0.0.1.evil.example", 421},
		{loop, "localhost.evil.example:" + port, 421},
		{loop, "10.0.0.1", 421},
		{loop, "", 421}, // HTTP/1.0 without a Host header
		{public, "evil.example", 200},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			var head []string
			if tt.host != "" {
				head = []string{"Host: " + tt.host}
			}
			if resp := get10(t, tt.addr, "/status", head...); resp.StatusCode != tt.want {
				t.Errorf("Host %q on %s: %s, want %d", tt.host, tt.addr, resp.Status, tt.want)
			}
		})
	}
	const warning = "status server reachable from other hosts without authentication"
	if strings.Contains(loopLog.String(), warning) || !strings.Contains(publicLog.String(), warning) {
		t.Errorf("warning on loopback: %q; on 0.0.0.0: %q", loopLog.String(), publicLog.String())
	}
}

// TestServerToken: with a token, every path answers 401 to a request
// without it or with a wrong one, and serves a request with it; no
// warning is logged on a public address then.
func TestServerToken(t *testing.T) {
	t.Parallel()
	const tok = "tok-3f9a"
	addr, log := runServer(t, "0.0.0.0:0", Options{Token: tok}, slowLimits)
	tests := []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Bearer", 401},
		{"Bearer ", 401},
		{"Bearer wrong", 401},
		{"Bearer tok-3f9", 401},
		{"Bearer tok-3f9a0", 401},
		{"Basic dTp0b2stM2Y5YQ==", 401}, // u:tok-3f9a
		{"Token tok-3f9a", 401},
		{"Bearer tok-3f9a", 200},
		{"bearer tok-3f9a", 200},
	}
	for _, path := range []string{"/", "/status", "/metrics", "/nothing"} {
		for _, tt := range tests {
			head := []string{"Host: " + addr}
			if tt.auth != "" {
				head = append(head, "Authorization: "+tt.auth)
			}
			resp := get10(t, addr, path, head...)
			want := tt.want
			if want == 200 && path == "/nothing" {
				want = 404
			}
			if resp.StatusCode != want || (want == 401) != (resp.Header.Get("WWW-Authenticate") != "") {
				t.Errorf("%s with %q: %s (WWW-Authenticate %q), want %d", path, tt.auth, resp.Status, resp.Header.Get("WWW-Authenticate"), want)
			}
		}
	}
	if strings.Contains(log.String(), "without authentication") {
		t.Errorf("warning with a token: %s", log.String())
	}
}

func TestReadToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		dir     bool
		want    string
		err     error
	}{
		{name: "0600 with newline", content: "tok-1\n", mode: 0o600, want: "tok-1"},
		{name: "0640 group may read", content: "  tok-2 \r\n", mode: 0o640, want: "tok-2"},
		{name: "0400", content: "tok-3", mode: 0o400, want: "tok-3"},
		{name: "0644 world-readable", content: "tok", mode: 0o644, err: ErrTokenFileMode},
		{name: "0602 world-writable", content: "tok", mode: 0o602, err: ErrTokenFileMode},
		{name: "empty", content: "\n", mode: 0o600, err: ErrBadToken},
		{name: "two words", content: "a b\n", mode: 0o600, err: ErrBadToken},
		{name: "two lines", content: "a\nb\n", mode: 0o600, err: ErrBadToken},
		{name: "too big", content: strings.Repeat("x", maxTokenFile+1), mode: 0o600, err: ErrBadToken},
		{name: "directory", dir: true, err: ErrBadToken},
		{name: "missing", err: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "token")
			switch {
			case tt.dir:
				if err := os.Mkdir(p, 0o700); err != nil {
					t.Fatal(err)
				}
			case tt.mode != 0:
				if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadToken(p)
			if got != tt.want || (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("ReadToken = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
