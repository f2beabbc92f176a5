package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// Garbage made since the last collection counts as reclaimable: it is what a
// burst of writes leaves behind at rest, and what releaseAfterBulk collects.
func TestHeapReclaimableCountsGarbage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection between the steps
	runtime.GC()
	_, before := heapReclaimable()
	var sink [][]byte
	for i := 0; i < 64; i++ {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	_ = sink
	if _, garbage := heapReclaimable(); garbage < before+48<<20 {
		t.Fatalf("after dropping 64 MiB: %d bytes of garbage (was %d), want at least 48 MiB more", garbage, before)
	}
	runtime.GC()
	if _, garbage := heapReclaimable(); garbage > 16<<20 {
		t.Fatalf("after a collection: %d bytes of garbage, want under 16 MiB", garbage)
	}
}
