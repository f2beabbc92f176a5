package store

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"keel/store/storepb"
)

// State is every table at one version. A published State is immutable: read it
// freely, from any goroutine, for as long as needed.
type State struct {
	LoadBalancers            *Table[*storepb.LoadBalancer]
	Listeners                *Table[*storepb.Listener]
	Pools                    *Table[*storepb.Pool]
	Members                  *Table[*storepb.Member]
	HealthMonitors           *Table[*storepb.HealthMonitor]
	L7Policies               *Table[*storepb.L7Policy]
	L7Rules                  *Table[*storepb.L7Rule]
	Amphorae                 *Table[*storepb.Amphora]
	Quotas                   *Table[*storepb.Quota]
	Flavors                  *Table[*storepb.Flavor]
	FlavorProfiles           *Table[*storepb.FlavorProfile]
	AvailabilityZones        *Table[*storepb.AvailabilityZone]
	AvailabilityZoneProfiles *Table[*storepb.AvailabilityZoneProfile]
	// ListenerStatistics are the amphorae's traffic counters per listener
	// (stats.go); not part of any tree.
	ListenerStatistics *Table[*storepb.ListenerStatistics]
	// AmphoraSecrets are the cluster's amphora CA and heartbeat key (nil until
	// InitAmphoraSecrets applied). Never rendered by the API.
	AmphoraSecrets *storepb.AmphoraSecrets
	// blazar holds Blazar's hosts, leases and allocations (blazar.go), read
	// through their queries (Host, Lease, AllocationsOfHost, EventsDueBy, …).
	blazar blazarTables
	// mogan holds Mogan's instances and instance types (mogan.go), read
	// through their queries (Instance, InstanceOnHost, InstancesBuilding, …).
	mogan moganTables
}

// Index names. IndexID (the primary key) answers id filters in every table.
const (
	IndexID                      = "id"
	IndexName                    = "name"
	IndexProvisioningStatus      = "provisioning_status" // partial: PENDING_* only
	IndexLoadBalancer            = "loadbalancer_id"
	IndexPool                    = "pool_id"
	IndexListener                = "listener_id"
	IndexL7Policy                = "l7policy_id"
	IndexDefaultPool             = "default_pool_id"
	IndexRedirectPool            = "redirect_pool_id"
	IndexFlavor                  = "flavor_id"
	IndexFlavorProfile           = "flavor_profile_id"
	IndexAvailabilityZone        = "availability_zone"
	IndexAvailabilityZoneProfile = "availability_zone_profile_id"
	IndexStatus                  = "status"
	IndexVipAddress              = "vip_address" // partial: loopback addresses only
	IndexVipPort                 = "vip_port_id" // partial: named ports only
	// IndexVipClaims (multi-valued) maps each address claim — subnet and address,
	// primary or additional VIP — to the load balancer holding it.
	IndexVipClaims = "vip_claims"
)

// exact builds an exact-match index from a field's getter and setter.
func exact[T Entity](field func(T) string) ExactIndex[T] {
	return ExactIndex[T]{Field: field}
}

// amphoraAllocated is the status of every amphora serving its load balancer.
const amphoraAllocated = "ALLOCATED"

// transientAmphoraStatusIndex indexes amphorae by status, except ALLOCATED: nearly
// every amphora is ALLOCATED, so an index entry for it would cost every write
// comparisons that all tie on the status, and a list filtered on it finds its
// matches densely by walking the table anyway. The rare statuses (BOOTING,
// PENDING_DELETE, ERROR, …) are what an operator looks for, and those the index answers.
func transientAmphoraStatusIndex() ExactIndex[*storepb.Amphora] {
	ix := exact((*storepb.Amphora).GetStatus)
	ix.Covers = func(status string) bool { return status != amphoraAllocated }
	ix.Include = func(a *storepb.Amphora) bool { return a.GetStatus() != amphoraAllocated }
	return ix
}

func pendingIndex[T Entity](field func(T) string) ExactIndex[T] {
	ix := exact(field)
	ix.Covers, ix.Include = isPending, func(v T) bool { return isPending(field(v)) }
	return ix
}

