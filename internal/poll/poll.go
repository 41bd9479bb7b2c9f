// Package poll waits in tests for a condition that another process or
// goroutine makes true: it polls with a growing interval (5 ms to 100 ms)
// until the condition holds or a deadline passes. Polling is its only
// synchronisation; it never sleeps a fixed time in place of a check.
package poll

import (
	"testing"
	"time"
)

// Until polls cond until it holds, failing the test after timeout with
// what and the last detail cond returned.
func Until(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	var last string
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\n%s", timeout, what, last)
		}
		time.Sleep(delay) // polling interval, not synchronisation
		delay = min(2*delay, 100*time.Millisecond)
	}
}
