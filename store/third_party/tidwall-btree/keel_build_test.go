package btree

import (
	"math/rand"
	"testing"
)

// leafFill is the share of the leaves' slots (max items each) in use.
func leafFill[T any](tr *BTreeG[T]) float64 {
	var used, slots int
	var walk func(n *node[T])
	walk = func(n *node[T]) {
		if n.leaf() {
			used += len(n.items)
			slots += tr.max
			return
		}
		for _, c := range *n.children {
			walk(c)
		}
	}
	if tr.root != nil {
		walk(tr.root)
	}
	if slots == 0 {
		return 1
	}
	return float64(used) / float64(slots)
}

func TestBuildMakesASaneFullTree(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	sizes := []int{100000, 1 << 20}
	for n := 0; n <= 3000; n++ {
		sizes = append(sizes, n)
	}
	for _, degree := range []int{2, 3, 16} {
		for _, n := range sizes {
			if degree != 16 && n > 3000 {
				continue
			}
			items := make([]int, n)
			for i := range items {
				items[i] = 2 * i
			}
			tr := NewBTreeGOptions(less, Options{Degree: degree, NoLocks: true})
			if !tr.Build(items) {
				t.Fatalf("degree %d, n=%d: Build refused an empty tree", degree, n)
			}
			if err := tr.Sane(); err != nil {
				t.Fatalf("degree %d, n=%d: %v", degree, n, err)
			}
			if tr.Len() != n {
				t.Fatalf("degree %d, n=%d: Len %d", degree, n, tr.Len())
			}
			for i := 0; i < n; i += 1 + n/500 {
				if v, ok := tr.GetAt(i); !ok || v != 2*i {
					t.Fatalf("degree %d, n=%d: GetAt(%d) = %d, %v", degree, n, i, v, ok)
				}
				if _, ok := tr.Get(2*i + 1); ok {
					t.Fatalf("degree %d, n=%d: found %d", degree, n, 2*i+1)
				}
			}
			if degree == 16 && n >= 1000 {
				if f := leafFill(tr); f < 0.9 {
					t.Fatalf("n=%d: leaves %.0f%% full, want at least 90%%", n, 100*f)
				}
			}
		}
	}
	tr := NewBTreeGOptions(less, Options{Degree: 16, NoLocks: true})
	tr.Set(1)
	if tr.Build([]int{2, 3}) || tr.Len() != 1 {
		t.Fatalf("Build filled a tree that held an item")
	}
}

// The fill Build gives, against Load fed the same sorted items.
func TestBuildFillsWhatLoadLeavesHalfEmpty(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	items := make([]int, 100000)
	for i := range items {
		items[i] = i
	}
	built := NewBTreeGOptions(less, Options{Degree: 16, NoLocks: true})
	built.Build(items)
	loaded := NewBTreeGOptions(less, Options{Degree: 16, NoLocks: true})
	for _, it := range items {
		loaded.Load(it)
	}
	if b, l := leafFill(built), leafFill(loaded); b < 0.9 || b < 1.5*l {
		t.Fatalf("leaves %.0f%% full built, %.0f%% loaded", 100*b, 100*l)
	}
}

// A built tree takes inserts, deletes and copies as any other.
func TestBuiltTreeTakesChanges(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	rng := rand.New(rand.NewSource(1))
	items := make([]int, 0, 10000)
	ref := map[int]bool{}
	for i := 0; i < 20000; i += 2 {
		items = append(items, i)
		ref[i] = true
	}
	tr := NewBTreeGOptions(less, Options{Degree: 16, NoLocks: true})
	tr.Build(items)
	frozen := tr.Copy()
	for op := 0; op < 40000; op++ {
		k := rng.Intn(24000)
		if rng.Intn(3) == 0 {
			tr.Delete(k)
			delete(ref, k)
		} else {
			tr.Set(k)
			ref[k] = true
		}
		if op%2000 == 0 {
			if err := tr.Sane(); err != nil {
				t.Fatalf("after %d changes: %v", op, err)
			}
		}
	}
	if err := tr.Sane(); err != nil {
		t.Fatal(err)
	}
	if tr.Len() != len(ref) {
		t.Fatalf("Len %d, want %d", tr.Len(), len(ref))
	}
	prev := -1
	tr.Scan(func(k int) bool {
		if !ref[k] || k <= prev {
			t.Fatalf("scan gave %d after %d", k, prev)
		}
		prev = k
		return true
	})
	if err := frozen.Sane(); err != nil {
		t.Fatal(err)
	}
	if frozen.Len() != len(items) {
		t.Fatalf("the copy holds %d, want %d", frozen.Len(), len(items))
	}
	for _, k := range items {
		if _, ok := frozen.Get(k); !ok {
			t.Fatalf("the copy lost %d", k)
		}
	}
}
