package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/poll"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/socksink"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// heard is what a plugin's peer received, in arrival order.
type heard struct {
	mu    sync.Mutex
	paths []string
}

func (h *heard) add(p string) {
	h.mu.Lock()
	h.paths = append(h.paths, p)
	h.mu.Unlock()
}

func (h *heard) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.paths)
}

// count returns how often p was heard.
func (h *heard) count(p string) int {
	n := 0
	for _, x := range h.all() {
		if x == p {
			n++
		}
	}
	return n
}

// waitAll waits until every path of want was heard at least once.
func (h *heard) waitAll(t *testing.T, what string, want []string) {
	t.Helper()
	waitHeard(t, what, want, func() *heard { return h })
}

// waitHeard polls now until every path of want was heard at least once.
func waitHeard(t *testing.T, what string, want []string, now func() *heard) {
	t.Helper()
	poll.Until(t, 60*time.Second, what, func() (bool, string) {
		h := now()
		var missing []string
		for _, w := range want {
			if h.count(w) == 0 {
				missing = append(missing, strconv.Quote(w))
			}
		}
		return len(missing) == 0, "missing: " + strings.Join(missing, " ")
	})
}

// socketPeer collects the socket plugin's payloads from got.
func socketPeer(t *testing.T, got chan string) *heard {
	h := &heard{}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case p := <-got:
				h.add(p)
			case <-done:
				return
			}
		}
	}()
	return h
}

// recorder is a command plugin: a shell script that appends its first
// argument, NUL-terminated, to a file (one write per run), after waiting
// for a gate file when one is named.
type recorder struct {
	script, log, gate string
}

