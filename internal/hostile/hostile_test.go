package hostile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRead(t *testing.T) {
	names, err := Read("../../testdata/rsyncexec/hostile-names.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nl\nline", "\xff\xfe", "bq`touch PWNED`x", "-dash"} {
		if !slices.Contains(names, want) {
			t.Errorf("%q missing from the list", want)
		}
	}
	for _, bad := range []string{"\"a/b\"\n", "not-quoted\n", "# only a comment\n", "\"..\"\n"} {
		p := filepath.Join(t.TempDir(), "names.txt")
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil {
			t.Errorf("Read accepted %q", bad)
		}
	}
}
