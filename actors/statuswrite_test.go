package actors_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store/storepb"
)

// Writes that change only the load balancer's statuses send those, not its row
// (the provider step, a child's create); the row the FSM makes of them is the one
// the grain caches, so a later whole-row write and its reply agree with the store.
func TestStatusOnlyWritesSendStatuses(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, actors.Settings{ProvisionDelay: 20 * time.Millisecond, IdleTimeout: time.Minute})
	const id = "5d2c3a9e-0000-4000-8000-0000000000cd"
	ctx := context.Background()
	lbStatus := func() string { return s.State().LoadBalancer(id).GetProvisioningStatus() }
	waitActive := func(after string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for lbStatus() != actors.StatusActive {
			if time.Now().After(deadline) {
				t.Fatalf("load balancer %s 5 s after %s", lbStatus(), after)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := actors.CallLoadBalancer(ctx, m.client, id, (*actorspb.LoadBalancerGrainClient).Create,
		&actorspb.CreateLoadBalancerRequest{Caller: caller("req-sw-1", 0), Tree: &storepb.Tree{
			LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "p", Name: "statuses", AdminStateUp: true, Tags: []string{"a"}}}}); err != nil {
		t.Fatal(err)
	}
	waitActive("the create")
	if _, err := actors.CallLoadBalancer(ctx, m.client, id, (*actorspb.LoadBalancerGrainClient).CreateListener,
		&actorspb.CreateListenerRequest{Caller: caller("req-sw-2", 0), Listener: &storepb.Listener{
			Name: "l", Protocol: "HTTP", ProtocolPort: 80, AdminStateUp: true}}); err != nil {
		t.Fatal(err)
	}
	waitActive("the listener's create")

	for _, intent := range []storepb.TreeTransaction_Intent{storepb.TreeTransaction_CREATE_LISTENER, storepb.TreeTransaction_COMPLETE_PROVISIONING} {
		ws := s.treeWrites(intent)
		if len(ws) == 0 {
			t.Fatalf("no %s proposed", intent)
		}
		for _, w := range ws {
			if w.LoadBalancer != nil || w.LoadBalancerStatus == nil {
				t.Errorf("%s sent row %v, statuses %v; want the statuses only", intent, w.LoadBalancer, w.LoadBalancerStatus)
			}
		}
	}
	for _, w := range s.treeWrites(storepb.TreeTransaction_CREATE_LOAD_BALANCER) {
		if w.LoadBalancer == nil || w.LoadBalancerStatus != nil {
			t.Errorf("the create sent row %v, statuses %v; want its row", w.LoadBalancer, w.LoadBalancerStatus)
		}
	}

	// A rename changes more than statuses: the whole row travels, and the grain's
	// reply (its cache after the write) is the stored row.
	r, err := actors.CallLoadBalancer(ctx, m.client, id, (*actorspb.LoadBalancerGrainClient).Update,
		&actorspb.UpdateLoadBalancerRequest{Caller: caller("req-sw-3", 0), Values: &storepb.LoadBalancer{Id: id, Name: "renamed"},
			Fields: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	if ws := s.treeWrites(storepb.TreeTransaction_UPDATE_LOAD_BALANCER); len(ws) != 1 || ws[0].LoadBalancer.GetName() != "renamed" {
		t.Fatalf("the rename sent %v", ws)
	}
	if got, stored := r.GetTree().GetLoadBalancer(), s.State().LoadBalancer(id); !proto.Equal(got, stored) {
		t.Fatalf("the grain's row after the rename:\n%v\nthe store's:\n%v", got, stored)
	}
}
