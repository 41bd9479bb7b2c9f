package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryHoldsNoFsnotify: the Linux binary uses raw inotify only; the
// fsnotify backend (for other systems) is not linked in.
func TestBinaryHoldsNoFsnotify(t *testing.T) {
	out, err := exec.Command("go", "tool", "nm", binPath).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := strings.Count(string(out), "\n")
	if syms < 1000 {
		t.Fatalf("go tool nm listed only %d symbols", syms)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "fsnotify") {
			t.Fatalf("the binary holds fsnotify code: %s", l)
		}
	}
}
