//go:build linux

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// workload is one of W1..W7. prepare builds what must exist before the
// tool starts (synced by the tool's start-up sync and checked equal before
// the clock starts); run is the timed part; collect adds
// workload-specific figures after the tool stopped.
type workload struct {
	what    string
	files   func(s sizes, hostile []string) int
	prepare func(c *cell) error
	run     func(ctx context.Context, c *cell) error
	collect func(c *cell, r *result) error

	// sized adjusts the configured dimensions for this workload (nil: as
	// configured).
	sized func(s *sizes)
	// wan puts every remote behind a delay proxy of config.wanRTT.
	wan bool
	// ssh makes the tools push over ssh (an sshd behind a counting
	// relay) into the daemon's module directory.
	ssh bool
	// fan syncs to sizes.fanRemotes daemons, the last of them (the slow
	// remote) behind a delay proxy of config.slowRTT.
	fan bool
	// dirs marks the big-tree start-up case, whose cell runs its own
	// course (dirsCell).
	dirs bool
	// tools restricts the tools that run it (nil: all selected); noFloor
	// leaves out the rsync floor.
	tools   []string
	noFloor bool
}

// sizes returns the dimensions of the workload under cfg.
func (wl workload) sizes(cfg config) sizes {
	s := cfg.size
	if wl.sized != nil {
		wl.sized(&s)
	}
	return s
}

// runs reports whether tool takes part in the workload.
func (wl workload) runs(tool string) bool {
	if tool == toolOursBase || tool == toolOursFan {
		tool = toolOurs // the other binary and backend run wherever sersync2 does
	}
	if tool == toolFloor && wl.noFloor {
		return false
	}
	if tool == toolOursNoMoves && !slices.Contains(wl.tools, tool) {
		return false // a comparison only where a workload asks for it
	}
	return wl.tools == nil || slices.Contains(wl.tools, tool)
}

var workloads = map[string]workload{
	"W1": {
		what:    "burst of small files in many directories",
		files:   func(s sizes, _ []string) int { return s.w1Files },
		prepare: func(*cell) error { return nil },
		run:     runW1,
	},
	"W2": {
		what:    "mkdir -p depth N, a file written at once at every level",
		files:   func(s sizes, _ []string) int { return s.w2Chains * s.w2Depth },
		prepare: func(*cell) error { return nil },
		run:     runW2,
	},
	"W3": {
		what:    "rename a populated directory and single files",
		files:   func(s sizes, _ []string) int { return s.w3DirFiles + s.w3Files },
		prepare: prepareW3,
		run:     runW3,
	},
	"W4": {
		what:    "delete a subtree",
		files:   func(s sizes, _ []string) int { return s.w4Files },
		prepare: prepareW4,
		run:     runW4,
	},
	"W5": {
		what:    "one big file written in 1 MiB chunks",
		files:   func(sizes, []string) int { return 1 },
		prepare: func(*cell) error { return nil },
		run:     runW5,
		collect: collectW5,
	},
	"W6": {
		what:    "hostile file and directory names",
		files:   func(_ sizes, h []string) int { return 2 * len(h) },
		prepare: func(*cell) error { return nil },
		run:     runW6,
	},
	"W7": {
		what:    "sustained creation at rising rates, per-file latency",
		files:   w7Files,
		prepare: prepareW7,
		run:     runW7,
		collect: collectW7,
		// The floor runs the writer with nothing watching: its rate is
		// what sersync2's is compared with.
	},
	// The WAN cases: W1 (1,000 files), W3 and W7 at 200 files/s, every
	// tool talking to the daemon through a delay proxy (config.wanRTT).
	"WAN-W1": {
		what:    "W1 with 1,000 files through a WAN link",
		files:   func(s sizes, _ []string) int { return s.w1Files },
		sized:   func(s *sizes) { s.w1Files, s.w1Dirs = 1000, 10 },
		prepare: func(*cell) error { return nil },
		run:     runW1,
		wan:     true,
	},
	"WAN-W3": {
		what:    "W3 through a WAN link",
		files:   func(s sizes, _ []string) int { return s.w3DirFiles + s.w3Files },
		prepare: prepareW3,
		run:     runW3,
		wan:     true,
	},
	"WAN-W7": {
		what:    "W7 at 200 files/s through a WAN link",
		files:   func(s sizes, _ []string) int { return s.w7[0].Rate * int(s.w7[0].Dur/time.Second) },
		sized:   func(s *sizes) { s.w7 = s.w7[:1] },
		prepare: prepareW7,
		run:     runW7,
		collect: collectW7,
		wan:     true,
		noFloor: true,
	},
	// W3 over ssh: the bytes through ssh with renames done on the
	// remote, and without (the data sent again).
	"SSH-W3": {
		what:    "W3 over ssh, bytes counted",
		files:   func(s sizes, _ []string) int { return s.w3DirFiles + s.w3Files },
		prepare: prepareW3,
		run:     runW3,
		collect: collectSSH,
		ssh:     true,
		noFloor: true,
		tools:   []string{toolOurs, toolOursNoMoves},
	},
	"FAN": {
		what:    "fan-out: a steady stream of files to many remotes, one of them slow",
		files:   func(s sizes, _ []string) int { return s.fanFiles },
		prepare: prepareFan,
		run:     runFan,
		collect: collectFan,
		fan:     true,
		noFloor: true,
		tools:   []string{toolOurs, toolLsyncd1, toolLsyncd0, toolLoop},
	},
	"DIRS": {
		what:    "start-up on a tree of many directories, files written meanwhile",
		files:   func(s sizes, _ []string) int { return s.dirsDuring },
		prepare: prepareDirs,
		dirs:    true,
		tools:   []string{toolOurs, toolLsyncd1, toolLoop},
	},
	// W7's writer at one rate, quiet, then with a writer outside the root
	// on the same file system: what changes elsewhere cost each backend.
	"NOISE": {
		what:    "W7 at one rate, quiet then with a writer outside the root on the same file system",
		files:   w7Files,
		sized:   func(s *sizes) { s.w7 = s.noise },
		prepare: prepareNoise,
		run:     runW7,
		collect: collectNoise,
		noFloor: true,
		tools:   []string{toolOurs, toolOursFan},
	},
}

