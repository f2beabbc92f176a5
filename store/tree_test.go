package store

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func treeCmd(req string, w *storepb.TreeWrite) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{Intent: storepb.TreeTransaction_UPDATE_LISTENER, Write: w}}}
}

func listener(id, lb, project string) *storepb.Listener {
	return &storepb.Listener{Id: id, LoadbalancerId: lb, ProjectId: project, Protocol: "HTTP", ProtocolPort: 80, ProvisioningStatus: "PENDING_CREATE"}
}

// TestTreeWrites covers the tree's compare-and-set, ownership checks, retries,
// deletes and the cascade purge.
func TestTreeWrites(t *testing.T) {
	f := NewFSM()
	res := applyCmds(t, f, 1, createCmd("c1", testLB("lb1", "p", 1)), createCmd("c2", testLB("lb2", "p", 2)))
	v1 := res[0].Version

	lb := withStatus(f.State().LoadBalancer("lb1"), "PENDING_UPDATE")
	w := &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: v1, LoadBalancer: lb,
		Listeners: []*storepb.Listener{listener("l1", "lb1", "p")},
		Pools:     []*storepb.Pool{{Id: "pool1", LoadbalancerId: "lb1", ProjectId: "p"}},
		Members:   []*storepb.Member{{Id: "m1", LoadbalancerId: "lb1", PoolId: "pool1", ProjectId: "p"}}}
	res = applyCmds(t, f, 2, treeCmd("t1", w))
	if res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("tree write: %v", res[0])
	}
	v2 := res[0].Version
	st := f.State().Current()
	if l, _ := st.Listeners.Get("l1"); l.Version != v2 {
		t.Fatalf("listener row: %v", l)
	}
	if tr := st.Tree("lb1"); len(tr.Listeners) != 1 || len(tr.Pools) != 1 || len(tr.Members) != 1 || tr.LoadBalancer.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("tree: %+v", tr)
	}

	// Retried after an ambiguous outcome: recognised, not applied twice.
	w2 := proto.Clone(w).(*storepb.TreeWrite)
	if res = applyCmds(t, f, 3, treeCmd("t1", w2)); res[0].Code != storepb.CommandResult_OK || res[0].Version != v2 {
		t.Fatalf("retry: %v", res[0])
	}
	// A stale writer loses.
	w3 := proto.Clone(w).(*storepb.TreeWrite)
	if res = applyCmds(t, f, 4, treeCmd("other", w3)); res[0].Code != storepb.CommandResult_CONFLICT {
		t.Fatalf("stale write: %v", res[0])
	}
	// Writing another tree's object, or an object claiming another tree, is refused.
	lb2 := f.State().LoadBalancer("lb2")
	steal := &storepb.TreeWrite{LoadBalancerId: "lb2", ExpectedVersion: lb2.Version, LoadBalancer: proto.Clone(lb2).(*storepb.LoadBalancer),
		Listeners: []*storepb.Listener{listener("l1", "lb2", "p")}}
	if res = applyCmds(t, f, 5, treeCmd("steal", steal)); res[0].Code != storepb.CommandResult_INVALID {
		t.Fatalf("cross-tree write: %v", res[0])
	}
	mislabel := &storepb.TreeWrite{LoadBalancerId: "lb2", ExpectedVersion: lb2.Version, LoadBalancer: proto.Clone(lb2).(*storepb.LoadBalancer),
		Listeners: []*storepb.Listener{listener("l9", "lb1", "p")}}
	if res = applyCmds(t, f, 6, treeCmd("mislabel", mislabel)); res[0].Code != storepb.CommandResult_INVALID {
		t.Fatalf("mislabelled write: %v", res[0])
	}

	// Deletes remove rows and their index entries.
	del := &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: v2, LoadBalancer: withStatus(f.State().LoadBalancer("lb1"), "ACTIVE"),
		DeleteMembers: []string{"m1"}}
	if res = applyCmds(t, f, 7, treeCmd("d1", del)); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("delete: %v", res[0])
	}
	if st := f.State().Current(); len(Collect(st.Members, IndexPool, "pool1")) != 0 {
		t.Fatal("deleted member still indexed")
	}

	// Purge removes the whole tree, and only that tree.
	cur := f.State().LoadBalancer("lb1")
	res = applyCmds(t, f, 8, &storepb.Command{RequestId: "purge", Op: &storepb.Command_PurgeLoadBalancer{
		PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: "lb1", ExpectedVersion: cur.Version}}})
	if res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("purge: %v", res[0])
	}
	st = f.State().Current()
	if st.LoadBalancer("lb1") != nil || st.Listeners.Len() != 0 || st.Pools.Len() != 0 || st.LoadBalancer("lb2") == nil {
		t.Fatalf("after purge: lbs %d listeners %d pools %d", st.LoadBalancers.Len(), st.Listeners.Len(), st.Pools.Len())
	}
}

