package inotifymask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/confxml"
)

// makeTree creates dirs directories below root: dirs/100 top-level ones
// with 99 children each.
func makeTree(b *testing.B, root string, dirs int) {
	b.Helper()
	for i := range dirs / 100 {
		top := filepath.Join(root, fmt.Sprintf("t%04d", i))
		if err := os.Mkdir(top, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 99 {
			if err := os.Mkdir(filepath.Join(top, fmt.Sprintf("c%02d", j)), 0o755); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWatchSetup measures New on a tree of 10k and 100k directories:
// ns/dir is the time of the initial walk per directory, bytes/dir the heap
// a running watcher keeps per directory.
//
//	go test -run '^$' -bench WatchSetup -benchtime 3x ./inotifymask/
func BenchmarkWatchSetup(b *testing.B) {
	for _, dirs := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("dirs=%d", dirs), func(b *testing.B) {
			var limit int
			if buf, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches"); err == nil {
				_, _ = fmt.Sscan(string(buf), &limit)
			}
			if limit < dirs+1000 {
				b.Skipf("fs.inotify.max_user_watches is %d, need %d", limit, dirs+1000)
			}
			root := b.TempDir()
			makeTree(b, root, dirs)
			opts := Options{Roots: []string{root}, Inotify: stockToggles}
			newW := func() *Watcher {
				w, err := New(opts)
				if errors.Is(err, ErrWatchLimit) {
					b.Skipf("watch limit reached (other watchers on this host): %v", err)
				}
				if err != nil {
					b.Fatal(err)
				}
				return w
			}

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			w := newW()
			runtime.GC()
			runtime.ReadMemStats(&after)
			if got := w.Stats().Watches; got != dirs+1 {
				b.Fatalf("Watches = %d, want %d", got, dirs+1)
			}
			retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)
			runtime.KeepAlive(w)
			_ = w.Close()

			b.ResetTimer()
			for range b.N {
				w := newW()
				b.StopTimer()
				_ = w.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*dirs), "ns/dir")
			b.ReportMetric(retained/float64(dirs), "bytes/dir")
		})
	}
}

// BenchmarkDecode measures the reader's decoding of a full 256 KiB read.
//
//	go test -run '^$' -bench Decode ./inotifymask/
func BenchmarkDecode(b *testing.B) {
	var buf []byte
	for i := 0; len(buf) < readBufSize-64; i++ {
		buf = append(buf, record(int32(i%1000+1), unix.IN_CLOSE_WRITE, 0, fmt.Sprintf("file-%06d.txt", i), 32)...)
	}
	evs, _ := decode(buf, nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		evs, _ = decode(buf, evs[:0])
	}
	b.ReportMetric(float64(len(evs)), "events/read")
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPipeline measures events through the whole watcher (kernel,
// reader, processing, Next): one chmod (IN_ATTRIB) per iteration.
//
//	go test -run '^$' -bench Pipeline ./inotifymask/
func BenchmarkPipeline(b *testing.B) {
	root := b.TempDir()
	const files = 1000
	names := make([]string, files)
	for i := range names {
		names[i] = filepath.Join(root, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(names[i], nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w, err := New(Options{Roots: []string{root}, Inotify: confxml.Inotify{Attrib: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	modes := []os.FileMode{0o600, 0o644}
	b.ResetTimer()
	received := 0
	var buf []Event
	// take takes what is queued, waiting at most wait.
	take := func(wait time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var err error
		buf, err = w.Next(ctx, buf)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			b.Fatal(err)
		}
		received += len(buf)
	}
	for i := range b.N {
		if err := os.Chmod(names[i%files], modes[(i/files)%2]); err != nil {
			b.Fatal(err)
		}
		if w.Stats().Backlog > 0 {
			take(0)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for received < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("received %d of %d events", received, b.N)
		}
		take(time.Until(deadline))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if st := w.Stats(); st.Overflows != 0 {
		b.Fatalf("overflow: %+v", st)
	}
}

// BenchmarkFanotifyOutside measures what a change outside every root
// costs the fanotify backend, which reads every change on the file
// system: one new file (created, closed) next to the root per iteration,
// read and dropped; the events of one name are never merged, as each
// name is new. Profile it to see the watcher's share:
//
//	go test -run '^$' -bench FanotifyOutside -cpuprofile cpu.out ./inotifymask/
func BenchmarkFanotifyOutside(b *testing.B) {
	if err := FanotifyUsable(os.TempDir()); err != nil {
		b.Skip(err)
	}
	base := b.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	w, err := New(Options{Roots: []string{root}, Inotify: confxml.Inotify{CloseWrite: true}, Backend: BackendFanotify})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	start := w.Stats().EventsRead
	b.ResetTimer()
	for i := range b.N {
		fd, err := unix.Open(filepath.Join(outside, strconv.Itoa(i)), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
	deadline := time.Now().Add(time.Minute)
	for w.Stats().EventsRead-start < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("read %d of %d events", w.Stats().EventsRead-start, b.N)
		}
		time.Sleep(time.Millisecond) // polling a counter, not synchronising
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}
