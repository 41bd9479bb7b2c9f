// Package socksink is the receiving end of the socket plugin in tests: a
// TCP listener on 127.0.0.1 that hands over each connection's whole
// payload.
package socksink

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/poll"
)

// Listen accepts connections on a free loopback port until the test ends
// and delivers each connection's payload on the returned channel. addr is
// the ip and port as a confxml <deshost> takes them.
func Listen(t testing.TB) (addr [2]string, got chan string) {
	t.Helper()
	got = make(chan string, 100)
	l := ListenAt(t, "127.0.0.1:0", got)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return [2]string{"127.0.0.1", port}, got
}

// ListenAt accepts connections on hostport, delivering payloads on got,
// until the returned listener is closed or the test ends. A test stops a
// peer with Close and starts it again with another ListenAt on the same
// address.
func ListenAt(t testing.TB, hostport string, got chan string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			// A test that stopped reading must not keep this goroutine.
			select {
			case got <- string(readAll(conn)):
			case <-done:
				return
			}
		}
	}()
	return l
}

func readAll(c net.Conn) []byte {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// Wait waits until a connection carried exactly want (others are dropped).
func Wait(t testing.TB, got chan string, want string) {
	t.Helper()
	poll.Until(t, 20*time.Second, fmt.Sprintf("the socket payload %q", want), func() (bool, string) {
		for {
			select {
			case s := <-got:
				if s == want {
					return true, ""
				}
			default:
				return false, ""
			}
		}
	})
}