var (
	loadBalancerSchema = &Schema[*storepb.LoadBalancer]{
		Name: "loadbalancers",
		Pivot: func(project string, created int64, id string) *storepb.LoadBalancer {
			return &storepb.LoadBalancer{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.LoadBalancer]{
			IndexName:               exact((*storepb.LoadBalancer).GetName),
			IndexProvisioningStatus: pendingIndex((*storepb.LoadBalancer).GetProvisioningStatus),
			IndexFlavor:             exact((*storepb.LoadBalancer).GetFlavorId),
			IndexVipAddress:         vipAddressIndex(),
			IndexVipPort:            vipPortIndex(),
			IndexAvailabilityZone:   exact((*storepb.LoadBalancer).GetAvailabilityZone),
		},
		Multi: map[string]MultiIndex[*storepb.LoadBalancer]{IndexVipClaims: {Keys: vipClaimKeys}},
	}
	listenerSchema = &Schema[*storepb.Listener]{
		Name: "listeners",
		Pivot: func(project string, created int64, id string) *storepb.Listener {
			return &storepb.Listener{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Listener]{
			IndexName:         exact((*storepb.Listener).GetName),
			IndexLoadBalancer: exact((*storepb.Listener).GetLoadbalancerId),
			IndexDefaultPool:  exact((*storepb.Listener).GetDefaultPoolId),
		},
	}
	poolSchema = &Schema[*storepb.Pool]{
		Name: "pools",
		Pivot: func(project string, created int64, id string) *storepb.Pool {
			return &storepb.Pool{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Pool]{
			IndexName:         exact((*storepb.Pool).GetName),
			IndexLoadBalancer: exact((*storepb.Pool).GetLoadbalancerId),
		},
	}
	memberSchema = &Schema[*storepb.Member]{
		Name: "members",
		Pivot: func(project string, created int64, id string) *storepb.Member {
			return &storepb.Member{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Member]{
			IndexName:         exact((*storepb.Member).GetName),
			IndexPool:         exact((*storepb.Member).GetPoolId),
			IndexLoadBalancer: exact((*storepb.Member).GetLoadbalancerId),
		},
	}
	healthMonitorSchema = &Schema[*storepb.HealthMonitor]{
		Name: "healthmonitors",
		Pivot: func(project string, created int64, id string) *storepb.HealthMonitor {
			return &storepb.HealthMonitor{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.HealthMonitor]{
			IndexName:         exact((*storepb.HealthMonitor).GetName),
			IndexPool:         exact((*storepb.HealthMonitor).GetPoolId),
			IndexLoadBalancer: exact((*storepb.HealthMonitor).GetLoadbalancerId),
		},
	}
	l7PolicySchema = &Schema[*storepb.L7Policy]{
		Name: "l7policies",
		Pivot: func(project string, created int64, id string) *storepb.L7Policy {
			return &storepb.L7Policy{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.L7Policy]{
			IndexName:         exact((*storepb.L7Policy).GetName),
			IndexListener:     exact((*storepb.L7Policy).GetListenerId),
			IndexLoadBalancer: exact((*storepb.L7Policy).GetLoadbalancerId),
			IndexRedirectPool: exact((*storepb.L7Policy).GetRedirectPoolId),
		},
	}
	l7RuleSchema = &Schema[*storepb.L7Rule]{
		Name: "l7rules",
		Pivot: func(project string, created int64, id string) *storepb.L7Rule {
			return &storepb.L7Rule{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.L7Rule]{
			IndexL7Policy:     exact((*storepb.L7Rule).GetL7PolicyId),
			IndexLoadBalancer: exact((*storepb.L7Rule).GetLoadbalancerId),
		},
	}
	amphoraSchema = &Schema[*storepb.Amphora]{
		Name: "amphorae",
		Pivot: func(project string, created int64, id string) *storepb.Amphora {
			return &storepb.Amphora{ProjectId: project, CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Amphora]{
			IndexLoadBalancer: exact((*storepb.Amphora).GetLoadbalancerId),
			IndexStatus:       transientAmphoraStatusIndex(),
		},
	}
	quotaSchema = &Schema[*storepb.Quota]{
		Name: "quotas",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.Quota {
			return &storepb.Quota{Id: firstNonEmpty(id, project), CreatedAt: created}
		},
	}
	flavorSchema = &Schema[*storepb.Flavor]{
		Name: "flavors",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.Flavor {
			return &storepb.Flavor{CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Flavor]{
			IndexName:          exact((*storepb.Flavor).GetName),
			IndexFlavorProfile: exact((*storepb.Flavor).GetFlavorProfileId),
		},
	}
	flavorProfileSchema = &Schema[*storepb.FlavorProfile]{
		Name: "flavorprofiles",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.FlavorProfile {
			return &storepb.FlavorProfile{CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.FlavorProfile]{
			IndexName: exact((*storepb.FlavorProfile).GetName),
		},
	}
	availabilityZoneSchema = &Schema[*storepb.AvailabilityZone]{
		Name: "availabilityzones",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.AvailabilityZone {
			return &storepb.AvailabilityZone{CreatedAt: created, Name: id}
		},
		Exact: map[string]ExactIndex[*storepb.AvailabilityZone]{
			IndexAvailabilityZoneProfile: exact((*storepb.AvailabilityZone).GetAvailabilityZoneProfileId),
		},
	}
	availabilityZoneProfileSchema = &Schema[*storepb.AvailabilityZoneProfile]{
		Name: "availabilityzoneprofiles",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.AvailabilityZoneProfile {
			return &storepb.AvailabilityZoneProfile{CreatedAt: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.AvailabilityZoneProfile]{
			IndexName: exact((*storepb.AvailabilityZoneProfile).GetName),
		},
	}
)

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// vipAddressIndex indexes the load balancers whose VIP address is the local
// amphora driver's, a loopback address exclusive on the host
// (LoadBalancerWithVip); it answers a vip_address filter for those. Addresses
// claimed in a subnet are IndexVipClaims's.
func vipAddressIndex() ExactIndex[*storepb.LoadBalancer] {
	ix := exact((*storepb.LoadBalancer).GetVipAddress)
	ix.Covers = isLoopbackVip
	ix.Include = func(lb *storepb.LoadBalancer) bool { return isLoopbackVip(lb.VipAddress) }
	return ix
}

// vipClaimKeys are a load balancer's keys in IndexVipClaims: one per address it
// claims (storepb.LoadBalancer.VipAddressClaims: named ones only, so the
// addresses the noop driver records from ids cost no entry).
func vipClaimKeys(lb *storepb.LoadBalancer) []string {
	claims := lb.VipAddressClaims()
	if len(claims) == 0 {
		return nil
	}
	keys := make([]string, len(claims))
	for i, c := range claims {
		keys[i] = vipClaimKey(c.SubnetId, c.IpAddress)
	}
	return keys
}

// vipClaimKey is the key of an address claim: the subnet and the address in
// canonical form (2001:DB8:0::1 and 2001:db8::1 are one address to Neutron,
// though keel keeps and shows each as it was sent).
func vipClaimKey(subnet, addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		addr = a.String()
	}
	return subnet + "/" + addr
}

// vipPortIndex indexes the load balancers whose VIP port id a request named (the
// derived ones are found from the id: VipPortHolder). It answers no filter.
func vipPortIndex() ExactIndex[*storepb.LoadBalancer] {
	ix := exact((*storepb.LoadBalancer).GetVipPortId)
	ix.Covers = func(string) bool { return false }
	ix.Include = (*storepb.LoadBalancer).NamedVipPort
	return ix
}

func isLoopbackVip(addr string) bool { return strings.HasPrefix(addr, "127.") }

func isPending(status string) bool { return len(status) > 8 && status[:8] == "PENDING_" }

func newState() *State {
	st := &State{
		LoadBalancers:            NewTable(loadBalancerSchema),
		Quotas:                   NewTable(quotaSchema),
		Flavors:                  NewTable(flavorSchema),
		FlavorProfiles:           NewTable(flavorProfileSchema),
		AvailabilityZones:        NewTable(availabilityZoneSchema),
		AvailabilityZoneProfiles: NewTable(availabilityZoneProfileSchema),
		ListenerStatistics:       NewTable(listenerStatisticsSchema),
		blazar:                   newBlazarTables(),
		mogan:                    newMoganTables(),
	}
	for _, k := range childKinds {
		k.newTable(st)
	}
	return st
}

func (s *State) clone() *State {
	st := &State{
		LoadBalancers:            s.LoadBalancers.Clone(),
		Quotas:                   s.Quotas.Clone(),
		Flavors:                  s.Flavors.Clone(),
		FlavorProfiles:           s.FlavorProfiles.Clone(),
		AvailabilityZones:        s.AvailabilityZones.Clone(),
		AvailabilityZoneProfiles: s.AvailabilityZoneProfiles.Clone(),
		ListenerStatistics:       s.ListenerStatistics.Clone(),
		AmphoraSecrets:           s.AmphoraSecrets,
		blazar:                   s.blazar.clone(),
		mogan:                    s.mogan.clone(),
	}
	for _, k := range childKinds {
		k.cloneTable(st, s)
	}
	return st
}

// LoadBalancer returns the load balancer with id, or nil.
func (s *State) LoadBalancer(id string) *storepb.LoadBalancer {
	lb, _ := s.LoadBalancers.Get(id)
	return lb
}

// Collect returns every entity of t whose indexed field equals value, in id order.
func Collect[T Entity](t *Table[T], index, value string) []T {
	var out []T
	t.Equal(index, value, func(v T) bool {
		out = append(out, v)
		return true
	})
	return out
}

// Tree returns the load balancer id with its children (nil if it does not exist).
func (s *State) Tree(id string) *storepb.Tree {
	lb := s.LoadBalancer(id)
	if lb == nil {
		return nil
	}
	t := &storepb.Tree{LoadBalancer: lb}
	for _, k := range childKinds {
		k.collect(s, id, t)
	}
	return t
}

// StateStore publishes the FSM's tables to readers and the index of the last Raft
// entry the FSM applied, which linearizable reads wait on.
//
// Publishing is lazy: the FSM applies each batch to its working copy and marks it
// unpublished; the first reader after that takes a clone (O(1)). A clone makes
// every B-tree node shared, so the next write to each node copies it: published
// after every batch, as before, a create workload copied about 20 KB of B-tree
// nodes per load balancer on every node (the largest allocation in the 3-node
// create profile) for clones nobody read. Now writes with no reader between them
// change the working copy in place.
type StateStore struct {
	current atomic.Pointer[State]

	// writeMu is held by the FSM while it changes its working copy, and by a
	// reader taking a clone of the copy.
	writeMu sync.Mutex
	working *State      // the FSM's working copy (guarded by writeMu)
	stale   atomic.Bool // working holds writes that current lacks

	applied atomic.Uint64
	// remembered is how many requests the FSM's request table holds.
	remembered atomic.Int64
	// snapshots are the last snapshot's and restore's figures.
	snapshots snapshotStats
	mu        sync.Mutex
	advance   chan struct{} // closed and replaced each time applied moves
}

// NewStateStore returns a store with empty tables.
func NewStateStore() *StateStore {
	s := &StateStore{advance: make(chan struct{})}
	s.current.Store(newState())
	return s
}

// Current returns the latest tables: an immutable view, read without locks unless
// the FSM has applied writes since the last reader (then this one clones them,
// waiting for a batch being applied to finish). Everything applied up to
// AppliedIndex is in it. (Raft's snapshots are FSM.Snapshot.)
func (s *StateStore) Current() *State {
	if !s.stale.Load() {
		return s.current.Load()
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.stale.Load() {
		s.current.Store(s.working.clone())
		s.stale.Store(false)
	}
	return s.current.Load()
}

// peek runs fn on the latest tables without publishing them: on the published
// ones if nothing was written since, else on the FSM's working copy under the
// write lock. Periodic questions on the leader use it (the lease event
// scheduler's every 100 ms, the reconciler's every second): a clone per ask made
// every write after it copy each B-tree node it touched (~11% of the leader's
// allocations under a create load). fn must be short (it holds up the FSM) and
// keep no table, only rows (which are immutable).
func (s *StateStore) peek(fn func(*State)) {
	if !s.stale.Load() {
		fn(s.current.Load())
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	fn(s.working)
}

// NextEventTime is Current().NextEventTime(), without publishing the tables.
func (s *StateStore) NextEventTime() (next int64, ok bool) {
	s.peek(func(st *State) { next, ok = st.NextEventTime() })
	return next, ok
}

// beginWrite hands the FSM its working copy to change; endWrite marks the changes
// for the next reader to publish.
func (s *StateStore) beginWrite() *State {
	s.writeMu.Lock()
	return s.working
}

func (s *StateStore) endWrite() {
	s.stale.Store(true)
	s.writeMu.Unlock()
}

// replaceWorking makes st the FSM's working copy and publishes it (restore).
func (s *StateStore) replaceWorking(st *State) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.working = st
	s.current.Store(st.clone())
	s.stale.Store(false)
}

// RememberedRequests is how many applied requests the FSM remembers (until their
// deadlines) to answer a retry with the original result.
func (s *StateStore) RememberedRequests() int64 { return s.remembered.Load() }

// AppliedIndex is the index of the last Raft entry applied to these tables.
func (s *StateStore) AppliedIndex() uint64 { return s.applied.Load() }

func (s *StateStore) setApplied(idx uint64) {
	s.applied.Store(idx)
	s.mu.Lock()
	close(s.advance)
	s.advance = make(chan struct{})
	s.mu.Unlock()
}

// WaitApplied blocks until the tables reflect Raft index idx or ctx ends.
func (s *StateStore) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		s.mu.Lock()
		ch := s.advance
		s.mu.Unlock()
		if s.applied.Load() >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LoadBalancer returns the load balancer with id from the latest tables, or nil.
func (s *StateStore) LoadBalancer(id string) *storepb.LoadBalancer {
	return s.Current().LoadBalancer(id)
}

// PendingLoadBalancers returns the load balancers in a PENDING_* provisioning
// status (the reconciler's scan, served by a partial index).
func (s *StateStore) PendingLoadBalancers() []*storepb.LoadBalancer {
	var out []*storepb.LoadBalancer
	s.peek(func(st *State) {
		for _, status := range []string{"PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE"} {
			st.LoadBalancers.Equal(IndexProvisioningStatus, status, func(lb *storepb.LoadBalancer) bool {
				out = append(out, lb)
				return true
			})
		}
	})
	return out
}

// CountLoadBalancers returns how many load balancers are stored.
func (s *StateStore) CountLoadBalancers() int { return s.Current().LoadBalancers.Len() }

// treeLoadBalancerSchema is loadBalancerSchema without its exact-match and
// multi-valued indexes, for StateOf (a query on one of them panics, naming it).
var treeLoadBalancerSchema = &Schema[*storepb.LoadBalancer]{Name: loadBalancerSchema.Name, Pivot: loadBalancerSchema.Pivot}

// emptyState's tables stand in for the tables StateOf is given no rows for. Nothing
// writes them: a State from StateOf is read-only.
var emptyState = newState()

// NewState returns a State with empty, writable tables.
func NewState() *State { return newState() }

// StateOf builds a read-only State holding only a tree's rows (to render a grain's
// reply with the same code that renders the store's rows). Tables it has no rows
// for are shared empty ones, so a reply costs only its own tables.
//
// Its load balancer table has no secondary indexes (treeLoadBalancerSchema): it
// holds the tree's one load balancer, which a render reads by id; building the
// full table's ten B-trees for it was ~5% of a 1-node create's allocations. The
// children's tables keep theirs (a render collects a load balancer's listeners
// and pools by them).
func StateOf(t *storepb.Tree) *State {
	st := *emptyState
	if lb := t.GetLoadBalancer(); lb != nil {
		st.LoadBalancers = tableOf(treeLoadBalancerSchema, []*storepb.LoadBalancer{lb})
	}
	if t != nil {
		for _, k := range childKinds {
			k.tableOf(&st, t)
		}
	}
	return &st
}

func tableOf[T Entity](s *Schema[T], rows []T) *Table[T] {
	t := NewTable(s)
	for _, x := range rows {
		t.Put(x)
	}
	return t
}
