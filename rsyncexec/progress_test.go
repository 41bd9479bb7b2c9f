package rsyncexec

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sersync-go/sersync2/queue"
)

func TestParseProgress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want Progress
		ok   bool
	}{
		{"      1,234,567  45%   12.34MB/s    0:00:03 (xfr#12, to-chk=88/100)", Progress{Bytes: 1234567, Percent: 45, Files: 12, Checked: 12, Total: 100}, true},
		{"          32,768 100%   31.25MB/s    0:00:00 (xfr#1, ir-chk=1002/1003)", Progress{Bytes: 32768, Percent: 100, Files: 1, Checked: 1, Total: 1003}, true},
		{"              0   0%    0.00kB/s    0:00:00", Progress{}, true},
		{"         10.000.000  99%    1,00MB/s    0:00:09", Progress{Bytes: 10000000, Percent: 99}, true},
		{"sending incremental file list", Progress{}, false},
		{"dir/file 45% x", Progress{}, false},
		{"", Progress{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := ParseProgress(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseProgress(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestProgressWriter: lines split anywhere across writes, ended by \r or
// \n, each reported once; lines without counts keep the last ones.
func TestProgressWriter(t *testing.T) {
	t.Parallel()
	var got []Progress
	w := newProgressWriter(func(p Progress) { got = append(got, p) })
	out := "sending incremental file list\n  100  10%  1.00kB/s  0:00:01 (xfr#1, to-chk=9/10)\r  2" +
		"00  20%  1.00kB/s  0:00:01\r  1,000 100%  1.00kB/s  0:00:02 (xfr#10, to-chk=0/10)\n"
	for i := 0; i < len(out); i += 7 {
		if _, err := w.Write([]byte(out[i:min(i+7, len(out))])); err != nil {
			t.Fatal(err)
		}
	}
	want := []Progress{{100, 10, 1, 1, 10}, {200, 20, 1, 1, 10}, {1000, 100, 10, 10, 10}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestFullProgress: a full run with Progress set reports the bytes and
// files of the tree from the real rsync; without it the argv is as
// printed.
func TestFullProgress(t *testing.T) {
	tgt, dst, _ := daemonTarget(t)
	var size int64
	for i := range 30 {
		c := strings.Repeat("x", 1000+i)
		writeFile(t, tgt.Root, fmt.Sprintf("d%d/f%02d", i%3, i), c)
		size += int64(len(c))
	}
	var mu sync.Mutex
	var last Progress
	n := 0
	res := NewRunner("rsync", 1, nil).Run(context.Background(), tgt, queue.Batch{Root: tgt.Root, Full: true}, RunOptions{Progress: func(p Progress) {
		mu.Lock()
		last = p
		n++
		mu.Unlock()
	}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	sameTree(t, tgt.Root, dst)
	mu.Lock()
	defer mu.Unlock()
	if n == 0 || last.Percent != 100 || last.Bytes != size || last.Files != 30 {
		t.Errorf("%d progress reports, last %+v; want 100%%, %d bytes, 30 files", n, last, size)
	}
}
