package plugins

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// FuzzCDNURL builds refreshCDN URLs and requests from arbitrary paths and
// configuration. It must never panic, a path with CR or LF is refused, and
// every request it accepts must keep the original's frame (the fixed
// prefix, one query, the Host line) with a query that decodes to exactly
// the four parameters, the URL among them byte for byte.
func FuzzCDNURL(f *testing.F) {
	// Seeds: the golden cases of testdata/plugins.
	for _, c := range cdnCases {
		cfg := c.cfg(8080)
		if _, err := os.Stat(filepath.Join("..", "testdata", "plugins", c.name+".req")); err != nil {
			f.Fatalf("seed %s has no golden file: %v", c.name, err)
		}
		f.Add(cfg.Watch, cfg.BaseURL, cfg.Match, cfg.Regex, c.change.Abs, c.change.Dir)
	}
	f.Add("/data", "http://x", "(", true, "/data/a", false)
	f.Add("/data/long", "", "", false, "/data", true)
	f.Add("/data", "http://x", "", false, "/data/a\r\nb", false)
	f.Add("/data", "http://x/?a=b#c", "", false, "/data/%41+&pswd=x;y", true)
	f.Fuzz(func(t *testing.T, watch, base, match string, regex bool, abs string, dir bool) {
		cfg := baseCDN(8080)
		cfg.Watch, cfg.BaseURL, cfg.Match, cfg.Regex = watch, base, match, regex
		if regex {
			re, err := regexp.Compile(match)
			if err != nil {
				if _, err := NewRefreshCDN(cfg, "", nil); err == nil {
					t.Fatalf("invalid regex %q accepted", match)
				}
				return
			}
			cfg.MatchRegexp = re
		}
		p, err := NewRefreshCDN(cfg, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		u, ok, err := p.URL(abs)
		if err != nil {
			if regex || strings.HasPrefix(abs, watch) {
				t.Fatalf("URL(%q): unexpected error %v", abs, err)
			}
			return
		}
		if !ok {
			if !regex || cfg.MatchRegexp.MatchString(abs) {
				t.Fatalf("URL(%q) skipped without a regex miss", abs)
			}
			return
		}
		if !strings.HasPrefix(u, base) {
			t.Fatalf("URL %q does not start with base %q", u, base)
		}
		if !regex && u != base+abs[len(watch):] {
			t.Fatalf("URL %q, want base + path below watch", u)
		}
		req, ok, err := p.Request(Change{Abs: abs, Dir: dir})
		switch {
		case strings.ContainsAny(abs, "\r\n"):
			if !errors.Is(err, ErrLineBreak) {
				t.Fatalf("Request(%q) = %v, want ErrLineBreak", abs, err)
			}
			return
		case err != nil:
			if 3*len(u) < MaxCDNRequest-100 {
				t.Fatalf("Request rejected a %d-byte URL: %v", len(u), err)
			}
			return
		}
		query, ok2 := strings.CutPrefix(req, "HEAD /index.jsp?")
		query, ok3 := strings.CutSuffix(query, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
		if !ok || !ok2 || !ok3 || strings.ContainsAny(query, " \r\n#") || len(req) > MaxCDNRequest {
			t.Fatalf("Request = %q, %v: not the original's frame", req, ok)
		}
		key, val := "urls", u
		if dir {
			key, val = "dirs", u+"/"
		}
		got, err := url.ParseQuery(query)
		want := url.Values{"user": {"u1"}, "pswd": {"p1"}, "ok": {"ok"}, key: {val}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("query %q decodes to %q, %v; want %q", query, got, err, want)
		}
	})
}

func FuzzErrorLogLine(f *testing.F) {
	f.Add(whatsupResponse, "REQ")
	f.Add("whatsup\n", "")
	f.Add("HTTP/1.0 404\r\n\r\n", "R")
	f.Fuzz(func(t *testing.T, resp, req string) {
		line := ErrorLogLine(resp, req)
		if !strings.HasSuffix(line, " "+req+"\n") {
			t.Fatalf("ErrorLogLine(%q, %q) = %q lacks the request", resp, req, line)
		}
		text := strings.TrimSuffix(line, " "+req+"\n")
		if !strings.Contains(resp, text) {
			t.Fatalf("logged text %q is not from the response %q", text, resp)
		}
	})
}
