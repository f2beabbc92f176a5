package store

import (
	"cmp"
	"slices"

	"keel/store/storepb"
)

// Relations answers how a load balancer's objects refer to each other. Two views
// implement it: *State, from its indexes (the API renders from it), and the load
// balancer grain's cached tree, possibly as a pending write would leave it (the
// grain decides and locks with it). The rules that combine these
// answers — PoolsOfListener and ListenersUsingPool — are written once, below, so
// both views answer them alike.
//
// Lists come in creation order (created_at, then id: the order of Octavia's lists
// and of every reference list keel renders) unless a method says otherwise.
// Rows in PENDING_DELETE are still answered: they exist until the provider step
// removes them, as in Octavia's database.
type Relations interface {
	// Listener returns the listener with id, or nil.
	Listener(id string) *storepb.Listener
	// Pool returns the pool with id, or nil.
	Pool(id string) *storepb.Pool
	// ListenersWithDefaultPool returns the listeners whose default pool is poolID.
	ListenersWithDefaultPool(poolID string) []*storepb.Listener
	// PoliciesOfListener returns a listener's L7 policies by position (then id),
	// the order Octavia evaluates and lists them in (Listener.l7policies).
	PoliciesOfListener(listenerID string) []*storepb.L7Policy
	// PoliciesRedirectingTo returns the L7 policies whose redirect pool is poolID,
	// whatever their state.
	PoliciesRedirectingTo(poolID string) []*storepb.L7Policy
	// RulesOfPolicy returns an L7 policy's rules.
	RulesOfPolicy(policyID string) []*storepb.L7Rule
	// PolicyHasRules reports whether an L7 policy has at least one rule.
	PolicyHasRules(policyID string) bool
	// MembersOfPool returns a pool's members.
	MembersOfPool(poolID string) []*storepb.Member
	// MonitorOfPool returns a pool's health monitor, or nil. A pool has at most
	// one (the grain refuses a second); were several stored, the first created.
	MonitorOfPool(poolID string) *storepb.HealthMonitor
}

// actionRedirectToPool is the L7 policy action that sends traffic to a pool.
const actionRedirectToPool = "REDIRECT_TO_POOL"

// routesToPool is the rule behind both PoolsOfListener and ListenersUsingPool: an
// L7 policy puts its redirect pool in use only while it is enabled and has at
// least one rule (a policy without rules matches nothing). Octavia's
// Listener.pools and Pool.listeners (db/models.py) apply the same test; its
// haproxy template renders no backend for such a policy either.
func routesToPool(r Relations, p *storepb.L7Policy) bool {
	return p.AdminStateUp && p.Action == actionRedirectToPool && p.RedirectPoolId != "" && r.PolicyHasRules(p.Id)
}

// PoolsOfListener returns the pools a listener uses, as Octavia's Listener.pools:
// its default pool, then the redirect pools of its L7 policies that route traffic
// (enabled, with at least one rule) in position order, each once. The status tree
// shows these pools under the listener.
func PoolsOfListener(r Relations, l *storepb.Listener) []*storepb.Pool {
	var out []*storepb.Pool
	add := func(id string) {
		if id == "" || slices.ContainsFunc(out, func(p *storepb.Pool) bool { return p.Id == id }) {
			return
		}
		if p := r.Pool(id); p != nil {
			out = append(out, p)
		}
	}
	add(l.DefaultPoolId)
	for _, p := range r.PoliciesOfListener(l.Id) {
		if routesToPool(r, p) {
			add(p.RedirectPoolId)
		}
	}
	return out
}

// ListenersUsingPool returns the listeners using a pool, as Octavia's
// Pool.listeners: those with it as default pool, then the listeners of the L7
// policies that route traffic to it (enabled, with at least one rule) in the
// policies' creation order, each once. A pool's "listeners" attribute shows them;
// a change to the pool or its members and monitor locks them.
func ListenersUsingPool(r Relations, poolID string) []*storepb.Listener {
	out := r.ListenersWithDefaultPool(poolID)
	for _, p := range r.PoliciesRedirectingTo(poolID) {
		if !routesToPool(r, p) || slices.ContainsFunc(out, func(l *storepb.Listener) bool { return l.Id == p.ListenerId }) {
			continue
		}
		if l := r.Listener(p.ListenerId); l != nil {
			out = append(out, l)
		}
	}
	return out
}

// InCreationOrder sorts rows by (created_at, id), the order Relations answers in,
// and returns them.
func InCreationOrder[T Entity](rows []T) []T {
	slices.SortFunc(rows, func(a, b T) int {
		return cmp.Or(cmp.Compare(a.GetCreatedAt(), b.GetCreatedAt()), cmp.Compare(a.GetId(), b.GetId()))
	})
	return rows
}

