package status

import (
	"context"
	"net"
	"time"
)

// Endpoint is the address the status server answers on, taken before the
// engine starts so that a busy or refused address stops the start before
// anything ran, with the bearer token the server asks for.
type Endpoint struct {
	ln    net.Listener
	token string
}

// Open reads the bearer token of tokenFile when not "" (ReadToken), then
// takes addr (Listen; public allows an address other hosts can reach).
// Without an address it returns a nil Endpoint: no server.
func Open(addr string, public bool, tokenFile string) (*Endpoint, error) {
	if addr == "" {
		return nil, nil
	}
	ep := &Endpoint{}
	if tokenFile != "" {
		var err error
		if ep.token, err = ReadToken(tokenFile); err != nil {
			return nil, err
		}
	}
	ln, err := Listen(addr, public)
	if err != nil {
		return nil, err
	}
	ep.ln = ln
	return ep, nil
}

// Close gives the address up if Start has not served it.
func (ep *Endpoint) Close() {
	if ep != nil {
		_ = ep.ln.Close()
	}
}

// Start serves the status of src on ep (nil: no HTTP server) and
// rewrites file every fileEvery (file "": none), with o and ep's token,
// until ctx ends or the returned stop is called; stop waits for both to
// end. With neither it starts nothing.
func Start(ctx context.Context, src Source, ep *Endpoint, file string, fileEvery time.Duration, o Options) (stop func()) {
	if ep == nil && file == "" {
		return func() {}
	}
	var ln net.Listener
	if ep != nil {
		ln, o.Token = ep.ln, ep.token
	}
	s := New(src, o)
	if ln != nil {
		s.log.Info("status server listening", "addr", ln.Addr().String(), "metrics", "http://"+ln.Addr().String()+"/metrics")
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx, ln, file, fileEvery); err != nil {
			s.log.Error("status server stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}
