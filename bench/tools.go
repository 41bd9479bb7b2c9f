//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/outbuf"
)

// Tool names, as they appear in the table and the JSON.
const (
	// toolOurs is sersync2 on the inotify backend (--watcher inotify),
	// toolOursFan the same binary and settings on the fanotify backend
	// (--watcher fanotify; it needs root, and is left out of a run when
	// fanotify cannot watch the work directory).
	toolOurs    = "sersync2"
	toolOursFan = "sersync2-fanotify"
	// toolOursNoMoves is sersync2 with --no-remote-moves: over ssh it
	// sends renamed data again (the comparison of the SSH cases only).
	toolOursNoMoves = "sersync2-nomoves"
	// toolOursBase is sersync2 with the same settings from another binary
	// (-base-bin): two builds measured in the same cells, interleaved.
	toolOursBase = "sersync2-base"
	toolLsyncd1  = "lsyncd-d1"
	toolLsyncd0  = "lsyncd-d0"
	toolLoop     = "inotify-loop"
	toolFloor    = "rsync-floor"
)

// isOurs reports whether tool is a sersync2 binary.
func isOurs(tool string) bool {
	return tool == toolOurs || tool == toolOursFan || tool == toolOursBase || tool == toolOursNoMoves
}

func isPeer(tool string) bool {
	return tool == toolLsyncd1 || tool == toolLsyncd0 || tool == toolLoop
}

// running is a tool process started by the harness. The goroutine that
// waits for it is owned by running: stop and kill wait for done.
type running struct {
	name string
	cmd  *exec.Cmd
	out  *outbuf.Buffer // stdout and stderr
	done chan struct{}
	err  error // cmd.Wait's result, valid after done
	// signal asks the tool to stop (SIGTERM to the right processes).
	signal func(r *running) error
	// started is when the process was started; watchesAt, once set, how
	// long after that the tool said its watches were in place.
	started   time.Time
	watchesAt time.Duration
	watches   func(out string) bool // the tool's "watches in place" line
}

func startProcess(name string, cmd *exec.Cmd, signal func(*running) error) (*running, error) {
	r := &running{name: name, cmd: cmd, out: &outbuf.Buffer{}, done: make(chan struct{}), signal: signal, started: time.Now()}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	// Own process group: kill reaches every leftover child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	return r, nil
}

func (r *running) pid() int { return r.cmd.Process.Pid }

func (r *running) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// stop asks the tool to stop and waits for it; after timeout it kills the
// process group. It returns the CPU time of the tool and every child it
// reaped (the rusage of the exited process).
func (r *running) stop(timeout time.Duration) (time.Duration, error) {
	var sigErr error
	if !r.exited() {
		sigErr = r.signal(r)
	}
	var err error
	select {
	case <-r.done:
	case <-time.After(timeout):
		err = fmt.Errorf("%s did not exit within %v of SIGTERM; killed", r.name, timeout)
		r.kill()
	}
	// Leftovers in the group (a child the tool did not wait for).
	_ = syscall.Kill(-r.pid(), syscall.SIGKILL)
	if err == nil && sigErr != nil {
		err = fmt.Errorf("%s: stop: %w", r.name, sigErr)
	}
	ru, ok := r.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.Join(err, fmt.Errorf("%s: no rusage", r.name))
	}
	return rusageCPU(ru), err
}

