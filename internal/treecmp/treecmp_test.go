package treecmp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var stamp = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// build creates a small tree with a file, a nested dir, a symlink and a
// hostile name, all with fixed times.
func build(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "d1", "d2"), 0o755))
	must(os.WriteFile(filepath.Join(root, "a.txt"), []byte("alpha"), 0o644))
	must(os.WriteFile(filepath.Join(root, "d1", "d2", "f"), []byte("deep"), 0o600))
	must(os.WriteFile(filepath.Join(root, "nl\nname\xff"), []byte("x"), 0o644))
	must(os.Symlink("a.txt", filepath.Join(root, "lnk")))
	for _, p := range []string{"a.txt", "d1/d2/f", "nl\nname\xff", "d1/d2", "d1"} {
		must(os.Chtimes(filepath.Join(root, p), stamp, stamp))
	}
	return root
}

func TestDiffEqual(t *testing.T) {
	a, b := build(t), build(t)
	diffs, err := Diff(a, b, Options{DirMtime: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("identical trees differ: %q", diffs)
	}
}

func TestDiffReportsEachKind(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		mutate func(t *testing.T, b string)
		want   string // substring of the only expected difference
	}{
		{"missing", Options{}, func(t *testing.T, b string) { rm(t, b, "a.txt") }, `missing in`},
		{"extra", Options{}, func(t *testing.T, b string) { write(t, b, "new", "n", 0o644) }, `extra in`},
		{"missing with AllowExtra", Options{AllowExtra: true}, func(t *testing.T, b string) { rm(t, b, "a.txt") }, `missing in`},
		{"type with AllowExtra", Options{AllowExtra: true}, func(t *testing.T, b string) {
			rm(t, b, "d1/d2/f")
			mkdir(t, b, "d1/d2/f")
		}, `"d1/d2/f": type differs: file vs dir`},
		{"type", Options{}, func(t *testing.T, b string) {
			rm(t, b, "a.txt")
			mkdir(t, b, "a.txt")
		}, `"a.txt": type differs: file vs dir`},
		{"content same size", Options{}, func(t *testing.T, b string) {
			write(t, b, "a.txt", "ALPHA", 0o644)
		}, `"a.txt": content differs (size 5 vs 5)`},
		{"content size", Options{}, func(t *testing.T, b string) {
			write(t, b, "a.txt", "alphabet", 0o644)
		}, `"a.txt": content differs (size 5 vs 8)`},
		{"mode", Options{}, func(t *testing.T, b string) {
			chmod(t, b, "d1/d2/f", 0o640)
		}, `"d1/d2/f": mode differs: 0600 vs 0640`},
		{"dir mode", Options{}, func(t *testing.T, b string) {
			chmod(t, b, "d1", 0o700)
		}, `"d1": mode differs: 0755 vs 0700`},
		{"mtime", Options{}, func(t *testing.T, b string) {
			chtime(t, b, "a.txt", stamp.Add(time.Second))
		}, `"a.txt": mtime differs`},
		{"dir mtime when asked", Options{DirMtime: true}, func(t *testing.T, b string) {
			chtime(t, b, "d1/d2", stamp.Add(time.Hour))
		}, `"d1/d2": mtime differs`},
		{"symlink target", Options{}, func(t *testing.T, b string) {
			rm(t, b, "lnk")
			if err := os.Symlink("d1", filepath.Join(b, "lnk")); err != nil {
				t.Fatal(err)
			}
		}, `"lnk": symlink target differs: "a.txt" vs "d1"`},
		{"hostile name quoted", Options{}, func(t *testing.T, b string) {
			write(t, b, "nl\nname\xff", "y", 0o644)
			chtime(t, b, "nl\nname\xff", stamp)
		}, `"nl\nname\xff": content differs`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := build(t), build(t)
			tt.mutate(t, b)
			diffs, err := Diff(a, b, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) != 1 || !strings.Contains(diffs[0], tt.want) {
				t.Fatalf("got %q, want one difference containing %q", diffs, tt.want)
			}
		})
	}
}

func TestDiffIgnores(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		mutate func(t *testing.T, b string)
	}{
		{"dir mtime by default", Options{}, func(t *testing.T, b string) { chtime(t, b, "d1", stamp.Add(time.Hour)) }},
		{"sub-second mtime", Options{}, func(t *testing.T, b string) { chtime(t, b, "a.txt", stamp.Add(300*time.Millisecond)) }},
		{"NoMtime", Options{NoMtime: true}, func(t *testing.T, b string) { chtime(t, b, "a.txt", stamp.Add(time.Hour)) }},
		{"NoMode", Options{NoMode: true}, func(t *testing.T, b string) { chmod(t, b, "a.txt", 0o600) }},
		{"AllowExtra", Options{AllowExtra: true}, func(t *testing.T, b string) {
			write(t, b, "extra", "e", 0o644)
			mkdir(t, b, "d1/extra-dir")
		}},
		{"Skip subtree", Options{Skip: func(rel string, dir bool) bool { return dir && rel == "d1" }}, func(t *testing.T, b string) {
			rm(t, b, "d1/d2/f")
			write(t, b, "d1/extra", "e", 0o644)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := build(t), build(t)
			tt.mutate(t, b)
			diffs, err := Diff(a, b, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) != 0 {
				t.Fatalf("want no difference, got %q", diffs)
			}
		})
	}
}

func TestDiffSortedAndComplete(t *testing.T) {
	a, b := build(t), build(t)
	rm(t, b, "a.txt")
	write(t, b, "zz", "z", 0o644)
	chmod(t, b, "d1/d2/f", 0o644)
	diffs, err := Diff(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 3 {
		t.Fatalf("want 3 differences, got %q", diffs)
	}
	for i, want := range []string{`"a.txt"`, `"d1/d2/f"`, `"zz"`} {
		if !strings.Contains(diffs[i], want) {
			t.Errorf("diff %d = %q, want it to name %s", i, diffs[i], want)
		}
	}
}

func TestDiffErrors(t *testing.T) {
	a := build(t)
	if _, err := Diff(a, filepath.Join(a, "nope"), Options{}); err == nil {
		t.Error("missing root: no error")
	}
	if _, err := Diff(a, filepath.Join(a, "a.txt"), Options{}); err == nil {
		t.Error("file as root: no error")
	}
}

func rm(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, root, rel, data string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	chtime(t, root, rel, stamp)
}

func chmod(t *testing.T, root, rel string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(root, rel), mode); err != nil {
		t.Fatal(err)
	}
}

func chtime(t *testing.T, root, rel string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(root, rel), when, when); err != nil {
		t.Fatal(err)
	}
}
