package haproxyconfig

import (
	"cmp"
	"fmt"
	"slices"

	"keel/store/storepb"
)

// View is everything Render needs to write the haproxy configuration of one
// listener: its load balancer (VIP, additional VIPs, admin state), the listener, the
// pools it can send traffic to (its default pool and the targets of its
// REDIRECT_TO_POOL policies) with their members and health monitor, and its L7
// policies with their rules. Rows may be in any order and may include rows that are
// not live (admin down, PENDING_DELETE): Render decides what is live. Pools the
// listener does not reference are ignored.
type View struct {
	LoadBalancer *storepb.LoadBalancer
	Listener     *storepb.Listener
	Pools        []Pool
	Policies     []Policy
}

// Pool is one pool with its members and its health monitor (nil when it has none).
type Pool struct {
	Pool    *storepb.Pool
	Members []*storepb.Member
	Monitor *storepb.HealthMonitor
}

// Policy is one L7 policy with its rules.
type Policy struct {
	Policy *storepb.L7Policy
	Rules  []*storepb.L7Rule
}

// ViewOf selects one listener's view from its load balancer's tree.
func ViewOf(t *storepb.Tree, listenerID string) (*View, error) {
	if t == nil || t.LoadBalancer == nil {
		return nil, fmt.Errorf("haproxyconfig: no load balancer")
	}
	var l *storepb.Listener
	for _, x := range t.Listeners {
		if x.Id == listenerID {
			l = x
		}
	}
	if l == nil {
		return nil, fmt.Errorf("haproxyconfig: load balancer %s has no listener %s", t.LoadBalancer.Id, listenerID)
	}
	v := &View{LoadBalancer: t.LoadBalancer, Listener: l}
	poolIDs := []string{}
	if l.DefaultPoolId != "" {
		poolIDs = append(poolIDs, l.DefaultPoolId)
	}
	for _, p := range t.L7Policies {
		if p.ListenerId != l.Id {
			continue
		}
		pv := Policy{Policy: p}
		for _, r := range t.L7Rules {
			if r.L7PolicyId == p.Id {
				pv.Rules = append(pv.Rules, r)
			}
		}
		v.Policies = append(v.Policies, pv)
		if p.RedirectPoolId != "" && !slices.Contains(poolIDs, p.RedirectPoolId) {
			poolIDs = append(poolIDs, p.RedirectPoolId)
		}
	}
	for _, id := range poolIDs {
		pv, ok := poolOf(t, id)
		if !ok {
			return nil, fmt.Errorf("haproxyconfig: listener %s uses pool %s, which is not in the tree", l.Id, id)
		}
		v.Pools = append(v.Pools, pv)
	}
	return v, nil
}

func poolOf(t *storepb.Tree, id string) (Pool, bool) {
	for _, p := range t.Pools {
		if p.Id != id {
			continue
		}
		pv := Pool{Pool: p}
		for _, m := range t.Members {
			if m.PoolId == id {
				pv.Members = append(pv.Members, m)
			}
		}
		for _, hm := range t.HealthMonitors {
			// A pool has one monitor; one being deleted gives way to a new one.
			if hm.PoolId == id && (pv.Monitor == nil || gone(pv.Monitor.ProvisioningStatus)) {
				pv.Monitor = hm
			}
		}
		return pv, true
	}
	return Pool{}, false
}

// gone reports a row on its way out: Octavia's templates skip PENDING_DELETE rows.
func gone(provisioningStatus string) bool {
	return provisioningStatus == "PENDING_DELETE" || provisioningStatus == "DELETED"
}

// Live reports whether the listener serves traffic: it and its load balancer are
// admin up and not being deleted. A listener that is not live must be stopped,
// not configured: haproxy refuses to start (and `haproxy -c` to pass) a
// configuration without an enabled frontend, so Render answers ErrNotLive.
func (v *View) Live() bool {
	return v.LoadBalancer.AdminStateUp && !gone(v.LoadBalancer.ProvisioningStatus) &&
		v.Listener.AdminStateUp && !gone(v.Listener.ProvisioningStatus)
}

// pool returns the view's pool with that id.
func (v *View) pool(id string) (*Pool, bool) {
	for i := range v.Pools {
		if v.Pools[i].Pool.Id == id {
			return &v.Pools[i], true
		}
	}
	return nil, false
}

func livePool(p *storepb.Pool) bool { return p.AdminStateUp && !gone(p.ProvisioningStatus) }

func liveMonitor(hm *storepb.HealthMonitor) bool {
	return hm != nil && hm.AdminStateUp && !gone(hm.ProvisioningStatus)
}

// sortedMembers are a pool's members not being deleted, oldest first (ties by id),
// so the rendering does not depend on the caller's order.
func sortedMembers(ms []*storepb.Member) []*storepb.Member {
	out := make([]*storepb.Member, 0, len(ms))
	for _, m := range ms {
		if !gone(m.ProvisioningStatus) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *storepb.Member) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.Id, b.Id))
	})
	return out
}

// livePolicies are the policies that take part: admin up, not being deleted, with
// at least one live rule (Octavia renders only those), by position (ties by id),
// each with its live rules, oldest first.
func livePolicies(ps []Policy) []Policy {
	var out []Policy
	for _, p := range ps {
		if !p.Policy.AdminStateUp || gone(p.Policy.ProvisioningStatus) {
			continue
		}
		var rules []*storepb.L7Rule
		for _, r := range p.Rules {
			if r.AdminStateUp && !gone(r.ProvisioningStatus) {
				rules = append(rules, r)
			}
		}
		if len(rules) == 0 {
			continue
		}
		slices.SortFunc(rules, func(a, b *storepb.L7Rule) int {
			return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.Id, b.Id))
		})
		out = append(out, Policy{Policy: p.Policy, Rules: rules})
	}
	slices.SortFunc(out, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(a.Policy.Position, b.Policy.Position), cmp.Compare(a.Policy.Id, b.Policy.Id))
	})
	return out
}
