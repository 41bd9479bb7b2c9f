package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/fifo"
)

// Socket plugin limits. Unlike the original's single 0.1 s budget that
// decays to zero, each attempt gets the full deadlines.
const (
	SocketConnectTimeout = 2 * time.Second
	SocketWriteTimeout   = 2 * time.Second
	// SocketBacklog is how many changes wait while the peer is down (up
	// to about 40 MiB with 4 KiB paths); past it the oldest is dropped
	// and counted.
	SocketBacklog = 10000
	// socketBackoff is the wait after a failed attempt, doubled up to
	// socketMaxBackoff while the peer stays unreachable.
	socketBackoff    = 50 * time.Millisecond
	socketMaxBackoff = 5 * time.Second
	// socketFlush is how long Close keeps sending what is queued.
	socketFlush = 2 * time.Second
)

// Socket is the socket plugin: for every change it opens a new TCP
// connection to the configured address, writes exactly the bytes of
// Change.Abs (no newline, no framing: the wire format of the original) and
// closes the connection. The receiver cannot tell an update from a removal;
// it has to stat the path.
//
// Handle never waits for the peer: it queues the change for one sender
// goroutine, which delivers the queue in order. While the peer is down
// the sender keeps trying the oldest change with backoff and the queue
// keeps up to SocketBacklog changes; past that the oldest are dropped
// (Stats().Dropped) and the loss is logged.
type Socket struct {
	addr         string
	writeTimeout time.Duration
	backoff      time.Duration
	maxBackoff   time.Duration
	backlog      int
	flush        time.Duration
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	log          *slog.Logger

	mu      sync.Mutex
	queue   fifo.FIFO[string]
	ready   chan struct{}
	started bool
	closed  bool
	down    bool // the last attempt failed
	stats   SocketStats

	stop context.CancelFunc // ends the sender
	ctx  context.Context
	done chan struct{} // closed when the sender returned
}

// SocketStats counts what the socket plugin did.
type SocketStats struct {
	Sent, Dropped uint64
	// Failures counts failed connection attempts (each retried).
	Failures uint64
	// Queued is the number of changes waiting to be sent.
	Queued int
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
	ctx, stop := context.WithCancel(context.Background())
	return &Socket{
		dial:         d.DialContext,
		addr:         net.JoinHostPort(ip.String(), strconv.Itoa(cfg.Port)),
		writeTimeout: SocketWriteTimeout,
		backoff:      socketBackoff,
		maxBackoff:   socketMaxBackoff,
		backlog:      SocketBacklog,
		flush:        socketFlush,
		log:          orDiscard(log).With("plugin", NameSocket),
		ready:        make(chan struct{}, 1),
		ctx:          ctx,
		stop:         stop,
		done:         make(chan struct{}),
	}, nil
}

// Name returns "socket".
func (p *Socket) Name() string { return NameSocket }

// Addr returns the host:port the plugin connects to.
func (p *Socket) Addr() string { return p.addr }

// Stats returns the plugin's counters.
func (p *Socket) Stats() SocketStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Queued = p.queue.Len()
	return s
}

// Handle queues c.Abs for sending and returns at once (ctx is not used:
// the send happens later). When SocketBacklog changes already wait, the
// oldest is dropped.
func (p *Socket) Handle(_ context.Context, c Change) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if !p.started {
		p.started = true
		go p.send()
	}
	if p.queue.Len() >= p.backlog {
		p.queue.Pop()
		p.stats.Dropped++
		if p.stats.Dropped == 1 || p.stats.Dropped%1000 == 0 {
			p.log.Warn("socket plugin backlog full: oldest change dropped", "addr", p.addr, "backlog", p.backlog, "dropped", p.stats.Dropped)
		}
	}
	p.queue.Push(c.Abs)
	select {
	case p.ready <- struct{}{}:
	default:
	}
	return nil
}

// send is the sender goroutine: it delivers the queue in order until Close.
func (p *Socket) send() {
	defer close(p.done)
	wait := p.backoff
	for {
		p.mu.Lock()
		if p.queue.Len() == 0 {
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-p.ready:
			case <-p.ctx.Done():
				return
			}
			continue
		}
		payload, dropped := p.queue.Front(), p.stats.Dropped
		p.mu.Unlock()

		err := p.sendOne(p.ctx, payload)
		p.mu.Lock()
		if err == nil {
			// A drop (backlog full) removes the head: when one happened
			// meanwhile, the change sent is gone already.
			if p.stats.Dropped == dropped {
				p.queue.Pop()
			}
			p.stats.Sent++
			if p.down {
				p.down = false
				p.log.Info("socket peer reachable again", "addr", p.addr, "queued", p.queue.Len(), "dropped", p.stats.Dropped)
			}
			p.mu.Unlock()
			p.log.Debug("socket plugin sent", "path", payload, "addr", p.addr)
			wait = p.backoff
			continue
		}
		p.stats.Failures++
		if !p.down && p.ctx.Err() == nil {
			p.down = true
			p.log.Warn("socket peer unreachable: changes are kept and sent when it is back", "addr", p.addr, "queued", p.queue.Len(), "err", err)
		}
		p.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, p.maxBackoff)
	}
}

func (p *Socket) sendOne(ctx context.Context, payload string) (err error) {
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

// Close stops taking changes, keeps sending what is queued for up to
// socketFlush (2 s), then stops the sender and logs what was never sent. It is
// idempotent.
func (p *Socket) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	started := p.started
	p.mu.Unlock()
	if !started {
		p.stop()
		return nil
	}
	select {
	case p.ready <- struct{}{}:
	default:
	}
	t := time.NewTimer(p.flush)
	select {
	case <-p.done:
	case <-t.C:
	}
	t.Stop()
	p.stop()
	<-p.done
	if st := p.Stats(); st.Queued > 0 || st.Dropped > 0 {
		p.log.Warn("socket plugin stopped with changes not sent", "addr", p.addr, "unsent", st.Queued, "dropped", st.Dropped)
	}
	return nil
}
