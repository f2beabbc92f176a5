package actors

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"keel/store"
	"keel/store/storepb"
)

// tree is a grain's cached copy of its load balancer's tree, indexed by id. Rows are
// never mutated in place: a change clones the rows it touches into a write set,
// and the cache takes the new rows once the write committed.
type tree struct {
	lb        *storepb.LoadBalancer
	listeners map[string]*storepb.Listener
	pools     map[string]*storepb.Pool
	members   map[string]*storepb.Member
	monitors  map[string]*storepb.HealthMonitor
	policies  map[string]*storepb.L7Policy
	rules     map[string]*storepb.L7Rule
	amphorae  map[string]*storepb.Amphora
}

func newTree(lb *storepb.LoadBalancer) *tree {
	t := &tree{lb: lb}
	for _, k := range cachedKinds {
		k.empty(t)
	}
	return t
}

func treeFromStore(rows *storepb.Tree) *tree {
	if rows == nil {
		return nil
	}
	t := newTree(rows.LoadBalancer)
	for _, k := range cachedKinds {
		k.load(t, rows)
	}
	return t
}

// apply makes the cache reflect a committed write set.
func (t *tree) apply(w *storepb.TreeWrite, version uint64) {
	t.lb = w.LoadBalancer
	t.lb.Version = version
	for _, k := range cachedKinds {
		k.apply(t, w, version)
	}
}

// asReply renders the cache as a tree (children sorted by creation, then id, as
// lists are).
func (t *tree) asReply() *storepb.Tree {
	out := &storepb.Tree{LoadBalancer: t.lb}
	for _, k := range cachedKinds {
		k.render(t, out)
	}
	return out
}

// withWrite returns the tree as a write set would leave it, for answering
// relations over a decision in progress. Neither t nor w's rows are changed;
// the result shares both's rows, so it is only read.
func (t *tree) withWrite(w *storepb.TreeWrite) *tree {
	out := &tree{lb: w.LoadBalancer}
	for _, k := range cachedKinds {
		k.overlay(out, t, w)
	}
	return out
}

// cachedKind ties one of the store's child kinds to the cache's map of it.
type cachedKind[T store.TreeEntity] struct {
	kind  *store.ChildKind[T]
	cache func(*tree) *map[string]T
}

// treeKind is a cachedKind with its row type erased.
type treeKind interface {
	empty(t *tree)
	load(t *tree, rows *storepb.Tree)
	apply(t *tree, w *storepb.TreeWrite, version uint64)
	render(t *tree, out *storepb.Tree)
	overlay(out, t *tree, w *storepb.TreeWrite)
}

// cachedKinds lists the cache's maps, one per child kind of store.ChildKind.
var cachedKinds = []treeKind{
	cachedKind[*storepb.Listener]{store.ListenerKind, func(t *tree) *map[string]*storepb.Listener { return &t.listeners }},
	cachedKind[*storepb.Pool]{store.PoolKind, func(t *tree) *map[string]*storepb.Pool { return &t.pools }},
	cachedKind[*storepb.Member]{store.MemberKind, func(t *tree) *map[string]*storepb.Member { return &t.members }},
	cachedKind[*storepb.HealthMonitor]{store.HealthMonitorKind, func(t *tree) *map[string]*storepb.HealthMonitor { return &t.monitors }},
	cachedKind[*storepb.L7Policy]{store.L7PolicyKind, func(t *tree) *map[string]*storepb.L7Policy { return &t.policies }},
	cachedKind[*storepb.L7Rule]{store.L7RuleKind, func(t *tree) *map[string]*storepb.L7Rule { return &t.rules }},
	cachedKind[*storepb.Amphora]{store.AmphoraKind, func(t *tree) *map[string]*storepb.Amphora { return &t.amphorae }},
}

// empty leaves the kind's map nil: most trees have few kinds of children (a
// burst of creates activates thousands of grains with none), and a nil map
// reads as empty. Writers make it (writable).
func (k cachedKind[T]) empty(t *tree) { *k.cache(t) = nil }

// writable returns the kind's map, made for n more rows if it is still nil.
func (k cachedKind[T]) writable(t *tree, n int) map[string]T {
	m := *k.cache(t)
	if m == nil {
		m = make(map[string]T, n)
		*k.cache(t) = m
	}
	return m
}

func (k cachedKind[T]) load(t *tree, rows *storepb.Tree) {
	xs := k.kind.Rows(rows)
	if len(xs) == 0 {
		return
	}
	m := k.writable(t, len(xs))
	for _, x := range xs {
		m[x.GetId()] = x
	}
}

