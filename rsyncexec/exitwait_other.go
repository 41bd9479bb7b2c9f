//go:build !linux

package rsyncexec

import "os/exec"

// exitWatch is a no-op where there are no pidfds: cmd.Wait waits.
type exitWatch struct{}

func (*exitWatch) prepare(*exec.Cmd) {}
func (*exitWatch) wait()             {}