func newRecorder(t *testing.T, dir string, gated bool) *recorder {
	t.Helper()
	r := &recorder{script: filepath.Join(dir, "record.sh"), log: filepath.Join(dir, "heard.bin")}
	wait := ""
	if gated {
		r.gate = filepath.Join(dir, "gate")
		// The plugin's own slowness, not the test's synchronisation.
		wait = "while [ ! -e " + r.gate + " ]; do sleep 0.05; done\n"
	}
	body := "#!/bin/sh\n" + wait + "printf '%s\\0' \"$1\" >> " + r.log + "\n"
	if err := os.WriteFile(r.script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *recorder) heard(t *testing.T) *heard {
	t.Helper()
	b, err := os.ReadFile(r.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	h := &heard{}
	for _, p := range bytes.Split(b, []byte{0}) {
		if len(p) > 0 {
			h.add(string(p))
		}
	}
	return h
}

// waitAll waits until the command ran at least once for every path of want.
func (r *recorder) waitAll(t *testing.T, what string, want []string) {
	t.Helper()
	waitHeard(t, what, want, func() *heard { return r.heard(t) })
}

// TestE2ECommandPluginHearsEveryPath: a command plugin recording its
// argument runs for every path the watcher reports, folded for rsync or
// not: mkdir -p with writes at once, cp -r of a tree, hostile names, a
// renamed populated directory and deletes. Files written once in an
// existing directory are heard exactly once. The mirror follows.
func TestE2ECommandPluginHearsEveryPath(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	rec := newRecorder(t, work, false)
	src, dst, _, p := setup(t, confgen.Config{Plugin: "command", CommandPrefix: rec.script})
	p.waitReady(t)
	abs := func(rel string) string { return src + "/" + rel }

	// mkdir -p and writes at once: the files are folded into x for rsync.
	if err := os.MkdirAll(filepath.Join(src, "x/y/z"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "x/y/z/f.php"), "php")
	writeFile(t, filepath.Join(src, "x/a.txt"), "a")
	rec.waitAll(t, "mkdir -p and its files", []string{abs("x"), abs("x/y"), abs("x/y/z"), abs("x/y/z/f.php"), abs("x/a.txt")})

	// cp -r of a tree into the root.
	site := filepath.Join(work, "site")
	var tree []string
	for _, f := range []string{"index.php", "css/a.css", "img/b/c.png", "img/b/d.png"} {
		writeFile(t, filepath.Join(site, f), f)
	}
	if out, err := exec.Command("cp", "-r", site, filepath.Join(src, "site")).CombinedOutput(); err != nil {
		t.Fatalf("cp -r: %v\n%s", err, out)
	}
	for _, f := range []string{"site", "site/index.php", "site/css", "site/css/a.css", "site/img", "site/img/b", "site/img/b/c.png", "site/img/b/d.png"} {
		tree = append(tree, abs(f))
	}
	rec.waitAll(t, "the copied tree", tree)

	// Hostile names, written once each in an existing directory.
	var hostileAbs []string
	for _, n := range hostileNames(t) {
		writeFile(t, filepath.Join(src, "x", n), n)
		hostileAbs = append(hostileAbs, abs("x/"+n))
	}
	rec.waitAll(t, "the hostile names", hostileAbs)

	// A renamed populated directory, then deletes.
	if err := os.Rename(filepath.Join(src, "site"), filepath.Join(src, "site2")); err != nil {
		t.Fatal(err)
	}
	rec.waitAll(t, "both sides of the rename", []string{abs("site"), abs("site2")})
	if err := os.RemoveAll(filepath.Join(src, "site2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "x/a.txt")); err != nil {
		t.Fatal(err)
	}
	before := rec.heard(t).count(abs("x/a.txt"))
	poll.Until(t, 60*time.Second, "the deletes", func() (bool, string) {
		h := rec.heard(t)
		return h.count(abs("site2")) >= 2 && h.count(abs("x/a.txt")) > before, fmt.Sprint(h.count(abs("site2")), h.count(abs("x/a.txt")))
	})
	waitTreesEqual(t, src, dst, treecmp.Options{})

	h := rec.heard(t)
	for _, p := range hostileAbs {
		if n := h.count(p); n != 1 {
			t.Errorf("command ran %d times for %q, want once", n, p)
		}
	}
	for _, p := range h.all() {
		if !strings.HasPrefix(p, src+"/") {
			t.Errorf("command ran for %q, outside the root", p)
		}
	}
	hostile.NoPWNED(t, work, filepath.Dir(src))
}

// TestE2EPluginsFirstRemoteDown: with the first of two remotes down, the
// plugin still hears of every change (after the failed attempt), and the
// second remote mirrors at once.
func TestE2EPluginsFirstRemoteDown(t *testing.T) {
	t.Parallel()
	for _, plugin := range []string{"socket", "command"} {
		t.Run(plugin, func(t *testing.T) {
			t.Parallel()
			a := rsyncd.StartT(t, rsyncd.Options{Auth: true})
			b := rsyncd.StartT(t, rsyncd.Options{Auth: true, IP: "127.0.0.2", Port: a.Port})
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			src := filepath.Join(work, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				t.Fatal(err)
			}
			c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: a.IP, Name: "www"}, {IP: b.IP, Name: "www"}}}},
				Users: a.User, PasswordFile: a.PasswordFile, Port: a.Port, Plugin: plugin}
			var got *heard
			var rec *recorder
			if plugin == "socket" {
				var ch chan string
				c.Socket, ch = socksink.Listen(t)
				got = socketPeer(t, ch)
			} else {
				rec = newRecorder(t, work, false)
				c.CommandPrefix = rec.script
			}
			p := startSersync(t, work, "-o", writeConf(t, work, c))
			p.waitReady(t)
			var want []string
			for i := range 5 {
				writeFile(t, filepath.Join(src, "d", fmt.Sprintf("f%d", i)), "x")
				want = append(want, fmt.Sprintf("%s/d/f%d", src, i))
			}
			want = append(want, src+"/d")
			waitTreesEqual(t, src, b.ModuleDir("www"), treecmp.Options{})
			if got != nil {
				got.waitAll(t, "every change at the socket", want)
			} else {
				rec.waitAll(t, "every change at the command", want)
			}
			if !strings.Contains(p.stderr.String(), "will retry") {
				t.Errorf("the first remote did not fail")
			}
		})
	}
}

// TestE2ESlowPluginDoesNotDelayMirror: a command that does not return
// until the test lets it leaves syncing alone; once let go it hears
// every change.
func TestE2ESlowPluginDoesNotDelayMirror(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, t.TempDir(), true)
	src, dst, _, p := setup(t, confgen.Config{Plugin: "command", CommandPrefix: rec.script})
	p.waitReady(t)
	var want []string
	for i := range 30 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), "x")
		want = append(want, fmt.Sprintf("%s/f%02d", src, i))
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	writeFile(t, filepath.Join(src, "later.txt"), "synced while the plugin hangs")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	if n := len(rec.heard(t).all()); n != 0 {
		t.Fatalf("the gated command finished %d runs", n)
	}
	writeFile(t, rec.gate, "")
	rec.waitAll(t, "every change after the gate opened", append(want, src+"/later.txt"))
}

