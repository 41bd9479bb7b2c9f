package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sersync-go/sersync2/confxml"
	"github.com/sersync-go/sersync2/internal/shellwords"
)

// commandWaitDelay bounds how long Handle waits for a command's output after
// its context is cancelled and SIGTERM was sent; then it is killed.
const commandWaitDelay = 5 * time.Second

// CommandTimeout bounds one run of the command plugin; then it gets
// SIGTERM, and is killed commandWaitDelay later. The original waited for
// ever, blocking a worker.
const CommandTimeout = 5 * time.Minute

// maxCommandOutput caps how much of a command's combined output is kept for
// the log; the rest is counted and dropped.
const maxCommandOutput = 64 << 10

// Command is the command plugin: it runs prefix, the changed path, suffix as
// one program for every change (updates and removes, files and directories,
// as the original does).
type Command struct {
	prefix, suffix []string
	ignoreError    bool
	filter         bool
	cfg            confxml.CommandPlugin
	log            *slog.Logger

	debugOut io.Writer // nil: debug off
	timeout  time.Duration

	closed atomic.Bool
}

// NewCommand builds the command plugin. prefix and suffix are split into
// words like a shell would (quotes honoured, nothing expanded). When
// debugOut is not nil each command is printed there, as a quoted shell line,
// before it runs; Handle runs concurrently, so debugOut must be safe for
// concurrent use.
//
// A prefix that is a shell (the stock "/bin/sh") makes every changed file run
// as a script; that is what the original does and it is kept, with a
// warning (docs/compat.md, "Plugins").
func NewCommand(cfg confxml.CommandPlugin, log *slog.Logger, debugOut io.Writer) (*Command, error) {
	log = orDiscard(log).With("plugin", NameCommand)
	pre, err := shellwords.Split(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("plugins: command: <param prefix=%q>: %w", cfg.Prefix, err)
	}
	suf, err := shellwords.Split(cfg.Suffix)
	if err != nil {
		return nil, fmt.Errorf("plugins: command: <param suffix=%q>: %w", cfg.Suffix, err)
	}
	switch {
	case len(pre) == 0:
		log.Warn("command plugin prefix is empty: every changed file is executed as a program", "prefix", cfg.Prefix)
	case isShell(pre[0]):
		log.Warn("command plugin prefix is a shell: every changed file is run as a shell script", "prefix", cfg.Prefix)
	}
	if cfg.FilterEnabled && len(cfg.Regexps) == 0 {
		log.Warn("command plugin filter is on without include expressions: the command never runs")
	}
	return &Command{
		prefix:      pre,
		suffix:      suf,
		ignoreError: cfg.IgnoreError,
		filter:      cfg.FilterEnabled,
		cfg:         cfg,
		log:         log,
		debugOut:    debugOut,
		timeout:     CommandTimeout,
	}, nil
}

func isShell(arg0 string) bool {
	switch filepath.Base(arg0) {
	case "sh", "bash", "dash", "ash", "ksh", "zsh", "busybox":
		return true
	}
	return false
}

// Name returns "command".
func (p *Command) Name() string { return NameCommand }

// Argv returns the command run for c: prefix words, c.Abs as one element,
// suffix words. It is nil when the include filter skips c.
func (p *Command) Argv(c Change) []string {
	if p.filter && !p.included(c.Abs) {
		return nil
	}
	argv := make([]string, 0, len(p.prefix)+1+len(p.suffix))
	argv = append(argv, p.prefix...)
	argv = append(argv, c.Abs)
	argv = append(argv, p.suffix...)
	return argv
}

func (p *Command) included(abs string) bool {
	for _, re := range p.cfg.Regexps {
		if re.MatchString(abs) {
			return true
		}
	}
	return false
}

// Handle runs the command for c and waits for it, at most CommandTimeout.
// Its output (stdout and stderr, the first 64 KiB) is logged with the path
// it ran for. With ignoreError the output and a failure are logged at debug
// level only and nil is returned, as the original sent them to /dev/null;
// otherwise the output is logged at info level and a failure returned.
func (p *Command) Handle(ctx context.Context, c Change) error {
	if p.closed.Load() {
		return ErrClosed
	}
	argv := p.Argv(c)
	if argv == nil {
		p.log.Debug("command plugin skipped: no include matches", "path", c.Abs)
		return nil
	}
	if p.debugOut != nil {
		_, _ = io.WriteString(p.debugOut, shellwords.JoinLine(argv)+"\n")
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = commandWaitDelay
	var out capped
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", p.timeout, err)
	}

	level := slog.LevelInfo
	if p.ignoreError {
		level = slog.LevelDebug
	}
	if out.Len() > 0 {
		p.log.Log(context.Background(), level, "command plugin output", "path", c.Abs, "output", out.String(), "dropped", out.Dropped())
	}
	if p.ignoreError {
		if err != nil {
			p.log.Debug("command plugin failed, ignored", "path", c.Abs, "err", err, "took", took)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("plugins: command %s: %w", shellwords.JoinLine(argv), err)
	}
	p.log.Debug("command plugin done", "path", c.Abs, "took", took)
	return nil
}

// Close marks the plugin closed. Running commands are stopped by cancelling
// the context given to Handle.
func (p *Command) Close() error {
	p.closed.Store(true)
	return nil
}

// capped is an io.Writer keeping the first maxCommandOutput bytes. os/exec
// writes to it from one goroutine when Stdout and Stderr are the same
// writer, but the mutex keeps it safe regardless.
type capped struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := maxCommandOutput - c.buf.Len()
	if room < len(b) {
		c.dropped += len(b) - max(room, 0)
		if room > 0 {
			c.buf.Write(b[:room])
		}
		return len(b), nil
	}
	c.buf.Write(b)
	return len(b), nil
}

func (c *capped) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

func (c *capped) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
