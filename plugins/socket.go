package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sersync-go/sersync2/confxml"
)

// Socket plugin limits. Unlike the original's single 0.1 s budget that
// decays to zero, each attempt gets the full deadlines.
const (
	SocketAttempts       = 5
	SocketConnectTimeout = 2 * time.Second
	SocketWriteTimeout   = 2 * time.Second
	socketBackoff        = 50 * time.Millisecond // doubled after each failed attempt
)

// Socket is the socket plugin: for every change it opens a new TCP
// connection to the configured address, writes exactly the bytes of
// Change.Abs (no newline, no framing: the wire format of the original) and
// closes the connection. The receiver cannot tell an update from a removal;
// it has to stat the path.
type Socket struct {
	addr         string
	attempts     int
	writeTimeout time.Duration
	backoff      time.Duration
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	log          *slog.Logger
	closed       atomic.Bool
}

// NewSocket builds the socket plugin for <plugin name="socket"><localpath>
// <deshost ip port>. ip must be an IPv4 or IPv6 literal (the original used
// inet_addr and never resolved names: a name silently never connected).
func NewSocket(cfg confxml.SocketPlugin, log *slog.Logger) (*Socket, error) {
	if !cfg.Present {
		return nil, fmt.Errorf("plugins: socket: no <plugin name=\"socket\"> block: %w", ErrNotConfigured)
	}
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("plugins: socket: <deshost ip=%q>: not an IP address: %w", cfg.IP, ErrNotConfigured)
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("plugins: socket: <deshost port=\"%d\">: not a TCP port: %w", cfg.Port, ErrNotConfigured)
	}
	d := &net.Dialer{Timeout: SocketConnectTimeout}
	return &Socket{
		dial:         d.DialContext,
		addr:         net.JoinHostPort(ip.String(), strconv.Itoa(cfg.Port)),
		attempts:     SocketAttempts,
		writeTimeout: SocketWriteTimeout,
		backoff:      socketBackoff,
		log:          orDiscard(log).With("plugin", NameSocket),
	}, nil
}

// Name returns "socket".
func (p *Socket) Name() string { return NameSocket }

// Addr returns the host:port the plugin connects to.
func (p *Socket) Addr() string { return p.addr }

// Handle sends c.Abs on a new connection. It tries up to SocketAttempts
// times, backing off between attempts, and returns the last error wrapped
// with the address when every attempt failed.
func (p *Socket) Handle(ctx context.Context, c Change) error {
	if p.closed.Load() {
		return ErrClosed
	}
	var err error
	wait := p.backoff
	attempt := 0
	for attempt < p.attempts {
		if attempt > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("plugins: socket %s: %w after %d attempts (last: %w)", p.addr, ctx.Err(), attempt, err)
			case <-t.C:
			}
			wait *= 2
		}
		attempt++
		if err = p.send(ctx, c.Abs); err == nil {
			p.log.Debug("socket plugin sent", "path", c.Abs, "addr", p.addr, "attempt", attempt)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("plugins: socket %s: %w after %d attempts (last: %w)", p.addr, ctx.Err(), attempt, err)
		}
	}
	return fmt.Errorf("plugins: socket %s: %d attempts: %w", p.addr, attempt, err)
}

func (p *Socket) send(ctx context.Context, payload string) (err error) {
	conn, err := p.dial(ctx, "tcp", p.addr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := conn.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := conn.SetWriteDeadline(time.Now().Add(p.writeTimeout)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write([]byte(payload)); err != nil {
		return err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	return nil
}

// Close marks the plugin closed; it holds no connection between changes.
func (p *Socket) Close() error {
	p.closed.Store(true)
	return nil
}
