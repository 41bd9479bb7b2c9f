package queue

import (
	"testing"
	"time"
)

// TestHoldKeepsChangesUntried: a batch handed back with Hold (its root was
// absent) puts its paths and its full request back as they were: the next
// batch is cut at once, its attempt is still 0, no retry is counted, and
// OnRetry is not called.
func TestHoldKeepsChangesUntried(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	retried := 0
	q := New(root, Options{Now: clk.Now, RetryBase: time.Second,
		OnRetry: func(Batch, error, time.Duration) { retried++ }})
	for _, tt := range []struct {
		name string
		add  func()
		full bool
	}{
		{"changes", func() { q.Add(upd("a")); q.Add(rmDir("c")) }, false},
		{"full sync", func() { q.RequestFull("SIGUSR1"); q.Add(upd("x")) }, true},
	} {
		tt.add()
		b := mustNext(t, q)
		for range 3 {
			q.Hold(b)
			again := mustNext(t, q)
			if again.Attempt != 0 || again.Full != tt.full || again.Len() != b.Len() || again.Reason != b.Reason {
				t.Fatalf("%s: after Hold %s attempt %d, want %s attempt 0", tt.name, show(again), again.Attempt, show(b))
			}
			b = again
		}
		q.Done(b, nil)
		if st := q.Stats(); st.Retries != 0 || st.Requeued != 0 || st.Pending != 0 || retried != 0 {
			t.Fatalf("%s: stats %+v, OnRetry called %d times", tt.name, st, retried)
		}
	}
}
