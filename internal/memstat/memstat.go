// Package memstat measures the process's memory for the figures sersync2
// logs to size big trees; it changes nothing but forcing one collection.
package memstat

import (
	"runtime"
	"runtime/metrics"
)

// LiveHeap collects garbage once and returns the bytes still in use:
// after start-up, mostly what the watch tree costs. One collection at
// start is cheap; afterwards the runtime keeps its own pace.
func LiveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
