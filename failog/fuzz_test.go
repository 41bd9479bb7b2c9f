package failog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sersync-go/sersync2/rsyncexec"
)

// fuzzSeeds adds the failLog files under testdata/failog.
func fuzzSeeds(f *testing.F) {
	var files []string
	for _, pat := range []string{"*.sh", "corpus/*"} {
		m, err := filepath.Glob(filepath.Join(goldenDir, pat))
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		f.Fatalf("only %d seed files in %s", len(files), goldenDir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParse: whatever the file holds, parsing does not fail; every entry
// found is one the engine may replay (clean relative path, absolute root)
// and is written back to a line that parses to the same entry; writing
// the entries and parsing again gives them back; a block that is not an
// entry, once commented, holds nothing sh would run.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks := parse(string(data))
		var texts []string
		var entries []Entry
		for _, b := range blocks {
			if b.e == nil {
				c := commented(b.raw)
				for line := range strings.Lines(c) {
					if !strings.HasPrefix(line, "#") {
						t.Fatalf("commented block has a runnable line %q", line)
					}
				}
				continue
			}
			e := *b.e
			if e.Op != Full && rsyncexec.CleanRel(e.Path) != nil || !strings.HasPrefix(e.Root, "/") || e.Remote == "" {
				t.Fatalf("entry not replayable: %+v", e)
			}
			line := e.metaLine()
			if strings.ContainsAny(line, "\n") {
				t.Fatalf("entry line breaks: %q", line)
			}
			back, err := parseMeta(line)
			if err != nil || back != e {
				t.Fatalf("round trip of %q: %+v, %v; want %+v", line, back, err, e)
			}
			entries = append(entries, e)
			texts = append(texts, e.errnoLine()+"\n"+line+"\n")
		}
		again, other := Parse(render(texts))
		if other != 0 || len(again) != len(entries) {
			t.Fatalf("re-parse: %d entries, %d other; want %d, 0", len(again), other, len(entries))
		}
		for i := range again {
			if again[i] != entries[i] {
				t.Fatalf("re-parse entry %d: %+v, want %+v", i, again[i], entries[i])
			}
		}
	})
}
