package queue

import (
	"testing"
	"time"

	"github.com/sersync-go/sersync2/inotifymask"
)

// TestRestore: changes handed over from another queue keep their failed
// attempts and their age, are no new events, and a replaced directory
// comes back as one.
func TestRestore(t *testing.T) {
	clk := newFakeClock()
	q := New(root, Options{Now: clk.Now})
	since := clk.Now().Add(-time.Hour)
	q.Restore(Item{Entry: Entry{Path: "a/f"}, Op: inotifymask.OpUpdate, Attempt: 3}, since)
	q.Restore(Item{Entry: Entry{Path: "d", Dir: true, Replaced: true}, Op: inotifymask.OpUpdate}, since)
	q.Restore(Item{Entry: Entry{Path: "gone"}, Op: inotifymask.OpRemove}, time.Time{})

	st := q.Stats()
	if st.Events != 0 || st.Pending != 3 || !st.PendingSince.Equal(since) {
		t.Fatalf("after Restore: events %d pending %d since %v, want 0, 3, %v", st.Events, st.Pending, st.PendingSince, since)
	}
	b, ok := tryNext(t, q)
	if !ok {
		t.Fatal("no batch")
	}
	if b.Attempt != 3 {
		t.Errorf("Attempt = %d, want 3 (kept from the handed-over change)", b.Attempt)
	}
	var replaced, removed bool
	for _, e := range b.Updates {
		replaced = replaced || e.Path == "d" && e.Replaced
	}
	for _, e := range b.Removes {
		removed = removed || e.Path == "gone"
	}
	if !replaced || !removed {
		t.Errorf("batch %+v: want d replaced and gone removed", b)
	}
}
