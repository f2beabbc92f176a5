package actors_test

import (
	"context"
	"testing"
	"time"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/cluster"
	"keel/store/storepb"
)

// A load balancer grain passivates after its idle time, through the real kind's
// props and the cluster's middleware (which hands the grain its ClusterInit
// itself, past any middleware outside it).
func TestGrainPassivatesWhenIdle(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, actors.Settings{ProvisionDelay: time.Hour, IdleTimeout: 300 * time.Millisecond})
	lookup := m.cluster.Config.IdentityLookup.(*cluster.PlacementLookup)
	const id = "5d2c3a9e-0000-4000-8000-0000000000aa"
	_, err := actors.CallLoadBalancer(context.Background(), m.client, id, (*actorspb.LoadBalancerGrainClient).Create,
		&actorspb.CreateLoadBalancerRequest{Caller: caller("req-passivate", 0), Tree: &storepb.Tree{
			LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "p", Name: "idle", AdminStateUp: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := lookup.Active(); n != 1 {
		t.Fatalf("%d grains active after the call, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lookup.Active() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d grains still active 5 s after an idle time of 300 ms", lookup.Active())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A load balancer grain whose provider step is done passivates after the settled
// idle time, well before its full idle time.
func TestGrainPassivatesOnceSettled(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, actors.Settings{ProvisionDelay: 50 * time.Millisecond, IdleTimeout: time.Minute,
		SettledIdleTimeout: 300 * time.Millisecond})
	lookup := m.cluster.Config.IdentityLookup.(*cluster.PlacementLookup)
	const id = "5d2c3a9e-0000-4000-8000-0000000000ab"
	_, err := actors.CallLoadBalancer(context.Background(), m.client, id, (*actorspb.LoadBalancerGrainClient).Create,
		&actorspb.CreateLoadBalancerRequest{Caller: caller("req-settle", 0), Tree: &storepb.Tree{
			LoadBalancer: &storepb.LoadBalancer{Id: id, ProjectId: "p", Name: "settles", AdminStateUp: true}}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for lookup.Active() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d grains still active 10 s after the create (settled idle time 300 ms, idle time 1 min)", lookup.Active())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lb := s.State().LoadBalancer(id); lb == nil || lb.ProvisioningStatus != actors.StatusActive {
		t.Fatalf("load balancer after its grain passivated: %v", lb)
	}
}
