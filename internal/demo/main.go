// Command demo is what `make demo` runs: it starts a local rsync daemon on
// 127.0.0.1 (free port, a module with auth and a 0600 secrets file, all
// under a temporary directory), writes a confxml.xml pointing at it, starts
// sersync2 in the foreground and shows a sample tree replicating live.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

func main() {
	bin := flag.String("bin", "./sersync2", "the sersync2 binary")
	keep := flag.Bool("keep", os.Getenv("DEMO_KEEP") != "", "keep the temporary directory")
	flag.Parse()
	if err := run(*bin, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> "+format+"\033[0m\n", args...)
}

func run(bin string, keep bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sersync2-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	step("starting rsync --daemon on 127.0.0.1 (auth on, secrets file 0600)")
	dd := filepath.Join(tmp, "rsyncd")
	if err := os.Mkdir(dd, 0o755); err != nil {
		return err
	}
	d, err := rsyncd.Start(dd, rsyncd.Options{Auth: true})
	if err != nil {
		return fmt.Errorf("rsync daemon (is rsync installed? run make deps): %w", err)
	}
	defer d.Close()
	dst := d.ModuleDir("www")
	fmt.Printf("rsync daemon %s, module www -> %s, user %s, password file %s\n", d.Addr(), dst, d.User, d.PasswordFile)

	src := filepath.Join(tmp, "src")
	for _, f := range []string{"index.html", "css/site.css", "img/logo.png", "docs/a b 'quoted' $(name).txt"} {
		if err := write(filepath.Join(src, f), "sample "+f+"\n"); err != nil {
			return err
		}
	}
	conf := filepath.Join(tmp, "confxml.xml")
	if err := os.WriteFile(conf, []byte(confXML(src, d)), 0o644); err != nil {
		return err
	}
	step("confxml.xml (stock layout, pointing at the daemon)")
	fmt.Print(confXML(src, d))

	step("starting: sersync2 -r -o %s", conf)
	cmd := exec.Command(bin, "--no-tune-kernel", "--log-level", "debug", "-r", "-o", conf)
	cmd.Dir = tmp
	stderr, _ := cmd.StderrPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (run make build): %w", bin, err)
	}
	var runs runCounter
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { prefix("sersync2 | ", stdout, nil, nil) })
	wg.Go(func() { prefix("sersync2 ! ", stderr, ready, &runs) })
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		wg.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		return errors.New("sersync2 did not start within 30s")
	}

	step("-r pushed the existing tree")
	if err := converge(src, dst, 30*time.Second); err != nil {
		return err
	}

	step("live: writing files one by one")
	for i, f := range []string{"news/today.html", "news/archive/2025.html", "-leading-dash.txt", "semi;colon `echo hi`.txt"} {
		start := time.Now()
		if err := write(filepath.Join(src, f), fmt.Sprintf("live %d\n", i)); err != nil {
			return err
		}
		if err := arrive(filepath.Join(dst, f), 10*time.Second); err != nil {
			return err
		}
		fmt.Printf("  %-32q on the mirror after %v\n", f, time.Since(start).Round(time.Millisecond))
	}

	step("live: rename a directory, delete a file")
	if err := os.Rename(filepath.Join(src, "news"), filepath.Join(src, "press")); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(src, "index.html")); err != nil {
		return err
	}
	if err := converge(src, dst, 30*time.Second); err != nil {
		return err
	}

	step("live: a burst of 2,000 files in 20 directories")
	before := runs.get()
	start := time.Now()
	for i := range 2000 {
		if err := write(filepath.Join(src, "burst", fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d.txt", i)), strings.Repeat("x", 4096)); err != nil {
			return err
		}
	}
	written := time.Since(start)
	if err := converge(src, dst, 60*time.Second); err != nil {
		return err
	}
	// The last batch's log line may trail the tree becoming equal.
	deadline := time.Now().Add(2 * time.Second)
	for runs.get() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("  written in %v, mirror equal %v after the first write, %d rsync runs\n",
		written.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), runs.get()-before)

	step("done: the mirror equals the source")
	return nil
}

// converge polls until dst mirrors src.
func converge(src, dst string, timeout time.Duration) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		diff, err := treecmp.Diff(src, dst, treecmp.Options{})
		if err == nil && len(diff) == 0 {
			fmt.Printf("  mirror equal after %v\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mirror not equal after %v: %v %v", timeout, diff, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func arrive(p string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Lstat(p); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not arrive within %v", p, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func write(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(content), 0o644)
}

type runCounter struct {
	mu sync.Mutex
	n  int
}

func (r *runCounter) add(n int) { r.mu.Lock(); r.n += n; r.mu.Unlock() }
func (r *runCounter) get() int  { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

var runsRe = regexp.MustCompile(`msg=synced .*rsync_runs=(\d+)`)

// prefix copies r to stdout line by line; it closes ready at the start-up
// line and counts rsync runs.
func prefix(p string, r io.Reader, ready chan struct{}, runs *runCounter) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(p + line)
		if ready != nil && strings.Contains(line, "sersync2 started") {
			close(ready)
			ready = nil
		}
		if runs != nil {
			if m := runsRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				runs.add(n)
			}
		}
	}
}

func confXML(src string, d *rsyncd.Daemon) string {
	return string(confgen.Config{
		Roots:        []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users:        d.User,
		PasswordFile: d.PasswordFile,
		Port:         d.Port,
		Timeout:      100,
		FailLog:      filepath.Join(filepath.Dir(src), "rsync_fail_log.sh"),
	}.Render())
}