func quotaCmd(project string, lbs, listeners *int32) *storepb.Command {
	return withRequest("q-"+project, storepb.CatalogPut(&storepb.Quota{Id: project, LoadBalancer: lbs, Listener: listeners}, 0))
}

// withRequest gives a command its request id.
func withRequest(id string, cmd *storepb.Command) *storepb.Command {
	cmd.RequestId = id
	return cmd
}

func TestTreeQuotas(t *testing.T) {
	f := NewFSM()
	two, one := int32(2), int32(1)
	applyCmds(t, f, 1, quotaCmd("p", &two, &one))
	res := applyCmds(t, f, 2, createCmd("a", testLB("a", "p", 1)), createCmd("b", testLB("b", "p", 2)),
		createCmd("c", testLB("c", "p", 3)), createCmd("other", testLB("x", "q", 4)))
	if res[0].Code != storepb.CommandResult_OK || res[1].Code != storepb.CommandResult_OK || res[3].Code != storepb.CommandResult_OK {
		t.Fatalf("within quota: %v", res)
	}
	if res[2].Code != storepb.CommandResult_QUOTA_EXCEEDED || res[2].Message != "Quota has been met for resources: Load Balancer" {
		t.Fatalf("over quota: %v", res[2])
	}
	// One listener allowed: a write adding two is refused as a whole.
	lb := f.State().LoadBalancer("a")
	w := &storepb.TreeWrite{LoadBalancerId: "a", ExpectedVersion: lb.Version, LoadBalancer: proto.Clone(lb).(*storepb.LoadBalancer),
		Listeners: []*storepb.Listener{listener("l1", "a", "p"), listener("l2", "a", "p")}}
	if res = applyCmds(t, f, 3, treeCmd("two", w)); res[0].Code != storepb.CommandResult_QUOTA_EXCEEDED {
		t.Fatalf("two listeners over a quota of one: %v", res[0])
	}
	if f.State().Current().Listeners.Len() != 0 {
		t.Fatal("refused write left rows")
	}
	// Updating an existing object does not count against the quota.
	w.Listeners = w.Listeners[:1]
	if res = applyCmds(t, f, 4, treeCmd("one", w)); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("one listener: %v", res[0])
	}
	lb = f.State().LoadBalancer("a")
	upd := &storepb.TreeWrite{LoadBalancerId: "a", ExpectedVersion: lb.Version, LoadBalancer: proto.Clone(lb).(*storepb.LoadBalancer),
		Listeners: []*storepb.Listener{listener("l1", "a", "p")}}
	if res = applyCmds(t, f, 5, treeCmd("upd", upd)); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("update at quota: %v", res[0])
	}
	// Resetting the quota restores the default (unlimited).
	applyCmds(t, f, 6, withRequest("reset", storepb.CatalogDelete(storepb.CatalogKind_QUOTA, "p", 0)))
	if res = applyCmds(t, f, 7, createCmd("c2", testLB("c", "p", 3))); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("after reset: %v", res[0])
	}
}

