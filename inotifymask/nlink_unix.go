//go:build unix && (!linux || sersync_fsnotify)

// nlink for the fsnotify backend on unix systems.

package inotifymask

import (
	"os"
	"syscall"
)

// nlink returns the link count of fi (1 when unknown).
func nlink(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
