//go:build linux

package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The noise case: W7's writer at one rate in the root, first alone, then
// while a second writer creates files at a high rate in a directory next
// to the root, on the same file system. An inotify watcher never sees that
// directory; fanotify's one mark per file system reads every change of it
// and drops it. The cell reports the per-file latency of both phases and
// the entries from outside the root that reached the target (there must
// be none).

const (
	noiseDirName = "noise"
	// noiseNames bounds the noise directory: the writer cycles over this
	// many names.
	noiseNames = 1000
)

func noiseDir(c *cell) string { return filepath.Join(c.dir, noiseDirName) }

// prepareNoise makes the phases' directories and the noise directory, and
// checks that the noise directory is on the root's file system.
func prepareNoise(c *cell) error {
	if err := prepareW7(c); err != nil {
		return err
	}
	if err := os.Mkdir(noiseDir(c), 0o755); err != nil {
		return err
	}
	same, err := sameFileSystem(c.src, noiseDir(c))
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("the noise directory %s is not on the file system of the root %s", noiseDir(c), c.src)
	}
	return nil
}

// sameFileSystem reports whether the files a and b are on one file
// system.
func sameFileSystem(a, b string) (bool, error) {
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev, nil
}

// noiseWriter is the writer outside the root during a noisy phase. Its
// goroutine is owned by it: stop ends it and waits.
type noiseWriter struct {
	stopC   chan struct{}
	done    chan struct{}
	written int           // valid after done
	took    time.Duration // valid after done
	err     error         // valid after done
}

// startNoise starts writing p.Noise files per second into the noise
// directory (create or truncate, write, close), cycling over noiseNames
// names. It ends by itself after p.Noise×p.Dur files or 3×p.Dur,
// whichever comes first.
func startNoise(ctx context.Context, c *cell, p phase) *noiseWriter {
	w := &noiseWriter{stopC: make(chan struct{}), done: make(chan struct{})}
	content := newFiller(c.seed + 1).bytes(256)
	dir := noiseDir(c)
	n := int(float64(p.Noise) * p.Dur.Seconds())
	go func() {
		defer close(w.done)
		start := time.Now()
		w.written, w.err = pace(ctx, w.stopC, n, float64(p.Noise), 5*time.Millisecond, start.Add(3*p.Dur), func(i int) error {
			return writeFile(filepath.Join(dir, fmt.Sprintf("n-%04d", i%noiseNames)), content)
		})
		w.took = time.Since(start)
	}()
	return w
}

// stop ends the writer, waits for it and returns the files it wrote and
// for how long it ran.
func (w *noiseWriter) stop() (int, time.Duration, error) {
	close(w.stopC)
	<-w.done
	if w.err != nil {
		return w.written, w.took, fmt.Errorf("noise writer: %w", w.err)
	}
	return w.written, w.took, nil
}

// collectNoise adds to W7's figures the entries on the target that are
// not the phases' directories and files.
func collectNoise(c *cell, r *result) error {
	if err := collectW7(c, r); err != nil {
		return err
	}
	n, sample, err := outsideEntries(c.dst, c.size.w7)
	if err != nil {
		return err
	}
	r.Outside = &n
	if n > 0 {
		r.DiffSample = append(sample, r.DiffSample...)
	}
	return nil
}

// outsideEntries counts the entries below dst other than the phases'
// directories and the files the root's writer names (f-NNNNNNN in them),
// and returns a few of them.
func outsideEntries(dst string, phases []phase) (int, []string, error) {
	expected := map[string]bool{}
	for _, p := range phases {
		expected[phaseDir(p)] = true
	}
	n := 0
	var sample []string
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dst {
			return nil
		}
		rel, err := filepath.Rel(dst, p)
		if err != nil {
			return err
		}
		dir, name := filepath.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		ok := (dir == "" && d.IsDir() && expected[name]) || (expected[dir] && !d.IsDir() && isW7Name(name))
		if !ok {
			n++
			if len(sample) < 5 {
				sample = append(sample, "outside the root's tree on the target: "+strconv.Quote(rel))
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("target scan: %w", err)
	}
	return n, sample, nil
}

// isW7Name reports whether name is one w7Name gives.
func isW7Name(name string) bool {
	digits, ok := strings.CutPrefix(name, "f-")
	if !ok || len(digits) != 7 {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 64)
	return err == nil
}
