package status

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/sersync-go/sersync2/internal/buildinfo"
	"github.com/sersync-go/sersync2/replicate"
)

// Defaults for zero Options fields.
const (
	DefaultFileEvery = 5 * time.Second
	// sampleEvery is how often the history behind the page's charts and
	// the list of recent errors are sampled; historyLen samples make the
	// page's hour.
	sampleEvery = 10 * time.Second
	historyLen  = 360
	// lastErrors is how many recent failures /status keeps.
	lastErrors = 20
	// shownPending is how many pending paths per remote the page and the
	// status file list; MaxPending caps /status?pending=N, so that a
	// request cannot make the server copy a million paths.
	shownPending = 20
	MaxPending   = 10000
)

// limits bound what clients can hold of the HTTP server: every connection
// is dropped when a request is slower to arrive than the read timeouts or
// idles longer than idle, and at most conns are served at once (further
// ones wait in the kernel's accept queue). A scrape or a page view is a
// few kilobytes: the figures leave room for slow links, not for clients
// that park connections.
type limits struct {
	readHeader, read, write, idle time.Duration
	conns                         int
}

var defaultLimits = limits{
	readHeader: 5 * time.Second,
	read:       10 * time.Second,
	write:      30 * time.Second,
	idle:       60 * time.Second,
	conns:      32,
}

// Source is what the server reads: the engine's state snapshot, and the
// paths each remote still lacks that have waited longest.
type Source interface {
	State() replicate.State
	Pending(n int) []replicate.RemotePending
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Build is shown on the page and in sersync2_build_info.
	Build buildinfo.Info
	// Log receives the server's few messages; nil discards them.
	Log *slog.Logger
	// MaxUserWatchesFile is read for the watch limit; "" means
	// MaxUserWatchesFile.
	MaxUserWatchesFile string
	// Token, when not "", is the bearer token every HTTP request must
	// carry (see ReadToken); others get 401.
	Token string
}

// Server serves the status of one Source. Build it with New; Run samples
// the state, serves HTTP and writes the status file until its context
// ends.
type Server struct {
	src     Source
	opts    Options
	log     *slog.Logger
	started time.Time
	reg     *prometheus.Registry

	lim      limits
	tokenSum *[sha256.Size]byte // nil: no token asked for

	mu   sync.Mutex
	hist *history
	errs errorLog
}

// New returns a Server reading src.
func New(src Source, o Options) *Server {
	if o.MaxUserWatchesFile == "" {
		o.MaxUserWatchesFile = MaxUserWatchesFile
	}
	s := &Server{src: src, opts: o, log: o.Log, started: time.Now(), lim: defaultLimits, hist: newHistory(historyLen), errs: errorLog{max: lastErrors}}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		s.tokenSum = &sum
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collector{s}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

func (s *Server) maxWatches() int { return readLimit(s.opts.MaxUserWatchesFile) }

// Report returns the current facts, with the pending paths of every
// remote that have waited longest, at most pending of them (none when 0).
func (s *Server) Report(pending int) Report {
	st := s.src.State()
	var pend []replicate.RemotePending
	if pending > 0 {
		pend = s.src.Pending(min(pending, MaxPending))
	}
	s.mu.Lock()
	s.errs.see(st)
	errs := s.errs.list()
	s.mu.Unlock()
	r := build(st, time.Now(), s.opts.Build.Version, s.started, s.maxWatches(), errs)
	r.addPending(pend)
	return r
}

// Handler serves /metrics, /status and the page at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s.log}}))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		if v := r.URL.Query().Get("pending"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 0 {
				http.Error(w, "pending: want a count of paths, 0 or more", http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s.Report(n)); err != nil {
			s.log.Debug("status: writing /status", "err", err)
		}
	})
	mux.HandleFunc("GET /{$}", s.page)
	return mux
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.log.Warn("status: metrics", "err", fmt.Sprint(v...)) }

// httpErrorLog takes the HTTP server's own messages, which are about
// clients that misbehave, to the log at debug level.
type httpErrorLog struct{ log *slog.Logger }

func (l httpErrorLog) Write(p []byte) (int, error) {
	l.log.Debug("status: http server", "err", strings.TrimSpace(string(p)))
	return len(p), nil
}

// CheckAddr refuses an address whose host is not a loopback address (or
// "localhost") unless public is set: the status page is not meant to be
// reachable from other hosts by accident.
func CheckAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("status: address %q: %w", addr, err)
	}
	if public || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("status: address %q: %w (give --status-addr-public to serve other hosts)", addr, errNotLoopback)
}

// Listen checks addr (CheckAddr) and listens on it.
func Listen(addr string, public bool) (net.Listener, error) {
	if err := CheckAddr(addr, public); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	return ln, nil
}

// Run samples the state every sampleEvery, serves HTTP on ln
// (when not nil) and rewrites the status file every fileEvery (when file
// is not ""), until ctx ends. It closes ln.
//
// On a loopback ln only requests for localhost or a loopback address are
// served (see guard); with Options.Token only requests carrying it. A
// server other hosts can reach without a token logs a warning.
func (s *Server) Run(ctx context.Context, ln net.Listener, file string, fileEvery time.Duration) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { s.sample(ctx) })
	if file != "" {
		if fileEvery <= 0 {
			fileEvery = DefaultFileEvery
		}
		wg.Go(func() { s.writeFiles(ctx, file, fileEvery) })
	}
	if ln == nil {
		<-ctx.Done()
		return nil
	}
	loopback := loopbackAddr(ln.Addr())
	if !loopback && s.tokenSum == nil {
		s.log.Warn("status server reachable from other hosts without authentication", "addr", ln.Addr().String(),
			"exposes", "watched paths, remotes, errors", "hint", "give --status-auth-file")
	}
	srv := &http.Server{
		Handler:           guard(s.Handler(), loopback, s.tokenSum),
		ReadHeaderTimeout: s.lim.readHeader,
		ReadTimeout:       s.lim.read,
		WriteTimeout:      s.lim.write,
		IdleTimeout:       s.lim.idle,
		ErrorLog:          log.New(httpErrorLog{s.log}, "", 0),
	}
	ln = netutil.LimitListener(ln, s.lim.conns)
	wg.Go(func() {
		<-ctx.Done()
		sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		_ = srv.Shutdown(sctx)
	})
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		cancel()
		return fmt.Errorf("status: serving %s: %w", ln.Addr(), err)
	}
	return nil
}

// sample adds one point to the history every sampleEvery.
func (s *Server) sample(ctx context.Context) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		st := s.src.State()
		s.mu.Lock()
		s.hist.add(time.Now(), st)
		s.errs.see(st)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
