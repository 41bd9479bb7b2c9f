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
	"github.com/sersync-go/sersync2/internal/safefile"
)

// refreshCDN plugin constants.
const (
	// DefaultErrorLog is where New makes the refreshCDN plugin append the
	// CDN's responses: errorlog.txt in the process's working directory, the
	// original's name and place, so existing log readers find it. The
	// packaged systemd unit gives sersync2 a working directory of its own.
	DefaultErrorLog = "errorlog.txt"
	// DefaultErrorLogMax is the size at which the response log is rotated:
	// it is renamed to "<name>.1" (replacing an older one) and a new file
	// is started. The original truncated it every 1001 writes instead.
	DefaultErrorLogMax = 16 << 20
	// MaxCDNRequest is the largest request sent. The original silently cut
	// requests at 1023 bytes; here a longer one is ErrRequestTooLarge. 8 KiB
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
	// ErrLineBreak is returned for a path holding a CR or LF: no CDN serves
	// such a URL, so nothing is sent.
	ErrLineBreak = errors.New("plugins: CR or LF in a refreshCDN path; not sent")
	// ErrErrorLogOwner is returned when the error log exists but belongs to
	// another user, who could read what is appended.
	ErrErrorLogOwner = errors.New("plugins: refreshCDN error log belongs to another user")
)

// redacted stands for the password in the error log. "<" and ">" are
// always percent-encoded in a request, so it cannot be a real password.
const redacted = "<redacted>"

// RefreshCDN is the refreshCDN plugin: for every change it sends one
// "HEAD /index.jsp?user=…" request on a new connection to the CDN's refresh
// endpoint, in the original's layout with each query value
// percent-encoded (see queryEscape), and appends the response to the error
// log in the original's line format, the password replaced by <redacted>.
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
// "&urls=URL". A path with a CR or LF is ErrLineBreak.
func (p *RefreshCDN) Request(c Change) (string, bool, error) {
	req, _, ok, err := p.request(c)
	return req, ok, err
}

// request returns the request to send and the one to log, which has the
// password replaced by redacted.
func (p *RefreshCDN) request(c Change) (wire, logged string, ok bool, err error) {
	if strings.ContainsAny(c.Abs, "\r\n") {
		return "", "", false, fmt.Errorf("%w: %q", ErrLineBreak, c.Abs)
	}
	u, ok, err := p.URL(c.Abs)
	if err != nil || !ok {
		return "", "", ok, err
	}
	if c.Dir {
		u += "/"
	}
	wire = cdnRequest(p.cfg, queryEscape(p.cfg.Passwd), u, c.Dir)
	if len(wire) > MaxCDNRequest {
		return "", "", false, fmt.Errorf("%w: %d bytes for %q (limit %d)", ErrRequestTooLarge, len(wire), c.Abs, MaxCDNRequest)
	}
	return wire, cdnRequest(p.cfg, redacted, u, c.Dir), true, nil
}

// cdnRequest lays the request out as the original did; pswd is given
// already encoded (or redacted).
func cdnRequest(cfg confxml.RefreshCDNPlugin, pswd, url string, dir bool) string {
	param := "&urls="
	if dir {
		param = "&dirs="
	}
	return "HEAD /index.jsp?user=" + queryEscape(cfg.Username) + "&pswd=" + pswd + "&ok=ok" + param + queryEscape(url) +
		" HTTP/1.0\r\nHost: " + cfg.DomainName + "\r\n\r\n"
}

// queryEscape percent-encodes s as one query value. It keeps what RFC 3986
// allows in a query and has no meaning to a form decoder: letters, digits,
// "-._~", "/", ":", "@", "!", "$", "'", "(", ")", "*" and ",", so a plain
// URL such as http://img.example.com/cms/a.jpg goes out byte for byte as
// the original sent it. Everything else is encoded: "&", "=", "+", ";",
// "#", "?", "%", space, control bytes, quotes, brackets, backslash and
// every byte of a non-ASCII or invalid UTF-8 name, which the original sent
// raw and so split, cut or corrupted the request.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !queryKeep(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; queryKeep(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func queryKeep(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~/:@!$'()*,", c) >= 0
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
// the CDN password: it never goes to the error log (which gets the request
// with the password redacted), the process log or an error.
func (p *RefreshCDN) Handle(ctx context.Context, c Change) error {
	if p.closed.Load() {
		return ErrClosed
	}
	req, logged, ok, err := p.request(c)
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
	if err := p.appendErrorLog(ErrorLogLine(resp, logged)); err != nil {
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
	if fi, err := os.Lstat(p.errorLog); err == nil && fi.Size() > 0 && fi.Size()+int64(len(line)) > p.errorLogMax {
		if err := os.Rename(p.errorLog, p.errorLog+".1"); err != nil {
			return err
		}
	}
	f, err := openErrorLog(p.errorLog)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(line)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// openErrorLog opens name for appending, creating it with mode 0600,
// through safefile: the working directory may be one others can write to,
// so a symlink planted as name is not followed, and an existing file must
// be the process's own; it is narrowed to 0600 (the original created it
// 0644, and its lines held the password).
func openErrorLog(name string) (*os.File, error) {
	f, err := safefile.Open(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if errors.Is(err, safefile.ErrNotOwn) {
		return nil, fmt.Errorf("%w: %w", ErrErrorLogOwner, err)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Mode().Perm() != 0o600 {
		if err == nil {
			err = f.Chmod(0o600)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Close marks the plugin closed; it keeps no connection or file open
// between changes.
func (p *RefreshCDN) Close() error {
	p.closed.Store(true)
	return nil
}
