package store

import (
	"cmp"
	"hash/maphash"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/tidwall/btree"
)

// Entity is what every stored object offers the tables (protobuf getters).
type Entity interface {
	comparable
	GetId() string
	GetProjectId() string
	GetCreatedAt() int64
}

// row is an entity as the index entries hold it: its pointer, untyped. The
// entries (idItem, exactItem, keyed) are then one type each for every table,
// so the B-tree's methods are compiled once per entry type rather than once
// per table: an entry generic in its entity (struct{...; v T}) is a distinct
// GC shape for each T, and each package that touched a table compiled ~100
// B-tree methods for each of ~60 shapes (30-50 s per package on a 2-core
// machine, a 99 MB archive for keel/cluster). Tables convert with rowOf and
// entity; every Entity is a pointer to a stored message (mustBeRow checks).
type row = unsafe.Pointer

// rowOf is v's pointer.
func rowOf[T Entity](v T) row { return *(*row)(unsafe.Pointer(&v)) }

// entity is the T whose pointer r is (a nil r gives a nil T, whose getters
// return zero values: lookups' pivots carry none).
func entity[T Entity](r row) T { return *(*T)(unsafe.Pointer(&r)) }

// mustBeRow panics unless T is a pointer type, which rowOf and entity need.
func mustBeRow[T Entity]() {
	if reflect.TypeFor[T]().Kind() != reflect.Pointer {
		panic("store: table entities must be pointers, not " + reflect.TypeFor[T]().String())
	}
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

// keyed is one entry of a MultiIndex: a key and an entity (a row) that has it.
type keyed struct {
	key string
	v   row
}

func lessKeyed[T Entity](a, b keyed) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return entity[T](a.v).GetId() < entity[T](b.v).GetId() // a lookup's pivot has a nil v: its id is ""
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
type exactItem struct {
	h uint64 // valueHash of the indexed value
	v row
}

// valueSeed seeds valueHash: an exact index's order lives in this process only
// (restores rebuild it), so any seed does.
var valueSeed = maphash.MakeSeed()

// valueHash is a var so a test can make every value collide.
var valueHash = func(v string) uint64 { return maphash.String(valueSeed, v) }

func makeExactItem[T Entity](value string, v T) exactItem {
	return exactItem{h: valueHash(value), v: rowOf(v)}
}

func cmpExactItem[T Entity](a, b exactItem) int {
	if a.h != b.h {
		return cmp.Compare(a.h, b.h)
	}
	return strings.Compare(entity[T](a.v).GetId(), entity[T](b.v).GetId()) // a lookup's start has a nil v: its id is ""
}

func lessExactItem[T Entity](a, b exactItem) bool { return cmpExactItem[T](a, b) < 0 }

const btreeDegree = 16

// newTree returns an empty B-tree ordered by less. Trees take no locks of their
// own: a table's owner (the FSM, under its lock) is its only writer, and
// readers get published copies.
func newTree[T any](less func(a, b T) bool) *btree.BTreeG[T] {
	return btree.NewBTreeGOptions(less, btree.Options{Degree: btreeDegree, NoLocks: true})
}

// byOrder is one of a table's ordered indexes (created, project_created): a
// B-tree of rows (one tree type for every table, see row) seen as Ts.
type byOrder[T Entity] struct{ tree *btree.BTreeG[row] }

func newByOrder[T Entity](less func(a, b row) bool) byOrder[T] { return byOrder[T]{newTree(less)} }

func (o byOrder[T]) Set(v T)    { o.tree.Set(rowOf(v)) }
func (o byOrder[T]) Delete(v T) { o.tree.Delete(rowOf(v)) }
func (o byOrder[T]) Load(v T)   { o.tree.Load(rowOf(v)) }

// Build fills the empty index with vs, in its order with no repeats
// (BTreeG.Build: full nodes, where Load leaves each half empty).
func (o byOrder[T]) Build(vs []T) {
	o.tree.Build(unsafe.Slice((*row)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs)))
}
func (o byOrder[T]) Len() int                { return o.tree.Len() }
func (o byOrder[T]) Copy() byOrder[T]        { return byOrder[T]{o.tree.Copy()} }
func (o byOrder[T]) Scan(fn func(T) bool)    { o.tree.Scan(asRows(fn)) }
func (o byOrder[T]) Reverse(fn func(T) bool) { o.tree.Reverse(asRows(fn)) }

