package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sersync-go/sersync2/confxml"
)

// Plugin names as written in <sersync><plugin name=…> and -m NAME. They are
// case-sensitive, as in the original.
const (
	NameCommand    = "command"
	NameSocket     = "socket"
	NameRefreshCDN = "refreshCDN"
	// NameHTTP is the original's http plugin, compiled out of 2.5.4.
	NameHTTP = "http"
)

var (
	// ErrUnsupported is returned by New for the http plugin, which the
	// original 2.5.4 binary does not contain either.
	ErrUnsupported = errors.New("plugins: plugin not supported")
	// ErrUnknown is returned by New for a name that is not a plugin.
	ErrUnknown = errors.New("plugins: unknown plugin name")
	// ErrNotConfigured is returned when the plugin's own
	// <plugin name=…> block is missing or lacks what the plugin needs.
	ErrNotConfigured = errors.New("plugins: plugin not configured")
	// ErrClosed is returned by Handle after Close.
	ErrClosed = errors.New("plugins: plugin closed")
)

// Change is what a plugin is told: one path that was synchronised.
type Change struct {
	// Abs is the absolute path as the original formed it: the watch path
	// as configured for the plugin, "/", then the path relative to it. A
	// socket watch of "/data2/" therefore gives "/data2//s1.txt".
	// See AbsPath.
	Abs string
	// Dir is true when the path is a directory.
	Dir bool
	// Removed is true when the path no longer exists locally.
	Removed bool
}

// Plugin is one configured post-sync plugin.
type Plugin interface {
	// Name is the plugin's configuration name ("command", "socket",
	// "refreshCDN").
	Name() string
	// Handle runs the plugin for one change. A change the plugin is
	// configured to skip (command filter, refreshCDN regex without a
	// match) returns nil. It is safe for concurrent use.
	Handle(ctx context.Context, c Change) error
	// Close releases the plugin's resources. It is idempotent; Handle
	// returns ErrClosed afterwards.
	Close() error
}

var (
	_ Plugin = (*Command)(nil)
	_ Plugin = (*Socket)(nil)
	_ Plugin = (*RefreshCDN)(nil)
)

// New builds the plugin called name from the plugin blocks of cfg.
//
// The command plugin prints each command to debugOut before running it (the
// original's <debug start="true"> lines); debugOut is nil to print nothing
// and must be safe for concurrent use. The refreshCDN plugin appends responses to DefaultErrorLog
// in the process's working directory, as the original did (mode 0600, the
// password redacted). log must not be nil.
func New(name string, cfg confxml.Config, log *slog.Logger, debugOut io.Writer) (Plugin, error) {
	switch name {
	case NameCommand:
		return NewCommand(cfg.Command, log, debugOut)
	case NameSocket:
		return NewSocket(cfg.Socket, log)
	case NameRefreshCDN:
		return NewRefreshCDN(cfg.RefreshCDN, DefaultErrorLog, log)
	case NameHTTP:
		return nil, fmt.Errorf("plugins: %q: %w", name, ErrUnsupported)
	default:
		return nil, fmt.Errorf("plugins: %q: %w", name, ErrUnknown)
	}
}

// AbsPath forms a Change.Abs the way the original did: watch as configured
// (a trailing slash is kept), "/", rel. An empty rel (the watch root itself)
// gives watch.
func AbsPath(watch, rel string) string {
	if rel == "" {
		return watch
	}
	return watch + "/" + rel
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
