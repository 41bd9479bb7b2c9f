//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// delayProxy is a TCP relay on a loopback address that holds every chunk
// of data for a fixed one-way delay in each direction, so a tool talking to
// a daemon through it sees a round trip of twice that delay (a WAN link of
// that latency, without a bandwidth limit). Data keeps flowing while older
// chunks wait: a bulk transfer pays the latency once, not per chunk.
//
// It counts the bytes it relays each way (Bytes); with no delay it is a
// plain counting relay.
//
// The proxy owns its goroutines: Close stops the listener and every
// connection and waits for all of them.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration // one way

	up, down atomic.Int64 // bytes relayed to the target, and back

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startDelayProxy listens on addr ("127.0.0.2:0" picks a port) and relays
// every connection to target with delay added each way.
func startDelayProxy(addr, target string, delay time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("delay proxy: %w", err)
	}
	p := &delayProxy{ln: ln, target: target, delay: delay, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Port returns the port the proxy listens on.
func (p *delayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// IP returns the address the proxy listens on.
func (p *delayProxy) IP() string { return p.ln.Addr().(*net.TCPAddr).IP.String() }

func (p *delayProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// track registers a connection so that Close can end it; false once the
// proxy is closed.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// relay connects to the target and pipes both directions through a delay
// line until both are done.
func (p *delayProxy) relay(client net.Conn) {
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client, &p.up) })
	wg.Go(func() { p.pipe(client, server, &p.down) })
	wg.Wait()
}

// chunk is data read at one moment, due for writing delay later.
type chunk struct {
	b   []byte
	due time.Time
	eof bool
}

// pipe copies src to dst, each chunk held until delay after it was read.
// The reader never waits for the writer (up to 4096 chunks in the line),
// so the delay does not cut the throughput.
func (p *delayProxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	line := make(chan chunk, 4096)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(line)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				line <- chunk{b: b[:n], due: time.Now().Add(p.delay)}
			}
			if err != nil {
				line <- chunk{eof: true, due: time.Now().Add(p.delay)}
				return
			}
		}
	})
	failed := false
	for c := range line {
		if failed {
			continue // drain so that the reader ends
		}
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d) // the simulated latency itself
		}
		if c.eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite() // pass the half-close on
			}
			continue
		}
		n, err := dst.Write(c.b)
		count.Add(int64(n))
		if err != nil {
			failed = true
			_ = src.Close() // stops the reader
		}
	}
	wg.Wait()
}

// Bytes returns the bytes relayed so far to the target (up) and back
// (down), over all connections.
func (p *delayProxy) Bytes() (up, down int64) { return p.up.Load(), p.down.Load() }

// Close stops accepting, closes every connection and waits for every
// goroutine of the proxy. It is idempotent.
func (p *delayProxy) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	var err error
	if !already {
		err = p.ln.Close()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