// kill ends the whole process group at once and waits for the tool.
func (r *running) kill() {
	_ = syscall.Kill(-r.pid(), syscall.SIGKILL)
	_ = r.cmd.Process.Kill()
	<-r.done
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sigterm(r *running) error { return r.cmd.Process.Signal(syscall.SIGTERM) }

// sigtermBelowRoot stops a shell pipeline: every process below the shell
// gets SIGTERM, so that the shell itself reaps them and exits, and its
// rusage covers the pipeline.
func sigtermBelowRoot(r *running) error {
	all, err := allProcs()
	if err != nil {
		return err
	}
	for _, p := range descendants(r.pid(), all)[1:] {
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
	}
	return nil
}

// waitOutput polls the tool's output until ok says it is ready.
func (r *running) waitOutput(ctx context.Context, timeout time.Duration, what string, ok func(string) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		out := r.out.String()
		if r.watchesAt == 0 && r.watches != nil && r.watches(out) {
			r.watchesAt = time.Since(r.started)
		}
		if ok(out) {
			return nil
		}
		if r.exited() {
			return fmt.Errorf("%s exited while waiting for %s (%v): %s", r.name, what, r.err, tail(out, 2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %s after %v: %s", r.name, what, timeout, tail(out, 2000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling interval, not synchronisation
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// startTool starts tool on the cell and returns once it is ready to see
// changes: its watches are in place and its start-up sync has finished.
func startTool(ctx context.Context, c *cell, tool string) (*running, error) {
	switch tool {
	case toolOurs:
		return startOurs(ctx, c, c.cfg.bin, tool, "--watcher", "inotify")
	case toolOursFan:
		return startOurs(ctx, c, c.cfg.bin, tool, "--watcher", "fanotify")
	case toolOursNoMoves:
		return startOurs(ctx, c, c.cfg.bin, tool, "--watcher", "inotify", "--no-remote-moves")
	case toolOursBase:
		// No --watcher: an older build may not know it.
		return startOurs(ctx, c, c.cfg.baseBin, tool)
	case toolLsyncd1:
		return startLsyncd(ctx, c, 1)
	case toolLsyncd0:
		return startLsyncd(ctx, c, 0)
	case toolLoop:
		return startLoop(ctx, c)
	}
	return nil, fmt.Errorf("unknown tool %q", tool)
}

var fullSynced = regexp.MustCompile(`msg="full sync done"`)

// startOurs runs sersync2 in the foreground with a stock-style config and
// -r, and waits for its start-up line and the -r full sync. Its flags are
// the ones every sersync2 build knows, so that -base-bin can be an older
// one; extra come before -sersync2-flags, which can override them.
func startOurs(ctx context.Context, c *cell, bin, name string, extra ...string) (*running, error) {
	dir := filepath.Join(c.dir, "sersync")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "confxml.xml")
	if err := os.WriteFile(conf, []byte(stockConf(c.src, c.targets, filepath.Join(dir, "rsync_fail_log.sh"))), 0o644); err != nil {
		return nil, err
	}
	// At the default log level, as operators run it: debug lines cost CPU
	// per batch.
	args := append([]string{"--no-tune-kernel", "-r", "-n", "10", "-o", conf}, extra...)
	cmd := exec.Command(bin, append(args, c.cfg.binArgs...)...)
	cmd.Dir = dir
	r, err := startProcess(name, cmd, sigterm)
	if err != nil {
		return nil, err
	}
	r.watches = func(s string) bool { return strings.Contains(s, `msg="sersync2 started"`) }
	err = r.waitOutput(ctx, c.readyTimeout(), "start-up line and -r full sync", func(s string) bool {
		return strings.Contains(s, `msg="sersync2 started"`) && fullSynced.MatchString(s)
	})
	if err != nil {
		r.kill()
		return nil, err
	}
	return r, nil
}

// stockConf renders the stock confxml.xml with the watch root, one remote
// per target, auth and userDefinedPort pointing at the targets (which
// share a port and a password); every other element as shipped
// (commonParams -artuz, delete/createFolder/closeWrite/moveFrom/moveTo on,
// filter, crontab and plugins off).
func stockConf(watch string, ts []*target, failLog string) string {
	if ts[0].sshCmd != "" { // over ssh into the daemon's module directory
		return string(confgen.Config{
			Roots:   []confgen.Root{{Watch: watch, Remotes: []confgen.Remote{{IP: ts[0].ssh.IP, Name: ts[0].dst}}}},
			SSH:     ts[0].sshCmd,
			FailLog: failLog,
		}.Render())
	}
	var rs []confgen.Remote
	for _, t := range ts {
		rs = append(rs, confgen.Remote{IP: t.ip, Name: "www"})
	}
	return string(confgen.Config{
		Roots:        []confgen.Root{{Watch: watch, Remotes: rs}},
		Users:        ts[0].d.User,
		PasswordFile: ts[0].d.PasswordFile,
		Port:         ts[0].port,
		FailLog:      failLog,
	}.Render())
}

// readyTimeout bounds a tool's start-up in this cell.
func (c *cell) readyTimeout() time.Duration {
	if workloads[c.workload].dirs {
		return c.size.dirsReady
	}
	return c.size.readyTimeout
}

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", ch)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// lsyncdConf is the typical tutorial configuration: default.rsync to the
// daemon module, archive, no compression, the password file and the port;
// one sync block per target.
func lsyncdConf(src string, ts []*target, delay int) string {
	var b strings.Builder
	b.WriteString("settings {\n\tnodaemon = true,\n}\n")
	for _, t := range ts {
		b.WriteString(lsyncdSync(src, t, delay))
	}
	return b.String()
}

func lsyncdSync(src string, t *target, delay int) string {
	return fmt.Sprintf(`sync {
	default.rsync,
	source = %s,
	target = %s,
	delay = %d,
	rsync = {
		archive = true,
		compress = false,
		password_file = %s,
		_extra = { %s },
	},
}
`, luaString(src), luaString(t.d.User+"@"+t.ip+"::www"), delay, luaString(t.d.PasswordFile), luaString("--port="+strconv.Itoa(t.port)))
}

// startLsyncd runs lsyncd in the foreground and waits until its start-up
// rsync has finished (its watches are added before that rsync starts).
func startLsyncd(ctx context.Context, c *cell, delay int) (*running, error) {
	dir := filepath.Join(c.dir, "lsyncd")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "lsyncd.lua")
	if err := os.WriteFile(conf, []byte(lsyncdConf(c.src, c.targets, delay)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("lsyncd", conf)
	cmd.Dir = dir
	name := toolLsyncd1
	if delay == 0 {
		name = toolLsyncd0
	}
	r, err := startProcess(name, cmd, sigterm)
	if err != nil {
		return nil, err
	}
	// lsyncd adds its watches before it starts the start-up rsync(s).
	r.watches = func(s string) bool { return strings.Contains(s, "recursive startup rsync") }
	err = r.waitOutput(ctx, c.readyTimeout(), "finished start-up sync", func(s string) bool {
		return strings.Count(s, "finished.") >= len(c.targets) && strings.Contains(s, "Startup of")
	})
	if err != nil {
		r.kill()
		return nil, err
	}
	return r, nil
}

// loopScript is the classic inotifywait | while read; rsync loop. The
// paths come in as positional parameters, never as shell code. -q is left
// out so that inotifywait says "Watches established." on stderr.
const loopScript = `src=$1 dest=$2 port=$3 pw=$4
inotifywait -mr -e close_write,create,delete,moved_to,moved_from "$src" | while read -r _; do
	rsync -az --delete "$src"/ "$dest" --port="$port" --password-file="$pw"
done`

// loopFanScript is the same loop for several destinations: one rsync per
// destination, in parallel, for every event.
const loopFanScript = `src=$1 port=$2 pw=$3
shift 3
inotifywait -mr -e close_write,create,delete,moved_to,moved_from "$src" | while read -r _; do
	for dest in "$@"; do
		rsync -az --delete "$src"/ "$dest" --port="$port" --password-file="$pw" &
	done
	wait
done`

// startLoop pushes the tree once (the loop has no start-up sync of its
// own), then starts the loop and waits for inotifywait's watches.
func startLoop(ctx context.Context, c *cell) (*running, error) {
	port := strconv.Itoa(c.targets[0].port)
	pw := c.targets[0].d.PasswordFile
	var dests []string
	for _, t := range c.targets {
		dest := t.d.User + "@" + t.ip + "::www"
		dests = append(dests, dest)
		initial := exec.CommandContext(ctx, "rsync", "-az", "--delete", c.src+"/", dest, "--port="+port, "--password-file="+pw)
		if out, err := initial.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: initial rsync: %w: %s", toolLoop, err, out)
		}
	}
	script := filepath.Join(c.dir, "inotify-loop.sh")
	text, args := loopScript, []string{script, c.src, dests[0], port, pw}
	if len(dests) > 1 {
		text, args = loopFanScript, append([]string{script, c.src, port, pw}, dests...)
	}
	if err := os.WriteFile(script, []byte(text+"\n"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", args...)
	cmd.Dir = c.dir
	r, err := startProcess(toolLoop, cmd, sigtermBelowRoot)
	if err != nil {
		return nil, err
	}
	r.watches = func(s string) bool { return strings.Contains(s, "Watches established.") }
	err = r.waitOutput(ctx, c.readyTimeout(), `"Watches established."`, func(s string) bool {
		return strings.Contains(s, "Watches established.")
	})
	if err != nil {
		r.kill()
		return nil, err
	}
	return r, nil
}

// floorRsync is the physical floor: one plain rsync -a --delete of the
// tree into the (empty) module. It returns the wall time and the CPU time
// of the rsync client. (Not its peak RSS: ru_maxrss of a child of a Go
// process includes the parent's pages before exec.)
func floorRsync(ctx context.Context, c *cell) (wall, cpu time.Duration, err error) {
	t := c.targets[0]
	cmd := exec.CommandContext(ctx, "rsync", "-a", "--delete", c.src+"/", t.d.User+"@"+t.ip+"::www",
		"--port="+strconv.Itoa(t.port), "--password-file="+t.d.PasswordFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err = cmd.Run()
	wall = time.Since(t0)
	if err != nil {
		return wall, 0, fmt.Errorf("floor rsync: %w: %s", err, tail(out.String(), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = rusageCPU(ru)
	}
	return wall, cpu, nil
}
