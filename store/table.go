package store

import (
	"cmp"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/btree"
)

// Entity is what every stored object offers the tables (protobuf getters).
type Entity interface {
	comparable
	GetId() string
	GetProjectId() string
	GetCreatedAt() int64
}

// Tables are ordered indexes over immutable entities, built on copy-on-write
// B-trees (tidwall/btree, whose Load appends presorted items at the right edge,
// so a restore builds each index with one comparison per row). Every table keeps its entities by id, by (created_at, id)
// — the API's default order — and by (project_id, created_at, id) for project-
// scoped lists, plus the exact-match indexes its schema names. A Clone is O(1); the
// FSM writes to its own copy and publishes a clone after each batch, so readers get
// consistent snapshots without locks (MVCC), as with go-memdb — at about 20 bytes
// per index entry (twice that for an exact-match index's, which carries its value's hash)
// instead of go-memdb's ~470 (radix nodes with a channel each),
// which is what keeps a stored load balancer under 2 KiB.

// ExactIndex answers equality filters on Field: its entries (exactItem) are
// ordered by Field's hash and value, then by id.
type ExactIndex[T Entity] struct {
	Field func(T) string
	// Include, when set, makes the index partial (e.g. only PENDING_* entities);
	// Covers then says which values the index can answer. Entities with an empty
	// Field are never indexed.
	Include func(T) bool
	Covers  func(value string) bool
}

// MultiIndex orders a table by keys of which an entity has any number (none,
// one or several: a load balancer's VIP address claims), to answer equality
// lookups on one key where an ExactIndex, one value per entity, cannot. Keys must
// depend on the entity alone: unindexing computes them again from the old row.
type MultiIndex[T Entity] struct {
	Keys func(T) []string
}

// keyed is one entry of a MultiIndex: a key and an entity that has it.
type keyed[T Entity] struct {
	key string
	v   T
}

func lessKeyed[T Entity](a, b keyed[T]) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.v.GetId() < b.v.GetId() // a lookup's pivot has a nil v: its id is ""
}

// Schema describes one table.
type Schema[T Entity] struct {
	Name string
	// Pivot returns a T with only these three fields set (for ordered seeks).
	Pivot func(project string, created int64, id string) T
	Exact map[string]ExactIndex[T]
	// Multi are the table's multi-valued indexes, kept, cloned and rebuilt (on
	// restore, by Put) with its other indexes.
	Multi map[string]MultiIndex[T]
	// ByID: Octavia's model of the table has no created_at (flavors, flavor
	// profiles, availability zones and their profiles, quotas), so its pagination
	// appends only id to the sort keys: lists default to id order (an
	// availability zone's id is its name, a quota's its project), and ties break
	// on id alone.
	ByID bool
}

// exactItem is one entry of an exact-match index. The index answers equality
// only, so it is ordered by the hash of the indexed value, then by the row's
// id, and the hash sits in the entry: an insert or a delete compares hashes
// inside the B-tree's nodes and reads rows only where values tie (rows are
// scattered over the heap: each read was a cache miss, two with the value's
// bytes, and under a create load those misses were most of the FSM's index
// upkeep). Values whose hashes collide share a run of entries, which a lookup
// filters (Equal).
type exactItem[T Entity] struct {
	h uint64 // valueHash of the indexed value
	v T
}

// valueSeed seeds valueHash: an exact index's order lives in this process only
// (restores rebuild it), so any seed does.
var valueSeed = maphash.MakeSeed()

// valueHash is a var so a test can make every value collide.
var valueHash = func(v string) uint64 { return maphash.String(valueSeed, v) }

func makeExactItem[T Entity](value string, v T) exactItem[T] {
	return exactItem[T]{h: valueHash(value), v: v}
}

func cmpExactItem[T Entity](a, b exactItem[T]) int {
	if a.h != b.h {
		return cmp.Compare(a.h, b.h)
	}
	return strings.Compare(a.v.GetId(), b.v.GetId()) // a lookup's start has a nil v: its id is ""
}

func lessExactItem[T Entity](a, b exactItem[T]) bool { return cmpExactItem(a, b) < 0 }

const btreeDegree = 16

// newTree returns an empty B-tree ordered by less. Trees take no locks of their
// own: a table's owner (the FSM, under its lock) is its only writer, and
// readers get published copies.
func newTree[T any](less func(a, b T) bool) *btree.BTreeG[T] {
	return btree.NewBTreeGOptions(less, btree.Options{Degree: btreeDegree, NoLocks: true})
}

