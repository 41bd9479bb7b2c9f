package lsyncdconf

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzConvert feeds arbitrary Lua source to the converter: it must never
// panic or hang, and what it writes must be well-formed XML. The seeds are
// the configurations under testdata/lsyncd; inputs the fuzzer found are
// kept in testdata/fuzz/FuzzConvert.
func FuzzConvert(f *testing.F) {
	for _, p := range configs(f) {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(`for i=1,1e12 do sync{default.rsync, source="/s"..i, target="h::m"} end`))
	f.Add([]byte(`sync{default.rsync, source="/s", target="h::m", exclude={"[", "**/", "\\", "[!/]", "/"}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		res, err := Convert(context.Background(), filepath.Join(dir, "fuzz.lua"), src)
		if d := time.Since(start); d > runTimeout+3*time.Second {
			t.Fatalf("conversion took %s", d)
		}
		if err != nil {
			return
		}
		dec := xml.NewDecoder(bytes.NewReader(res.XML))
		dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed XML: %v\n%s", err, res.XML)
			}
		}
	})
}
