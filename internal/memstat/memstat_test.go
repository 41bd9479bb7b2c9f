package memstat

import (
	"runtime"
	"testing"
)

// TestLiveHeap: what a live allocation holds is counted.
func TestLiveHeap(t *testing.T) {
	const size = 64 << 20
	keep := make([]byte, size)
	if got := LiveHeap(); got < size {
		t.Errorf("LiveHeap = %d with %d bytes held", got, size)
	}
	runtime.KeepAlive(keep)
}