// Table is one table at one version. Only its owner (the FSM's working copy)
// writes; published clones are read-only.
type Table[T Entity] struct {
	schema         *Schema[T]
	byID           *btree.BTreeG[idItem[T]]
	created        *btree.BTreeG[T]
	projectCreated *btree.BTreeG[T]
	exact          map[string]*btree.BTreeG[exactItem[T]]
	multi          map[string]*btree.BTreeG[keyed[T]] // nil when the schema has none
}

// idItem carries the first 16 bytes of the id inline, so a lookup compares keys
// inside the B-tree's nodes instead of chasing a pointer per comparison (ids are
// UUIDs: their first 16 characters nearly always decide).
type idItem[T Entity] struct {
	hi, lo uint64
	id     string // the entity's id (shares its bytes); set without v in lookups
	v      T
}

func idPrefix(id string) (hi, lo uint64) {
	var b [16]byte
	copy(b[:], id)
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

func makeIDItem[T Entity](v T) idItem[T] {
	id := v.GetId()
	hi, lo := idPrefix(id)
	return idItem[T]{hi: hi, lo: lo, id: id, v: v}
}

func idKey[T Entity](id string) idItem[T] {
	hi, lo := idPrefix(id)
	return idItem[T]{hi: hi, lo: lo, id: id}
}

func lessIDItem[T Entity](a, b idItem[T]) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return a.id < b.id
}

func lessCreated[T Entity](a, b T) bool {
	if a.GetCreatedAt() != b.GetCreatedAt() {
		return a.GetCreatedAt() < b.GetCreatedAt()
	}
	return a.GetId() < b.GetId()
}

func lessProjectCreated[T Entity](a, b T) bool {
	if a.GetProjectId() != b.GetProjectId() {
		return a.GetProjectId() < b.GetProjectId()
	}
	return lessCreated(a, b)
}

// NewTable returns an empty table.
func NewTable[T Entity](s *Schema[T]) *Table[T] {
	t := &Table[T]{
		schema:         s,
		byID:           newTree(lessIDItem[T]),
		created:        newTree(lessCreated[T]),
		projectCreated: newTree(lessProjectCreated[T]),
		exact:          make(map[string]*btree.BTreeG[exactItem[T]], len(s.Exact)),
	}
	for name := range s.Exact {
		t.exact[name] = newTree(lessExactItem[T])
	}
	for name := range s.Multi {
		if t.multi == nil {
			t.multi = make(map[string]*btree.BTreeG[keyed[T]], len(s.Multi))
		}
		t.multi[name] = newTree(lessKeyed[T])
	}
	return t
}

// Name is the table's name.
func (t *Table[T]) Name() string { return t.schema.Name }

// Clone returns an independent copy in O(1).
func (t *Table[T]) Clone() *Table[T] {
	c := &Table[T]{schema: t.schema, byID: t.byID.Copy(), created: t.created.Copy(),
		projectCreated: t.projectCreated.Copy(), exact: make(map[string]*btree.BTreeG[exactItem[T]], len(t.exact))}
	for name, tree := range t.exact {
		c.exact[name] = tree.Copy()
	}
	if t.multi != nil {
		c.multi = make(map[string]*btree.BTreeG[keyed[T]], len(t.multi))
		for name, tree := range t.multi {
			c.multi[name] = tree.Copy()
		}
	}
	return c
}

// Len is the number of entities.
func (t *Table[T]) Len() int { return t.byID.Len() }

// Get returns the entity with id.
func (t *Table[T]) Get(id string) (T, bool) {
	it, ok := t.byID.Get(idKey[T](id))
	return it.v, ok
}

