package plugins

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/hostile"
)

const whatsupResponse = "HTTP/1.0 200 OK\r\nwhatsup: content=succeed\r\n\r\n"

// cdnServer is a real TCP listener standing in for a CDN refresh endpoint:
// it reads a request up to the blank line, reports it, then answers with
// reply(i) for the i-th connection (0-based). A reply of "" closes without
// answering; silent holds the connection open, answering nothing, until the
// client gives up.
type cdnServer struct {
	ln    net.Listener
	reqs  chan string
	done  chan struct{}
	wg    sync.WaitGroup
	reply func(i int) (resp string, silent bool)
}

func startCDNServer(t *testing.T, reply func(i int) (string, bool)) *cdnServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &cdnServer{ln: ln, reqs: make(chan string, 64), done: make(chan struct{}), reply: reply}
	s.wg.Go(func() {
		for i := 0; ; i++ {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn, i) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		close(s.done)
		s.wg.Wait()
	})
	return s
}

func (s *cdnServer) serve(conn net.Conn, i int) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var req []byte
	buf := make([]byte, 1024)
	for !bytes.HasSuffix(req, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf)
		req = append(req, buf[:n]...)
		if err != nil {
			break
		}
	}
	select {
	case s.reqs <- string(req):
	case <-s.done:
		return
	}
	resp, silent := s.reply(i)
	if silent {
		_, _ = conn.Read(buf) // returns when the client closes or the deadline passes
		return
	}
	_, _ = conn.Write([]byte(resp))
}

func (s *cdnServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *cdnServer) next(t *testing.T) string {
	t.Helper()
	select {
	case r := <-s.reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the CDN server")
		return ""
	}
}

func always(resp string) func(int) (string, bool) {
	return func(int) (string, bool) { return resp, false }
}

// baseCDN is the refreshCDN block of the base configuration
// (testdata/confxml/base.xml),
// with the watch as confxml gives it ("/data/" minus one slash).
func baseCDN(port int) confxml.RefreshCDNPlugin {
	return confxml.RefreshCDNPlugin{
		Present:    true,
		Watch:      "/data",
		DomainName: "127.0.0.1",
		Port:       port,
		Username:   "u1",
		Passwd:     "p1",
		BaseURL:    "http://img.example.com/cms",
		Match:      "data([/a-z0-9]*)",
	}
}

func regexCDN(port int) confxml.RefreshCDNPlugin {
	c := baseCDN(port)
	c.Regex = true
	c.MatchRegexp = regexp.MustCompile(c.Match)
	return c
}

type cdnCase struct {
	name   string // golden file testdata/plugins/<name>.req
	cfg    func(port int) confxml.RefreshCDNPlugin
	change Change
}

var cdnCases = []cdnCase{
	{"file", baseCDN, Change{Abs: "/data/c1.jpg"}},
	{"dir", baseCDN, Change{Abs: "/data/img", Dir: true}},
	{"removed-file", baseCDN, Change{Abs: "/data/old.jpg", Removed: true}},
	{"regex-subdir", regexCDN, Change{Abs: "/data/img/c2.jpg"}},
	{"regex-upper", regexCDN, Change{Abs: "/data/UPPER.jpg"}},
	{"regex-dir", regexCDN, Change{Abs: "/data/img", Dir: true}},
	{"hostile-name", baseCDN, Change{Abs: "/data/sp ace&x=1'q\"`touch PWNED`$(touch PWNED);\\[1]*\xff\xfe.jpg"}},
}

// TestCDNRequestGolden checks the request bytes (plain and regex mode,
// files and directories) both as built and as received by a real listener, against golden files.
func TestCDNRequestGolden(t *testing.T) {
	srv := startCDNServer(t, always(whatsupResponse))
	log := filepath.Join(t.TempDir(), "errorlog.txt")
	for _, tt := range cdnCases {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewRefreshCDN(tt.cfg(srv.port()), log, nil)
			if err != nil {
				t.Fatal(err)
			}
			req, ok, err := p.Request(tt.change)
			if err != nil || !ok {
				t.Fatalf("Request = %v, %v", ok, err)
			}
			golden(t, tt.name+".req", []byte(req))
			if err := p.Handle(context.Background(), tt.change); err != nil {
				t.Fatal(err)
			}
			if got := srv.next(t); got != req {
				t.Errorf("server received %q, want %q", got, req)
			}
		})
	}
}

