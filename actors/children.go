package actors

import (
	"errors"
	"slices"
	"sort"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

// The load balancer grain's operations on its children. Each decides a write set
// from the cached tree, following Octavia's locking: the load balancer must be
// ACTIVE (a member or monitor also needs its pool ACTIVE, a rule its policy), the
// object goes PENDING_CREATE/UPDATE/DELETE, the load balancer PENDING_UPDATE, and
// the parents Octavia locks (the listener of a pool or policy, the listeners using a
// pool, the pool of a member or monitor, the policy of a rule) PENDING_UPDATE.

// replyTree is the tree a child's reply carries: the load balancer as this grain
// holds it after the write, which the API renders the child's references from
// (nil if the load balancer is gone, as after a retry of a write since purged).
// writtenRow returns the row a successful request wrote, as the grain holds it.
// When an earlier attempt of the request applied it and the row has been changed
// away since (deleted, or the whole tree purged), there is nothing to render: a
// 503 asks the client to read it again, rather than a 2xx without a body.
func writtenRow[T proto.Message](g *LoadBalancerGrain, rows func(*tree) map[string]T, id string) (T, error) {
	var zero T
	if g.tree == nil {
		return zero, changedSince()
	}
	row, ok := rows(g.tree)[id]
	if !ok {
		return zero, changedSince()
	}
	return row, nil
}

// changedSince is the answer to a request an earlier attempt applied whose object
// has been deleted since.
func changedSince() error {
	return unavailable(errors.New("the request was applied, but what it wrote has changed since; read it again"))
}

func (g *LoadBalancerGrain) replyTree() *storepb.Tree {
	if g.tree == nil {
		return nil
	}
	return g.tree.asReply()
}

// lockListeners puts listeners PENDING_UPDATE in the write set.
func lockListeners(t *tree, w *storepb.TreeWrite, ls ...*storepb.Listener) {
	for _, l := range ls {
		if l == nil || l.ProvisioningStatus == StatusPendingDelete || l.ProvisioningStatus == StatusPendingCreate {
			continue
		}
		x := writableListener(t, w, l.Id)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
	}
}

func lockPool(t *tree, w *storepb.TreeWrite, poolID string) {
	if p, ok := t.pools[poolID]; ok && p.ProvisioningStatus == StatusActive {
		x := writablePool(t, w, poolID)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
	}
}

// --- listeners ---

// CreateListener adds a listener to the load balancer.
func (g *LoadBalancerGrain) CreateListener(req *actorspb.CreateListenerRequest, ctx cluster.GrainContext) (*actorspb.ListenerReply, error) {
	l := req.GetListener()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		x := cloneRow(l)
		x.LoadbalancerId, x.ProjectId = g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, OperatingOffline
		x.CreatedAt, x.UpdatedAt = w.LoadBalancer.UpdatedAt, 0
		if err := checkListenerPort(t.listeners, x); err != nil {
			return nil, err
		}
		if err := checkDefaultPool(t, x); err != nil {
			return nil, err
		}
		w.Listeners = append(w.Listeners, x)
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_LISTENER}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Listener { return t.listeners }, l.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.ListenerReply{Listener: row, Tree: g.replyTree()}, nil
}

// UpdateListener changes a listener's attributes. The listener as the update
// leaves it is checked (its protocol's options, its allowed CIDRs against the
// VIP) before anything is locked, as Octavia checks before its locks.
func (g *LoadBalancerGrain) UpdateListener(req *actorspb.UpdateListenerRequest, ctx cluster.GrainContext) (*actorspb.ListenerReply, error) {
	id := req.GetValues().GetId()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.listeners[id]
		if !ok {
			return nil, grainError(KindNotFound, "Listener %s not found.", id)
		}
		merged := cloneRow(cur)
		if err := applyFields(merged, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		if err := checkListenerUpdate(t, merged); err != nil {
			return nil, err
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		x := writableListener(t, w, id)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		if x.DefaultPoolId != cur.DefaultPoolId {
			if err := checkDefaultPool(t, x); err != nil {
				return nil, err
			}
		}
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_LISTENER}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Listener { return t.listeners }, id)
	if err != nil {
		return nil, err
	}
	return &actorspb.ListenerReply{Listener: row, Tree: g.replyTree()}, nil
}

