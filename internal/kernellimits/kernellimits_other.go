//go:build !linux

package kernellimits

import (
	"io"
	"log/slog"
)

// Raise does nothing outside Linux: there is no /proc/sys/fs/inotify.
func Raise(io.Writer, *slog.Logger, bool, string) {}

// Unneeded does nothing outside Linux.
func Unneeded(io.Writer, string) {}
