//go:build !unix

// nlink where link counts are not available.

package inotifymask

import "os"

// nlink returns 1: link counts are not available here.
func nlink(os.FileInfo) uint64 { return 1 }
