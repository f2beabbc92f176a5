package store

import (
	"errors"
	"slices"
)

// ErrInvalidMarker is returned when a pagination marker names no visible object.
var ErrInvalidMarker = errors.New("store: invalid marker")

// SortKey is one user sort key; created_at and id are always appended as
// tie-breakers, as Octavia does (only id for a Schema.ByID table).
type SortKey[T Entity] struct {
	Compare func(a, b T) int
	Desc    bool
}

// IndexFilter is an exact-match filter that an index of the table can answer.
type IndexFilter struct {
	Index string
	Value string
}

// Query selects, orders and pages the entities of one table.
type Query[T Entity] struct {
	// Project scopes the list to one project ("" = every project).
	Project string
	// IndexFilter, when set, is answered by its index; Match applies the rest.
	IndexFilter *IndexFilter
	// Match applies every filter (IndexFilter's included); nil = all.
	Match func(T) bool
	// Order is the user's sort; empty = created_at asc, id asc (served by an
	// index), or id asc for a Schema.ByID table.
	Order []SortKey[T]
	// Marker is the id of the last entity of the previous page.
	Marker string
	// Limit is the page size; <= 0 means no limit.
	Limit int
	// Reverse asks for the page before the marker (page_reverse), in Order.
	Reverse bool
}

// Page is one page of a list. More says whether entities exist beyond the page in
// the direction of paging (after it, or before it when Reverse).
type Page[T Entity] struct {
	Items []T
	More  bool
}

// List runs q against table t (a published, immutable version).
func List[T Entity](t *Table[T], q Query[T]) (Page[T], error) {
	var marker T
	var zero T
	if q.Marker != "" {
		m, ok := t.Get(q.Marker)
		if !ok || (q.Project != "" && m.GetProjectId() != q.Project) {
			return Page[T]{}, ErrInvalidMarker
		}
		marker = m
	}
	if f := q.IndexFilter; f != nil && f.Index != IndexID && !t.CanAnswer(f.Index, f.Value) {
		q.IndexFilter = nil // Match still applies the filter
	}
	if len(q.Order) == 0 && q.IndexFilter == nil && !t.schema.ByID {
		return listByCreated(t, q, marker, marker != zero), nil
	}
	return listSorted(t, q, marker, marker != zero), nil
}

// listByCreated walks the (project_)created index from the marker: the hot path
// (default order), which touches only the page and the entities filtered out.
func listByCreated[T Entity](t *Table[T], q Query[T], marker T, hasMarker bool) Page[T] {
	tree := t.created
	if q.Project != "" {
		tree = t.projectCreated
	}
	var items []T
	if q.Limit > 0 {
		items = make([]T, 0, min(q.Limit, 1000))
	}
	more := false
	visit := func(v T) bool {
		if q.Project != "" && v.GetProjectId() != q.Project {
			return false // left the project's range
		}
		if hasMarker && v.GetId() == marker.GetId() {
			return true
		}
		if q.Match != nil && !q.Match(v) {
			return true
		}
		if q.Limit > 0 && len(items) == q.Limit {
			more = true
			return false
		}
		items = append(items, v)
		return true
	}
	switch {
	case hasMarker && !q.Reverse:
		tree.Ascend(marker, visit)
	case hasMarker:
		tree.Descend(marker, visit)
	case !q.Reverse && q.Project != "":
		tree.Ascend(t.schema.Pivot(q.Project, -1<<63, ""), visit)
	case !q.Reverse:
		tree.Scan(visit)
	case q.Project != "":
		// The project's last key lies below the first key of the next project name.
		tree.Descend(t.schema.Pivot(q.Project, 1<<63-1, "\xff\xff\xff\xff"), visit)
	default:
		tree.Reverse(visit)
	}
	if q.Reverse {
		slices.Reverse(items)
	}
	return Page[T]{Items: items, More: more}
}

// listSorted collects the candidates (from an exact-match index when one applies,
// else the project's or the whole table), filters and sorts them, then cuts the
// page at the marker's position in that order.
func listSorted[T Entity](t *Table[T], q Query[T], marker T, hasMarker bool) Page[T] {
	var all []T
	collect := func(v T) bool {
		if q.Project != "" && v.GetProjectId() != q.Project {
			return q.IndexFilter != nil // ordered by project: past it, stop
		}
		if q.Match == nil || q.Match(v) {
			all = append(all, v)
		}
		return true
	}
	switch {
	case q.IndexFilter != nil && q.IndexFilter.Index == IndexID:
		if v, ok := t.Get(q.IndexFilter.Value); ok {
			collect(v)
		}
	case q.IndexFilter != nil:
		t.Equal(q.IndexFilter.Index, q.IndexFilter.Value, collect)
	case q.Project != "":
		t.projectCreated.Ascend(t.schema.Pivot(q.Project, -1<<63, ""), collect)
	default:
		t.created.Scan(collect)
	}
	cmp := q.compare
	if t.schema.ByID {
		cmp = q.compareByID
	}
	slices.SortFunc(all, cmp)

	// Positions are found by comparison, so a marker that does not itself match the
	// filters still pages correctly.
	var items []T
	more := false
	if !q.Reverse {
		start := 0
		if hasMarker {
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
		if hasMarker {
			end, _ = slices.BinarySearchFunc(all, marker, cmp)
		}
		start := 0
		if q.Limit > 0 && end-q.Limit > 0 {
			start, more = end-q.Limit, true
		}
		items = all[start:end]
	}
	return Page[T]{Items: items, More: more}
}

// compare orders by the user's keys, then created_at, then id.
func (q Query[T]) compare(a, b T) int {
	if c := q.compareKeys(a, b); c != 0 {
		return c
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

// compareByID orders by the user's keys, then id (a Schema.ByID table).
func (q Query[T]) compareByID(a, b T) int {
	if c := q.compareKeys(a, b); c != 0 {
		return c
	}
	switch {
	case a.GetId() < b.GetId():
		return -1
	case a.GetId() > b.GetId():
		return 1
	}
	return 0
}

func (q Query[T]) compareKeys(a, b T) int {
	for _, k := range q.Order {
		c := k.Compare(a, b)
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
