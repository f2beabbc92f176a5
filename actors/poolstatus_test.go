package actors

import (
	"testing"
	"time"

	"keel/store/storepb"
)

// poolTree is a load balancer with one listener whose default pool has a health
// monitor and members in the operating statuses given; lbStatus is the
// provisioning status of the load balancer and of every object under it.
func poolTree(lbStatus string, memberStatuses ...string) *tree {
	t := newTree(&storepb.LoadBalancer{Id: "lb", ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: true})
	t.listeners, t.pools, t.members = map[string]*storepb.Listener{}, map[string]*storepb.Pool{}, map[string]*storepb.Member{}
	t.monitors, t.policies, t.rules = map[string]*storepb.HealthMonitor{}, map[string]*storepb.L7Policy{}, map[string]*storepb.L7Rule{}
	t.listeners["l"] = &storepb.Listener{Id: "l", LoadbalancerId: "lb", DefaultPoolId: "p", Protocol: "HTTP",
		ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: true}
	t.pools["p"] = &storepb.Pool{Id: "p", LoadbalancerId: "lb", Protocol: "HTTP",
		ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: true}
	t.monitors["hm"] = &storepb.HealthMonitor{Id: "hm", PoolId: "p", Type: "HTTP",
		ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: true}
	t.policies["policy"] = &storepb.L7Policy{Id: "policy", ListenerId: "l", Position: 1, Action: "REJECT",
		ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: true}
	t.rules["rule"] = &storepb.L7Rule{Id: "rule", L7PolicyId: "policy",
		ProvisioningStatus: lbStatus, OperatingStatus: OperatingOffline, AdminStateUp: false}
	for i, s := range memberStatuses {
		id := string(rune('a' + i))
		t.members[id] = &storepb.Member{Id: id, PoolId: "p", ProvisioningStatus: lbStatus, OperatingStatus: s, AdminStateUp: true}
	}
	return t
}

func rowAsWritten[T interface{ GetId() string }](cache map[string]T, rows []T, id string) T {
	for _, x := range rows {
		if x.GetId() == id {
			return x
		}
	}
	return cache[id]
}

func noopGrain() *LoadBalancerGrain {
	return &LoadBalancerGrain{id: "lb", rt: &Runtime{Now: time.Now}}
}

// TestNoopProvisioningMeasuresNothing: operating status is measured (Octavia:
// "no-op will not go online"), so the noop provider step leaves the load
// balancer, listener, pool and members as they are (OFFLINE, NO_MONITOR, or what
// heartbeats reported), whatever their admin state, and sets only what Octavia's
// flows set: health monitors, L7 policies and rules ONLINE when enabled, else
// OFFLINE.
func TestNoopProvisioningMeasuresNothing(t *testing.T) {
	for _, c := range []struct {
		name    string
		members []string
		change  func(tr *tree)
	}{
		{name: "a new tree", members: []string{OperatingOffline, OperatingOffline}},
		{name: "disabled objects", members: []string{OperatingNoMonitor, OperatingOffline}, change: func(tr *tree) {
			tr.lb.AdminStateUp, tr.listeners["l"].AdminStateUp, tr.pools["p"].AdminStateUp = false, false, false
			tr.members["a"].AdminStateUp = false
		}},
		{name: "statuses heartbeats reported", members: []string{OperatingOnline, OperatingError}, change: func(tr *tree) {
			tr.lb.OperatingStatus, tr.listeners["l"].OperatingStatus, tr.pools["p"].OperatingStatus = OperatingDegraded, OperatingOnline, OperatingDegraded
		}},
	} {
		for _, status := range []string{StatusPendingCreate, StatusPendingUpdate} {
			tr := poolTree(status, c.members...)
			if c.change != nil {
				c.change(tr)
			}
			before := map[string]string{"lb": tr.lb.OperatingStatus, "l": tr.listeners["l"].OperatingStatus, "p": tr.pools["p"].OperatingStatus}
			for id, m := range tr.members {
				before[id] = m.OperatingStatus
			}
			w := noopGrain().completeProvisioning(tr)
			after := map[string]string{"lb": w.LoadBalancer.OperatingStatus,
				"l": rowAsWritten(tr.listeners, w.Listeners, "l").OperatingStatus,
				"p": rowAsWritten(tr.pools, w.Pools, "p").OperatingStatus}
			for id := range tr.members {
				after[id] = rowAsWritten(tr.members, w.Members, id).OperatingStatus
			}
			for id, want := range before {
				if after[id] != want {
					t.Errorf("%s (%s): %s is %s after the provider step, want %s (unchanged)", c.name, status, id, after[id], want)
				}
			}
			if w.LoadBalancer.ProvisioningStatus != StatusActive {
				t.Errorf("%s (%s): load balancer %s", c.name, status, w.LoadBalancer.ProvisioningStatus)
			}
			hm := rowAsWritten(tr.monitors, w.HealthMonitors, "hm")
			policy := rowAsWritten(tr.policies, w.L7Policies, "policy")
			rule := rowAsWritten(tr.rules, w.L7Rules, "rule")
			if hm.OperatingStatus != OperatingOnline || policy.OperatingStatus != OperatingOnline || rule.OperatingStatus != OperatingOffline {
				t.Errorf("%s (%s): monitor %s, policy %s, disabled rule %s; want ONLINE, ONLINE, OFFLINE",
					c.name, status, hm.OperatingStatus, policy.OperatingStatus, rule.OperatingStatus)
			}
		}
	}
}

// TestRemovedMonitorUnmonitorsMembers: as Octavia's health monitor delete flow,
// removing a monitor makes its pool's members NO_MONITOR (the noop and the real
// provider alike); members being deleted with it are only removed.
func TestRemovedMonitorUnmonitorsMembers(t *testing.T) {
	tr := poolTree(StatusActive, OperatingOnline, OperatingError, OperatingOffline)
	tr.lb.ProvisioningStatus = StatusPendingUpdate
	tr.monitors["hm"].ProvisioningStatus = StatusPendingDelete
	tr.members["c"].ProvisioningStatus = StatusPendingDelete
	w := noopGrain().completeProvisioning(tr)
	if len(w.DeleteHealthMonitors) != 1 || len(w.DeleteMembers) != 1 || w.DeleteMembers[0] != "c" {
		t.Fatalf("deletes: monitors %v, members %v", w.DeleteHealthMonitors, w.DeleteMembers)
	}
	for _, id := range []string{"a", "b"} {
		if got := rowAsWritten(tr.members, w.Members, id).OperatingStatus; got != OperatingNoMonitor {
			t.Errorf("member %s is %s, want NO_MONITOR", id, got)
		}
	}
	for _, m := range w.Members {
		if m.Id == "c" {
			t.Errorf("member c is both written and deleted")
		}
	}
	if got := rowAsWritten(tr.pools, w.Pools, "p").OperatingStatus; got != OperatingOffline {
		t.Errorf("pool is %s, want OFFLINE (unchanged)", got)
	}
}