// ByPosition sorts L7 policies by (position, id), the order of a listener's
// policies, and returns them.
func ByPosition(policies []*storepb.L7Policy) []*storepb.L7Policy {
	slices.SortFunc(policies, func(a, b *storepb.L7Policy) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Id, b.Id))
	})
	return policies
}

// The State's answers come from its exact-match indexes (by foreign key, in id
// order), sorted into the order Relations promises.
var _ Relations = (*State)(nil)

// Listener returns the listener with id, or nil.
func (s *State) Listener(id string) *storepb.Listener {
	l, _ := s.Listeners.Get(id)
	return l
}

// Pool returns the pool with id, or nil.
func (s *State) Pool(id string) *storepb.Pool {
	p, _ := s.Pools.Get(id)
	return p
}

// ListenersWithDefaultPool returns the listeners whose default pool is poolID, in
// creation order.
func (s *State) ListenersWithDefaultPool(poolID string) []*storepb.Listener {
	return InCreationOrder(Collect(s.Listeners, IndexDefaultPool, poolID))
}

// PoliciesOfListener returns a listener's L7 policies by position, then id.
func (s *State) PoliciesOfListener(listenerID string) []*storepb.L7Policy {
	return ByPosition(Collect(s.L7Policies, IndexListener, listenerID))
}

// PoliciesRedirectingTo returns the L7 policies whose redirect pool is poolID, in
// creation order.
func (s *State) PoliciesRedirectingTo(poolID string) []*storepb.L7Policy {
	return InCreationOrder(Collect(s.L7Policies, IndexRedirectPool, poolID))
}

// RulesOfPolicy returns an L7 policy's rules in creation order.
func (s *State) RulesOfPolicy(policyID string) []*storepb.L7Rule {
	return InCreationOrder(Collect(s.L7Rules, IndexL7Policy, policyID))
}

// PolicyHasRules reports whether an L7 policy has at least one rule.
func (s *State) PolicyHasRules(policyID string) bool {
	found := false
	s.L7Rules.Equal(IndexL7Policy, policyID, func(*storepb.L7Rule) bool {
		found = true
		return false
	})
	return found
}

// MembersOfPool returns a pool's members in creation order.
func (s *State) MembersOfPool(poolID string) []*storepb.Member {
	return InCreationOrder(Collect(s.Members, IndexPool, poolID))
}

// MonitorOfPool returns a pool's health monitor (the first created), or nil.
func (s *State) MonitorOfPool(poolID string) *storepb.HealthMonitor {
	var first *storepb.HealthMonitor
	s.HealthMonitors.Equal(IndexPool, poolID, func(hm *storepb.HealthMonitor) bool {
		if first == nil || hm.CreatedAt < first.CreatedAt {
			first = hm // ties keep the smaller id: the index yields ids in order
		}
		return true
	})
	return first
}

// LoadBalancerWithVip returns a load balancer whose loopback VIP address is addr
// (nil if none; only loopback VIPs, the local driver's, are indexed and answered).
func (s *State) LoadBalancerWithVip(addr string) *storepb.LoadBalancer {
	var out *storepb.LoadBalancer
	if !isLoopbackVip(addr) {
		return nil
	}
	s.LoadBalancers.Equal(IndexVipAddress, addr, func(lb *storepb.LoadBalancer) bool {
		out = lb
		return false
	})
	return out
}

// VipAddressHolder returns a load balancer that claims addr in subnet, as its
// named VIP address or an additional VIP's (nil if none): the one a new load
// balancer naming them, either way, may not share (Neutron: one port per address
// of a subnet). Addresses compare in canonical form.
func (s *State) VipAddressHolder(subnet, addr string) *storepb.LoadBalancer {
	var out *storepb.LoadBalancer
	s.LoadBalancers.Keyed(IndexVipClaims, vipClaimKey(subnet, addr), func(lb *storepb.LoadBalancer) bool {
		out = lb
		return false
	})
	return out
}

// VipPortHolder returns the load balancer whose VIP port is port (nil if none),
// named by its request or derived from its id.
func (s *State) VipPortHolder(port string) *storepb.LoadBalancer {
	if lb := s.LoadBalancer(storepb.DerivedVipPortOwner(port)); lb != nil && lb.VipPortId == port {
		return lb
	}
	var out *storepb.LoadBalancer
	s.LoadBalancers.Equal(IndexVipPort, port, func(lb *storepb.LoadBalancer) bool {
		out = lb
		return false
	})
	return out
}

// VipAddressesIn returns the VIP addresses held by load balancers that satisfy in
// (the local amphora driver's used set).
func (s *State) VipAddressesIn(in func(addr string) bool) map[string]bool {
	out := map[string]bool{}
	s.LoadBalancers.All(func(lb *storepb.LoadBalancer) bool {
		if a := lb.GetVipAddress(); a != "" && in(a) {
			out[a] = true
		}
		return true
	})
	return out
}