func TestCatalogInvariants(t *testing.T) {
	f := NewFSM()
	apply := func(req string, cmd *storepb.Command) *storepb.CommandResult {
		return applyCmds(t, f, f.State().AppliedIndex()+1, withRequest(req, cmd))[0]
	}
	const (
		flavor      = storepb.CatalogKind_FLAVOR
		profile     = storepb.CatalogKind_FLAVOR_PROFILE
		zone        = storepb.CatalogKind_AVAILABILITY_ZONE
		zoneProfile = storepb.CatalogKind_AVAILABILITY_ZONE_PROFILE
	)
	if r := apply("fp", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp1", Name: "fp", ProviderName: "amphora", FlavorData: "{}"}, 0)); r.Code != storepb.CommandResult_OK {
		t.Fatal(r)
	}
	if r := apply("fp-again", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp1"}, 0)); r.Code != storepb.CommandResult_ALREADY_EXISTS {
		t.Fatalf("a second create of the key: %v", r)
	}
	if r := apply("f1", storepb.CatalogPut(&storepb.Flavor{Id: "f1", Name: "gold", FlavorProfileId: "fp1", Enabled: true}, 0)); r.Code != storepb.CommandResult_OK {
		t.Fatal(r)
	}
	if r := apply("f2", storepb.CatalogPut(&storepb.Flavor{Id: "f2", Name: "gold", FlavorProfileId: "fp1"}, 0)); r.Code != storepb.CommandResult_ALREADY_EXISTS || r.Message != "A flavor of gold already exists." {
		t.Fatalf("duplicate name: %v", r)
	}
	if r := apply("f3", storepb.CatalogPut(&storepb.Flavor{Id: "f3", Name: "x", FlavorProfileId: "nope"}, 0)); r.Code != storepb.CommandResult_NOT_FOUND || r.Message != "Flavor Profile nope not found." {
		t.Fatalf("missing profile: %v", r)
	}
	prof, _ := f.State().Current().FlavorProfiles.Get("fp1")
	if r := apply("fp-stale", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp1", Name: "renamed"}, prof.Version+100)); r.Code != storepb.CommandResult_CONFLICT || r.Version != prof.Version {
		t.Fatalf("stale version: %v", r)
	}
	if r := apply("fp-change", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp1", Name: "fp", ProviderName: "amphora",
		FlavorData: `{"loadbalancer_topology":"SINGLE"}`}, prof.Version)); r.Code != storepb.CommandResult_IN_USE {
		t.Fatalf("profile in use changed: %v", r)
	}
	// A used profile may be renamed; its provider and data stay.
	if r := apply("fp-rename", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp1", Name: "renamed", ProviderName: "amphora", FlavorData: "{}"}, prof.Version)); r.Code != storepb.CommandResult_OK {
		t.Fatalf("profile in use renamed: %v", r)
	}
	if got, _ := f.State().Current().FlavorProfiles.Get("fp1"); got.Name != "renamed" || got.CreatedAt != prof.CreatedAt {
		t.Fatalf("renamed profile %v", got)
	}
	if r := apply("fp-del", storepb.CatalogDelete(profile, "fp1", 0)); r.Code != storepb.CommandResult_IN_USE ||
		r.Message != "Flavor profile fp1 is in use and cannot be modified." {
		t.Fatalf("profile in use deleted: %v", r)
	}
	lb := testLB("lb", "p", 1)
	lb.FlavorId, lb.AvailabilityZone = "f1", "az"
	applyCmds(t, f, f.State().AppliedIndex()+1, createCmd("lb", lb))
	if r := apply("f-del", storepb.CatalogDelete(flavor, "f1", 0)); r.Code != storepb.CommandResult_IN_USE || r.Message != "Flavor f1 is in use and cannot be modified." {
		t.Fatalf("flavor in use deleted: %v", r)
	}
	if r := apply("f2-del", storepb.CatalogDelete(flavor, "f9", 0)); r.Code != storepb.CommandResult_NOT_FOUND {
		t.Fatalf("missing flavor: %v", r)
	}

	// Availability zones (keyed by name) and their profiles, by the same rules.
	if r := apply("az-orphan", storepb.CatalogPut(&storepb.AvailabilityZone{Name: "az", AvailabilityZoneProfileId: "azp"}, 0)); r.Code != storepb.CommandResult_NOT_FOUND ||
		r.Message != "Availability Zone Profile azp not found." {
		t.Fatalf("zone of a missing profile: %v", r)
	}
	apply("azp", storepb.CatalogPut(&storepb.AvailabilityZoneProfile{Id: "azp", ProviderName: "amphora", AvailabilityZoneData: "{}"}, 0))
	if r := apply("az", storepb.CatalogPut(&storepb.AvailabilityZone{Name: "az", AvailabilityZoneProfileId: "azp"}, 0)); r.Code != storepb.CommandResult_OK {
		t.Fatal(r)
	}
	zp, _ := f.State().Current().AvailabilityZoneProfiles.Get("azp")
	if r := apply("azp-change", storepb.CatalogPut(&storepb.AvailabilityZoneProfile{Id: "azp", ProviderName: "octavia", AvailabilityZoneData: "{}"}, zp.Version)); r.Code != storepb.CommandResult_IN_USE ||
		r.Message != "Availability Zone Profile azp is in use and cannot be modified." {
		t.Fatalf("zone profile in use changed: %v", r)
	}
	if r := apply("az-del", storepb.CatalogDelete(zone, "az", 0)); r.Code != storepb.CommandResult_IN_USE || r.Message != "Availability Zone az is in use and cannot be modified." {
		t.Fatalf("zone in use deleted: %v", r)
	}
	if r := apply("azp-del", storepb.CatalogDelete(zoneProfile, "azp", 0)); r.Code != storepb.CommandResult_IN_USE {
		t.Fatalf("zone profile in use deleted: %v", r)
	}

	// A PUT must carry a row of its kind.
	bad := storepb.CatalogPut(&storepb.Flavor{Id: "f4"}, 0)
	bad.GetCatalog().Kind = zone
	if r := apply("bad", bad); r.Code != storepb.CommandResult_INVALID {
		t.Fatalf("a flavor put as a zone: %v", r)
	}
}