// TestE2ESocketPeerRestarted: the socket plugin's peer stops mid-run;
// changes made meanwhile reach it when it listens again on its port, and
// syncing never waits for it.
func TestE2ESocketPeerRestarted(t *testing.T) {
	t.Parallel()
	ch := make(chan string, 100)
	l := socksink.ListenAt(t, "127.0.0.1:0", ch)
	got := socketPeer(t, ch)
	host, port, _ := net.SplitHostPort(l.Addr().String())
	src, dst, _, p := setup(t, confgen.Config{Plugin: "socket", Socket: [2]string{host, port}})
	p.waitReady(t)
	writeFile(t, filepath.Join(src, "before.txt"), "x")
	got.waitAll(t, "the first change", []string{src + "/before.txt"})

	l.Close()
	var want []string
	for i := range 10 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("down%d.txt", i)), "x")
		want = append(want, fmt.Sprintf("%s/down%d.txt", src, i))
	}
	waitTreesEqual(t, src, dst, treecmp.Options{})
	poll.Until(t, 30*time.Second, "the plugin to notice the peer is down", func() (bool, string) {
		return strings.Contains(p.stderr.String(), "socket peer unreachable"), ""
	})
	socksink.ListenAt(t, net.JoinHostPort(host, port), ch)
	got.waitAll(t, "the changes made while the peer was down", want)
	for _, w := range want {
		if n := got.count(w); n != 1 {
			t.Errorf("%q heard %d times, want once", w, n)
		}
	}
}

// TestE2ERefreshCDNTree: the refreshCDN plugin sends one request per path
// of a directory tree copied in, to an HTTP server standing in for the
// CDN; directories as &dirs=URL/, files as &urls=URL. A hostile name
// arrives percent-encoded and decodes to itself; a name with a newline is
// not sent and is logged. errorlog.txt, in sersync2's working directory,
// is 0600 and never holds the password.
func TestE2ERefreshCDNTree(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries, urls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		urls = append(urls, r.URL.Query()["urls"]...)
		mu.Unlock()
		w.Header().Set("whatsup", "content=succeed")
	}))
	t.Cleanup(srv.Close)
	host, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	src, dst, _, p := setup(t, confgen.Config{Plugin: "refreshCDN",
		RefreshCDN: confgen.CDN{DomainName: host, Port: port, User: "u1", Password: "p1-secret", Base: "http://img.example.com/cms"}})
	p.waitReady(t)
	tree := filepath.Join(t.TempDir(), "img")
	const hostileName, newlineName = "h&pswd=x #%+ 'q\".jpg", "nl\nname.jpg"
	for _, f := range []string{"a.jpg", "b/c.jpg", "b/d/e.png", hostileName, newlineName} {
		writeFile(t, filepath.Join(tree, f), f)
	}
	if out, err := exec.Command("cp", "-r", tree, filepath.Join(src, "img")).CombinedOutput(); err != nil {
		t.Fatalf("cp -r: %v\n%s", err, out)
	}
	const pre = "user=u1&pswd=p1-secret&ok=ok&"
	want := []string{pre + "dirs=http://img.example.com/cms/img/", pre + "urls=http://img.example.com/cms/img/a.jpg",
		pre + "dirs=http://img.example.com/cms/img/b/", pre + "urls=http://img.example.com/cms/img/b/c.jpg",
		pre + "dirs=http://img.example.com/cms/img/b/d/", pre + "urls=http://img.example.com/cms/img/b/d/e.png"}
	poll.Until(t, 60*time.Second, "a request per path of the tree", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range want {
			if !slices.Contains(queries, w) {
				return false, fmt.Sprintf("missing %s in %q", w, queries)
			}
		}
		if !slices.Contains(urls, "http://img.example.com/cms/img/"+hostileName) {
			return false, fmt.Sprintf("the hostile name is not among the URLs %q", urls)
		}
		return strings.Contains(p.stderr.String(), "CR or LF in a refreshCDN path"), "no log line refusing the newline name"
	})
	waitTreesEqual(t, src, dst, treecmp.Options{})
	mu.Lock()
	for _, q := range queries {
		if strings.Contains(q, "nl") {
			t.Errorf("the newline name was sent: %q", q)
		}
	}
	n := len(queries)
	mu.Unlock()
	errLog := filepath.Join(filepath.Dir(src), "errorlog.txt")
	poll.Until(t, 30*time.Second, "a line per request in errorlog.txt", func() (bool, string) {
		b, _ := os.ReadFile(errLog)
		return strings.Count(string(b), "&pswd=<redacted>&") >= n, string(b)
	})
	b, _ := os.ReadFile(errLog)
	if fi, err := os.Stat(errLog); err != nil || fi.Mode().Perm() != 0o600 || strings.Contains(string(b), "p1-secret") {
		t.Errorf("errorlog.txt: mode %v (%v), holds the password: %v", fi.Mode(), err, strings.Contains(string(b), "p1-secret"))
	}
	if strings.Contains(p.stderr.String(), "p1-secret") {
		t.Errorf("the CDN password is in the log")
	}
}
