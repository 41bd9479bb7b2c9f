package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sersync-go/sersync2/confxml"
)

// refreshCDN plugin constants.
const (
	// DefaultErrorLog is where New makes the refreshCDN plugin append the
	// CDN's responses: errorlog.txt in the process's working directory, as
	// the original.
	DefaultErrorLog = "errorlog.txt"
	// DefaultErrorLogMax is the size at which the response log is rotated:
	// it is renamed to "<name>.1" (replacing an older one) and a new file
	// is started. The original truncated it every 1001 writes instead.
	DefaultErrorLogMax = 16 << 20
	// MaxCDNRequest is the largest request sent. The original silently cut
	// requests at 1023 bytes; a longer one is now ErrRequestTooLarge. 8 KiB
	// is the request-line limit of common HTTP servers and holds a
	// PATH_MAX path with the base URL and credentials.
	MaxCDNRequest = 8 << 10
	// CDNConnectTimeout (name resolution and connect), CDNWriteTimeout
	// (sending) and CDNWriteTimeout+CDNResponseTimeout (the response, counted
	// from the end of the connect) apply afresh to every request; the
	// original's 0.3 s budget decayed to zero over the process lifetime.
	CDNConnectTimeout  = 2 * time.Second
	CDNWriteTimeout    = 2 * time.Second
	CDNResponseTimeout = 5 * time.Second
	// CDNAttempts is how often a request is tried when the CDN cannot be
	// reached or does not answer, waiting cdnBackoff, then twice that,
	// between attempts. The original tried once.
	CDNAttempts = 3
	cdnBackoff  = 500 * time.Millisecond
	// maxCDNResponse is how much of the response is read, as the
	// original's single 4096-byte recv.
	maxCDNResponse = 4096
)

var (
	// ErrRequestTooLarge is returned when a refresh request would exceed
	// MaxCDNRequest bytes.
	ErrRequestTooLarge = errors.New("plugins: refreshCDN request too large")
	// ErrOutsideWatch is returned when, without regex mode, a changed path
	// does not start with the plugin's watch path.
	ErrOutsideWatch = errors.New("plugins: path outside the refreshCDN watch path")
	// ErrNoResponse is returned when the CDN closed the connection or timed
	// out without sending anything.
	ErrNoResponse = errors.New("plugins: refreshCDN got no response")
)

// RefreshCDN is the refreshCDN plugin: for every change it sends one
// "HEAD /index.jsp?user=…" request on a new connection to the CDN's refresh
// endpoint, with the exact bytes of the original (no URL encoding), and
// appends the response to the error log in the original's line format.
type RefreshCDN struct {
	cfg  confxml.RefreshCDNPlugin
	re   *regexp.Regexp // nil unless regex mode
	addr string

	dialer          net.Dialer
	writeTimeout    time.Duration
	responseTimeout time.Duration
	attempts        int
	backoff         time.Duration

	errorLog    string // "" disables the file
	errorLogMax int64
	logMu       sync.Mutex // serialises errorLog writes and rotation

	log    *slog.Logger
	closed atomic.Bool
}

// NewRefreshCDN builds the refreshCDN plugin from <plugin name="refreshCDN">.
// Responses are appended to errorLog (relative names are relative to the
// working directory; "" writes no file).
func NewRefreshCDN(cfg confxml.RefreshCDNPlugin, errorLog string, log *slog.Logger) (*RefreshCDN, error) {
	if !cfg.Present {
		return nil, fmt.Errorf("plugins: refreshCDN: no <plugin name=\"refreshCDN\"> block: %w", ErrNotConfigured)
	}
	if cfg.DomainName == "" {
		return nil, fmt.Errorf("plugins: refreshCDN: <cdninfo domainname> is empty: %w", ErrNotConfigured)
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("plugins: refreshCDN: <cdninfo port=\"%d\">: not a TCP port: %w", cfg.Port, ErrNotConfigured)
	}
	p := &RefreshCDN{
		cfg:             cfg,
		addr:            net.JoinHostPort(cfg.DomainName, strconv.Itoa(cfg.Port)),
		dialer:          net.Dialer{Timeout: CDNConnectTimeout, Resolver: net.DefaultResolver},
		writeTimeout:    CDNWriteTimeout,
		responseTimeout: CDNResponseTimeout,
		attempts:        CDNAttempts,
		backoff:         cdnBackoff,
		errorLog:        errorLog,
		errorLogMax:     DefaultErrorLogMax,
		log:             orDiscard(log).With("plugin", NameRefreshCDN),
	}
	if cfg.Regex {
		p.re = cfg.MatchRegexp
		if p.re == nil {
			re, err := confxml.CompileSearch(cfg.Match)
			if err != nil {
				return nil, fmt.Errorf("plugins: refreshCDN: <regexurl match=%q>: %w", cfg.Match, err)
			}
			p.re = re
		}
	}
	return p, nil
}

// Name returns "refreshCDN".
func (p *RefreshCDN) Name() string { return NameRefreshCDN }

// URL returns the URL to refresh for the absolute path abs, and false when
// regex mode is on and the expression does not match (the change is then
// skipped, as in the original).
//
// Regex mode searches abs (not a full match) and gives base + group 1 + the
// text after the whole match; an absent or unmatched group 1 counts as
// empty. Otherwise the URL is base + abs without the watch path.
func (p *RefreshCDN) URL(abs string) (string, bool, error) {
	return cdnURL(p.cfg, p.re, abs)
}