// TestSnapshotCoversEveryTable round-trips one row of every table.
func TestSnapshotCoversEveryTable(t *testing.T) {
	f := NewFSM()
	lb := testLB("lb", "p", 1)
	w := &storepb.TreeWrite{LoadBalancerId: "lb", LoadBalancer: lb,
		Listeners:      []*storepb.Listener{listener("l", "lb", "p")},
		Pools:          []*storepb.Pool{{Id: "pool", LoadbalancerId: "lb", ProjectId: "p"}},
		Members:        []*storepb.Member{{Id: "m", LoadbalancerId: "lb", PoolId: "pool", ProjectId: "p"}},
		HealthMonitors: []*storepb.HealthMonitor{{Id: "hm", LoadbalancerId: "lb", PoolId: "pool", ProjectId: "p"}},
		L7Policies:     []*storepb.L7Policy{{Id: "pol", LoadbalancerId: "lb", ListenerId: "l", ProjectId: "p"}},
		L7Rules:        []*storepb.L7Rule{{Id: "rule", LoadbalancerId: "lb", L7PolicyId: "pol", ProjectId: "p"}},
		Amphorae:       []*storepb.Amphora{{Id: "amp", LoadbalancerId: "lb", ProjectId: "p"}}}
	ten := int32(10)
	applyCmds(t, f, 1,
		&storepb.Command{RequestId: "c", Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: w}}},
		quotaCmd("p", &ten, nil),
		withRequest("fp", storepb.CatalogPut(&storepb.FlavorProfile{Id: "fp"}, 0)),
		withRequest("f", storepb.CatalogPut(&storepb.Flavor{Id: "f", FlavorProfileId: "fp"}, 0)),
		withRequest("azp", storepb.CatalogPut(&storepb.AvailabilityZoneProfile{Id: "azp"}, 0)),
		withRequest("az", storepb.CatalogPut(&storepb.AvailabilityZone{Name: "az", AvailabilityZoneProfileId: "azp"}, 0)),
		statsCmd(&storepb.ListenerStatistics{AmphoraId: "amp", ListenerId: "l", BytesIn: 7}),
		hostPut("h", testHost("h", "node-h", map[string]string{"gpu": "a100"}), 0),
		leaseTx("lease", storepb.LeaseTransaction_CREATE_LEASE, testLease("lease", "p", 100, 200, "r"), 0,
			[]*storepb.Allocation{alloc("h", "r", "lease", 100, 200)}),
	)
	snap, _ := f.Snapshot()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(nopCloser{sink}); err != nil {
		t.Fatal(err)
	}
	a, b := f.State().Current(), g.State().Current()
	for name, pair := range map[string][2]int{
		"loadbalancers": {a.LoadBalancers.Len(), b.LoadBalancers.Len()}, "listeners": {a.Listeners.Len(), b.Listeners.Len()},
		"pools": {a.Pools.Len(), b.Pools.Len()}, "members": {a.Members.Len(), b.Members.Len()},
		"healthmonitors": {a.HealthMonitors.Len(), b.HealthMonitors.Len()}, "l7policies": {a.L7Policies.Len(), b.L7Policies.Len()},
		"l7rules": {a.L7Rules.Len(), b.L7Rules.Len()}, "amphorae": {a.Amphorae.Len(), b.Amphorae.Len()},
		"quotas": {a.Quotas.Len(), b.Quotas.Len()}, "flavors": {a.Flavors.Len(), b.Flavors.Len()},
		"flavorprofiles": {a.FlavorProfiles.Len(), b.FlavorProfiles.Len()}, "azs": {a.AvailabilityZones.Len(), b.AvailabilityZones.Len()},
		"azprofiles":          {a.AvailabilityZoneProfiles.Len(), b.AvailabilityZoneProfiles.Len()},
		"listener_statistics": {a.ListenerStatistics.Len(), b.ListenerStatistics.Len()},
		"hosts":               {a.HostsCount(), b.HostsCount()},
		"resource_properties": {len(a.ResourceProperties()), len(b.ResourceProperties())},
		"leases":              {len(a.Leases()), len(b.Leases())},
		"allocations":         {len(a.AllocationsOfLease("lease")), len(b.AllocationsOfLease("lease"))},
	} {
		if pair[0] != 1 || pair[1] != 1 {
			t.Errorf("%s: %d rows before, %d after restore", name, pair[0], pair[1])
		}
	}
	if tr := b.Tree("lb"); tr == nil || len(tr.L7Rules) != 1 || len(tr.Amphorae) != 1 {
		t.Fatalf("restored tree: %+v", tr)
	}
}

