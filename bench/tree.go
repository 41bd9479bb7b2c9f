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
	"time"

	"github.com/sersync-go/sersync2/internal/treecmp"
)

// meta is what the cheap comparison looks at: type, size, mode and
// modification time (to the second, as treecmp does). Contents are left
// to treecmp, which confirms every "equal" the cheap scan reports.
type meta struct {
	mode  fs.FileMode
	size  int64
	mtime int64
}

func scanMeta(root string) (map[string]meta, error) {
	out := map[string]meta{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p != root {
				return nil // vanished while walking: a live tree
			}
			return err
		}
		if p == root {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		m := meta{mode: info.Mode()}
		if info.Mode().IsRegular() {
			m.size, m.mtime = info.Size(), info.ModTime().Unix()
		}
		out[p[len(root):]] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	return out, nil
}

// cheapEqual reports whether src and dst look the same by metadata.
func cheapEqual(src, dst string) (bool, error) {
	a, err := scanMeta(src)
	if err != nil {
		return false, err
	}
	return equalTo(a, dst)
}

// equalTo reports whether dst looks like the scanned source a.
func equalTo(a map[string]meta, dst string) (bool, error) {
	b, err := scanMeta(dst)
	if err != nil {
		return false, err
	}
	if len(a) != len(b) {
		return false, nil
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || x != y {
			return false, nil
		}
	}
	return true, nil
}

// diffCounts classifies treecmp's lines into missing, extra and different
// paths (a path with several differing attributes counts once).
type diffCounts struct {
	Missing, Extra, Different int
	Sample                    []string // the first few lines, for the JSON
}

func (d diffCounts) total() int { return d.Missing + d.Extra + d.Different }

func classify(lines []string) diffCounts {
	var d diffCounts
	seen := map[string]bool{}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "missing in "):
			d.Missing++
		case strings.HasPrefix(l, "extra in "):
			d.Extra++
		default:
			key := l
			if q, err := strconv.QuotedPrefix(l); err == nil {
				key = q
			}
			if !seen[key] {
				seen[key] = true
				d.Different++
			}
		}
		if len(d.Sample) < 5 {
			d.Sample = append(d.Sample, l)
		}
	}
	return d
}

// fullDiff runs treecmp on the two trees.
func fullDiff(src, dst string) (diffCounts, error) {
	lines, err := treecmp.Diff(src, dst, treecmp.Options{})
	if err != nil {
		return diffCounts{}, err
	}
	return classify(lines), nil
}

// waitEqual polls until every dst mirrors src by metadata (type, mode,
// size, mtime) or the deadline passes, and returns the time the last one
// was first seen equal; each time a dst is first seen equal, first (if not
// nil) is told its index. rsync sets a file's size and time before it
// renames the file into place, so equal metadata means the transfer is
// complete; contents are compared by treecmp after the settle window.
func waitEqual(ctx context.Context, src string, dsts []string, deadline time.Time, first func(i int, at time.Time)) (bool, time.Time, error) {
	done := make([]bool, len(dsts))
	left := len(dsts)
	for {
		t0 := time.Now()
		a, err := scanMeta(src)
		if err != nil {
			return false, time.Time{}, err
		}
		for i, dst := range dsts {
			if done[i] {
				continue
			}
			eq, err := equalTo(a, dst)
			if err != nil {
				return false, time.Time{}, err
			}
			if eq {
				done[i] = true
				left--
				if first != nil {
					first(i, time.Now())
				}
			}
		}
		if left == 0 {
			return true, time.Now(), nil
		}
		if time.Now().After(deadline) {
			return false, time.Time{}, nil
		}
		// Poll interval: at least 25 ms and twice the scan's duration,
		// so that the harness takes at most a third of a core from the
		// tools under test.
		wait := min(max(25*time.Millisecond, 2*time.Since(t0)), time.Second)
		select {
		case <-ctx.Done():
			return false, time.Time{}, ctx.Err()
		case <-time.After(wait): // polling interval, not synchronisation
		}
	}
}

// settle watches the trees for a quiet window: it reports whether every
// dst stayed equal to src by metadata throughout (a late rsync that breaks
// a mirror shows here), then the final treecmp counts, summed over dsts.
func settle(ctx context.Context, src string, dsts []string, window time.Duration) (stable bool, d diffCounts, err error) {
	stable = true
	end := time.Now().Add(window)
	for time.Now().Before(end) {
		a, err := scanMeta(src)
		if err != nil {
			return false, d, err
		}
		for _, dst := range dsts {
			eq, err := equalTo(a, dst)
			if err != nil {
				return false, d, err
			}
			if !eq {
				stable = false
			}
		}
		select {
		case <-ctx.Done():
			return false, d, ctx.Err()
		case <-time.After(min(250*time.Millisecond, time.Until(end)+time.Millisecond)): // polling interval
		}
	}
	for _, dst := range dsts {
		one, err := fullDiff(src, dst)
		if err != nil {
			return false, d, err
		}
		d.Missing, d.Extra, d.Different = d.Missing+one.Missing, d.Extra+one.Extra, d.Different+one.Different
		d.Sample = append(d.Sample, one.Sample...)
	}
	if len(d.Sample) > 5 {
		d.Sample = d.Sample[:5]
	}
	return stable, d, nil
}