func cdnURL(cfg confxml.RefreshCDNPlugin, re *regexp.Regexp, abs string) (string, bool, error) {
	if re != nil {
		m := re.FindStringSubmatchIndex(abs)
		if m == nil {
			return "", false, nil
		}
		group := ""
		if len(m) >= 4 && m[2] >= 0 {
			group = abs[m[2]:m[3]]
		}
		return cfg.BaseURL + group + abs[m[1]:], true, nil
	}
	rest, ok := strings.CutPrefix(abs, cfg.Watch)
	if !ok {
		return "", false, fmt.Errorf("%w: %q not below %q", ErrOutsideWatch, abs, cfg.Watch)
	}
	return cfg.BaseURL + rest, true, nil
}

// Request returns the request bytes sent for c, and false when c is skipped
// (see URL). A directory is refreshed with "&dirs=URL/", a file with
// "&urls=URL".
func (p *RefreshCDN) Request(c Change) (string, bool, error) {
	u, ok, err := p.URL(c.Abs)
	if err != nil || !ok {
		return "", ok, err
	}
	req := cdnRequest(p.cfg, u, c.Dir)
	if len(req) > MaxCDNRequest {
		return "", false, fmt.Errorf("%w: %d bytes for %q (limit %d)", ErrRequestTooLarge, len(req), c.Abs, MaxCDNRequest)
	}
	return req, true, nil
}

func cdnRequest(cfg confxml.RefreshCDNPlugin, url string, dir bool) string {
	param := "&urls=" + url
	if dir {
		param = "&dirs=" + url + "/"
	}
	return "HEAD /index.jsp?user=" + cfg.Username + "&pswd=" + cfg.Passwd + "&ok=ok" + param +
		" HTTP/1.0\r\nHost: " + cfg.DomainName + "\r\n\r\n"
}

// ErrorLogLine is the line the original appended to errorlog.txt for a
// response: when resp holds "whatsup" and a "\n" after it, the text from
// "whatsup" up to the character before that "\n" (which drops a "\r"),
// otherwise the whole response; then " ", the request and "\n".
func ErrorLogLine(resp, req string) string {
	text := resp
	if i := strings.Index(resp, "whatsup"); i >= 0 {
		if j := strings.IndexByte(resp[i:], '\n'); j >= 0 {
			text = resp[i : i+j-1]
		}
	}
	return text + " " + req + "\n"
}

// Handle sends the refresh request for c and logs the response, trying up
// to CDNAttempts times with backoff when the CDN cannot be reached or sends
// nothing. A change skipped by regex mode returns nil. The request holds
// the CDN password: it goes to the error log file only, as the
// original's, never to the process log or an error.
func (p *RefreshCDN) Handle(ctx context.Context, c Change) error {
	if p.closed.Load() {
		return ErrClosed
	}
	req, ok, err := p.Request(c)
	if err != nil {
		return fmt.Errorf("plugins: refreshCDN: %w", err)
	}
	if !ok {
		p.log.Debug("refreshCDN skipped: regex does not match", "path", c.Abs)
		return nil
	}
	var resp string
	wait := p.backoff
	for attempt := 1; ; attempt++ {
		if resp, err = p.exchange(ctx, req); err == nil {
			break
		}
		if attempt >= p.attempts || ctx.Err() != nil {
			return fmt.Errorf("plugins: refreshCDN %s: %d attempts: %w", p.addr, attempt, err)
		}
		p.log.Debug("refreshCDN attempt failed; retrying", "path", c.Abs, "addr", p.addr, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("plugins: refreshCDN %s: %w (last: %w)", p.addr, ctx.Err(), err)
		case <-t.C:
		}
		wait *= 2
	}
	p.log.Debug("refreshCDN response", "path", c.Abs, "response", resp)
	if err := p.appendErrorLog(ErrorLogLine(resp, req)); err != nil {
		return fmt.Errorf("plugins: refreshCDN: error log %s: %w", p.errorLog, err)
	}
	return nil
}

func (p *RefreshCDN) exchange(ctx context.Context, req string) (resp string, err error) {
	conn, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := conn.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	// Both deadlines are set before the cancel hook is registered, so a
	// cancellation can never be overwritten by a later Set…Deadline.
	now := time.Now()
	if err := conn.SetWriteDeadline(now.Add(p.writeTimeout)); err != nil {
		return "", err
	}
	if err := conn.SetReadDeadline(now.Add(p.writeTimeout + p.responseTimeout)); err != nil {
		return "", err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	if _, err := io.WriteString(conn, req); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("send request: %w", err)
	}
	buf := make([]byte, maxCDNResponse)
	n, rerr := io.ReadFull(conn, buf)
	switch {
	case n > 0:
		// EOF, a full buffer or a deadline after some bytes: log what
		// came, as the original's single recv did.
		return string(buf[:n]), nil
	case ctx.Err() != nil:
		return "", ctx.Err()
	case rerr == nil || errors.Is(rerr, io.EOF):
		return "", ErrNoResponse
	default:
		return "", fmt.Errorf("%w: %w", ErrNoResponse, rerr)
	}
}

func (p *RefreshCDN) appendErrorLog(line string) error {
	if p.errorLog == "" {
		return nil
	}
	p.logMu.Lock()
	defer p.logMu.Unlock()
	if fi, err := os.Stat(p.errorLog); err == nil && fi.Size() > 0 && fi.Size()+int64(len(line)) > p.errorLogMax {
		if err := os.Rename(p.errorLog, p.errorLog+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(p.errorLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// Close marks the plugin closed; it keeps no connection or file open
// between changes.
func (p *RefreshCDN) Close() error {
	p.closed.Store(true)
	return nil
}