// TestCDNRequestExamples pins literal requests of the original (plain and
// regex mode) independently of the golden files.
func TestCDNRequestExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  confxml.RefreshCDNPlugin
		c    Change
		want string
		skip bool
	}{
		{
			name: "file",
			cfg:  baseCDN(8080), c: Change{Abs: "/data/c1.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/c1.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "directory",
			cfg:  baseCDN(8080), c: Change{Abs: "/data/img", Dir: true},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&dirs=http://img.example.com/cms/img/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "non-regex subdir",
			cfg:  baseCDN(8080), c: Change{Abs: "/data/img/c2.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/img/c2.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "regex subdir",
			cfg:  regexCDN(8080), c: Change{Abs: "/data/img/c2.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/img/c2.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "regex upper case stops the group",
			cfg:  regexCDN(8080), c: Change{Abs: "/data/UPPER.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/UPPER.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "regex no match is skipped",
			cfg:  regexCDN(8080), c: Change{Abs: "/srv/www/a.jpg"},
			skip: true,
		},
		{
			name: "regex without group 1",
			cfg: func() confxml.RefreshCDNPlugin {
				c := baseCDN(8080)
				c.Regex, c.Match = true, "/data"
				return c
			}(),
			c:    Change{Abs: "/data/x.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/x.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "regex with unmatched group 1",
			cfg: func() confxml.RefreshCDNPlugin {
				c := baseCDN(8080)
				c.Regex, c.Match = true, "/data(/zzz)?"
				return c
			}(),
			c:    Change{Abs: "/data/x.jpg"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/x.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		},
		{
			name: "host name in Host header as configured",
			cfg: func() confxml.RefreshCDNPlugin {
				c := baseCDN(80)
				c.DomainName = "ccms.chinacache.com"
				return c
			}(),
			c:    Change{Abs: "/data/a"},
			want: "HEAD /index.jsp?user=u1&pswd=p1&ok=ok&urls=http://img.example.com/cms/a HTTP/1.0\r\nHost: ccms.chinacache.com\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewRefreshCDN(tt.cfg, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := p.Request(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if ok == tt.skip {
				t.Fatalf("Request ok = %v, want %v", ok, !tt.skip)
			}
			if got != tt.want {
				t.Errorf("Request =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestCDNRequestErrors(t *testing.T) {
	t.Parallel()
	p, err := NewRefreshCDN(baseCDN(8080), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Request(Change{Abs: "/srv/a.jpg"}); !errors.Is(err, ErrOutsideWatch) {
		t.Errorf("outside watch: %v, want ErrOutsideWatch", err)
	}
	long := Change{Abs: "/data/" + strings.Repeat("x", MaxCDNRequest)}
	if _, _, err := p.Request(long); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("long path: %v, want ErrRequestTooLarge", err)
	}
	if err := p.Handle(context.Background(), long); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("Handle long path: %v, want ErrRequestTooLarge", err)
	}
	// A path well beyond the original's 1023-byte cut still goes out whole.
	mid := Change{Abs: "/data/" + strings.Repeat("y", 3000)}
	req, ok, err := p.Request(mid)
	if err != nil || !ok || !strings.HasSuffix(req, strings.Repeat("y", 3000)+" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") {
		t.Errorf("3000-byte path: ok=%v err=%v, request not whole", ok, err)
	}
}

func TestErrorLogLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, resp, req, want string }{
		{"whatsup header", whatsupResponse, "REQ", "whatsup: content=succeed REQ\n"},
		{"no whatsup: whole response", "HTTP/1.0 404 Not Found\r\n\r\n", "REQ", "HTTP/1.0 404 Not Found\r\n\r\n REQ\n"},
		{"whatsup without newline: whole", "x whatsup: ok", "REQ", "x whatsup: ok REQ\n"},
		{"bare LF: the char before it is dropped too", "whatsup: ok\nrest", "REQ", "whatsup: o REQ\n"},
		{"first whatsup wins", "whatsup: a\r\nwhatsup: b\r\n", "REQ", "whatsup: a REQ\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorLogLine(tt.resp, tt.req); got != tt.want {
				t.Errorf("ErrorLogLine = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCDNErrorLogGolden checks the errorlog.txt lines for both response
// shapes (a whatsup header, or none) against golden files, through a real
// exchange.
func TestCDNErrorLogGolden(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, resp string }{
		{"errorlog-whatsup.txt", whatsupResponse},
		{"errorlog-whole.txt", "HTTP/1.0 403 Forbidden\r\nServer: cdn\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startCDNServer(t, always(tt.resp))
			log := filepath.Join(t.TempDir(), "errorlog.txt")
			p, err := NewRefreshCDN(baseCDN(srv.port()), log, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []Change{{Abs: "/data/c1.jpg"}, {Abs: "/data/img", Dir: true}} {
				if err := p.Handle(context.Background(), c); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, got)
		})
	}
}

func TestCDNErrorLogConcurrentLinesIntact(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, always(whatsupResponse))
	log := filepath.Join(t.TempDir(), "errorlog.txt")
	p, err := NewRefreshCDN(baseCDN(srv.port()), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var want []string
	for i := range n {
		c := Change{Abs: "/data/f" + strings.Repeat("z", i) + ".jpg"}
		_, req, _, _ := p.request(c) // as logged
		want = append(want, ErrorLogLine(whatsupResponse, req))
		wg.Go(func() { errs <- p.Handle(context.Background(), c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		srv.next(t)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range want {
		if c := strings.Count(string(b), line); c != 1 {
			t.Errorf("line %q appears %d times", line, c)
		}
		total += len(line)
	}
	if len(b) != total {
		t.Errorf("log holds %d bytes, want %d", len(b), total)
	}
}

func TestCDNErrorLogRotates(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, always(whatsupResponse))
	log := filepath.Join(t.TempDir(), "errorlog.txt")
	p, err := NewRefreshCDN(baseCDN(srv.port()), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Change{Abs: "/data/c1.jpg"}
	_, req, _, _ := p.request(c) // as logged
	line := ErrorLogLine(whatsupResponse, req)
	p.errorLogMax = int64(3 * len(line)) // three lines per file
	for i := range 7 {
		if err := p.Handle(context.Background(), c); err != nil {
			t.Fatalf("Handle %d: %v", i, err)
		}
		srv.next(t)
	}
	// 7 lines: 3 in the rotated-away generation that was replaced, 3 in
	// errorlog.txt.1, 1 in errorlog.txt.
	for name, lines := range map[string]int{log: 1, log + ".1": 3} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat(line, lines); string(b) != want {
			t.Errorf("%s holds %d bytes, want %d whole lines", filepath.Base(name), len(b), lines)
		}
	}
}

func TestCDNUnreachable(t *testing.T) {
	t.Parallel()
	p, err := NewRefreshCDN(baseCDN(freePort(t)), filepath.Join(t.TempDir(), "errorlog.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Handle(context.Background(), Change{Abs: "/data/c1.jpg"})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Handle = %v, want connection refused", err)
	}
}

func TestCDNHostNameResolved(t *testing.T) {
	t.Parallel()
	if _, err := net.DefaultResolver.LookupHost(context.Background(), "localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	srv := startCDNServer(t, always(whatsupResponse))
	cfg := baseCDN(srv.port())
	cfg.DomainName = "localhost"
	p, err := NewRefreshCDN(cfg, filepath.Join(t.TempDir(), "errorlog.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Handle(context.Background(), Change{Abs: "/data/c1.jpg"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.next(t); !strings.HasSuffix(got, "\r\nHost: localhost\r\n\r\n") {
		t.Errorf("request %q lacks the configured Host", got)
	}
}

// TestCDNTimeoutsDoNotDecay checks D-22: a CDN that never answers costs one
// bounded wait and an error, and the next request gets the full deadline
// again and succeeds.
func TestCDNTimeoutsDoNotDecay(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, func(i int) (string, bool) {
		switch i {
		case 0:
			return "", true // hold the connection, answer nothing
		case 1:
			return "", false // close without answering
		}
		return whatsupResponse, false
	})
	log := filepath.Join(t.TempDir(), "errorlog.txt")
	p, err := NewRefreshCDN(baseCDN(srv.port()), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.writeTimeout, p.responseTimeout = 100*time.Millisecond, 100*time.Millisecond
	p.attempts = 1 // one exchange per Handle
	c := Change{Abs: "/data/c1.jpg"}
	err = p.Handle(context.Background(), c)
	var ne net.Error
	if !errors.Is(err, ErrNoResponse) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("silent CDN: Handle = %v, want ErrNoResponse with a timeout", err)
	}
	srv.next(t)
	if err := p.Handle(context.Background(), c); !errors.Is(err, ErrNoResponse) {
		t.Errorf("closing CDN: Handle = %v, want ErrNoResponse", err)
	}
	srv.next(t)
	for i := range 3 {
		if err := p.Handle(context.Background(), c); err != nil {
			t.Errorf("answering CDN, request %d: %v", i, err)
		}
		srv.next(t)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	_, req, _, _ := p.request(c) // as logged
	if want := strings.Repeat(ErrorLogLine(whatsupResponse, req), 3); string(b) != want {
		t.Errorf("error log %q, want %q (failed exchanges log nothing)", b, want)
	}
}

// TestCDNRetries: a CDN that drops the first two requests gets a third
// one; the refresh is logged once in errorlog.txt, and the process log
// never shows the password.
func TestCDNRetries(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, func(i int) (string, bool) {
		if i < 2 {
			return "", false // close without answering
		}
		return whatsupResponse, false
	})
	errLog := filepath.Join(t.TempDir(), "errorlog.txt")
	log, logBuf := testLogger(t)
	cfg := baseCDN(srv.port())
	cfg.Passwd = "s3cret-pw"
	p, err := NewRefreshCDN(cfg, errLog, log)
	if err != nil {
		t.Fatal(err)
	}
	p.backoff = time.Millisecond
	c := Change{Abs: "/data/c1.jpg"}
	if err := p.Handle(context.Background(), c); err != nil {
		t.Fatalf("Handle = %v, want success on the third attempt", err)
	}
	for range 3 {
		if got := srv.next(t); !strings.Contains(got, "&urls=http://img.example.com/cms/c1.jpg ") {
			t.Errorf("request %q", got)
		}
	}
	b, err := os.ReadFile(errLog)
	if err != nil {
		t.Fatal(err)
	}
	_, req, _, _ := p.request(c) // as logged
	if string(b) != ErrorLogLine(whatsupResponse, req) {
		t.Errorf("error log %q, want one line", b)
	}
	if strings.Contains(logBuf.String(), "s3cret-pw") || !strings.Contains(logBuf.String(), "retrying") {
		t.Errorf("process log shows the password or no retry:\n%s", logBuf.String())
	}
	// Every attempt failing: the error names the attempts, not the password.
	p2, err := NewRefreshCDN(cfg, errLog, log)
	if err != nil {
		t.Fatal(err)
	}
	p2.addr, p2.backoff = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))), time.Millisecond
	err = p2.Handle(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "3 attempts") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Handle = %v, want 3 failed attempts without the password", err)
	}
}

func TestCDNCancelled(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, func(int) (string, bool) { return "", true })
	p, err := NewRefreshCDN(baseCDN(srv.port()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Handle(ctx, Change{Abs: "/data/c1.jpg"}) }()
	srv.next(t) // the request is out; the server now holds the connection
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Handle = %v, want context.Canceled", err)
		}
	case <-time.After(CDNResponseTimeout - time.Second):
		t.Fatal("Handle did not return on cancel before its own deadline")
	}
}

func TestNewRefreshCDNErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  func() confxml.RefreshCDNPlugin
		is   error
	}{
		{"no block", func() confxml.RefreshCDNPlugin { c := baseCDN(80); c.Present = false; return c }, ErrNotConfigured},
		{"no domain", func() confxml.RefreshCDNPlugin { c := baseCDN(80); c.DomainName = ""; return c }, ErrNotConfigured},
		{"port 0", func() confxml.RefreshCDNPlugin { return baseCDN(0) }, ErrNotConfigured},
		{"port too big", func() confxml.RefreshCDNPlugin { return baseCDN(65536) }, ErrNotConfigured},
		{"bad regex", func() confxml.RefreshCDNPlugin { c := baseCDN(80); c.Regex, c.Match = true, "data(["; return c }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRefreshCDN(tt.cfg(), "", nil)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("NewRefreshCDN = %v, want error %v", err, tt.is)
			}
		})
	}
}

func BenchmarkCDNRequest(b *testing.B) {
	p, err := NewRefreshCDN(regexCDN(8080), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	c := Change{Abs: "/data/img/some/deeper/path/c2.jpg"}
	for b.Loop() {
		if _, ok, err := p.Request(c); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestCDNHostileNamesOverHTTP sends a refresh for every hostile name, as a
// file and as a directory, with a user name and password that need
// encoding too, to a real HTTP server on 127.0.0.1. Each request must
// reach it as one HEAD whose query decodes to exactly the four parameters,
// the URL byte for byte; a name with CR or LF is refused and never sent;
// the error log is 0600 and never holds the password.
func TestCDNHostileNamesOverHTTP(t *testing.T) {
	t.Parallel()
	names, err := hostile.Read(filepath.Join("..", "testdata", "rsyncexec", "hostile-names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, "a&pswd=stolen&x=", "q?urls=http://evil/", "%41%0D%0A", "x HTTP/1.1\tHost: evil")
	type heard struct{ method, uri, host, query string }
	var mu sync.Mutex
	var got []heard
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, heard{r.Method, r.RequestURI, r.Host, r.URL.RawQuery})
		mu.Unlock()
		w.Header().Set("whatsup", "content=succeed")
	}))
	t.Cleanup(srv.Close)
	cfg := baseCDN(srv.Listener.Addr().(*net.TCPAddr).Port)
	cfg.Username, cfg.Passwd = "u 1&x", "s3cret&pswd= +%"
	errLog := filepath.Join(t.TempDir(), "errorlog.txt")
	p, err := NewRefreshCDN(cfg, errLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, name := range names {
		for _, dir := range []bool{false, true} {
			c := Change{Abs: "/data/" + name, Dir: dir}
			err := p.Handle(context.Background(), c)
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if strings.ContainsAny(name, "\r\n") {
				if !errors.Is(err, ErrLineBreak) || n != sent {
					t.Errorf("%q: Handle = %v with %d requests heard, want ErrLineBreak and none sent", name, err, n-sent)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%q: Handle = %v", name, err)
			}
			sent++
			if n != sent {
				t.Fatalf("%q: the server heard %d requests, want %d", name, n, sent)
			}
			h := got[n-1]
			key, val := "urls", "http://img.example.com/cms/"+name
			if dir {
				key, val = "dirs", val+"/"
			}
			q, err := url.ParseQuery(h.query)
			want := url.Values{"user": {cfg.Username}, "pswd": {cfg.Passwd}, "ok": {"ok"}, key: {val}}
			if err != nil || !reflect.DeepEqual(q, want) || h.method != "HEAD" || h.host != "127.0.0.1" ||
				h.uri != "/index.jsp?"+h.query {
				t.Errorf("%q: server heard %s %q Host %q, query %q (%v); want HEAD with %q", name, h.method, h.uri, h.host, q, err, want)
			}
		}
	}
	// The exact bytes of a few encodings, as the server received them.
	exact := map[string]string{
		"sp ace":           "sp%20ace",
		"amp&pipe|":        "amp%26pipe%7C",
		"pct%s":            "pct%25s",
		"+ plus":           "%2B%20plus",
		"#hash":            "%23hash",
		"\xff\xfe":         "%FF%FE",
		"émoji-日本":         "%C3%A9moji-%E6%97%A5%E6%9C%AC",
		"a&pswd=stolen&x=": "a%26pswd%3Dstolen%26x%3D",
	}
	for name, enc := range exact {
		want := "/index.jsp?user=u%201%26x&pswd=s3cret%26pswd%3D%20%2B%25&ok=ok&urls=http://img.example.com/cms/" + enc
		if !slices.ContainsFunc(got, func(h heard) bool { return h.uri == want }) {
			t.Errorf("%q: no request %q", name, want)
		}
	}
	fi, err := os.Lstat(errLog)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(errLog)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 || strings.Contains(string(b), "s3cret") || strings.Count(string(b), "&pswd=<redacted>&ok=ok&") != sent {
		t.Errorf("error log mode %v, %d lines with the password redacted (want 0600 and %d), password shown: %v",
			fi.Mode(), strings.Count(string(b), "&pswd=<redacted>&ok=ok&"), sent, strings.Contains(string(b), "s3cret"))
	}
}

// TestCDNErrorLogFile: the error log is created 0600, an existing one is
// narrowed to 0600 and appended to, a symlink planted in its place is not
// followed (its target stays as it was, a dangling one is not created),
// and a file of another user is refused.
func TestCDNErrorLogFile(t *testing.T) {
	t.Parallel()
	srv := startCDNServer(t, always(whatsupResponse))
	const old = "an older line\n"
	tests := []struct {
		name    string
		prepare func(t *testing.T, log, target string)
		wantErr error  // nil: the line is appended
		target  string // content the symlink target must keep; "-": must not exist
	}{
		{"created", func(*testing.T, string, string) {}, nil, ""},
		{"existing 0644 narrowed", func(t *testing.T, log, _ string) { writeMode(t, log, old, 0o644) }, nil, ""},
		{"symlink not followed", func(t *testing.T, log, target string) {
			writeMode(t, target, "keep\n", 0o644)
			symlink(t, target, log)
		}, syscall.ELOOP, "keep\n"},
		{"dangling symlink not created", func(t *testing.T, log, target string) { symlink(t, target, log) }, syscall.ELOOP, "-"},
		{"other user's file refused", func(t *testing.T, log, _ string) {
			if os.Geteuid() != 0 {
				const msg = "giving a file to another user needs root"
				if os.Getenv("SERSYNC_TEST_NO_SKIP") == "1" {
					t.Fatal(msg + " (SERSYNC_TEST_NO_SKIP=1)")
				}
				t.Skip(msg)
			}
			writeMode(t, log, old, 0o600)
			if err := os.Chown(log, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, ErrErrorLogOwner, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log, target := filepath.Join(dir, "errorlog.txt"), filepath.Join(dir, "target")
			tt.prepare(t, log, target)
			before, _ := os.ReadFile(log)
			p, err := NewRefreshCDN(baseCDN(srv.port()), log, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := Change{Abs: "/data/c1.jpg"}
			err = p.Handle(context.Background(), c)
			srv.next(t)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Handle = %v, want %v", err, tt.wantErr)
				}
			} else {
				_, line, _, _ := p.request(c)
				b, rerr := os.ReadFile(log)
				fi, serr := os.Lstat(log)
				if err != nil || rerr != nil || serr != nil || string(b) != string(before)+ErrorLogLine(whatsupResponse, line) || fi.Mode() != 0o600 {
					t.Errorf("Handle = %v; log %q (%v), mode %v (%v); want the line appended to %q, mode 0600", err, b, rerr, fi.Mode(), serr, before)
				}
			}
			switch b, err := os.ReadFile(target); {
			case tt.target == "-" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("the dangling symlink's target was created: %q, %v", b, err)
			case tt.target != "-" && tt.target != "" && string(b) != tt.target:
				t.Errorf("symlink target holds %q (%v), want %q untouched", b, err, tt.target)
			}
			if tt.target != "" && tt.target != "-" {
				if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o644 {
					t.Errorf("symlink target mode changed: %v, %v", fi.Mode(), err)
				}
			}
		})
	}
}

func writeMode(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}
