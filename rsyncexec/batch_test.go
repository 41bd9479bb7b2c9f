package rsyncexec

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/queue"
)

// tmpOrGit is the filter of the tests: the excludes (.*)\.tmp and
// (.*)\.git.
func tmpOrGit(rel string, _ bool) bool {
	return strings.HasSuffix(rel, ".tmp") || strings.HasSuffix(rel, ".git")
}

// TestCommandsFilter builds a batch's runs against a real tree: a
// directory entry below which the filter excludes paths goes in the
// include form with exclude rules for them (an excluded directory's
// content is not walked, a symlink not followed); a directory without
// excluded paths, a file, a target without filter and PARAMS that do not
// recurse keep the --files-from form; a replaced directory's remove run
// keeps its excluded paths out too, a removed one costs nothing.
func TestCommandsFilter(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"moved/keep", "moved/a.tmp", "moved/.git/config", "moved/.git/x.tmp",
		"moved/sub/b.tmp", "moved/sub/ok", "clean/x", "top.txt", "outside/c.tmp"} {
		writeFile(t, root, p, p)
	}
	if err := os.Symlink("../outside", filepath.Join(root, "moved/link")); err != nil {
		t.Fatal(err)
	}
	movedRules := []string{"- /moved/.git/", "- /moved/a.tmp", "- /moved/sub/b.tmp"}
	filtered := stock()
	filtered.Root = root
	filtered.Exclude = tmpOrGit
	unfiltered := filtered
	unfiltered.Exclude = nil
	flat := filtered
	flat.Rsync.Params = []string{"-lptgoD"}
	updates := append(dirs("moved", "clean"), files("top.txt")...)

	type want struct {
		kind    Kind
		include bool // the include form, not --files-from
		stdin   []string
	}
	tests := []struct {
		name             string
		tgt              Target
		updates, removes []queue.Entry
		want             []want
	}{
		{"filter", filtered, updates, nil, []want{
			{Update, true, append(movedRules, "+ /moved", "+ /moved/***")},
			{Update, false, []string{"clean", "top.txt"}},
		}},
		{"no filter", unfiltered, updates, nil, []want{
			{Update, false, []string{"moved", "clean", "top.txt"}},
		}},
		{"params do not recurse", flat, updates, nil, []want{
			{Update, false, []string{"moved", "clean", "top.txt"}},
		}},
		{"replaced and removed directories", filtered, nil, []queue.Entry{{Path: "moved", Dir: true, Replaced: true}, {Path: "gone", Dir: true}}, []want{
			{Remove, true, append(movedRules, "+ /moved", "+ /moved/***", "+ /gone", "+ /gone/***")},
		}},
		{"nested entries", filtered, dirs("moved", "moved/sub"), nil, []want{
			{Update, true, append(movedRules, "- /moved/sub/b.tmp", "+ /moved", "+ /moved/***", "+ /moved/", "+ /moved/sub", "+ /moved/sub/***")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := Commands(tt.tgt, tt.updates, tt.removes, 0)
			var got []want
			for _, c := range cmds {
				got = append(got, want{c.Kind, slices.Contains(c.Argv, "--include-from=-"), c.Stdin})
				if c.Dir != root {
					t.Errorf("Dir = %q", c.Dir)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestCommandsChunks: the excluded paths of a directory go with the chunk
// that holds it.
func TestCommandsChunks(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"d1", "d2", "d3"} {
		writeFile(t, root, d+"/f", "f")
		writeFile(t, root, d+"/f.tmp", "tmp")
	}
	tgt := stock()
	tgt.Root = root
	tgt.Exclude = tmpOrGit
	cmds := Commands(tgt, dirs("d1", "d2", "d3"), nil, 2)
	var got [][]string
	for _, c := range cmds {
		var ex []string
		for _, r := range c.Stdin {
			if strings.HasPrefix(r, "- ") {
				ex = append(ex, path.Dir(r[2:]))
			}
		}
		got = append(got, ex)
	}
	if want := [][]string{{"/d1", "/d2"}, {"/d3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("excluded directories by chunk %q, want %q", got, want)
	}
}
