package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sersync-go/sersync2/internal/confgen"
	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/rsyncd"
	"github.com/sersync-go/sersync2/internal/treecmp"
)

// noiseNames is how many names the writer outside the root cycles over.
const noiseNames = 2000

// TestE2EFanotifyNoiseOutside: with --watcher fanotify, a writer creates
// a few thousand files a second in a directory next to the root, on the
// same file system (the one mark sees every change of it), while hostile
// names are written, renamed and removed in the root. The mirror follows
// the root, sersync2 read the noise, and nothing of it reaches the remote.
func TestE2EFanotifyNoiseOutside(t *testing.T) {
	t.Parallel()
	requireWatcher(t, "fanotify")
	d := rsyncd.StartT(t, rsyncd.Options{Auth: true})
	dst := d.ModuleDir("www")
	work := t.TempDir()
	src, noise := filepath.Join(work, "src"), filepath.Join(work, "noise")
	for _, dir := range []string{src, noise} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !sameFileSystem(t, src, noise) {
		t.Fatalf("%s and %s are on different file systems", src, noise)
	}
	statusFile := filepath.Join(work, "status.txt")
	c := confgen.Config{Roots: []confgen.Root{{Watch: src, Remotes: []confgen.Remote{{IP: d.IP, Name: "www"}}}},
		Users: d.User, PasswordFile: d.PasswordFile, Port: d.Port}
	// One queue: once a file written last has arrived, every change
	// queued before it has been sent (the check for noise on the remote
	// below relies on it).
	p := startSersync(t, work, "--watcher", "fanotify", "--queues", "1",
		"--status-file", statusFile, "--status-file-every", "100ms", "-o", writeConf(t, work, c))
	p.waitReady(t)
	if !strings.Contains(p.stderr.String(), "backend=fanotify") {
		t.Fatalf("sersync2 does not say it watches with fanotify:\n%s", p.stderr.String())
	}

	stop := make(chan struct{})
	var written int
	var writeErr error
	var wg sync.WaitGroup
	wg.Go(func() { written, writeErr = writeNoise(noise, stop) })
	stopNoise := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopNoise)

	hostileChurn(t, src, dst)
	stopNoise()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if written < 2*noiseNames {
		t.Fatalf("the writer outside the root wrote %d files; want at least %d, every name twice", written, 2*noiseNames)
	}

	// Every event before the marker's has been read and handled once
	// the marker is on the remote.
	writeFile(t, filepath.Join(src, "marker"), "last")
	waitTreesEqual(t, src, dst, treecmp.Options{})
	b, err := os.ReadFile(statusFile)
	if err != nil {
		t.Fatal(err)
	}
	if m := eventsRead.FindSubmatch(b); m == nil {
		t.Errorf("no events read in the status file:\n%s", b)
	} else if n, _ := strconv.Atoi(string(m[1])); n < noiseNames {
		t.Errorf("sersync2 read %d events; want at least the %d creations outside the root", n, noiseNames)
	}
	if found := noiseOn(t, dst); len(found) > 0 {
		t.Errorf("the remote holds %d entries from the noise directory, e.g. %q", len(found), found[0])
	}
	hostile.NoPWNED(t, src, dst, work)
	t.Logf("%d files written outside the root while the root churned", written)
}

// writeNoise writes files named n-NNNN, noiseNames of them in turn, into
// dir, 30 every 10 ms (3,000 a second), until stop is closed and every
// name was written twice, or after 20 s of writing; it returns how many
// it wrote.
func writeNoise(dir string, stop <-chan struct{}) (int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	n := 0
	stopped := false
	for range 2000 {
		for range 30 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("n-%04d", n%noiseNames)), []byte("noise"), 0o644); err != nil {
				return n, err
			}
			n++
		}
		if stopped && n >= 2*noiseNames {
			return n, nil
		}
		select {
		case <-stop:
			stopped = true
			stop = nil // told once
		case <-tick.C: // the writer's pace
		}
	}
	return n, nil
}

// noiseOn returns the entries below dst named as the noise writer names
// its files, or the noise directory itself.
func noiseOn(t *testing.T, dst string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dst, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name := e.Name(); p != dst && (name == "noise" || strings.HasPrefix(name, "n-")) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// sameFileSystem reports whether a and b are on one file system.
func sameFileSystem(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev
}
