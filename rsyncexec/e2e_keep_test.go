package rsyncexec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/internal/hostile"
	"github.com/sersync-go/sersync2/internal/treecmp"
	"github.com/sersync-go/sersync2/queue"
)

// TestFullKeepsRemoteExcluded: against a real daemon, a full run with a
// filter (`*.gz` files and directories, `cache` directories) and --delete
// keeps what exists only on the remote and the filter excludes: at the
// top, nested below directories that exist locally or not, inside an
// excluded directory, under every hostile name and every name made of
// rsync's own escape syntax. What the filter does not exclude is deleted,
// and the local excluded files are not sent. The same with PARAMS that
// silence rsync (-q), compare checksums (-c), or cap deletions with a
// --max-delete above what is deleted but below what the dry run lists.
func TestFullKeepsRemoteExcluded(t *testing.T) {
	t.Parallel()
	names := append(hostileNames(t), escapeNames...)
	exclude := func(rel string, dir bool) bool {
		return strings.HasSuffix(rel, ".gz") || dir && (rel == "cache" || strings.HasSuffix(rel, "/cache"))
	}
	for _, tt := range []struct {
		name   string
		params []string
	}{
		{"stock", []string{"-artuz"}},
		{"quiet", []string{"-artuzq", "--quiet"}},
		{"max-delete", []string{"-artuz", "--max-delete"}}, // a limit above what is deleted, below what the dry run lists
		{"checksum", []string{"-artucz", "-v"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tgt, dst, _ := daemonTarget(t)
			tgt.Rsync.Params = tt.params
			tgt.Exclude = exclude
			src := tgt.Root
			keep := map[string]string{} // remote path: content that must stay
			gone := []string{}          // remote paths that must be deleted
			remote := func(p, content string) {
				writeFile(t, dst, p, content)
				keep[p] = content
			}
			for _, p := range []string{"a.txt", "d/x.txt", "local.gz", "d/local.gz", "cache/local"} {
				writeFile(t, src, p, "local "+p)
			}
			remote("old.gz", "remote only, excluded")
			remote("local.gz", "the remote's own copy")
			remote("d/e/deep.gz", "nested in a remote-only directory")
			remote("d/f.gz/in", "inside an excluded remote-only directory")
			remote("cache/old/stuff", "inside the excluded cache")
			remote("r/cache/x", "inside a remote-only excluded directory")
			for _, n := range names {
				remote("h/"+n+".gz", n)
				remote(n+".gz", n)
				writeFile(t, dst, "h/"+n, "remote only, not excluded")
				gone = append(gone, "h/"+n)
			}
			for _, p := range []string{"stale.txt", "d/stale", "gone/dir/f"} {
				writeFile(t, dst, p, "remote only, not excluded")
				gone = append(gone, p)
			}

			if tt.name == "max-delete" {
				tgt.Rsync.Params = append(tgt.Rsync.Params, strconv.Itoa(len(gone)+10))
			}
			mustRun(t, NewRunner("rsync", 2, nil), tgt, queue.Batch{Root: src, Full: true})

			for p, want := range keep {
				if got, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(got) != want {
					t.Errorf("remote %q = %q, %v; want it kept as %q", p, got, err, want)
				}
			}
			for _, p := range gone {
				if exists(t, filepath.Join(dst, p)) {
					t.Errorf("remote %q was not deleted", p)
				}
			}
			for _, p := range []string{"d/local.gz", "cache/local"} {
				if exists(t, filepath.Join(dst, p)) {
					t.Errorf("excluded %q was sent", p)
				}
			}
			skip := func(rel string, dir bool) bool {
				return exclude(rel, dir) || rel == "h" || rel == "d/e" || rel == "r"
			}
			treecmp.EqualT(t, src, dst, treecmp.Options{Skip: skip})
			hostile.NoPWNED(t, src, dst)
		})
	}
}
