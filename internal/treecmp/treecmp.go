package treecmp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Options tunes what Diff compares.
type Options struct {
	// DirMtime also compares directories' modification times. Off by
	// default: rsync sets a directory's time after filling it, and any
	// later create or delete inside touches it again.
	DirMtime bool
	// NoMtime skips modification times entirely (files too).
	NoMtime bool
	// NoMode skips permission bits.
	NoMode bool
	// Skip, when set, is asked for every relative path ("a/b", no leading
	// slash) found on either side; true leaves the entry, and for a
	// directory its whole subtree, out of the comparison.
	Skip func(rel string, dir bool) bool
	// AllowExtra leaves out what exists only in b: b must hold everything
	// of a, equal, and may hold more (a mirror fed without deletes).
	AllowExtra bool
}

type kind int

const (
	kindFile kind = iota + 1
	kindDir
	kindSymlink
	kindOther
)

func (k kind) String() string {
	switch k {
	case kindFile:
		return "file"
	case kindDir:
		return "dir"
	case kindSymlink:
		return "symlink"
	default:
		return "special file"
	}
}

type entry struct {
	kind   kind
	mode   fs.FileMode
	mtime  int64 // seconds
	size   int64
	target string // symlink target
}

// Diff compares the trees rooted at a and b and returns one line per
// difference, sorted by path. The roots themselves are not compared, only
// what is below them. An empty result means the trees are equal. The error
// is for trees that cannot be read at all.
func Diff(a, b string, opts Options) ([]string, error) {
	ea, err := scan(a, opts)
	if err != nil {
		return nil, err
	}
	eb, err := scan(b, opts)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ea)+len(eb))
	for n := range ea {
		names = append(names, n)
	}
	for n := range eb {
		if _, ok := ea[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)

	var diffs []string
	for _, n := range names {
		x, inA := ea[n]
		y, inB := eb[n]
		switch {
		case !inB:
			diffs = append(diffs, fmt.Sprintf("missing in %s: %q (%s)", b, n, x.kind))
			continue
		case !inA:
			if opts.AllowExtra {
				continue
			}
			diffs = append(diffs, fmt.Sprintf("extra in %s: %q (%s)", b, n, y.kind))
			continue
		}
		if x.kind != y.kind {
			diffs = append(diffs, fmt.Sprintf("%q: type differs: %s vs %s", n, x.kind, y.kind))
			continue
		}
		switch x.kind {
		case kindSymlink:
			if x.target != y.target {
				diffs = append(diffs, fmt.Sprintf("%q: symlink target differs: %q vs %q", n, x.target, y.target))
			}
			continue // no mode or time for links: not portable, rarely meaningful
		case kindFile:
			same, err := sameContent(filepath.Join(a, n), filepath.Join(b, n), x.size, y.size)
			if err != nil {
				return nil, err
			}
			if !same {
				diffs = append(diffs, fmt.Sprintf("%q: content differs (size %d vs %d)", n, x.size, y.size))
			}
		}
		if !opts.NoMode && x.mode != y.mode {
			diffs = append(diffs, fmt.Sprintf("%q: mode differs: %#o vs %#o", n, x.mode, y.mode))
		}
		checkTime := !opts.NoMtime && (x.kind != kindDir || opts.DirMtime)
		if checkTime && x.mtime != y.mtime {
			diffs = append(diffs, fmt.Sprintf("%q: mtime differs: %d vs %d", n, x.mtime, y.mtime))
		}
	}
	return diffs, nil
}

// EqualT fails t with one error per difference between the trees a and b.
func EqualT(t testing.TB, a, b string, opts Options) {
	t.Helper()
	diffs, err := Diff(a, b, opts)
	if err != nil {
		t.Fatalf("treecmp: %v", err)
	}
	for _, d := range diffs {
		t.Errorf("treecmp: %s", d)
	}
}

func scan(root string, opts Options) (map[string]entry, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("treecmp: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("treecmp: %q is not a directory", root)
	}
	out := make(map[string]entry)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("treecmp: walk %q: %w", p, err)
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("treecmp: %w", err)
		}
		rel = filepath.ToSlash(rel)
		if opts.Skip != nil && opts.Skip(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("treecmp: %q: %w", p, err)
		}
		e := entry{
			mode:  info.Mode().Perm() | info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky),
			mtime: info.ModTime().Unix(),
			size:  info.Size(),
		}
		switch {
		case info.Mode().IsRegular():
			e.kind = kindFile
		case info.IsDir():
			e.kind = kindDir
		case info.Mode()&fs.ModeSymlink != 0:
			e.kind = kindSymlink
			if e.target, err = os.Readlink(p); err != nil {
				return fmt.Errorf("treecmp: %w", err)
			}
		default:
			e.kind = kindOther
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func sameContent(a, b string, sa, sb int64) (bool, error) {
	if sa != sb {
		return false, nil
	}
	fa, err := os.Open(a)
	if err != nil {
		return false, fmt.Errorf("treecmp: %w", err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, fmt.Errorf("treecmp: %w", err)
	}
	defer fb.Close()
	const n = 64 << 10
	ba, bb := make([]byte, n), make([]byte, n)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		doneA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		doneB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		if ea != nil && !doneA {
			return false, fmt.Errorf("treecmp: read %q: %w", a, ea)
		}
		if eb != nil && !doneB {
			return false, fmt.Errorf("treecmp: read %q: %w", b, eb)
		}
		if doneA || doneB {
			return doneA == doneB, nil
		}
	}
}