// w7Files is the files W7's writer is asked for over its phases.
func w7Files(s sizes, _ []string) int {
	n := 0
	for _, p := range s.w7 {
		n += p.Rate * int(p.Dur/time.Second)
	}
	return n
}

// filler produces pseudo-random file contents (incompressible, as most
// web assets are, so -z costs what it costs in practice).
type filler struct{ rng *rand.ChaCha8 }

func newFiller(seed uint64) *filler {
	var s [32]byte
	for i := range 4 {
		v := seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			s[i*8+j] = byte(v >> (8 * j))
		}
	}
	return &filler{rng: rand.NewChaCha8(s)}
}

func (f *filler) bytes(n int) []byte {
	b := make([]byte, n)
	_, _ = f.rng.Read(b) // ChaCha8.Read never fails
	return b
}

func writeFile(p string, b []byte) error {
	return os.WriteFile(p, b, 0o644)
}

// populate writes dirs×per files of size bytes below root/dNN.
func populate(root string, dirs, per, size int, f *filler) error {
	for i := range dirs {
		d := filepath.Join(root, fmt.Sprintf("s%02d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		for j := range per {
			if err := writeFile(filepath.Join(d, fmt.Sprintf("f%04d.dat", j)), f.bytes(size)); err != nil {
				return err
			}
		}
	}
	return nil
}

// W1: burst — directory after directory, each filled at once.
func runW1(ctx context.Context, c *cell) error {
	s := c.size
	f := newFiller(c.seed)
	per := s.w1Files / s.w1Dirs
	for i := range s.w1Dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := filepath.Join(c.src, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		for j := range per {
			if err := writeFile(filepath.Join(d, fmt.Sprintf("f%05d.bin", j)), f.bytes(s.w1FileSize)); err != nil {
				return err
			}
		}
	}
	return nil
}

// W2: deep mkdir -p, then a write at every level right away (the watcher
// races the creation of the directories it must add).
func runW2(ctx context.Context, c *cell) error {
	s := c.size
	f := newFiller(c.seed)
	for i := range s.w2Chains {
		if err := ctx.Err(); err != nil {
			return err
		}
		parts := []string{c.src, fmt.Sprintf("c%02d", i)}
		for l := 1; l < s.w2Depth; l++ {
			parts = append(parts, fmt.Sprintf("l%02d", l))
		}
		if err := os.MkdirAll(filepath.Join(parts...), 0o755); err != nil {
			return err
		}
		for l := 2; l <= len(parts); l++ {
			if err := writeFile(filepath.Join(append(parts[:l:l], "f.txt")...), f.bytes(512)); err != nil {
				return err
			}
		}
	}
	return nil
}

// W3: a populated directory (10 subdirectories) and single files exist and
// are synced; the workload renames the directory and every file.
func prepareW3(c *cell) error {
	s := c.size
	f := newFiller(c.seed)
	if err := populate(filepath.Join(c.src, "old"), 10, s.w3DirFiles/10, 2048, f); err != nil {
		return err
	}
	files := filepath.Join(c.src, "files")
	if err := os.Mkdir(files, 0o755); err != nil {
		return err
	}
	for i := range s.w3Files {
		if err := writeFile(filepath.Join(files, fmt.Sprintf("f%03d.txt", i)), f.bytes(2048)); err != nil {
			return err
		}
	}
	return nil
}

func runW3(ctx context.Context, c *cell) error {
	if err := os.Rename(filepath.Join(c.src, "old"), filepath.Join(c.src, "new")); err != nil {
		return err
	}
	for i := range c.size.w3Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := filepath.Join(c.src, "files")
		if err := os.Rename(filepath.Join(d, fmt.Sprintf("f%03d.txt", i)), filepath.Join(d, fmt.Sprintf("g%03d.txt", i))); err != nil {
			return err
		}
	}
	return nil
}

