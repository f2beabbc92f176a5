package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

// grainTestSettings keep the provider step from running: a test's FSM changes
// only when the test, or the call it makes, changes it.
var grainTestSettings = actors.Settings{ProvisionDelay: time.Hour, IdleTimeout: time.Minute}

// seedLoadBalancer stores an ACTIVE load balancer id of project p, named old-<id>.
func seedLoadBalancer(t *testing.T, s *fsmStore, id string) {
	t.Helper()
	s.write(t, &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: &storepb.LoadBalancer{
			Id: id, ProjectId: "p", Name: "old-" + id, AdminStateUp: true, Topology: "SINGLE",
			ProvisioningStatus: actors.StatusActive, OperatingStatus: actors.OperatingOnline,
			CreatedAt: time.Now().UnixMicro()}}}}})
}

// treeWriteOf returns the write set a load balancer grain's command carries.
func treeWriteOf(cmd *storepb.Command) *storepb.TreeWrite {
	m := cmd.ProtoReflect()
	op := m.Get(m.WhichOneof(m.Descriptor().Oneofs().ByName("op"))).Message().Interface()
	return op.(interface{ GetWrite() *storepb.TreeWrite }).GetWrite()
}

func listenerOf(lbID string) string { return "listener-" + lbID }
func poolOf(lbID string) string     { return "pool-" + lbID }

var (
	createLoadBalancer = operation{
		name: "Create", replies: true, quota: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).Create,
				&actorspb.CreateLoadBalancerRequest{Caller: caller, Tree: &storepb.Tree{
					LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "p", Name: newName + id, AdminStateUp: true}}})
			return r.GetTree().GetLoadBalancer().GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) { treeWriteOf(cmd).LoadBalancer.Name = name },
	}
	updateLoadBalancer = operation{
		name: "Update", arrange: seedLoadBalancer, readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).Update,
				&actorspb.UpdateLoadBalancerRequest{Caller: caller, Values: &storepb.LoadBalancer{Id: id, Name: newName + id},
					Fields: []string{"name"}})
			return r.GetTree().GetLoadBalancer().GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) { treeWriteOf(cmd).LoadBalancer.Name = name },
	}
	deleteLoadBalancer = operation{
		name: "Delete", arrange: seedLoadBalancer, readsFirst: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			_, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).Delete,
				&actorspb.DeleteLoadBalancerRequest{Caller: caller})
			return "", err
		},
		rename: func(cmd *storepb.Command, name string) { treeWriteOf(cmd).LoadBalancer.Name = name },
	}
	createListener = operation{
		name: "CreateListener", arrange: seedLoadBalancer, readsFirst: true, replies: true, quota: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).CreateListener,
				&actorspb.CreateListenerRequest{Caller: caller, Listener: &storepb.Listener{
					Id: listenerOf(id), Name: newName + id, Protocol: "HTTP", ProtocolPort: 80, AdminStateUp: true}})
			return r.GetListener().GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) {
			for _, l := range treeWriteOf(cmd).Listeners {
				if l.Id == listenerOf(l.LoadbalancerId) {
					l.Name = name
				}
			}
		},
	}
	createPool = operation{
		name: "CreatePool", arrange: seedLoadBalancer, readsFirst: true, replies: true, quota: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).CreatePool,
				&actorspb.CreatePoolRequest{Caller: caller, Pool: &storepb.Pool{
					Id: poolOf(id), Name: newName + id, Protocol: "HTTP", LbAlgorithm: "ROUND_ROBIN", AdminStateUp: true}})
			return r.GetPool().GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) {
			for _, p := range treeWriteOf(cmd).Pools {
				if p.Id == poolOf(p.LoadbalancerId) {
					p.Name = name
				}
			}
		},
	}
)

func TestLoadBalancerGrainUnderFaults(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	runFaultScenarios(t, s, m.client,
		[]operation{createLoadBalancer, updateLoadBalancer, deleteLoadBalancer, createListener, createPool})
}

// Other writers' commands on load balancer id, each at the version it has.

// lbChanged is an update of the load balancer by another writer.
func lbChanged(change func(lb *storepb.LoadBalancer)) func(st *store.State, id string) *storepb.Command {
	return func(st *store.State, id string) *storepb.Command {
		lb := proto.Clone(st.LoadBalancer(id)).(*storepb.LoadBalancer)
		change(lb)
		return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_UPDATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, ExpectedVersion: lb.Version, LoadBalancer: lb}}}}
	}
}

// lbPendingUpdate: another writer's update is in progress.
var lbPendingUpdate = lbChanged(func(lb *storepb.LoadBalancer) { lb.ProvisioningStatus = actors.StatusPendingUpdate })

// lbPurged: another writer's delete has completed.
func lbPurged(st *store.State, id string) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_PurgeLoadBalancer{PurgeLoadBalancer: &storepb.PurgeLoadBalancer{
		Id: id, ExpectedVersion: st.LoadBalancer(id).Version}}}
}

// lbCreated: another writer created a load balancer with the same id.
func lbCreated(_ *store.State, id string) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: &storepb.LoadBalancer{
			Id: id, ProjectId: "p", Name: "other", ProvisioningStatus: actors.StatusPendingCreate}}}}}
}

// lbListenerAdded: another writer added an ACTIVE HTTP listener on port 80 (its
// provider step already ran: the load balancer stays ACTIVE).
func lbListenerAdded(st *store.State, id string) *storepb.Command {
	lb := proto.Clone(st.LoadBalancer(id)).(*storepb.LoadBalancer)
	return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LISTENER, Write: &storepb.TreeWrite{LoadBalancerId: id, ExpectedVersion: lb.Version, LoadBalancer: lb,
			Listeners: []*storepb.Listener{{Id: uuid.NewString(), LoadbalancerId: id, ProjectId: "p", Name: "other",
				Protocol: "HTTP", ProtocolPort: 80, ProvisioningStatus: actors.StatusActive}}}}}}
}

