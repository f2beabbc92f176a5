package actors_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/catalogpb"
	"keel/store"
	"keel/store/storepb"
)

// grainNode is one in-process node: a single-voter Raft store and a one-member
// actor cluster serving keel's grain kinds over it.
type grainNode struct {
	store  *store.Node
	client *actors.Client
}

func startGrainNode(t *testing.T, settings actors.Settings) *grainNode {
	t.Helper()
	rhost, rport := freeLoopback(t)
	raftAddr := net.JoinHostPort(rhost, itoa(rport))
	st, err := store.Open(store.Config{NodeID: "n1", DataDir: t.TempDir(), RaftAddr: raftAddr, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Bootstrap([]raft.Server{{ID: "n1", Address: raft.ServerAddress(raftAddr)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !st.LeaderReady() {
		if time.Now().After(deadline) {
			t.Fatal("no leader within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &grainNode{store: st, client: startGrainMember(t, st, settings).client}
}

func (n *grainNode) update(t *testing.T, lbID string, c *actorspb.Caller, name string) error {
	t.Helper()
	_, err := actors.CallLoadBalancer(context.Background(), n.client, lbID, (*actorspb.LoadBalancerGrainClient).Update,
		&actorspb.UpdateLoadBalancerRequest{Caller: c, Values: &storepb.LoadBalancer{Id: lbID, Name: name}, Fields: []string{"name"}})
	return err
}

func (n *grainNode) lb(t *testing.T, id string) *storepb.LoadBalancer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.store.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	return n.store.State().LoadBalancer(id)
}

func (n *grainNode) waitActive(t *testing.T, id string) *storepb.LoadBalancer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lb := n.lb(t, id)
		if lb != nil && lb.ProvisioningStatus == actors.StatusActive {
			return lb
		}
		if time.Now().After(deadline) {
			t.Fatalf("load balancer %s not ACTIVE within 10s: %v", id, lb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A retried request is applied at most once and a refusal of it means "not
// applied" (issue 8: a PUT applied twice after later writes, a 409 applied anyway).
func TestRetriedRequestsAreDefinite(t *testing.T) {
	n := startGrainNode(t, actors.Settings{ProvisionDelay: 300 * time.Millisecond, IdleTimeout: time.Minute})
	const lbID = "5d2c3a9e-0000-4000-8000-000000000001"
	_, err := actors.CallLoadBalancer(context.Background(), n.client, lbID, (*actorspb.LoadBalancerGrainClient).Create,
		&actorspb.CreateLoadBalancerRequest{Caller: caller("req-create", 0), Tree: &storepb.Tree{
			LoadBalancer: &storepb.LoadBalancer{Id: lbID, ProjectId: "p", Name: "first", AdminStateUp: true}}})
	if err != nil {
		t.Fatal(err)
	}
	n.waitActive(t, lbID)

	// put-1 applies; then put-2 moves the load balancer on.
	put1 := caller("req-put-1", 0)
	if err := n.update(t, lbID, put1, "one"); err != nil {
		t.Fatal(err)
	}
	n.waitActive(t, lbID)
	if err := n.update(t, lbID, caller("req-put-2", 0), "two"); err != nil {
		t.Fatal(err)
	}
	before := n.waitActive(t, lbID)

	// A late attempt of put-1 (as a grain-call retry delivers it) succeeds without
	// applying again: the name stays put-2's.
	late := caller("req-put-1", 1)
	late.DeadlineUnixMs = put1.DeadlineUnixMs
	if err := n.update(t, lbID, late, "one"); err != nil {
		t.Fatalf("late attempt of an applied request: %v", err)
	}
	if lb := n.lb(t, lbID); lb.Name != "two" || lb.Version != before.Version {
		t.Fatalf("late attempt applied again: name %q version %d (was %d)", lb.Name, lb.Version, before.Version)
	}

	// While put-3 holds the load balancer in PENDING_UPDATE, a retried attempt of
	// put-4 is refused (409); the refusal is definite: put-4's first attempt, still
	// in flight somewhere, can no longer apply.
	if err := n.update(t, lbID, caller("req-put-3", 0), "three"); err != nil {
		t.Fatal(err)
	}
	put4 := caller("req-put-4", 1)
	err = n.update(t, lbID, put4, "four")
	if e, ok := err.(*actors.Error); !ok || e.Kind != actors.KindConflict {
		t.Fatalf("retried put-4 while PENDING_UPDATE: %v, want a conflict", err)
	}
	cur := n.waitActive(t, lbID)
	zombie := &storepb.Command{RequestId: "req-put-4", DeadlineUnixMs: put4.DeadlineUnixMs,
		Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{Intent: storepb.TreeTransaction_UPDATE_LOAD_BALANCER, Write: &storepb.TreeWrite{
			LoadBalancerId: lbID, ExpectedVersion: cur.Version,
			LoadBalancer: &storepb.LoadBalancer{Id: lbID, ProjectId: "p", Name: "four", ProvisioningStatus: "PENDING_UPDATE"}}}}}
	res, err := n.store.Propose(context.Background(), zombie)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != storepb.CommandResult_ABORTED {
		t.Fatalf("first attempt of a refused request after the refusal: %v, want ABORTED", res)
	}
	if lb := n.lb(t, lbID); lb.Name != "three" {
		t.Fatalf("name %q after the refused request's zombie, want three", lb.Name)
	}
}

// A retried create of a load balancer an earlier attempt created is answered
// with the load balancer, not "already exists": the FSM's request table, not
// the row, remembers who created it.
func TestRetriedCreateIsAnsweredAsApplied(t *testing.T) {
	n := startGrainNode(t, actors.Settings{ProvisionDelay: 50 * time.Millisecond, IdleTimeout: time.Minute})
	const lbID = "5d2c3a9e-0000-4000-8000-000000000002"
	create := func(c *actorspb.Caller) (*actorspb.LoadBalancerReply, error) {
		return actors.CallLoadBalancer(context.Background(), n.client, lbID, (*actorspb.LoadBalancerGrainClient).Create,
			&actorspb.CreateLoadBalancerRequest{Caller: c, Tree: &storepb.Tree{
				LoadBalancer: &storepb.LoadBalancer{Id: lbID, ProjectId: "p", Name: "lb", AdminStateUp: true}}})
	}
	first := caller("req-create", 0)
	if _, err := create(first); err != nil {
		t.Fatal(err)
	}
	n.waitActive(t, lbID)
	retry := caller("req-create", 1)
	retry.DeadlineUnixMs = first.DeadlineUnixMs
	reply, err := create(retry)
	if err != nil {
		t.Fatalf("retried create: %v", err)
	}
	if got := reply.GetTree().GetLoadBalancer().GetId(); got != lbID {
		t.Fatalf("retried create answered %q", got)
	}
	// Another request creating the same id is refused.
	if _, err := create(caller("req-other", 1)); err == nil {
		t.Fatal("a second create of the same id succeeded")
	} else if e, ok := err.(*actors.Error); !ok || e.Kind != actors.KindConflict {
		t.Fatalf("second create: %v, want a conflict", err)
	}
}

// The catalog grain answers retried requests as the FSM decided them: a create
// or delete an earlier attempt applied succeeds again, and a refusal of a retried
// request is definite.
func TestCatalogRetriesAreDefinite(t *testing.T) {
	n := startGrainNode(t, actors.Settings{ProvisionDelay: 50 * time.Millisecond, IdleTimeout: time.Minute})
	ctx := context.Background()
	const id = "7a1b2c3d-0000-4000-8000-000000000001"
	create := func(c *actorspb.Caller) (storepb.CatalogEntity, error) {
		return actors.CallCatalog(ctx, n.client, &catalogpb.WriteRequest{Caller: c, Kind: storepb.CatalogKind_FLAVOR_PROFILE,
			Op: catalogpb.WriteRequest_CREATE, Key: id,
			Row: storepb.NewCatalogRow(&storepb.FlavorProfile{Name: "fp", ProviderName: "amphora", FlavorData: "{}"})})
	}
	remove := func(c *actorspb.Caller, key string) error {
		_, err := actors.CallCatalog(ctx, n.client, &catalogpb.WriteRequest{Caller: c, Kind: storepb.CatalogKind_FLAVOR_PROFILE,
			Op: catalogpb.WriteRequest_DELETE, Key: key})
		return err
	}
	first := caller("req-fp-create", 0)
	if _, err := create(first); err != nil {
		t.Fatal(err)
	}
	retry := caller("req-fp-create", 1)
	retry.DeadlineUnixMs = first.DeadlineUnixMs
	reply, err := create(retry)
	if err != nil {
		t.Fatalf("retried create: %v", err)
	}
	if fp, _ := reply.(*storepb.FlavorProfile); fp.GetId() != id || fp.GetVersion() == 0 {
		t.Fatalf("retried create answered %v", reply)
	}

	del := caller("req-fp-delete", 0)
	if err := remove(del, id); err != nil {
		t.Fatal(err)
	}
	again := caller("req-fp-delete", 1)
	again.DeadlineUnixMs = del.DeadlineUnixMs
	if err := remove(again, id); err != nil {
		t.Fatalf("retried delete after it applied: %v", err)
	}

	// A retried delete of a row that never existed is refused, and its first
	// attempt can no longer apply.
	const ghost = "7a1b2c3d-0000-4000-8000-000000000002"
	ghostDel := caller("req-ghost-delete", 1)
	if err := remove(ghostDel, ghost); err == nil {
		t.Fatal("delete of a missing row succeeded")
	} else if e, ok := err.(*actors.Error); !ok || e.Kind != actors.KindNotFound {
		t.Fatalf("delete of a missing row: %v, want not found", err)
	}
	zombie := storepb.CatalogPut(&storepb.FlavorProfile{Id: ghost, Name: "zombie", ProviderName: "amphora", FlavorData: "{}"}, 0)
	zombie.RequestId, zombie.DeadlineUnixMs = "req-ghost-delete", ghostDel.DeadlineUnixMs
	res, err := n.store.Propose(ctx, zombie)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != storepb.CommandResult_ABORTED {
		t.Fatalf("first attempt of a refused request after the refusal: %v, want ABORTED", res)
	}
}
