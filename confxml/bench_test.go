package confxml

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad loads filter-on.xml (base.xml with four exclude regexes) from a file: read, parse,
// decode, validate (stat of the watch directory).
func BenchmarkLoad(b *testing.B) {
	e := newEnv(b, b.TempDir())
	data, err := os.ReadFile(filepath.Join(fixtureDir, "filter-on.xml"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(e.dir, "c.xml")
	if err := os.WriteFile(path, e.expand(data), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