func (k cachedKind[T]) apply(t *tree, w *storepb.TreeWrite, version uint64) {
	m := *k.cache(t)
	for _, id := range k.kind.Deleted(w) {
		delete(m, id)
	}
	if xs := k.kind.Written(w); len(xs) > 0 {
		m = k.writable(t, len(xs))
		for _, x := range xs {
			k.kind.Stamp(x, version)
			m[x.GetId()] = x
		}
	}
}

func (k cachedKind[T]) render(t *tree, out *storepb.Tree) {
	k.kind.SetRows(out, sortedRows(*k.cache(t)))
}

func (k cachedKind[T]) overlay(out, t *tree, w *storepb.TreeWrite) {
	*k.cache(out) = overlay(*k.cache(t), k.kind.Written(w), k.kind.Deleted(w))
}

type row interface {
	GetId() string
	GetCreatedAt() int64
}

func sortedRows[T row](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetCreatedAt() != out[j].GetCreatedAt() {
			return out[i].GetCreatedAt() < out[j].GetCreatedAt()
		}
		return out[i].GetId() < out[j].GetId()
	})
	return out
}

// The tree answers store.Relations by scanning its maps (a tree is one load
// balancer's rows, a few dozen), in the orders the interface promises; the rules
// that combine the answers (store.PoolsOfListener, store.ListenersUsingPool) are
// the ones the API renders with.
var _ store.Relations = (*tree)(nil)

// rowsWith returns the rows of m whose field equals key, in creation order: none
// for an empty key, as the store's indexes never hold an empty field.
func rowsWith[T store.Entity](m map[string]T, field func(T) string, key string) []T {
	var out []T
	for _, x := range m {
		if key != "" && field(x) == key {
			out = append(out, x)
		}
	}
	return store.InCreationOrder(out)
}

func (t *tree) Listener(id string) *storepb.Listener { return t.listeners[id] }

func (t *tree) Pool(id string) *storepb.Pool { return t.pools[id] }

func (t *tree) ListenersWithDefaultPool(poolID string) []*storepb.Listener {
	return rowsWith(t.listeners, (*storepb.Listener).GetDefaultPoolId, poolID)
}

func (t *tree) PoliciesOfListener(listenerID string) []*storepb.L7Policy {
	return store.ByPosition(rowsWith(t.policies, (*storepb.L7Policy).GetListenerId, listenerID))
}

func (t *tree) PoliciesRedirectingTo(poolID string) []*storepb.L7Policy {
	return rowsWith(t.policies, (*storepb.L7Policy).GetRedirectPoolId, poolID)
}

func (t *tree) RulesOfPolicy(policyID string) []*storepb.L7Rule {
	return rowsWith(t.rules, (*storepb.L7Rule).GetL7PolicyId, policyID)
}

func (t *tree) PolicyHasRules(policyID string) bool {
	for _, r := range t.rules {
		if policyID != "" && r.L7PolicyId == policyID {
			return true
		}
	}
	return false
}

func (t *tree) MembersOfPool(poolID string) []*storepb.Member {
	return rowsWith(t.members, (*storepb.Member).GetPoolId, poolID)
}

func (t *tree) MonitorOfPool(poolID string) *storepb.HealthMonitor {
	if monitors := rowsWith(t.monitors, (*storepb.HealthMonitor).GetPoolId, poolID); len(monitors) > 0 {
		return monitors[0]
	}
	return nil
}

// overlay returns a copy of cache with the written rows put and the deleted ids
// removed.
func overlay[T row](cache map[string]T, written []T, deleted []string) map[string]T {
	if len(cache)+len(written) == 0 {
		return nil // as empty would leave it
	}
	out := make(map[string]T, len(cache)+len(written))
	for id, x := range cache {
		out[id] = x
	}
	for _, x := range written {
		out[x.GetId()] = x
	}
	for _, id := range deleted {
		delete(out, id)
	}
	return out
}

// cloneRow copies a row so a change never touches the cache (or the store's
// published, immutable rows). Stored rows have vtprotobuf's generated copy
// (CloneMessageVT), which is several times cheaper than proto.Clone's reflection:
// a load balancer's row is cloned two or three times per create.
func cloneRow[T proto.Message](x T) T {
	if c, ok := any(x).(interface{ CloneMessageVT() proto.Message }); ok {
		return c.CloneMessageVT().(T)
	}
	return proto.Clone(x).(T)
}

// applyFields copies the attributes an update set onto a row (storepb.ApplyFields).
func applyFields(dst, src proto.Message, fields []string) error {
	if err := storepb.ApplyFields(dst, src, fields); err != nil {
		return grainError(KindInvalid, "%v", err)
	}
	return nil
}
