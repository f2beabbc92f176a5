package actors_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"keel/actors"
	"keel/store/storepb"
)

// seedPendingLoadBalancer stores a load balancer left in status since touched
// (unix µs), as a grain that died mid-flow leaves it; it returns its id.
func seedPendingLoadBalancer(t *testing.T, s *fsmStore, status string, touched int64) string {
	t.Helper()
	id := uuid.NewString()
	s.write(t, &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, LoadBalancer: &storepb.LoadBalancer{
			Id: id, ProjectId: "p", Name: "stalled", AdminStateUp: true, Topology: "SINGLE",
			ProvisioningStatus: status, OperatingStatus: actors.OperatingOffline, CreatedAt: touched}}}}})
	return id
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The reconciler resumes, on the leader only, the flows of PENDING_* load
// balancers untouched for longer than its grace; a younger one is left to the
// grain that is driving it.
func TestReconcilerResumesStalledFlows(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	longAgo := time.Now().Add(-time.Minute).UnixMicro()
	stalledCreate := seedPendingLoadBalancer(t, s, actors.StatusPendingCreate, longAgo)
	stalledDelete := seedPendingLoadBalancer(t, s, actors.StatusPendingDelete, longAgo)
	young := seedPendingLoadBalancer(t, s, actors.StatusPendingCreate, time.Now().UnixMicro())
	status := func(id string) string {
		if lb := s.State().LoadBalancer(id); lb != nil {
			return lb.ProvisioningStatus
		}
		return "purged"
	}

	r := &actors.Reconciler{Store: s, Client: m.client, Interval: 10 * time.Millisecond, Grace: time.Minute / 2, Logger: quietLogger}
	r.Start()
	t.Cleanup(r.Stop)

	// Not the leader: the reconciler looks, and touches nothing.
	waitFor(t, "five leadership checks", func() bool { return s.leaderChecks.Load() >= 5 })
	if n := s.barrierCalls(); n != 0 {
		t.Errorf("%d grain reads while not the leader, want none", n)
	}
	if n := len(s.proposals("")); n != 0 {
		t.Errorf("%d provider steps while not the leader, want none", n)
	}

	// The leader: the stalled flows are resumed, and the provider step finishes them.
	s.leaderReady.Store(true)
	waitFor(t, "resumed flows", func() bool {
		return status(stalledCreate) == actors.StatusActive && status(stalledDelete) == "purged"
	})
	checks := s.leaderChecks.Load()
	waitFor(t, "three more passes", func() bool { return s.leaderChecks.Load() >= checks+3 })
	if got := status(young); got != actors.StatusPendingCreate {
		t.Errorf("a load balancer inside its grace is %s, want it left PENDING_CREATE", got)
	}
}
