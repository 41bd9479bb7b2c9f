package plugins

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
)

// payloadServer is a real TCP listener that reads each connection to EOF
// and reports what it got, in the order the connections came.
type payloadServer struct {
	ln       net.Listener
	payloads chan string
	done     chan struct{}
	wg       sync.WaitGroup
}

func startPayloadServer(t *testing.T, network, addr string) *payloadServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	s := &payloadServer{ln: ln, payloads: make(chan string, 256), done: make(chan struct{})}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// One connection at a time, in accept order: the plugin
			// sends one change after the other.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(conn)
			conn.Close()
			p := string(b)
			if err != nil {
				p = "read error: " + err.Error()
			}
			select {
			case s.payloads <- p:
			case <-s.done:
				return
			}
		}
	})
	t.Cleanup(func() {
		ln.Close()
		close(s.done)
		s.wg.Wait()
	})
	return s
}

func (s *payloadServer) port(t *testing.T) int {
	t.Helper()
	return s.ln.Addr().(*net.TCPAddr).Port
}

func (s *payloadServer) next(t *testing.T) string {
	t.Helper()
	select {
	case p := <-s.payloads:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no connection reached the server")
		return ""
	}
}

func newTestSocket(t *testing.T, ip string, port int) *Socket {
	t.Helper()
	p, err := NewSocket(confxml.SocketPlugin{Present: true, Watch: "/data2/", IP: ip, Port: port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestSocketPayloadExact checks the original's wire format: one connection
// per change carrying exactly the path bytes, for updates and removes, for
// the "//" of a watch configured with a trailing slash, hostile names and a path far above the original's
// 2048-byte buffer.
func TestSocketPayloadExact(t *testing.T) {
	t.Parallel()
	srv := startPayloadServer(t, "tcp", "127.0.0.1:0")
	p := newTestSocket(t, "127.0.0.1", srv.port(t))

	changes := []Change{
		{Abs: AbsPath("/data2/", "s1.txt")},                // "//" update
		{Abs: AbsPath("/data2/", "s1.txt"), Removed: true}, // "//" remove
		{Abs: AbsPath("/data", ".hdir"), Dir: true},        // directory
		{Abs: "/" + strings.Repeat("d/", 2500) + "long"},   // > 2048 bytes (D-21)
	}
	for _, n := range hostileNames {
		changes = append(changes, Change{Abs: AbsPath("/tmp/w2/", "sd/"+n)})
	}
	if changes[0].Abs != "/data2//s1.txt" {
		t.Fatalf("AbsPath kept no double slash: %q", changes[0].Abs)
	}
	for _, c := range changes {
		if err := p.Handle(context.Background(), c); err != nil {
			t.Fatalf("Handle(%q): %v", c.Abs, err)
		}
		if got := srv.next(t); got != c.Abs {
			t.Errorf("payload %q, want exactly %q", got, c.Abs)
		}
	}
}

func TestSocketIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	srv := startPayloadServer(t, "tcp", "[::1]:0")
	p := newTestSocket(t, "::1", srv.port(t))
	if want := "[::1]:" + strconv.Itoa(srv.port(t)); p.Addr() != want {
		t.Errorf("Addr = %q, want %q", p.Addr(), want)
	}
	if err := p.Handle(context.Background(), Change{Abs: "/data/v6.txt"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.next(t); got != "/data/v6.txt" {
		t.Errorf("payload %q", got)
	}
}

func TestSocketConcurrent(t *testing.T) {
	t.Parallel()
	srv := startPayloadServer(t, "tcp", "127.0.0.1:0")
	p := newTestSocket(t, "127.0.0.1", srv.port(t))
	const n = 64
	var want []string
	for i := range n {
		want = append(want, "/data/f"+strconv.Itoa(i))
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, w := range want {
		wg.Go(func() { errs <- p.Handle(context.Background(), Change{Abs: w}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var got []string
	for range n {
		got = append(got, srv.next(t))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("payloads %q, want %q", got, want)
	}
}

// freePort returns a loopback port nobody listens on any more.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestSocketPeerDownThenBack: while nobody listens, Handle returns at
// once and the changes wait; a listener started later on the same port
// gets every one, in order (the original gave up after 0.1 s, silently).
func TestSocketPeerDownThenBack(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	log, logBuf := testLogger(t)
	p, err := NewSocket(confxml.SocketPlugin{Present: true, IP: "127.0.0.1", Port: port}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.maxBackoff = 20 * time.Millisecond
	var want []string
	for i := range 20 {
		want = append(want, "/data/f"+strconv.Itoa(i))
		if err := p.Handle(context.Background(), Change{Abs: want[i]}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "failed attempts", func() bool { return p.Stats().Failures >= 2 })
	if !strings.Contains(logBuf.String(), "socket peer unreachable") {
		t.Errorf("no warning while the peer is down:\n%s", logBuf.String())
	}
	srv := startPayloadServer(t, "tcp", "127.0.0.1:"+strconv.Itoa(port))
	var got []string
	for range want {
		got = append(got, srv.next(t))
	}
	if !slices.Equal(got, want) {
		t.Errorf("payloads %q, want %q in order", got, want)
	}
	waitFor(t, 10*time.Second, "every change counted as sent", func() bool { st := p.Stats(); return st.Sent == 20 && st.Queued == 0 })
	if st := p.Stats(); st.Dropped != 0 || !strings.Contains(logBuf.String(), "socket peer reachable again") {
		t.Errorf("Stats = %+v, log:\n%s", st, logBuf.String())
	}
}

// TestSocketBacklogDropsOldest: past SocketBacklog waiting changes the
// oldest go, counted; Handle never blocks.
func TestSocketBacklogDropsOldest(t *testing.T) {
	t.Parallel()
	p := newTestSocket(t, "127.0.0.1", freePort(t))
	p.backlog, p.flush = 3, time.Millisecond
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, errors.New("test: peer down")
	}
	for i := range 10 {
		if err := p.Handle(context.Background(), Change{Abs: "/data/f" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if st.Queued != 3 || st.Dropped != 7 {
		t.Errorf("Stats = %+v, want 3 queued and 7 dropped", st)
	}
	p.mu.Lock()
	q := slices.Collect(p.queue.All())
	p.mu.Unlock()
	if want := []string{"/data/f7", "/data/f8", "/data/f9"}; !slices.Equal(q, want) {
		t.Errorf("queue %q, want the newest %q", q, want)
	}
}

func TestNewSocketErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  confxml.SocketPlugin
	}{
		{"no block", confxml.SocketPlugin{IP: "127.0.0.1", Port: 8009}},
		{"host name", confxml.SocketPlugin{Present: true, IP: "localhost", Port: 8009}},
		{"empty ip", confxml.SocketPlugin{Present: true, Port: 8009}},
		{"port 0", confxml.SocketPlugin{Present: true, IP: "127.0.0.1"}},
		{"port too big", confxml.SocketPlugin{Present: true, IP: "127.0.0.1", Port: 70000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSocket(tt.cfg, nil); !errors.Is(err, ErrNotConfigured) {
				t.Errorf("NewSocket = %v, want ErrNotConfigured", err)
			}
		})
	}
}

func TestSocketClosed(t *testing.T) {
	t.Parallel()
	p := newTestSocket(t, "127.0.0.1", 8009)
	p.Close()
	if err := p.Handle(context.Background(), Change{Abs: "/x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close = %v, want ErrClosed", err)
	}
}

func BenchmarkSocketHandle(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, conn)
			conn.Close()
		}
	})
	defer func() { ln.Close(); wg.Wait() }()
	p, err := NewSocket(confxml.SocketPlugin{Present: true, IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := Change{Abs: "/data/some/dir/file.txt"}
	for b.Loop() {
		if err := p.Handle(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
