package actors

import (
	"sort"

	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
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
	return &tree{lb: lb,
		listeners: map[string]*storepb.Listener{}, pools: map[string]*storepb.Pool{},
		members: map[string]*storepb.Member{}, monitors: map[string]*storepb.HealthMonitor{},
		policies: map[string]*storepb.L7Policy{}, rules: map[string]*storepb.L7Rule{},
		amphorae: map[string]*storepb.Amphora{}}
}

func treeFromStore(t *store.Tree) *tree {
	if t == nil {
		return nil
	}
	tr := newTree(t.LoadBalancer)
	for _, x := range t.Listeners {
		tr.listeners[x.Id] = x
	}
	for _, x := range t.Pools {
		tr.pools[x.Id] = x
	}
	for _, x := range t.Members {
		tr.members[x.Id] = x
	}
	for _, x := range t.HealthMonitors {
		tr.monitors[x.Id] = x
	}
	for _, x := range t.L7Policies {
		tr.policies[x.Id] = x
	}
	for _, x := range t.L7Rules {
		tr.rules[x.Id] = x
	}
	for _, x := range t.Amphorae {
		tr.amphorae[x.Id] = x
	}
	return tr
}

// apply makes the cache reflect a committed write set.
func (t *tree) apply(w *storepb.TreeWrite, version uint64) {
	t.lb = w.LoadBalancer
	t.lb.Version = version
	for _, id := range w.DeleteListeners {
		delete(t.listeners, id)
	}
	for _, id := range w.DeletePools {
		delete(t.pools, id)
	}
	for _, id := range w.DeleteMembers {
		delete(t.members, id)
	}
	for _, id := range w.DeleteHealthMonitors {
		delete(t.monitors, id)
	}
	for _, id := range w.DeleteL7Policies {
		delete(t.policies, id)
	}
	for _, id := range w.DeleteL7Rules {
		delete(t.rules, id)
	}
	for _, id := range w.DeleteAmphorae {
		delete(t.amphorae, id)
	}
	for _, x := range w.Listeners {
		x.Version = version
		t.listeners[x.Id] = x
	}
	for _, x := range w.Pools {
		x.Version = version
		t.pools[x.Id] = x
	}
	for _, x := range w.Members {
		x.Version = version
		t.members[x.Id] = x
	}
	for _, x := range w.HealthMonitors {
		x.Version = version
		t.monitors[x.Id] = x
	}
	for _, x := range w.L7Policies {
		x.Version = version
		t.policies[x.Id] = x
	}
	for _, x := range w.L7Rules {
		x.Version = version
		t.rules[x.Id] = x
	}
	for _, x := range w.Amphorae {
		x.Version = version
		t.amphorae[x.Id] = x
	}
}

// asReply renders the cache as the grain contract's tree (children sorted by
// creation, then id, as lists are).
func (t *tree) asReply() *actorspb.LoadBalancerTree {
	out := &actorspb.LoadBalancerTree{LoadBalancer: t.lb}
	out.Listeners = sortedRows(t.listeners)
	out.Pools = sortedRows(t.pools)
	out.Members = sortedRows(t.members)
	out.HealthMonitors = sortedRows(t.monitors)
	out.L7Policies = sortedRows(t.policies)
	out.L7Rules = sortedRows(t.rules)
	out.Amphorae = sortedRows(t.amphorae)
	return out
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

// withWrite returns the tree as a write set would leave it, for answering
// relations over a decision in progress. Neither t nor w's rows are changed;
// the result shares both's rows, so it is only read.
func (t *tree) withWrite(w *storepb.TreeWrite) *tree {
	return &tree{lb: w.LoadBalancer,
		listeners: overlay(t.listeners, w.Listeners, w.DeleteListeners),
		pools:     overlay(t.pools, w.Pools, w.DeletePools),
		members:   overlay(t.members, w.Members, w.DeleteMembers),
		monitors:  overlay(t.monitors, w.HealthMonitors, w.DeleteHealthMonitors),
		policies:  overlay(t.policies, w.L7Policies, w.DeleteL7Policies),
		rules:     overlay(t.rules, w.L7Rules, w.DeleteL7Rules),
		amphorae:  overlay(t.amphorae, w.Amphorae, w.DeleteAmphorae)}
}

// overlay returns a copy of cache with the written rows put and the deleted ids
// removed.
func overlay[T row](cache map[string]T, written []T, deleted []string) map[string]T {
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
// published, immutable rows).
func cloneRow[T proto.Message](x T) T { return proto.Clone(x).(T) }

// applyFields copies the attributes an update set onto a row (storepb.ApplyFields).
func applyFields(dst, src proto.Message, fields []string) error {
	if err := storepb.ApplyFields(dst, src, fields); err != nil {
		return grainError(KindInvalid, "%v", err)
	}
	return nil
}