// collectSSH records the bytes through ssh since the workload started.
func collectSSH(c *cell, r *result) error {
	up, down := c.targets[0].proxy.Bytes()
	up, down = up-c.sshMark[0], down-c.sshMark[1]
	r.SSHBytesUp, r.SSHBytesDown = &up, &down
	return nil
}

// W4: a subtree of N files next to one that stays; the workload deletes
// the subtree.
func prepareW4(c *cell) error {
	s := c.size
	f := newFiller(c.seed)
	if err := populate(filepath.Join(c.src, "sub"), 10, s.w4Files/10, 2048, f); err != nil {
		return err
	}
	return populate(filepath.Join(c.src, "keep"), 2, 50, 2048, f)
}

func runW4(_ context.Context, c *cell) error {
	return os.RemoveAll(filepath.Join(c.src, "sub"))
}

const bigName = "big.bin"

// W5: one big file written 1 MiB at a time, paced by a ticker over the
// configured duration, then closed.
func runW5(ctx context.Context, c *cell) error {
	s := c.size
	chunk := newFiller(c.seed).bytes(1 << 20)
	f, err := os.Create(filepath.Join(c.src, bigName))
	if err != nil {
		return err
	}
	defer f.Close()
	tick := time.NewTicker(s.w5Over / time.Duration(s.w5Chunks))
	defer tick.Stop()
	for i := range s.w5Chunks {
		chunk[i%len(chunk)] ^= byte(i + 1) // no two chunks alike
		if _, err := f.Write(chunk); err != nil {
			return err
		}
		if i == s.w5Chunks-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C: // the workload's pace
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	c.bigCloseOff, err = fileSize(c.d.LogFile)
	return err
}

func collectW5(c *cell, r *result) error {
	total, err := c.d.Transfers("www", bigName)
	if err != nil {
		return err
	}
	after, err := countRecv(c.d.LogFile, c.bigCloseOff, bigName)
	if err != nil {
		return err
	}
	r.BigTransfers, r.BigTransfersAfterClose = &total, &after
	return nil
}

// W6: every hostile name as a file at the top and as a directory holding a
// file of the same name.
func runW6(ctx context.Context, c *cell) error {
	f := newFiller(c.seed)
	h := filepath.Join(c.src, "h")
	if err := os.Mkdir(h, 0o755); err != nil {
		return err
	}
	for _, n := range c.names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(c.src, n), f.bytes(256)); err != nil {
			return fmt.Errorf("%q: %w", n, err)
		}
		if err := os.Mkdir(filepath.Join(h, n), 0o755); err != nil {
			return fmt.Errorf("%q: %w", n, err)
		}
		if err := writeFile(filepath.Join(h, n, n), f.bytes(256)); err != nil {
			return fmt.Errorf("%q: %w", n, err)
		}
	}
	return nil
}
