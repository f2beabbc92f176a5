package store

import (
	"errors"
	"slices"

	"github.com/hashicorp/go-memdb"
)

// ErrInvalidMarker is returned when a pagination marker names no visible object.
var ErrInvalidMarker = errors.New("store: invalid marker")

// Listable is what every stored entity offers the list engine (protobuf getters).
type Listable interface {
	GetId() string
	GetProjectId() string
	GetCreatedAt() int64
}

// IndexFilter is an exact-match filter that an index of the table can answer.
type IndexFilter struct {
	Index string
	Value string
}

// SortKey is one user sort key; created_at and id are always appended as
// tie-breakers, as Octavia does.
type SortKey struct {
	Compare func(a, b Listable) int
	Desc    bool
}

// Query selects, orders and pages the objects of one table.
type Query struct {
	Table string
	// Project scopes the list to one project ("" = every project).
	Project string
	// IndexFilter, when set, is answered by its index; Match applies the rest.
	IndexFilter *IndexFilter
	// Match applies every filter (including IndexFilter's, to be exact); nil = all.
	Match func(Listable) bool
	// Order is the user's sort; empty = created_at asc, id asc (served by an index).
	Order []SortKey
	// Marker is the id of the last object of the previous page.
	Marker string
	// Limit is the page size; <= 0 means no limit.
	Limit int
	// Reverse asks for the page before the marker (page_reverse), in Order.
	Reverse bool
}

// Page is one page of a list. More says whether objects exist beyond the page in the
// direction of paging (after it, or before it when Reverse).
type Page struct {
	Items []Listable
	More  bool
}

// List runs q against a consistent snapshot of the tables.
func (s *StateStore) List(q Query) (Page, error) {
	txn := s.ReadTxn()
	var marker Listable
	if q.Marker != "" {
		raw, err := txn.First(q.Table, IndexID, q.Marker)
		if err != nil || raw == nil {
			return Page{}, ErrInvalidMarker
		}
		marker = raw.(Listable)
		if q.Project != "" && marker.GetProjectId() != q.Project {
			return Page{}, ErrInvalidMarker
		}
	}
	if len(q.Order) == 0 && q.IndexFilter == nil {
		return listByCreated(txn, q, marker)
	}
	return listSorted(txn, q, marker)
}

// listByCreated streams the (project_)created index from the marker: the hot path
// (default order), which touches only the objects on the page plus filtered ones.
func listByCreated(txn *memdb.Txn, q Query, marker Listable) (Page, error) {
	index, prefix := IndexCreated, []interface{}{}
	if q.Project != "" {
		index, prefix = IndexProjectCreated, []interface{}{q.Project}
	}
	var it memdb.ResultIterator
	var err error
	switch {
	case marker != nil && !q.Reverse:
		it, err = txn.LowerBound(q.Table, index, append(prefix, marker.GetCreatedAt(), marker.GetId())...)
	case marker != nil && q.Reverse:
		it, err = txn.ReverseLowerBound(q.Table, index, append(prefix, marker.GetCreatedAt(), marker.GetId())...)
	case !q.Reverse:
		if q.Project != "" {
			it, err = txn.LowerBound(q.Table, index, q.Project)
		} else {
			it, err = txn.LowerBound(q.Table, index, int64(-1<<63), "")
		}
	default:
		if q.Project != "" {
			// The last key of the project: its prefix with the separator raised by one.
			it, err = txn.ReverseLowerBound(q.Table, index, q.Project+"\x01")
		} else {
			it, err = txn.ReverseLowerBound(q.Table, index, int64(1<<63-1), "\xff")
		}
	}
	if err != nil {
		return Page{}, err
	}
	var items []Listable
	more := false
	for raw := it.Next(); raw != nil; raw = it.Next() {
		obj := raw.(Listable)
		if q.Project != "" && obj.GetProjectId() != q.Project {
			break // left the project's key range
		}
		if marker != nil && obj.GetId() == marker.GetId() {
			continue
		}
		if q.Match != nil && !q.Match(obj) {
			continue
		}
		if q.Limit > 0 && len(items) == q.Limit {
			more = true
			break
		}
		items = append(items, obj)
	}
	if q.Reverse {
		slices.Reverse(items)
	}
	return Page{Items: items, More: more}, nil
}

// listSorted collects the candidates (from an exact-match index when one applies,
// else the whole table), filters and sorts them, then cuts the page at the marker.
func listSorted(txn *memdb.Txn, q Query, marker Listable) (Page, error) {
	var it memdb.ResultIterator
	var err error
	switch {
	case q.IndexFilter != nil:
		it, err = txn.Get(q.Table, q.IndexFilter.Index, q.IndexFilter.Value)
	case q.Project != "":
		it, err = txn.LowerBound(q.Table, IndexProjectCreated, q.Project)
	default:
		it, err = txn.Get(q.Table, IndexID)
	}
	if err != nil {
		return Page{}, err
	}
	var all []Listable
	for raw := it.Next(); raw != nil; raw = it.Next() {
		obj := raw.(Listable)
		if q.Project != "" && obj.GetProjectId() != q.Project {
			if q.IndexFilter == nil {
				break
			}
			continue
		}
		if q.Match != nil && !q.Match(obj) {
			continue
		}
		all = append(all, obj)
	}
	cmp := q.compare
	slices.SortFunc(all, cmp)

	// Positions are found by comparison, so a marker that does not itself match the
	// filters still pages correctly.
	var items []Listable
	more := false
	if !q.Reverse {
		start := 0
		if marker != nil {
			start, _ = slices.BinarySearchFunc(all, marker, cmp)
			if start < len(all) && all[start].GetId() == marker.GetId() {
				start++
			}
		}
		end := len(all)
		if q.Limit > 0 && start+q.Limit < end {
			end, more = start+q.Limit, true
		}
		items = all[start:end]
	} else {
		end := len(all)
		if marker != nil {
			end, _ = slices.BinarySearchFunc(all, marker, cmp)
		}
		start := 0
		if q.Limit > 0 && end-q.Limit > 0 {
			start, more = end-q.Limit, true
		}
		items = all[start:end]
	}
	return Page{Items: items, More: more}, nil
}

func (q Query) compare(a, b Listable) int {
	for _, k := range q.Order {
		c := k.Compare(a, b)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	if a.GetCreatedAt() != b.GetCreatedAt() {
		if a.GetCreatedAt() < b.GetCreatedAt() {
			return -1
		}
		return 1
	}
	switch {
	case a.GetId() < b.GetId():
		return -1
	case a.GetId() > b.GetId():
		return 1
	}
	return 0
}