// Put inserts v, replacing (and unindexing) the entity with the same id. An
// index whose key the replacement leaves unchanged (created_at, project, most
// exact fields: an update rarely renames) gets the new entity in place: one
// Set where a delete and an insert would each walk and copy the path.
func (t *Table[T]) Put(v T) {
	prev, replaced := t.byID.Set(makeIDItem(v))
	if !replaced {
		t.created.Set(v)
		t.projectCreated.Set(v)
		for name, ix := range t.schema.Exact {
			if ix.indexes(v) {
				t.exact[name].Set(makeExactItem(ix.Field(v), v))
			}
		}
		for name, ix := range t.schema.Multi {
			for _, k := range ix.Keys(v) {
				t.multi[name].Set(keyed[T]{key: k, v: v})
			}
		}
		return
	}
	old := prev.v
	if old.GetCreatedAt() != v.GetCreatedAt() {
		t.created.Delete(old)
		t.projectCreated.Delete(old)
	} else if old.GetProjectId() != v.GetProjectId() {
		t.projectCreated.Delete(old)
	}
	t.created.Set(v)
	t.projectCreated.Set(v)
	for name, ix := range t.schema.Exact {
		was, is := ix.indexes(old), ix.indexes(v)
		if was && (!is || ix.Field(old) != ix.Field(v)) {
			t.exact[name].Delete(makeExactItem(ix.Field(old), old))
		}
		if is {
			t.exact[name].Set(makeExactItem(ix.Field(v), v))
		}
	}
	for name, ix := range t.schema.Multi {
		oldKeys, newKeys := ix.Keys(old), ix.Keys(v)
		if !slices.Equal(oldKeys, newKeys) {
			for _, k := range oldKeys {
				t.multi[name].Delete(keyed[T]{key: k, v: old})
			}
		}
		for _, k := range newKeys {
			t.multi[name].Set(keyed[T]{key: k, v: v})
		}
	}
}

// indexes reports whether the index holds v.
func (ix ExactIndex[T]) indexes(v T) bool {
	return ix.Field(v) != "" && (ix.Include == nil || ix.Include(v))
}

// load puts rows, whose ids are distinct, into an empty table, building each
// index in its own goroutine of wg (a restore's bulk load: the indexes are
// independent trees). Each index is filled in its own order (insertSorted).
// The table must not be read until wg is done. Every tree is filled with Load
// in its own order, so the build compares each row once, with the row before.
func (t *Table[T]) load(rows []T, wg *sync.WaitGroup) {
	build := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	build(func() {
		items := make([]idItem[T], len(rows))
		for i, v := range rows {
			items[i] = makeIDItem(v)
		}
		if !slices.IsSortedFunc(items, cmpIDItem[T]) { // a snapshot writes rows in id order
			slices.SortFunc(items, cmpIDItem[T])
		}
		for _, it := range items {
			t.byID.Load(it)
		}
	})
	build(func() {
		byCreated := sortedBy(rows, T.GetCreatedAt, cmp.Compare[int64])
		build(func() { loadByProject(t.projectCreated, byCreated) })
		for _, v := range byCreated {
			t.created.Load(v)
		}
	})
	for name, ix := range t.schema.Exact {
		tree := t.exact[name]
		build(func() {
			items := make([]exactItem[T], 0, len(rows))
			for _, v := range rows {
				if ix.indexes(v) {
					items = append(items, makeExactItem(ix.Field(v), v))
				}
			}
			slices.SortFunc(items, cmpExactItem[T])
			for _, it := range items {
				tree.Load(it)
			}
		})
	}
	for name, ix := range t.schema.Multi {
		tree := t.multi[name]
		build(func() {
			var entries []keyed[T]
			for _, v := range rows {
				for _, k := range ix.Keys(v) {
					entries = append(entries, keyed[T]{key: k, v: v})
				}
			}
			slices.SortFunc(entries, func(a, b keyed[T]) int {
				if c := strings.Compare(a.key, b.key); c != 0 {
					return c
				}
				return strings.Compare(a.v.GetId(), b.v.GetId())
			})
			for _, e := range entries {
				tree.Load(e) // a repeated (key, id) replaces itself, as Set would
			}
		})
	}
}

// loadByProject loads rows, sorted by (created_at, id), into an empty tree
// ordered by (project, created_at, id). With few projects (the usual case: a
// cloud has far fewer projects than load balancers) it places each row by its
// project's offset, keeping the created order within a project, with no
// comparison sort; with many it sorts.
func loadByProject[T Entity](tree *btree.BTreeG[T], byCreated []T) {
	const maxBuckets = 4096
	counts := map[string]int{}
	for _, v := range byCreated {
		counts[v.GetProjectId()]++
		if len(counts) > maxBuckets {
			sorted := sortedBy(byCreated, func(v T) projectCreatedKey {
				return projectCreatedKey{v.GetProjectId(), v.GetCreatedAt()}
			}, func(a, b projectCreatedKey) int {
				if c := strings.Compare(a.project, b.project); c != 0 {
					return c
				}
				return cmp.Compare(a.created, b.created)
			})
			for _, v := range sorted {
				tree.Load(v)
			}
			return
		}
	}
	projects := slices.Sorted(maps.Keys(counts))
	next := make(map[string]int, len(counts))
	at := 0
	for _, p := range projects {
		next[p] = at
		at += counts[p]
	}
	placed := make([]T, len(byCreated))
	for _, v := range byCreated {
		p := v.GetProjectId()
		placed[next[p]] = v
		next[p]++
	}
	for _, v := range placed {
		tree.Load(v)
	}
}

