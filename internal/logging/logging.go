// Package logging builds the daemon's structured logger (log/slog) from
// the operator's choices: level and format, and where the lines go: the
// standard error stream (with journald's priority prefixes when it is the
// journal), a log file that logrotate can rotate (Reopen), and the local
// syslog. It does not decide what is logged.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sersync-go/sersync2/internal/safefile"
)

// Options say where the log goes and how it reads.
type Options struct {
	// Level is debug, info, warn or error ("" means info).
	Level string
	// Format is text (key=value) or json ("" means text).
	Format string
	// Stderr receives the log unless File or Syslog is set.
	Stderr io.Writer
	// File, when set, is a log file opened for appending (mode 0640, never
	// through a symbolic link) instead of Stderr; Reopen opens it again.
	File string
	// Syslog sends the log to the local syslog daemon (facility daemon,
	// tag sersync2) instead of Stderr; with File, to both.
	Syslog bool
	// SyslogAddr is the syslog socket ("" means the system's). Tests set
	// a socket of their own.
	SyslogAddr string
}

// ParseLevel reads a --log-level value.
func ParseLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		if err := l.UnmarshalText([]byte(s)); err != nil {
			return 0, err
		}
		return l, nil
	}
	return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
}

// Logger is the built logger and the files behind it.
type Logger struct {
	*slog.Logger
	file *reopener
	sys  *syslog.Writer
}

// New builds the logger. The caller closes it.
func New(o Options) (*Logger, error) {
	level, err := ParseLevel(o.Level)
	if err != nil {
		return nil, err
	}
	if o.Format == "" {
		o.Format = "text"
	}
	if o.Format != "text" && o.Format != "json" {
		return nil, fmt.Errorf("--log-format %q: use text or json", o.Format)
	}
	l := &Logger{}
	var hs []slog.Handler
	if o.File != "" {
		if l.file, err = openReopener(o.File); err != nil {
			return nil, err
		}
		hs = append(hs, handler(l.file, o.Format, level, false))
	}
	if o.Syslog {
		// The syslog daemon stamps the time; the priority travels in the
		// message header.
		if l.sys, err = syslog.Dial(network(o.SyslogAddr), o.SyslogAddr, syslog.LOG_DAEMON|syslog.LOG_INFO, "sersync2"); err != nil {
			l.Close()
			return nil, fmt.Errorf("logging: syslog: %w", err)
		}
		hs = append(hs, byLevel(func(p int) io.Writer { return syslogWriter{l.sys, p} }, o.Format, level))
	}
	if len(hs) == 0 {
		w := o.Stderr
		if w == nil {
			w = os.Stderr
		}
		if journal(w) {
			hs = append(hs, byLevel(func(p int) io.Writer { return prefixWriter{w, "<" + strconv.Itoa(p) + ">"} }, o.Format, level))
		} else {
			hs = append(hs, handler(w, o.Format, level, true))
		}
	}
	if len(hs) == 1 {
		l.Logger = slog.New(hs[0])
	} else {
		l.Logger = slog.New(fanout(hs))
	}
	return l, nil
}

// Reopen opens the log file again (after logrotate moved it away); it does
// nothing without one.
func (l *Logger) Reopen() error {
	if l.file == nil {
		return nil
	}
	return l.file.reopen()
}

// Close closes the log file and the syslog connection.
func (l *Logger) Close() error {
	var errs []error
	if l.file != nil {
		errs = append(errs, l.file.close())
	}
	if l.sys != nil {
		errs = append(errs, l.sys.Close())
	}
	return errors.Join(errs...)
}

func network(addr string) string {
	if addr == "" {
		return ""
	}
	return "unixgram"
}

// handler is a text or JSON handler on w; withTime false leaves the time
// out, for sinks that stamp it themselves.
func handler(w io.Writer, format string, level slog.Level, withTime bool) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if !withTime {
		opts.ReplaceAttr = dropTime
	}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Syslog priorities (RFC 5424), the numbers journald reads in a "<N>"
// line prefix too.
const (
	prioErr     = 3
	prioWarning = 4
	prioInfo    = 6
	prioDebug   = 7
)

func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return prioErr
	case l >= slog.LevelWarn:
		return prioWarning
	case l >= slog.LevelInfo:
		return prioInfo
	}
	return prioDebug
}

// levelHandler sends each record to the handler of its priority, each
// writing to a sink that carries that priority.
type levelHandler struct {
	level slog.Level
	hs    map[int]slog.Handler
}

func byLevel(sink func(prio int) io.Writer, format string, level slog.Level) slog.Handler {
	h := levelHandler{level: level, hs: map[int]slog.Handler{}}
	for _, p := range []int{prioErr, prioWarning, prioInfo, prioDebug} {
		h.hs[p] = handler(sink(p), format, level, false)
	}
	return h
}

func (h levelHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.hs[priority(r.Level)].Handle(ctx, r)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h levelHandler) with(f func(slog.Handler) slog.Handler) slog.Handler {
	n := levelHandler{level: h.level, hs: make(map[int]slog.Handler, len(h.hs))}
	for p, x := range h.hs {
		n.hs[p] = f(x)
	}
	return n
}

// fanout sends each record to every handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	n := make(fanout, len(f))
	for i, h := range f {
		n[i] = h.WithAttrs(as)
	}
	return n
}

func (f fanout) WithGroup(name string) slog.Handler {
	n := make(fanout, len(f))
	for i, h := range f {
		n[i] = h.WithGroup(name)
	}
	return n
}

// prefixWriter writes each record (slog's handlers write one record per
// Write) behind a prefix, in one write.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// syslogWriter sends each record at one priority.
type syslogWriter struct {
	w    *syslog.Writer
	prio int
}

func (s syslogWriter) Write(b []byte) (int, error) {
	m := strings.TrimSuffix(string(b), "\n")
	var err error
	switch s.prio {
	case prioErr:
		err = s.w.Err(m)
	case prioWarning:
		err = s.w.Warning(m)
	case prioInfo:
		err = s.w.Info(m)
	default:
		err = s.w.Debug(m)
	}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// journal reports whether w is the standard error stream and that stream
// is connected to the journal: systemd sets JOURNAL_STREAM to its
// "device:inode", which must match, since a child's stderr may have been
// redirected elsewhere.
func journal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return strconv.FormatUint(uint64(st.Dev), 10) == dev && strconv.FormatUint(st.Ino, 10) == ino
}

// reopener is an append-only log file that can be opened again at the
// same path.
type reopener struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openReopener(path string) (*reopener, error) {
	r := &reopener{path: path}
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	r.f = f
	return r, nil
}

// openLog opens path for appending, creating it 0640, through safefile:
// a link planted in a shared directory cannot make the daemon write into
// another file.
func openLog(path string) (*os.File, error) {
	f, err := safefile.Open(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("logging: --log-file: %w", err)
	}
	return f, nil
}

func (r *reopener) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(b)
}

func (r *reopener) reopen() error {
	f, err := openLog(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	return old.Close()
}

func (r *reopener) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}