// DeleteListener deletes a listener with its L7 policies and their rules.
func (g *LoadBalancerGrain) DeleteListener(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.listeners[req.GetId()]
		if !ok {
			return nil, grainError(KindNotFound, "Listener %s not found.", req.GetId())
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		now := w.LoadBalancer.UpdatedAt
		x := writableListener(t, w, cur.Id)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, now
		for _, p := range t.PoliciesOfListener(cur.Id) {
			px := writablePolicy(t, w, p.Id)
			px.ProvisioningStatus, px.UpdatedAt = StatusPendingDelete, now
			for _, r := range t.RulesOfPolicy(p.Id) {
				rx := writableRule(t, w, r.Id)
				rx.ProvisioningStatus, rx.UpdatedAt = StatusPendingDelete, now
			}
		}
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_LISTENER}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// --- pools ---

// CreatePool adds a pool, optionally as a listener's default pool. Octavia's
// order: the listener's protocol rules, its default pool (409), the load
// balancer's lock (409), then the provider's refusals (501).
func (g *LoadBalancerGrain) CreatePool(req *actorspb.CreatePoolRequest, ctx cluster.GrainContext) (*actorspb.PoolReply, error) {
	p := req.GetPool()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		lid := req.GetListenerId()
		if lid != "" {
			l, ok := t.listeners[lid]
			if !ok || l.ProvisioningStatus == StatusPendingDelete {
				return nil, grainError(KindNotFound, "Listener %s not found.", lid)
			}
			if err := invalid(octaviarules.CheckPoolProtocol(l.Protocol, p.Protocol)); err != nil {
				return nil, err
			}
			if l.DefaultPoolId != "" {
				return nil, grainError(KindConflict, "This listener already has a default pool")
			}
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		if err := checkPoolAlgorithm(t.lb, p); err != nil {
			return nil, err
		}
		x := cloneRow(p)
		x.LoadbalancerId, x.ProjectId = g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, OperatingOffline
		x.CreatedAt, x.UpdatedAt = w.LoadBalancer.UpdatedAt, 0
		if lid != "" {
			lx := writableListener(t, w, lid)
			lx.DefaultPoolId = x.Id
			lockListeners(t, w, lx)
		}
		w.Pools = append(w.Pools, x)
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_POOL}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Pool { return t.pools }, p.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.PoolReply{Pool: row, Tree: g.replyTree()}, nil
}

// UpdatePool changes a pool's attributes; the listeners using it are locked. The
// pool as the update leaves it is checked (session persistence, CA / CRL) before
// anything is locked, as Octavia checks before its locks.
func (g *LoadBalancerGrain) UpdatePool(req *actorspb.UpdatePoolRequest, ctx cluster.GrainContext) (*actorspb.PoolReply, error) {
	id := req.GetValues().GetId()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.pools[id]
		if !ok {
			return nil, grainError(KindNotFound, "Pool %s not found.", id)
		}
		merged := cloneRow(cur)
		if err := applyFields(merged, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		if err := invalid(octaviarules.CheckPoolUpdate(cur, merged, req.GetFields())); err != nil {
			return nil, err
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		x := writablePool(t, w, id)
		if err := applyFields(x, merged, req.GetFields()); err != nil {
			return nil, err
		}
		if slices.Contains(req.GetFields(), "lb_algorithm") {
			if err := checkPoolAlgorithm(t.lb, x); err != nil {
				return nil, err
			}
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		lockListeners(t, w, store.ListenersUsingPool(t, id)...)
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_POOL}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Pool { return t.pools }, id)
	if err != nil {
		return nil, err
	}
	return &actorspb.PoolReply{Pool: row, Tree: g.replyTree()}, nil
}

// DeletePool deletes a pool with its members and health monitor; listeners using it
// as default pool lose it. A pool an L7 policy redirects to cannot be deleted.
func (g *LoadBalancerGrain) DeletePool(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		id := req.GetId()
		if _, ok := t.pools[id]; !ok {
			return nil, grainError(KindNotFound, "Pool %s not found.", id)
		}
		for _, p := range t.PoliciesRedirectingTo(id) {
			if p.ProvisioningStatus != StatusPendingDelete {
				return nil, grainError(KindConflict, "Pool %s is in use by L7 policy %s", id, p.Id)
			}
		}
		w, err := g.childWrite(t)
		if err != nil {
			return nil, err
		}
		now := w.LoadBalancer.UpdatedAt
		users := store.ListenersUsingPool(t, id)
		x := writablePool(t, w, id)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, now
		for _, m := range t.MembersOfPool(id) {
			mx := writableMember(t, w, m.Id)
			mx.ProvisioningStatus, mx.UpdatedAt = StatusPendingDelete, now
		}
		if hm := t.MonitorOfPool(id); hm != nil {
			hx := writableMonitor(t, w, hm.Id)
			hx.ProvisioningStatus, hx.UpdatedAt = StatusPendingDelete, now
		}
		for _, l := range users {
			if l.DefaultPoolId == id {
				lx := writableListener(t, w, l.Id)
				lx.DefaultPoolId = ""
			}
		}
		lockListeners(t, w, users...)
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_POOL}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// poolWrite starts a member or health monitor operation: the pool must exist and be
// ACTIVE, then the load balancer must be ACTIVE; pool and its listeners are locked.
func (g *LoadBalancerGrain) poolWrite(t *tree, poolID string) (*storepb.TreeWrite, error) {
	p, ok := t.pools[poolID]
	if !ok || p.ProvisioningStatus == StatusPendingDelete {
		return nil, grainError(KindNotFound, "Pool %s not found.", poolID)
	}
	if p.ProvisioningStatus != StatusActive {
		return nil, grainError(KindConflict, "Pool %s is immutable and cannot be updated.", poolID)
	}
	w, err := g.childWrite(t)
	if err != nil {
		return nil, err
	}
	lockPool(t, w, poolID)
	lockListeners(t, w, store.ListenersUsingPool(t, poolID)...)
	return w, nil
}

// --- members ---

// CreateMember adds a member to a pool.
func (g *LoadBalancerGrain) CreateMember(req *actorspb.CreateMemberRequest, ctx cluster.GrainContext) (*actorspb.MemberReply, error) {
	m := req.GetMember()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		w, err := g.poolWrite(t, m.PoolId)
		if err != nil {
			return nil, err
		}
		x := cloneRow(m)
		x.LoadbalancerId, x.ProjectId = g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, initialMemberStatus(t, m.PoolId)
		x.CreatedAt, x.UpdatedAt = w.LoadBalancer.UpdatedAt, 0
		if err := checkMemberUnique(t, x); err != nil {
			return nil, err
		}
		if err := checkMemberFamilies(t, t.pools[m.PoolId], []*storepb.Member{x}); err != nil {
			return nil, err
		}
		w.Members = append(w.Members, x)
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_MEMBER}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Member { return t.members }, m.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.MemberReply{Member: row, Tree: g.replyTree()}, nil
}

// UpdateMember changes a member's attributes.
func (g *LoadBalancerGrain) UpdateMember(req *actorspb.UpdateMemberRequest, ctx cluster.GrainContext) (*actorspb.MemberReply, error) {
	v := req.GetValues()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.members[v.Id]
		if !ok || cur.PoolId != v.PoolId {
			return nil, grainError(KindNotFound, "Member %s not found.", v.Id)
		}
		w, err := g.poolWrite(t, cur.PoolId)
		if err != nil {
			return nil, err
		}
		x := writableMember(t, w, v.Id)
		if err := applyFields(x, v, req.GetFields()); err != nil {
			return nil, err
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_MEMBER}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.Member { return t.members }, v.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.MemberReply{Member: row, Tree: g.replyTree()}, nil
}

// DeleteMember deletes a member (DeleteChildRequest.id is "<pool id>/<member id>").
func (g *LoadBalancerGrain) DeleteMember(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	poolID, memberID := splitPath(req.GetId())
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.members[memberID]
		if !ok || cur.PoolId != poolID {
			return nil, grainError(KindNotFound, "Member %s not found.", memberID)
		}
		w, err := g.poolWrite(t, poolID)
		if err != nil {
			return nil, err
		}
		x := writableMember(t, w, memberID)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, w.LoadBalancer.UpdatedAt
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_MEMBER}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

func splitPath(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

// ReplaceMembers is the batch update, as Octavia's MembersController.put: members
// are matched by (address, protocol_port), two spellings of one address matching
// (octaviarules.AddressKey); unmatched ones are created, matched ones
// updated (PENDING_UPDATE, whether or not a value changes), and existing members
// not listed are deleted unless additive_only (then they are left untouched). The
// locks are tested first, so a locked pool refuses even a no-op; a batch that
// lists nothing for a pool without members is the no-op, and writes nothing. Two
// new members on the same address and port are refused as a duplicate.
func (g *LoadBalancerGrain) ReplaceMembers(req *actorspb.ReplaceMembersRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	poolID := req.GetPoolId()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		w, err := g.poolWrite(t, poolID)
		if err != nil {
			return nil, err
		}
		type key struct {
			addr string
			port int32
		}
		existing := map[key]*storepb.Member{}
		for _, m := range t.MembersOfPool(poolID) {
			if m.ProvisioningStatus != StatusPendingDelete {
				existing[key{octaviarules.AddressKey(m.Address), m.ProtocolPort}] = m
			}
		}
		now := w.LoadBalancer.UpdatedAt
		listed := map[key]bool{}
		var kept []*storepb.Member // the pool's members as the batch leaves them
		for i, m := range req.GetMembers() {
			k := key{octaviarules.AddressKey(m.Address), m.ProtocolPort}
			if cur, ok := existing[k]; ok {
				var fields []string
				if i < len(req.GetFields()) {
					fields = req.GetFields()[i].GetNames()
				}
				x := writableMember(t, w, cur.Id)
				if err := applyFields(x, m, fields); err != nil {
					return nil, err
				}
				x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, now
				if !listed[k] {
					kept = append(kept, x)
				}
			} else {
				if listed[k] {
					return nil, duplicateMember(m)
				}
				x := cloneRow(m)
				x.PoolId, x.LoadbalancerId, x.ProjectId = poolID, g.id, t.lb.ProjectId
				x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, initialMemberStatus(t, poolID)
				x.CreatedAt, x.UpdatedAt = now+int64(i), 0
				w.Members = append(w.Members, x)
				kept = append(kept, x)
			}
			listed[k] = true
		}
		var unlisted []*storepb.Member
		for k, m := range existing {
			if !listed[k] {
				unlisted = append(unlisted, m)
			}
		}
		if len(req.GetMembers()) == 0 && len(unlisted) == 0 {
			return nil, errDone // Octavia's no-op: nothing listed, nothing to delete
		}
		sort.Slice(unlisted, func(i, j int) bool { return unlisted[i].Id < unlisted[j].Id })
		for _, m := range unlisted {
			if req.GetAdditiveOnly() {
				kept = append(kept, m)
				continue
			}
			x := writableMember(t, w, m.Id)
			x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, now
		}
		if err := checkMemberFamilies(t, t.pools[poolID], kept); err != nil {
			return nil, err
		}
		return &decision{write: w, intent: storepb.TreeTransaction_REPLACE_MEMBERS}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// --- health monitors ---

// CreateHealthMonitor adds a pool's health monitor (one per pool). Octavia's
// order: the type against the pool's protocol (400), the locks (409), then the
// one-per-pool rule (409).
func (g *LoadBalancerGrain) CreateHealthMonitor(req *actorspb.CreateHealthMonitorRequest, ctx cluster.GrainContext) (*actorspb.HealthMonitorReply, error) {
	hm := req.GetHealthMonitor()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		pool, ok := t.pools[hm.PoolId]
		if !ok || pool.ProvisioningStatus == StatusPendingDelete {
			return nil, grainError(KindNotFound, "Pool %s not found.", hm.PoolId)
		}
		if err := invalid(octaviarules.CheckMonitorType(pool, hm)); err != nil {
			return nil, err
		}
		w, err := g.poolWrite(t, hm.PoolId)
		if err != nil {
			return nil, err
		}
		if existing := t.MonitorOfPool(hm.PoolId); existing != nil && existing.ProvisioningStatus != StatusPendingDelete {
			return nil, grainError(KindConflict, "This pool already has a health monitor")
		}
		x := cloneRow(hm)
		x.LoadbalancerId, x.ProjectId = g.id, t.lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus = StatusPendingCreate, OperatingOffline
		x.CreatedAt, x.UpdatedAt = w.LoadBalancer.UpdatedAt, 0
		w.HealthMonitors = append(w.HealthMonitors, x)
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_HEALTH_MONITOR}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.HealthMonitor { return t.monitors }, hm.Id)
	if err != nil {
		return nil, err
	}
	return &actorspb.HealthMonitorReply{HealthMonitor: row, Tree: g.replyTree()}, nil
}

// UpdateHealthMonitor changes a health monitor's attributes; the update's
// domain_name against the monitor as stored, then the monitor as the update
// leaves it against its pool's protocol, are checked before anything is locked.
func (g *LoadBalancerGrain) UpdateHealthMonitor(req *actorspb.UpdateHealthMonitorRequest, ctx cluster.GrainContext) (*actorspb.HealthMonitorReply, error) {
	id := req.GetValues().GetId()
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.monitors[id]
		if !ok {
			return nil, grainError(KindNotFound, "Health Monitor %s not found.", id)
		}
		if err := invalid(octaviarules.CheckMonitorUpdate(cur, req.GetValues())); err != nil {
			return nil, err
		}
		x := cloneRow(cur)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		if err := invalid(octaviarules.CheckMonitorType(t.pools[cur.PoolId], x)); err != nil {
			return nil, err
		}
		w, err := g.poolWrite(t, cur.PoolId)
		if err != nil {
			return nil, err
		}
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingUpdate, w.LoadBalancer.UpdatedAt
		w.HealthMonitors = append(w.HealthMonitors, x)
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_HEALTH_MONITOR}, nil
	})
	if err != nil {
		return nil, err
	}
	row, err := writtenRow(g, func(t *tree) map[string]*storepb.HealthMonitor { return t.monitors }, id)
	if err != nil {
		return nil, err
	}
	return &actorspb.HealthMonitorReply{HealthMonitor: row, Tree: g.replyTree()}, nil
}

// DeleteHealthMonitor deletes a health monitor; when the provider step removes it,
// its pool's members become NO_MONITOR (unmonitorMembers).
func (g *LoadBalancerGrain) DeleteHealthMonitor(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		cur, ok := t.monitors[req.GetId()]
		if !ok {
			return nil, grainError(KindNotFound, "Health Monitor %s not found.", req.GetId())
		}
		w, err := g.poolWrite(t, cur.PoolId)
		if err != nil {
			return nil, err
		}
		x := writableMonitor(t, w, cur.Id)
		x.ProvisioningStatus, x.UpdatedAt = StatusPendingDelete, w.LoadBalancer.UpdatedAt
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_HEALTH_MONITOR}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}
