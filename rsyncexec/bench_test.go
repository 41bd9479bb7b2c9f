package rsyncexec

import (
	"fmt"
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