// setQuota gives project p a quota row for the test's duration.
func setQuota(t *testing.T, s *fsmStore, q *storepb.Quota) {
	t.Helper()
	q.Id = "p"
	s.write(t, storepb.CatalogPut(q, 0))
	t.Cleanup(func() { s.write(t, storepb.CatalogDelete(storepb.CatalogKind_QUOTA, "p", 0)) })
}

func TestLoadBalancerGrainDecisions(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	lbOf := func(r *faultRun) *storepb.LoadBalancer { return s.State().LoadBalancer(r.id) }
	runDecisionCases(t, s, m.client, []decisionCase{
		{
			name: "lost the race to another create", op: createLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{lbCreated},
			want:   actors.KindConflict, message: "already exists",
		},
		{
			name: "lost the race to an update now pending", op: updateLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{lbPendingUpdate},
			want:   actors.KindConflict, message: "Invalid state PENDING_UPDATE of loadbalancer resource",
		},
		{
			name: "lost the race to a change that left it ACTIVE", op: updateLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{
				lbChanged(func(lb *storepb.LoadBalancer) { lb.Description = "other's" })},
			check: func(t *testing.T, r *faultRun) {
				// Decided again on the winner's row: both changes are stored.
				if lb := lbOf(r); lb.Name != newName+r.id || lb.Description != "other's" {
					t.Errorf("stored %q / %q, want both writers' changes", lb.Name, lb.Description)
				}
			},
		},
		{
			name: "lost every race", op: updateLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{
				lbChanged(func(lb *storepb.LoadBalancer) { lb.Description = "1" }),
				lbChanged(func(lb *storepb.LoadBalancer) { lb.Description = "2" }),
				lbChanged(func(lb *storepb.LoadBalancer) { lb.Description = "3" })},
			want: actors.KindConflict, message: "is being changed concurrently",
		},
		{
			name: "lost the race to a delete", op: updateLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{lbPurged},
			want:   actors.KindNotFound, message: "not found",
		},
		{
			name: "lost the race to a delete", op: deleteLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{lbPurged},
			want:   actors.KindNotFound, message: "not found",
		},
		{
			name: "lost the race to a new listener", op: deleteLoadBalancer,
			others: []func(*store.State, string) *storepb.Command{lbListenerAdded},
			want:   actors.KindInvalid, message: "it has children",
		},
		{
			name: "lost the race to an update now pending", op: createListener,
			others: []func(*store.State, string) *storepb.Command{lbPendingUpdate},
			want:   actors.KindConflict, message: "is immutable and cannot be updated",
		},
		{
			name: "lost the race to a listener on its port", op: createListener,
			others: []func(*store.State, string) *storepb.Command{lbListenerAdded},
			want:   actors.KindConflict, message: "already using protocol HTTP and protocol_port 80",
		},
		{
			name: "lost the race to a delete", op: createPool,
			others: []func(*store.State, string) *storepb.Command{lbPurged},
			want:   actors.KindNotFound, message: "not found",
		},
		{
			name: "over the project's quota", op: createLoadBalancer,
			arrange: func(t *testing.T, r *faultRun) { setQuota(t, r.store, &storepb.Quota{LoadBalancer: proto.Int32(0)}) },
			want:    actors.KindForbidden, message: "Quota has been met for resources: Load Balancer",
		},
		{
			name: "over the project's quota", op: createListener,
			arrange: func(t *testing.T, r *faultRun) { setQuota(t, r.store, &storepb.Quota{Listener: proto.Int32(0)}) },
			want:    actors.KindForbidden, message: "Quota has been met for resources: Listener",
		},
		{
			name: "reads nothing, so succeeds while reads fail", op: createLoadBalancer,
			arrange: func(t *testing.T, r *faultRun) {
				r.store.failBarrier(errNoLeader)
				t.Cleanup(func() { r.store.failBarrier(nil) })
			},
		},
		{
			// A refusal is answered only from a fresh read, never from a cache a
			// paused or duplicate activation may hold stale.
			name: "the cached tree is stale", op: updateLoadBalancer,
			arrange: func(t *testing.T, r *faultRun) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := r.call(ctx, caller(r.caller.RequestId+"/earlier", 0)); err != nil {
					t.Fatal(err) // the grain now caches the tree PENDING_UPDATE
				}
				r.store.write(t, lbChanged(func(lb *storepb.LoadBalancer) { lb.ProvisioningStatus = actors.StatusActive })(
					r.store.State().Current(), r.id))
			},
		},
		{
			// The refusal of a retried attempt is definite: the request is
			// resolved first, so its first attempt can no longer apply.
			name: "a retried attempt refused", op: updateLoadBalancer,
			arrange: func(t *testing.T, r *faultRun) {
				r.store.write(t, lbPendingUpdate(r.store.State().Current(), r.id))
				r.caller.Attempt = 1
			},
			want: actors.KindConflict, message: "Invalid state PENDING_UPDATE",
			check: func(t *testing.T, r *faultRun) {
				late := lbChanged(func(lb *storepb.LoadBalancer) { lb.Name = "late" })(r.store.State().Current(), r.id)
				late.RequestId, late.DeadlineUnixMs = r.caller.RequestId, r.caller.DeadlineUnixMs
				if res, err := r.store.applyOne(late); err != nil || res.Code != storepb.CommandResult_ABORTED {
					t.Errorf("the first attempt arriving after the refusal: %v %v, want ABORTED", res, err)
				}
			},
		},
	})
}
