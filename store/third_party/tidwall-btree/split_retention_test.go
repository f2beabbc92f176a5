package btree

import (
	"math/rand"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

type retentionItem struct {
	key     int
	version int
}

// TestSplitKeepsNoReplacedItems replaces every item of a tree built by random
// inserts and checks that the replaced items become unreachable: no node array
// left behind by a split may still point at them.
func TestSplitKeepsNoReplacedItems(t *testing.T) {
	const n = 20000
	tr := NewBTreeGOptions(func(a, b *retentionItem) bool { return a.key < b.key },
		Options{Degree: 16, NoLocks: true})
	var alive atomic.Int64
	for _, k := range rand.New(rand.NewSource(1)).Perm(n) {
		it := &retentionItem{key: k}
		alive.Add(1)
		runtime.AddCleanup(it, func(c *atomic.Int64) { c.Add(-1) }, &alive)
		tr.Set(it)
	}
	for k := 0; k < n; k++ {
		tr.Set(&retentionItem{key: k, version: 1})
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive.Load() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if left := alive.Load(); left > 0 {
		t.Fatalf("%d of %d replaced items are still reachable", left, n)
	}
	if tr.Len() != n {
		t.Fatalf("tree has %d items, want %d", tr.Len(), n)
	}
	runtime.KeepAlive(tr)
}