// Ascend calls fn from pivot upwards; Descend from pivot downwards.
func (o byOrder[T]) Ascend(pivot T, fn func(T) bool)  { o.tree.Ascend(rowOf(pivot), asRows(fn)) }
func (o byOrder[T]) Descend(pivot T, fn func(T) bool) { o.tree.Descend(rowOf(pivot), asRows(fn)) }

func asRows[T Entity](fn func(T) bool) func(row) bool {
	return func(r row) bool { return fn(entity[T](r)) }
}

// Table is one table at one version. Only its owner (the FSM's working copy)
// writes; published clones are read-only.
type Table[T Entity] struct {
	schema         *Schema[T]
	byID           *btree.BTreeG[idItem]
	created        byOrder[T]
	projectCreated byOrder[T]
	exact          map[string]*btree.BTreeG[exactItem]
	multi          map[string]*btree.BTreeG[keyed] // nil when the schema has none
}

// idItem carries the first 16 bytes of the id inline, so a lookup compares keys
// inside the B-tree's nodes instead of chasing a pointer per comparison (ids are
// UUIDs: their first 16 characters nearly always decide).
type idItem struct {
	hi, lo uint64
	id     string // the entity's id (shares its bytes); set without v in lookups
	v      row
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

func makeIDItem[T Entity](v T) idItem {
	id := v.GetId()
	hi, lo := idPrefix(id)
	return idItem{hi: hi, lo: lo, id: id, v: rowOf(v)}
}

func idKey(id string) idItem {
	hi, lo := idPrefix(id)
	return idItem{hi: hi, lo: lo, id: id}
}

func lessIDItem(a, b idItem) bool {
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
	mustBeRow[T]()
	t := &Table[T]{
		schema:         s,
		byID:           newTree(lessIDItem),
		created:        newByOrder[T](func(a, b row) bool { return lessCreated(entity[T](a), entity[T](b)) }),
		projectCreated: newByOrder[T](func(a, b row) bool { return lessProjectCreated(entity[T](a), entity[T](b)) }),
		exact:          make(map[string]*btree.BTreeG[exactItem], len(s.Exact)),
	}
	for name := range s.Exact {
		t.exact[name] = newTree(lessExactItem[T])
	}
	for name := range s.Multi {
		if t.multi == nil {
			t.multi = make(map[string]*btree.BTreeG[keyed], len(s.Multi))
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
		projectCreated: t.projectCreated.Copy(), exact: make(map[string]*btree.BTreeG[exactItem], len(t.exact))}
	for name, tree := range t.exact {
		c.exact[name] = tree.Copy()
	}
	if t.multi != nil {
		c.multi = make(map[string]*btree.BTreeG[keyed], len(t.multi))
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
	it, ok := t.byID.Get(idKey(id))
	return entity[T](it.v), ok
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
				t.multi[name].Set(keyed{key: k, v: rowOf(v)})
			}
		}
		return
	}
	old := entity[T](prev.v)
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
				t.multi[name].Delete(keyed{key: k, v: rowOf(old)})
			}
		}
		for _, k := range newKeys {
			t.multi[name].Set(keyed{key: k, v: rowOf(v)})
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
// The table must not be read until wg is done. Every tree is built from its
// items in its own order (BTreeG.Build: nodes filled bottom-up, no comparison).
func (t *Table[T]) load(rows []T, wg *sync.WaitGroup) {
	build := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	build(func() {
		items := make([]idItem, len(rows))
		for i, v := range rows {
			items[i] = makeIDItem(v)
		}
		if !slices.IsSortedFunc(items, cmpIDItem) { // a snapshot writes rows in id order
			slices.SortFunc(items, cmpIDItem)
		}
		buildDistinct(t.byID, items, cmpIDItem)
	})
	build(func() {
		// The orders below are total over distinct ids (a repeated id is
		// reported once byID is built: Table.Len), so their items are distinct.
		byCreated := sortedBy(rows, T.GetCreatedAt, cmp.Compare[int64])
		build(func() { loadByProject(t.projectCreated, byCreated) })
		t.created.Build(byCreated)
	})
	for name, ix := range t.schema.Exact {
		tree := t.exact[name]
		build(func() {
			items := make([]exactItem, 0, len(rows))
			for _, v := range rows {
				if ix.indexes(v) {
					items = append(items, makeExactItem(ix.Field(v), v))
				}
			}
			slices.SortFunc(items, cmpExactItem[T])
			tree.Build(items)
		})
	}
	for name, ix := range t.schema.Multi {
		tree := t.multi[name]
		build(func() {
			var entries []keyed
			for _, v := range rows {
				for _, k := range ix.Keys(v) {
					entries = append(entries, keyed{key: k, v: rowOf(v)})
				}
			}
			cmpEntries := func(a, b keyed) int {
				if c := strings.Compare(a.key, b.key); c != 0 {
					return c
				}
				return strings.Compare(entity[T](a.v).GetId(), entity[T](b.v).GetId())
			}
			slices.SortFunc(entries, cmpEntries)
			// a row that repeats a key holds it once, as Set would
			tree.Build(slices.CompactFunc(entries, func(a, b keyed) bool { return cmpEntries(a, b) == 0 }))
		})
	}
}

// loadByProject loads rows, sorted by (created_at, id), into an empty tree
// ordered by (project, created_at, id). With few projects (the usual case: a
// cloud has far fewer projects than load balancers) it places each row by its
// project's offset, keeping the created order within a project, with no
// comparison sort; with many it sorts.
func loadByProject[T Entity](tree byOrder[T], byCreated []T) {
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
			tree.Build(sorted)
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
	tree.Build(placed)
}

// buildDistinct fills the empty tree with items, sorted by cmp: with
// BTreeG.Build when no two are equal, else with Load, which keeps one of each
// (a corrupt snapshot's repeated id, which the caller's count then reports).
func buildDistinct[I any](tree *btree.BTreeG[I], items []I, cmp func(a, b I) int) {
	for i := 1; i < len(items); i++ {
		if cmp(items[i-1], items[i]) == 0 {
			for _, it := range items {
				tree.Load(it)
			}
			return
		}
	}
	tree.Build(items)
}

type projectCreatedKey struct {
	project string
	created int64
}

func cmpIDItem(a, b idItem) int {
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
	old, ok := t.byID.Delete(idKey(id))
	if ok {
		t.unindex(entity[T](old.v))
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
			t.multi[name].Delete(keyed{key: k, v: rowOf(old)})
		}
	}
}

// All calls fn for every entity in id order until fn returns false.
func (t *Table[T]) All(fn func(T) bool) {
	t.byID.Scan(func(it idItem) bool { return fn(entity[T](it.v)) })
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
	tree.Ascend(exactItem{h: h}, func(e exactItem) bool {
		v := entity[T](e.v)
		return e.h == h && (ix.Field(v) != value || fn(v))
	})
}

// Keyed calls fn, in id order, for every entity that has key in the multi-valued
// index (each entity once per key it has, however often its Keys repeat it).
func (t *Table[T]) Keyed(index, key string, fn func(T) bool) {
	tree, ok := t.multi[index]
	if !ok {
		panic("store: no multi-valued index " + index + " on " + t.schema.Name)
	}
	tree.Ascend(keyed{key: key}, func(e keyed) bool {
		return e.key == key && fn(entity[T](e.v))
	})
}

// CanAnswer reports whether an exact-match index holds every entity whose field
// equals value (a partial index only answers the values it covers).
func (t *Table[T]) CanAnswer(index, value string) bool {
	ix, ok := t.schema.Exact[index]
	return ok && value != "" && (ix.Covers == nil || ix.Covers(value))
}
