package rsyncexec

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sersync-go/sersync2/queue"
)

// benchEntries returns n nested paths spread over 100 directories, one in
// ten with a wildcard character that needs escaping.
func benchEntries(n int) []queue.Entry {
	out := make([]queue.Entry, n)
	for i := range out {
		name := fmt.Sprintf("file-%05d.txt", i)
		if i%10 == 0 {
			name = fmt.Sprintf("img[%d]*.png", i)
		}
		out[i] = queue.Entry{Path: fmt.Sprintf("d%02d/sub/%s", i%100, name), Dir: i%50 == 0}
	}
	return out
}

func BenchmarkUpdateCommand10k(b *testing.B) {
	entries, tgt := benchEntries(10000), stock()
	b.ReportAllocs()
	for b.Loop() {
		c := UpdateCommand(tgt, entries)
		if len(c.Payload()) == 0 {
			b.Fatal("empty payload")
		}
	}
}

func BenchmarkRemoveCommand10k(b *testing.B) {
	entries, tgt := benchEntries(10000), stock()
	b.ReportAllocs()
	for b.Loop() {
		c := RemoveCommand(tgt, entries)
		if len(c.Payload()) == 0 {
			b.Fatal("empty payload")
		}
	}
}

func BenchmarkShell10k(b *testing.B) {
	c := RemoveCommand(stock(), benchEntries(10000))
	b.ReportAllocs()
	for b.Loop() {
		if len(c.String()) == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkParents2000 measures the parent check of one 2,000-path batch
// (every parent a real directory, so every path is checked to the end),
// for paths sharing one directory, spread over 100 directories, and each
// in a directory of its own; "lstat" is the per-path lstat Run already
// does, for scale.
func BenchmarkParents2000(b *testing.B) {
	shapes := []struct {
		name string
		path func(i int) string
	}{
		{"one-dir", func(i int) string { return fmt.Sprintf("a/b/c/f%04d", i) }},
		{"100-dirs", func(i int) string { return fmt.Sprintf("a/d%02d/sub/f%04d", i%100, i) }},
		{"2000-dirs", func(i int) string { return fmt.Sprintf("a/d%02d/e%04d/f", i%100, i) }},
	}
	for _, sh := range shapes {
		root := b.TempDir()
		paths := make([]string, 2000)
		for i := range paths {
			paths[i] = sh.path(i)
			writeFile(b, root, paths[i], "x")
		}
		b.Run(sh.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pc := parents{root: root}
				for _, p := range paths {
					if pc.diverted(p) {
						b.Fatal("diverted")
					}
				}
			}
		})
		b.Run(sh.name+"/lstat", func(b *testing.B) {
			for b.Loop() {
				for _, p := range paths {
					if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkCommandsMovedDir20k measures building the runs of a batch that
// carries one directory, as after it was moved into the root: 200
// subdirectories of 100 files and a .git directory of 100 more each
// (40,000 files). Without a filter (no walk), with a filter that excludes
// nothing in it (all is walked), and with one that excludes one file in
// ten and the .git directories (20,000 files walked, 2,200 rules).
func BenchmarkCommandsMovedDir20k(b *testing.B) {
	root := b.TempDir()
	for d := range 200 {
		dir := filepath.Join(root, "moved", fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range 100 {
			name := fmt.Sprintf("f%03d.txt", i)
			if i%10 == 0 {
				name = fmt.Sprintf("f%03d.tmp", i)
			}
			for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, ".git", name)} {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	batch := dirs("moved")
	for _, bc := range []struct {
		name    string
		exclude func(string, bool) bool
		rules   int
	}{
		{"no filter", nil, 0},
		{"nothing excluded", func(string, bool) bool { return false }, 0},
		{"excluded", tmpOrGit, 200 * 11},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tgt := stock()
			tgt.Root, tgt.Exclude = root, bc.exclude
			b.ReportAllocs()
			for b.Loop() {
				cmds := Commands(tgt, batch, nil, 0)
				rules := 0
				for _, r := range cmds[0].Stdin {
					if r[0] == '-' {
						rules++
					}
				}
				if len(cmds) != 1 || rules != bc.rules {
					b.Fatalf("%d commands, %d exclude rules; want 1, %d", len(cmds), rules, bc.rules)
				}
			}
		})
	}
}
