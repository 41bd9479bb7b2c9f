package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running sersync2 started by a test.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{}
	err            error
}

// startSersync runs the built binary with args in dir; it is stopped with
// SIGTERM when the test ends.
func startSersync(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binPath, append([]string{"--no-tune-kernel"}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("sersync2 stdout:\n%s\nsersync2 stderr:\n%s", tail(p.stdout.String(), 6000), tail(p.stderr.String(), 12000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("sersync2 did not stop within 30s of SIGTERM")
	}
}

// waitReady waits until sersync2 logged that its watches are in place.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, "sersync2 to start", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("sersync2 exited early: %v", p.err)
		default:
		}
		return strings.Contains(p.stderr.String(), "sersync2 started"), ""
	})
}

var syncedRuns = regexp.MustCompile(`msg=synced .*rsync_runs=(\d+)`)

// rsyncRuns sums the rsync processes sersync2 reported for successful
// batches so far.
func (p *proc) rsyncRuns() int {
	n := 0
	for _, m := range syncedRuns.FindAllStringSubmatch(p.stderr.String(), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	var last string
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\n%s", timeout, what, last)
		}
		time.Sleep(delay) // polling interval, not synchronisation
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// waitTreesEqual polls until dst mirrors src.
func waitTreesEqual(t *testing.T, src, dst string, opts treecmp.Options) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%s to mirror %s", dst, src), func() (bool, string) {
		diff, err := treecmp.Diff(src, dst, opts)
		if err != nil {
			return false, err.Error()
		}
		if len(diff) > 20 {
			diff = append(diff[:20], fmt.Sprintf("… and %d more", len(diff)-20))
		}
		return len(diff) == 0, strings.Join(diff, "\n")
	})
}

// conf describes a confxml.xml for a test.
type conf struct {
	roots        []root
	auth         *rsyncd.Daemon // users/passwordfile from it
	port         int            // userDefinedPort, 0 = off
	ssh          string         // ssh command, "" = daemon mode
	filter       []string
	syncDotfiles bool
	debug        bool
	deleteOff    bool
	attrib       bool
	crontabMin   int
	cronExcludes []string
	plugin       string // <sersync><plugin name=…>
	socketAddr   [2]string
}

type root struct {
	watch   string
	remotes [][2]string // ip, name
}

func attrEsc(s string) string {
	r := strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func boolAttr(b bool) string { return strconv.FormatBool(b) }

// write renders c as confxml.xml in dir and returns its path.
func (c conf) write(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<head version=\"2.5\">\n")
	fmt.Fprintf(&b, "  <host hostip=\"localhost\" port=\"8008\"></host>\n  <debug start=\"%s\"/>\n  <fileSystem xfs=\"false\"/>\n", boolAttr(c.debug))
	fmt.Fprintf(&b, "  <filter start=\"%s\" syncDotfiles=\"%s\">\n", boolAttr(len(c.filter) > 0), boolAttr(c.syncDotfiles))
	for _, f := range c.filter {
		fmt.Fprintf(&b, "    <exclude expression=\"%s\"></exclude>\n", attrEsc(f))
	}
	fmt.Fprintf(&b, "  </filter>\n  <inotify>\n    <delete start=\"%s\"/>\n    <createFolder start=\"true\"/>\n    <createFile start=\"false\"/>\n", boolAttr(!c.deleteOff))
	fmt.Fprintf(&b, "    <closeWrite start=\"true\"/>\n    <moveFrom start=\"true\"/>\n    <moveTo start=\"true\"/>\n    <attrib start=\"%s\"/>\n    <modify start=\"false\"/>\n  </inotify>\n  <sersync>\n", boolAttr(c.attrib))
	for _, r := range c.roots {
		fmt.Fprintf(&b, "    <localpath watch=\"%s\">\n", attrEsc(r.watch))
		for _, rm := range r.remotes {
			fmt.Fprintf(&b, "      <remote ip=\"%s\" name=\"%s\"/>\n", attrEsc(rm[0]), attrEsc(rm[1]))
		}
		fmt.Fprintf(&b, "    </localpath>\n")
	}
	fmt.Fprintf(&b, "    <rsync>\n      <commonParams params=\"-artuz\"/>\n")
	if c.auth != nil {
		fmt.Fprintf(&b, "      <auth start=\"true\" users=\"%s\" passwordfile=\"%s\"/>\n", attrEsc(c.auth.User), attrEsc(c.auth.PasswordFile))
	} else {
		fmt.Fprintf(&b, "      <auth start=\"false\" users=\"root\" passwordfile=\"/etc/rsync.pas\"/>\n")
	}
	fmt.Fprintf(&b, "      <userDefinedPort start=\"%s\" port=\"%d\"/>\n", boolAttr(c.port != 0), max(c.port, 874))
	fmt.Fprintf(&b, "      <timeout start=\"true\" time=\"30\"/>\n")
	fmt.Fprintf(&b, "      <ssh start=\"%s\" command=\"%s\"/>\n    </rsync>\n", boolAttr(c.ssh != ""), attrEsc(c.ssh))
	fmt.Fprintf(&b, "    <failLog path=\"%s\" timeToExecute=\"60\"/>\n", attrEsc(filepath.Join(dir, "rsync_fail_log.sh")))
	fmt.Fprintf(&b, "    <crontab start=\"%s\" schedule=\"%d\">\n      <crontabfilter start=\"%s\">\n", boolAttr(c.crontabMin > 0), max(c.crontabMin, 600), boolAttr(len(c.cronExcludes) > 0))
	for _, e := range c.cronExcludes {
		fmt.Fprintf(&b, "        <exclude expression=\"%s\"></exclude>\n", attrEsc(e))
	}
	fmt.Fprintf(&b, "      </crontabfilter>\n    </crontab>\n")
	fmt.Fprintf(&b, "    <plugin start=\"%s\" name=\"%s\"/>\n  </sersync>\n", boolAttr(c.plugin != ""), attrEsc(cmp.Or(c.plugin, "command")))
	fmt.Fprintf(&b, "  <plugin name=\"command\">\n    <param prefix=\"/bin/true\" suffix=\"\" ignoreError=\"true\"/>\n    <filter start=\"false\"/>\n  </plugin>\n")
	if c.socketAddr[0] != "" {
		watch := c.roots[0].watch
		fmt.Fprintf(&b, "  <plugin name=\"socket\">\n    <localpath watch=\"%s\">\n      <deshost ip=\"%s\" port=\"%s\"/>\n    </localpath>\n  </plugin>\n", attrEsc(watch), c.socketAddr[0], c.socketAddr[1])
	}
	fmt.Fprintf(&b, "</head>\n")
	p := filepath.Join(dir, "confxml.xml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostileNames reads the project's list of hostile file names.
func hostileNames(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("hostile-names.txt: %q: %v", line, err)
		}
		names = append(names, n)
	}
	return names
}

// noPWNED fails when a file named PWNED exists below any of dirs: a file
// name was run as shell code.
func noPWNED(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Name() == "PWNED" {
				t.Errorf("a file name was executed: %s exists", p)
			}
			return nil
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
