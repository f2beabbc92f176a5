package btree

// Build fills an empty tree with items, which must be in ascending order with
// no two equal (keel). It builds the nodes bottom-up, each level spread evenly
// over as few nodes as hold it, so every node is nearly full and none holds
// fewer items than a node may. Load, fed the same items one by one, splits
// each full node in the middle and leaves it half empty for good: a tree
// loaded in order took twice the memory of one built here.
//
// Build returns false, and leaves the tree as it was, if the tree is not empty.
func (tr *BTreeG[T]) Build(items []T) bool {
	if tr.lock(true) {
		defer tr.unlock(true)
	}
	if tr.root != nil && tr.count > 0 {
		return false
	}
	tr.init(0)
	tr.root = nil
	tr.count = 0
	if len(items) == 0 {
		return true
	}
	// Leaves: L leaves take all items but the L-1 separators between them.
	leaves := (len(items) + tr.max + 1) / (tr.max + 1) // ceil((n+1)/(max+1))
	level := make([]*node[T], 0, leaves)
	seps := make([]T, 0, leaves-1)
	in := len(items) - (leaves - 1) // items held by the leaves
	at := 0
	for i := 0; i < leaves; i++ {
		size := in / leaves
		if i < in%leaves {
			size++
		}
		n := tr.newNode(true)
		n.items = append(make([]T, 0, size), items[at:at+size]...)
		n.count = size
		level = append(level, n)
		at += size
		if i < leaves-1 {
			seps = append(seps, items[at])
			at++
		}
	}
	// Internal levels: P parents take the level's nodes as children and all
	// but the P-1 separators promoted between them.
	for len(level) > 1 {
		parents := (len(level) + tr.max) / (tr.max + 1) // ceil(children/(max+1))
		up := make([]*node[T], 0, parents)
		upSeps := make([]T, 0, parents-1)
		child, sep := 0, 0
		for i := 0; i < parents; i++ {
			size := len(level) / parents // children of this parent
			if i < len(level)%parents {
				size++
			}
			n := tr.newNode(false)
			*n.children = append(make([]*node[T], 0, size), level[child:child+size]...)
			n.items = append(make([]T, 0, size-1), seps[sep:sep+size-1]...)
			child += size
			sep += size - 1
			n.updateCount()
			up = append(up, n)
			if i < parents-1 {
				upSeps = append(upSeps, seps[sep])
				sep++
			}
		}
		level, seps = up, upSeps
	}
	tr.root = level[0]
	tr.count = len(items)
	return true
}
