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

// listenersOfPool returns the listeners using a pool, as Octavia's Pool.listeners:
// those with it as default pool, then those with an enabled L7 policy that
// redirects to it and has at least one rule.
func (t *tree) listenersOfPool(poolID string) []*storepb.Listener {
	seen := map[string]bool{}
	var out []*storepb.Listener
	for _, l := range sortedRows(t.listeners) {
		if l.DefaultPoolId == poolID && !seen[l.Id] {
			seen[l.Id] = true
			out = append(out, l)
		}
	}
	for _, p := range sortedRows(t.policies) {
		if p.RedirectPoolId == poolID && p.Action == "REDIRECT_TO_POOL" && p.AdminStateUp &&
			len(t.rulesOfPolicy(p.Id)) > 0 && !seen[p.ListenerId] {
			if l, ok := t.listeners[p.ListenerId]; ok {
				seen[l.Id] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func (t *tree) monitorOfPool(poolID string) *storepb.HealthMonitor {
	for _, hm := range t.monitors {
		if hm.PoolId == poolID {
			return hm
		}
	}
	return nil
}

func (t *tree) membersOfPool(poolID string) []*storepb.Member {
	var out []*storepb.Member
	for _, m := range sortedRows(t.members) {
		if m.PoolId == poolID {
			out = append(out, m)
		}
	}
	return out
}

func (t *tree) policiesOfListener(listenerID string) []*storepb.L7Policy {
	var out []*storepb.L7Policy
	for _, p := range t.policies {
		if p.ListenerId == listenerID {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out
}

func (t *tree) rulesOfPolicy(policyID string) []*storepb.L7Rule {
	var out []*storepb.L7Rule
	for _, r := range sortedRows(t.rules) {
		if r.L7PolicyId == policyID {
			out = append(out, r)
		}
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
