package inotifymask

import (
	"context"
	"testing"
	"time"
)

// TestReadPacer: reads are spaced only while events come fast, never
// after a pause, a MOVED_FROM or a full buffer (readNow).
func TestReadPacer(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	type read struct {
		at      float64 // ms since the start
		events  int
		readNow bool
		wait    float64 // ms the pacer asks for
	}
	tests := []struct {
		name  string
		reads []read
	}{
		{"a trickle is read at once", []read{
			{0, 2, false, 0}, {20, 2, false, 0}, {40, 2, false, 0}, {101, 2, false, 0},
			{105, 2, false, 0}, {150, 2, false, 0}, {203, 2, false, 0}, {204, 2, false, 0},
		}},
		{"a burst is read every gap once the window saw enough", []read{
			{0, 1, false, 0}, {10, 200, false, 0}, // first window: not busy yet
			{101, 5, false, 0},                                         // busy from here; 91 ms since the last read
			{102, 5, false, 4}, {106, 5, false, 5}, {111, 5, false, 5}, // one read per gap
			{150, 0, false, 0}, // a wait ran over: 39 ms since the last read
		}},
		{"readNow is never held", []read{
			{0, 150, false, 0}, {100, 150, false, 0}, {101, 5, true, 0}, {101.5, 5, false, 4.5},
		}},
		{"the first change after a pause is read at once", []read{
			{0, 150, false, 0}, {100, 150, false, 0}, {101, 5, false, 4},
			{500, 1, false, 0}, {501, 1, false, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := readPacer{gap: 5 * time.Millisecond, busyEvents: 100}
			start := time.Unix(1000, 0)
			for i, r := range tt.reads {
				if got := p.after(start.Add(ms(r.at)), r.events, r.readNow); got != ms(r.wait) {
					t.Fatalf("read %d at %v ms: wait %v, want %v ms", i, r.at, got, r.wait)
				}
			}
		})
	}
}

// TestCheckReadsWhatIsQueued: a Check asked while the reader waits between
// reads has it read what the kernel queued first, so a directory made
// just before the Check is reported watched. The reader here waits an
// hour after every read but the first.
func TestCheckReadsWhatIsQueued(t *testing.T) {
	e := newEnv(t, 1)
	tune := testTuning(kindInotify)
	tune.readGap, tune.readBusy = time.Hour, 0
	w, err := newWatcher(Options{Roots: e.roots, Inotify: stockToggles, Logger: testLogger(t)}, tune)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	for i, d := range []string{"/first", "/second"} {
		e.do(t, []string{"mkdir", d})
		waitFor(t, d+" read", func() bool { return w.Stats().EventsRead == uint64(i+1) })
	}
	// The reader now waits an hour before its next read.
	e.do(t, []string{"mkdir", "/third"})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	rep, err := w.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Dirs != 4 {
		t.Errorf("check: %+v, want 4 directories, all watched", rep)
	}
}