type projectCreatedKey struct {
	project string
	created int64
}

func cmpIDItem[T Entity](a, b idItem[T]) int {
	if lessIDItem(a, b) {
		return -1
	}
	if lessIDItem(b, a) {
		return 1
	}
	return 0
}

// sortedBy returns rows sorted by (key, id), each row's key taken once. A
// restore fills each index from such a slice with Load: appended at the tree's
// right edge, with no search from the root per row (at 1M rows, most of a
// restore's time went to those searches and their cache misses). The id's
// first 16 bytes sit beside the key, so a tie on the key is mostly decided
// without reading the row (rows are scattered in memory: a cache miss each).
func sortedBy[T Entity, K any](rows []T, key func(T) K, compare func(a, b K) int) []T {
	type keyedRow struct {
		k      K
		hi, lo uint64 // idPrefix of the row's id
		v      T
	}
	sorted := make([]keyedRow, len(rows))
	for i, v := range rows {
		hi, lo := idPrefix(v.GetId())
		sorted[i] = keyedRow{key(v), hi, lo, v}
	}
	slices.SortFunc(sorted, func(a, b keyedRow) int {
		if c := compare(a.k, b.k); c != 0 {
			return c
		}
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		if c := cmp.Compare(a.lo, b.lo); c != 0 {
			return c
		}
		return strings.Compare(a.v.GetId(), b.v.GetId())
	})
	out := make([]T, len(sorted))
	for i, r := range sorted {
		out[i] = r.v
	}
	return out
}

// Delete removes the entity with id; it reports whether one existed.
func (t *Table[T]) Delete(id string) bool {
	old, ok := t.byID.Delete(idKey[T](id))
	if ok {
		t.unindex(old.v)
	}
	return ok
}

func (t *Table[T]) unindex(old T) {
	t.created.Delete(old)
	t.projectCreated.Delete(old)
	for name, ix := range t.schema.Exact {
		if ix.indexes(old) {
			t.exact[name].Delete(makeExactItem(ix.Field(old), old))
		}
	}
	for name, ix := range t.schema.Multi {
		for _, k := range ix.Keys(old) {
			t.multi[name].Delete(keyed[T]{key: k, v: old})
		}
	}
}

// All calls fn for every entity in id order until fn returns false.
func (t *Table[T]) All(fn func(T) bool) {
	t.byID.Scan(func(it idItem[T]) bool { return fn(it.v) })
}

// Equal calls fn, in id order, for every entity whose indexed field equals value.
func (t *Table[T]) Equal(index, value string, fn func(T) bool) {
	ix, ok := t.schema.Exact[index]
	if !ok {
		panic("store: no index " + index + " on " + t.schema.Name)
	}
	tree := t.exact[index]
	if tree.Len() == 0 {
		return
	}
	h := valueHash(value)
	tree.Ascend(exactItem[T]{h: h}, func(e exactItem[T]) bool {
		return e.h == h && (ix.Field(e.v) != value || fn(e.v))
	})
}

// Keyed calls fn, in id order, for every entity that has key in the multi-valued
// index (each entity once per key it has, however often its Keys repeat it).
func (t *Table[T]) Keyed(index, key string, fn func(T) bool) {
	tree, ok := t.multi[index]
	if !ok {
		panic("store: no multi-valued index " + index + " on " + t.schema.Name)
	}
	tree.Ascend(keyed[T]{key: key}, func(e keyed[T]) bool {
		return e.key == key && fn(e.v)
	})
}

// CanAnswer reports whether an exact-match index holds every entity whose field
// equals value (a partial index only answers the values it covers).
func (t *Table[T]) CanAnswer(index, value string) bool {
	ix, ok := t.schema.Exact[index]
	return ok && value != "" && (ix.Covers == nil || ix.Covers(value))
}
