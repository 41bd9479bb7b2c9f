//go:build !linux

package main

import (
	"io"
	"log/slog"
)

// tuneKernel does nothing outside Linux: there is no /proc/sys/fs/inotify.
func tuneKernel(io.Writer, *slog.Logger, bool, string) {}
