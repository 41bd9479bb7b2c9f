//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/sshd"
)

// target is one remote of a cell: a daemon with its own module, reached by
// the tools directly or through a delay proxy.
type target struct {
	d   *rsyncd.Daemon
	dst string // the daemon's module directory
	// ip and port are where the tools connect: the daemon itself, or the
	// delay proxy in front of it.
	ip    string
	port  int
	proxy *delayProxy // nil without added latency
	slow  bool        // the fan-out case's slow remote
	// ssh, with wl.ssh, is an sshd the tools push through instead of the
	// daemon (into its module directory), reached through proxy, a
	// counting relay; sshCmd is the <ssh command> for it.
	ssh    *sshd.Server
	sshCmd string
	// logStart is the daemon log's size once the daemon is up: its
	// readiness probe is a connection too, counted from here.
	logStart int64
}

// startTargets starts the cell's daemons: one, or for the fan-out case
// sizes.fanRemotes of them on 127.0.0.1, 127.0.0.2, … sharing one port
// (the remotes of one confxml.xml share <userDefinedPort>). With wl.wan
// every remote, and in the fan-out case the last one (the slow remote), is
// reached through a delay proxy listening where the tools connect; its
// daemon then listens on 127.0.1.K behind it.
func (c *cell) startTargets(wl workload) error {
	n := 1
	if wl.fan {
		n = max(1, c.size.fanRemotes)
	}
	port := 0
	if n > 1 || wl.wan {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	for k := range n {
		slow := wl.fan && n > 1 && k == n-1
		delay := time.Duration(0)
		switch {
		case slow:
			delay = c.cfg.slowRTT / 2
		case wl.wan:
			delay = c.cfg.wanRTT / 2
		}
		ip := fmt.Sprintf("127.0.0.%d", k+1)
		opts := rsyncd.Options{Auth: true, IP: ip, Port: port}
		if delay > 0 {
			opts.IP, opts.Port = fmt.Sprintf("127.0.1.%d", k+1), 0
		}
		dir := filepath.Join(c.targetDir, "rsyncd-"+strconv.Itoa(k+1))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		d, err := rsyncd.Start(dir, opts)
		if err != nil {
			return err
		}
		t := &target{d: d, dst: d.ModuleDir("www"), ip: d.IP, port: d.Port, slow: slow}
		c.targets = append(c.targets, t)
		if delay > 0 {
			if t.proxy, err = startDelayProxy(net.JoinHostPort(ip, strconv.Itoa(port)), d.Addr(), delay); err != nil {
				return err
			}
			t.ip, t.port = ip, port
		}
		if t.logStart, err = fileSize(d.LogFile); err != nil {
			return err
		}
		if wl.ssh {
			if err := t.startSSH(filepath.Join(c.dir, "sshd")); err != nil {
				return err
			}
		}
	}
	c.d, c.dst = c.targets[0].d, c.targets[0].dst
	return nil
}

// startSSH starts an sshd with its files in dir and a counting relay in
// front of it.
func (t *target) startSSH(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	s, err := sshd.Start(dir, sshd.Options{})
	if err != nil {
		return err
	}
	t.ssh = s
	if t.proxy, err = startDelayProxy(net.JoinHostPort(s.IP, "0"), net.JoinHostPort(s.IP, strconv.Itoa(s.Port)), 0); err != nil {
		return err
	}
	t.sshCmd = s.SSHCommandPort(t.proxy.Port())
	return nil
}

// closeTargets stops every proxy, daemon and sshd of the cell.
func (c *cell) closeTargets() {
	for _, t := range c.targets {
		if t.proxy != nil {
			_ = t.proxy.Close()
		}
		if t.ssh != nil {
			_ = t.ssh.Close()
		}
		_ = t.d.Close()
	}
}

// dsts returns the module directories of every target.
func (c *cell) dsts() []string {
	out := make([]string, len(c.targets))
	for i, t := range c.targets {
		out[i] = t.dst
	}
	return out
}

// logSizes returns the size of every target's daemon log.
func (c *cell) logSizes() ([]int64, error) {
	out := make([]int64, len(c.targets))
	for i, t := range c.targets {
		var err error
		if out[i], err = fileSize(t.d.LogFile); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// connects sums the rsync connections of every target's daemon from the
// given log offsets (nil: since each daemon was up).
func (c *cell) connects(from []int64) (int, error) {
	n := 0
	for i, t := range c.targets {
		off := t.logStart
		if from != nil {
			off = from[i]
		}
		k, err := countConnects(t.d.LogFile, off)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// freePort returns a TCP port free on 127.0.0.1 at the moment (the
// daemons then bind it on their own addresses).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// remoteConv is one remote's figures in the fan-out case.
type remoteConv struct {
	Remote int  `json:"remote"`
	Slow   bool `json:"slow,omitempty"`
	// ConvergeS is the arrival of the remote's last file after the
	// writer ended (0 if it came before); -1 when files were lost.
	ConvergeS float64 `json:"converge_s"`
	P99Ms     float64 `json:"p99_ms"` // per-file latency, close → arrival
	Lost      int     `json:"lost"`
}

// procPeak samples a tool's process tree every 10 ms and keeps the most
// rsync processes seen at once (the -n bound). Its goroutine is owned by
// it: stop ends it and waits.
type procPeak struct {
	stopC chan struct{}
	wg    sync.WaitGroup
	max   int
}

func watchProcs(root int) *procPeak {
	p := &procPeak{stopC: make(chan struct{})}
	p.wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if all, err := allProcs(); err == nil {
				n := 0
				for _, q := range descendants(root, all) {
					if q.comm == "rsync" {
						n++
					}
				}
				p.max = max(p.max, n)
			}
			select {
			case <-p.stopC:
				return
			case <-t.C: // sampling interval
			}
		}
	})
	return p
}

// stop ends the sampling and returns the peak.
func (p *procPeak) stop() int {
	close(p.stopC)
	p.wg.Wait()
	return p.max
}
