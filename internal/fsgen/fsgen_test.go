package fsgen

import (
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var variants = []struct {
	name string
	opts Options
}{
	{"plain", Options{}},
	{"hostile", Options{Names: []string{"sp ace", "quo\"te", "nl\nline", "-dash", "\xff\xfe", ".hidden"}}},
	{"no dir to file", Options{NoDirToFile: true}},
	{"excludes", Options{ExcludeSuffix: ".tmp", ExcludeTopDir: "cache"}},
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			a, b := Generate(7, 300, v.opts), Generate(7, 300, v.opts)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("the same seed gave two sequences")
			}
			if len(a) != 300 {
				t.Fatalf("got %d ops, want 300", len(a))
			}
			if reflect.DeepEqual(a, Generate(8, 300, v.opts)) {
				t.Fatal("seeds 7 and 8 gave the same sequence")
			}
			if p := Generate(7, 100, v.opts); !reflect.DeepEqual(p, a[:100]) {
				t.Fatal("a shorter sequence is not a prefix of the longer one")
			}
		})
	}
}

// TestApplyFollowsModel applies whole sequences to a temp dir: no op
// fails, and the tree (and the outside dir) end as the model says.
func TestApplyFollowsModel(t *testing.T) {
	for _, v := range variants {
		for _, seed := range []int64{1, 2} {
			t.Run(fmt.Sprintf("%s/seed=%d", v.name, seed), func(t *testing.T) {
				t.Parallel()
				root, outside := t.TempDir(), t.TempDir()
				g := newGen(seed, v.opts)
				everDir := map[string]bool{}
				for len(g.ops) < 250 {
					start := len(g.ops)
					g.step()
					for _, op := range g.ops[start:] {
						if v.opts.NoDirToFile {
							for _, f := range written(op) {
								if everDir[f] {
									t.Errorf("%s: a file where a directory was", op)
								}
							}
						}
						if op.Kind == Utime && !op.Time.IsZero() && !g.tree[op.Path].dir {
							t.Errorf("%s: a file set back in time (rsync -u would keep the mirror's newer copy)", op)
						}
						if err := op.Apply(root, outside); err != nil {
							t.Errorf("op %d: %v", len(g.ops), err)
						}
					}
					for p, e := range g.tree {
						everDir[p] = everDir[p] || e.dir
					}
				}
				if got := scanTree(t, root); !maps.Equal(got, g.tree) {
					t.Errorf("tree and model differ\ntree:  %v\nmodel: %v", got, g.tree)
				}
				want := map[string]entry{}
				for o, sub := range g.outside {
					for rel, e := range sub {
						want[strings.TrimSuffix(o+"/"+rel, "/")] = e
					}
				}
				if got := scanTree(t, outside); !maps.Equal(got, want) {
					t.Errorf("outside dir and model differ\ndir:   %v\nmodel: %v", got, want)
				}
			})
		}
	}
}

// written returns the files op writes.
func written(op Op) []string {
	switch op.Kind {
	case Create, Overwrite:
		return []string{op.Path}
	case MkdirAll:
		return op.Files
	case Burst:
		var out []string
		for j := range op.Count {
			out = append(out, join(op.Path, op.BurstName(j)))
		}
		return out
	}
	return nil
}

func scanTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = entry{dir: true}
		} else {
			out[filepath.ToSlash(rel)] = entry{size: fi.Size()}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGenerateCovers: over a few sequences every kind of op, hostile and
// excluded names and the whole range of delays show up, and no delay
// exceeds 50 ms.
func TestGenerateCovers(t *testing.T) {
	opts := Options{Names: []string{"sp ace"}, ExcludeSuffix: ".tmp", ExcludeTopDir: "cache"}
	seen := map[string]bool{}
	for seed := range int64(5) {
		for _, op := range Generate(seed, 300, opts) {
			seen[op.Kind.String()] = true
			if op.Delay < 0 || op.Delay > 50*time.Millisecond {
				t.Errorf("delay out of range: %s", op)
			}
			if op.Delay == 0 {
				seen["no delay"] = true
			}
			if op.Delay >= 20*time.Millisecond {
				seen["long delay"] = true
			}
			for _, p := range append(written(op), op.Path, op.To) {
				switch {
				case strings.Contains(p, "sp ace"):
					seen["option name"] = true
				case strings.Contains(p, "文件"):
					seen["chinese name"] = true
				case strings.Contains(p, "\xff"):
					seen["non-UTF-8 name"] = true
				case strings.HasSuffix(p, ".tmp"):
					seen["excluded suffix"] = true
				case strings.HasPrefix(p, "cache/"):
					seen["excluded dir"] = true
				}
			}
		}
	}
	for k := Create; k <= Burst; k++ {
		if !seen[k.String()] {
			t.Errorf("no %s op", k)
		}
	}
	for _, s := range []string{"no delay", "long delay", "option name", "chinese name", "non-UTF-8 name", "excluded suffix", "excluded dir"} {
		if !seen[s] {
			t.Errorf("no %s", s)
		}
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{Op{Kind: Create, Path: "a/nl\nx", Size: 3}, `create "a/nl\nx" 3B`},
		{Op{Kind: Append, Path: "f", Size: 9, Delay: 3 * time.Millisecond}, `after 3ms: append "f" +9B`},
		{Op{Kind: Truncate, Path: "f", Size: 0}, `truncate "f" to 0B`},
		{Op{Kind: Chmod, Path: "d", Mode: 0o750}, `chmod 0750 "d"`},
		{Op{Kind: Utime, Path: "d", Time: utimeBase}, `utime "d" 2020-01-01T00:00:00Z`},
		{Op{Kind: Utime, Path: "f"}, `utime "f" now`},
		{Op{Kind: Burst, Path: "", To: "b1_", Count: 50, Size: 10}, `burst 50 files "b1_NNN" (10B+j)`},
		{Op{Kind: MkdirAll, Path: "a/b", Files: []string{"a/f"}, Size: 4}, `mkdir -p "a/b" + files ["a/f"] (4B+i)`},
		{Op{Kind: RemoveAll, Path: "\xff"}, `rm -rf "\xff"`},
		{Op{Kind: Rename, Path: "a", To: "b/c"}, `mv "a" "b/c"`},
		{Op{Kind: MoveOut, Path: "a", To: "o1"}, `mv out "a" -> outside/"o1"`},
		{Op{Kind: MoveIn, Path: "o1", To: "x"}, `mv in outside/"o1" -> "x"`},
		{Op{Kind: Burst, Path: "d", To: "b7_", Count: 50, Size: 10}, `burst 50 files "d/b7_NNN" (10B+j)`},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

// TestApplyFailsWithoutHarm: ops whose preconditions do not hold fail
// and leave the tree alone.
func TestApplyFailsWithoutHarm(t *testing.T) {
	tests := []struct {
		name string
		op   Op
	}{
		{"create existing", Op{Kind: Create, Path: "f", Size: 1}},
		{"overwrite missing", Op{Kind: Overwrite, Path: "nope", Size: 1}},
		{"rm a directory", Op{Kind: Remove, Path: "d"}},
		{"rm -rf missing", Op{Kind: RemoveAll, Path: "nope"}},
		{"mv onto existing", Op{Kind: Rename, Path: "f", To: "d"}},
		{"mv in missing", Op{Kind: MoveIn, Path: "nope", To: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := (Op{Kind: MkdirAll, Path: "d", Files: []string{"f"}, Size: 5}).Apply(root, t.TempDir()); err != nil {
				t.Fatal(err)
			}
			before := scanTree(t, root)
			if err := tt.op.Apply(root, t.TempDir()); err == nil {
				t.Error("no error")
			}
			if after := scanTree(t, root); !maps.Equal(before, after) {
				t.Errorf("tree changed: %v -> %v", before, after)
			}
		})
	}
}

func TestContent(t *testing.T) {
	if a, b := Content(1, 100), Content(2, 100); reflect.DeepEqual(a, b) {
		t.Error("two salts gave the same bytes")
	}
	if a, b := Content(1, 100), Content(1, 100); !reflect.DeepEqual(a, b) {
		t.Error("one salt gave different bytes")
	}
	if n := len(Content(3, 7)); n != 7 {
		t.Errorf("Content(3, 7) has %d bytes", n)
	}
}