type nopCloser struct{ *memSink }

func (nopCloser) Close() error { return nil }

// A tree transaction must do what its intent names: only a create makes the load
// balancer, a create of a child inserts one, and an intent is required.
func TestTreeTransactionIntent(t *testing.T) {
	f := NewFSM()
	res := applyCmds(t, f, 1, createCmd("c1", testLB("lb1", "p", 1)))
	v1 := res[0].Version
	tx := func(req string, intent storepb.TreeTransaction_Intent, w *storepb.TreeWrite) *storepb.Command {
		return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{
			TreeTransaction: &storepb.TreeTransaction{Intent: intent, Write: w}}}
	}
	lb := func() *storepb.LoadBalancer {
		return proto.Clone(f.State().LoadBalancer("lb1")).(*storepb.LoadBalancer)
	}
	withListener := &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: v1, LoadBalancer: lb(),
		Listeners: []*storepb.Listener{listener("l1", "lb1", "p")}}

	cases := []struct {
		name   string
		cmd    *storepb.Command
		want   storepb.CommandResult_Code
		result string
	}{
		{"no intent", tx("a", storepb.TreeTransaction_INTENT_UNSPECIFIED, withListener), storepb.CommandResult_INVALID, "without an intent"},
		{"create of a missing tree by an update", tx("b", storepb.TreeTransaction_UPDATE_LOAD_BALANCER,
			&storepb.TreeWrite{LoadBalancerId: "lb9", LoadBalancer: testLB("lb9", "p", 9)}), storepb.CommandResult_NOT_FOUND, "not found"},
		{"a create that inserts no listener", tx("c", storepb.TreeTransaction_CREATE_LISTENER,
			&storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: v1, LoadBalancer: lb()}), storepb.CommandResult_INVALID, "CREATE_LISTENER inserts no new row"},
		{"a create of a pool that writes a listener", tx("d", storepb.TreeTransaction_CREATE_POOL, withListener), storepb.CommandResult_INVALID, "CREATE_POOL inserts no new row"},
		{"a create that inserts its listener", tx("e", storepb.TreeTransaction_CREATE_LISTENER, withListener), storepb.CommandResult_OK, ""},
	}
	for i, c := range cases {
		res := applyCmds(t, f, uint64(i+2), c.cmd)
		if res[0].Code != c.want || !strings.Contains(res[0].Message, c.result) {
			t.Errorf("%s: %v, want %v %q", c.name, res[0], c.want, c.result)
		}
	}
	// The same listener again is an update, not a create.
	again := &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: f.State().LoadBalancer("lb1").Version, LoadBalancer: lb(),
		Listeners: []*storepb.Listener{listener("l1", "lb1", "p")}}
	if res := applyCmds(t, f, 10, tx("f", storepb.TreeTransaction_CREATE_LISTENER, again)); res[0].Code != storepb.CommandResult_INVALID {
		t.Fatalf("re-create of an existing listener: %v", res[0])
	}
}
