package replicate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/rsyncd"
)

// BenchmarkEngineBurst writes b.N small files into 100 directories as fast
// as one goroutine can and waits until the engine has synced them to a
// real rsync daemon. It reports the engine's own CPU per file (the
// process's CPU minus what the same writes cost with nothing watching) and
// the rsync runs per file. Profile it with -cpuprofile/-memprofile:
//
//	go test -run '^$' -bench EngineBurst -benchtime 20000x -cpuprofile cpu.out ./replicate
func BenchmarkEngineBurst(b *testing.B) { benchEngine(b, 0) }

// BenchmarkEngineRate is BenchmarkEngineBurst with the writer paced at
// 10,000 files/s in 5 ms steps, as make bench's W7 writes: many small
// batches, so the cost of each rsync run shows.
func BenchmarkEngineRate(b *testing.B) { benchEngine(b, 10_000) }

func benchEngine(b *testing.B, rate int) {
	const dirs = 100
	content := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	write := func(root string) {
		start := time.Now()
		for i := 0; i < b.N; {
			due := b.N
			if rate > 0 {
				due = min(b.N, int(time.Since(start).Seconds()*float64(rate))+1)
			}
			for ; i < due; i++ {
				p := filepath.Join(root, fmt.Sprintf("d%03d", i%dirs), fmt.Sprintf("f%07d", i))
				if err := os.WriteFile(p, content, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			if i < b.N {
				time.Sleep(5 * time.Millisecond) // the writer's pace
			}
		}
	}
	mkdirs := func(root string) string {
		for i := range dirs {
			mkdir(b, filepath.Join(root, fmt.Sprintf("d%03d", i)))
		}
		return root
	}

	// The writes alone, nothing watching.
	alone := mkdirs(filepath.Join(b.TempDir(), "alone"))
	cpu0 := processCPU(b)
	write(alone)
	writerCPU := processCPU(b) - cpu0

	d := rsyncd.StartT(b, rsyncd.Options{Auth: true})
	src := mkdirs(filepath.Join(b.TempDir(), "src"))
	cfg := load(b, confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}, "")
	e := start(b, cfg, Options{})
	runs0 := e.State().Total().RsyncRuns

	b.ResetTimer()
	cpu0 = processCPU(b)
	write(src)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		t := e.State().Total()
		if t.Pending == 0 && t.InFlight == 0 && countFiles(b, d.ModuleDir("www")) >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not synced within 5 minutes: %+v", t)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	b.StopTimer()
	engineCPU := processCPU(b) - cpu0 - writerCPU
	b.ReportMetric(float64(engineCPU.Nanoseconds())/float64(b.N), "engine-cpu-ns/file")
	b.ReportMetric(float64(e.State().Total().RsyncRuns-runs0)/float64(b.N), "rsync-runs/file")
}

// processCPU returns the user+system CPU time of this process so far
// (rsync children not included).
func processCPU(tb testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func countFiles(tb testing.TB, dir string) int {
	n := 0
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
			if err != nil {
				tb.Fatal(err)
			}
			n += len(sub)
		}
	}
	return n
}
