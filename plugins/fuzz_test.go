package plugins

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// FuzzCDNURL builds refreshCDN URLs and requests from arbitrary paths and
// configuration. It must never panic, and every request it accepts must keep
// the original's frame: the fixed prefix, the URL, the Host line.
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
		if err != nil {
			if len(u) < MaxCDNRequest-100 {
				t.Fatalf("Request rejected a %d-byte URL: %v", len(u), err)
			}
			return
		}
		param := "&urls=" + u
		if dir {
			param = "&dirs=" + u + "/"
		}
		want := "HEAD /index.jsp?user=u1&pswd=p1&ok=ok" + param + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
		if !ok || req != want || len(req) > MaxCDNRequest {
			t.Fatalf("Request = %q, %v; want %q", req, ok, want)
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
