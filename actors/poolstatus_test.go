package actors

import (
	"testing"

	"keel/store/storepb"
)

// poolTree is an ACTIVE load balancer with one listener whose default pool has a
// health monitor and two members, each in the operating status given.
func poolTree(memberStatuses ...string) *tree {
	t := newTree(&storepb.LoadBalancer{Id: "lb", ProvisioningStatus: StatusActive, OperatingStatus: OperatingOnline, AdminStateUp: true})
	t.listeners["l"] = &storepb.Listener{Id: "l", LoadbalancerId: "lb", DefaultPoolId: "p", Protocol: "HTTP",
		ProvisioningStatus: StatusActive, OperatingStatus: OperatingOnline, AdminStateUp: true}
	t.pools["p"] = &storepb.Pool{Id: "p", LoadbalancerId: "lb", Protocol: "HTTP",
		ProvisioningStatus: StatusActive, OperatingStatus: OperatingOnline, AdminStateUp: true}
	t.monitors["hm"] = &storepb.HealthMonitor{Id: "hm", PoolId: "p", Type: "HTTP",
		ProvisioningStatus: StatusActive, OperatingStatus: OperatingOnline, AdminStateUp: true}
	for i, s := range memberStatuses {
		id := string(rune('a' + i))
		t.members[id] = &storepb.Member{Id: id, PoolId: "p", ProvisioningStatus: StatusActive, OperatingStatus: s, AdminStateUp: true}
	}
	return t
}

// rolledUp runs the roll-up over a write that changes nothing else and returns the
// operating statuses as the write leaves them.
func rolledUp(t *tree, change func(w *storepb.TreeWrite)) (members map[string]string, pool, listener, lb string) {
	w := &storepb.TreeWrite{LoadBalancerId: "lb", LoadBalancer: cloneRow(t.lb)}
	if change != nil {
		change(w)
	}
	rollUp(t, w)
	members = map[string]string{}
	for id := range t.members {
		members[id] = rowAsWritten(t.members, w.Members, id).OperatingStatus
	}
	return members, currentPool(t, w, "p").OperatingStatus, currentListener(t, w, "l").OperatingStatus, w.LoadBalancer.OperatingStatus
}

func rowAsWritten[T interface{ GetId() string }](cache map[string]T, rows []T, id string) T {
	for _, x := range rows {
		if x.GetId() == id {
			return x
		}
	}
	return cache[id]
}

// TestPoolStatusRollUp checks the operating statuses members, pools, listeners and
// the load balancer derive, as status.go documents them.
func TestPoolStatusRollUp(t *testing.T) {
	cases := []struct {
		name                 string
		members              []string
		change               func(tr *tree, w *storepb.TreeWrite)
		wantMembers          map[string]string
		pool, listener, lbOp string
	}{
		{name: "healthy", members: []string{OperatingOnline, OperatingOnline},
			wantMembers: map[string]string{"a": OperatingOnline, "b": OperatingOnline},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a member in error degrades pool, listener and load balancer", members: []string{OperatingOnline, OperatingError},
			wantMembers: map[string]string{"a": OperatingOnline, "b": OperatingError},
			pool:        OperatingDegraded, listener: OperatingDegraded, lbOp: OperatingDegraded},
		{name: "every member in error is a pool in error", members: []string{OperatingError, OperatingError},
			wantMembers: map[string]string{"a": OperatingError, "b": OperatingError},
			pool:        OperatingError, listener: OperatingDegraded, lbOp: OperatingDegraded},
		{name: "members never reported are assumed healthy once monitored", members: []string{OperatingOffline, OperatingNoMonitor},
			wantMembers: map[string]string{"a": OperatingOnline, "b": OperatingOnline},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a deleted monitor leaves the members NO_MONITOR", members: []string{OperatingOnline, OperatingError},
			change:      func(_ *tree, w *storepb.TreeWrite) { w.DeleteHealthMonitors = append(w.DeleteHealthMonitors, "hm") },
			wantMembers: map[string]string{"a": OperatingNoMonitor, "b": OperatingNoMonitor},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a disabled monitor checks nothing", members: []string{OperatingOnline},
			change: func(tr *tree, w *storepb.TreeWrite) {
				hm := writableMonitor(tr, w, "hm")
				hm.AdminStateUp = false
			},
			wantMembers: map[string]string{"a": OperatingNoMonitor},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a disabled member is OFFLINE and does not count as an error", members: []string{OperatingError, OperatingOnline},
			change: func(tr *tree, w *storepb.TreeWrite) {
				m := writableMember(tr, w, "a")
				m.AdminStateUp = false
			},
			wantMembers: map[string]string{"a": OperatingOffline, "b": OperatingOnline},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a disabled pool is OFFLINE whatever its members", members: []string{OperatingError},
			change: func(tr *tree, w *storepb.TreeWrite) {
				p := writablePool(tr, w, "p")
				p.AdminStateUp = false
			},
			wantMembers: map[string]string{"a": OperatingError},
			pool:        OperatingOffline, listener: OperatingOnline, lbOp: OperatingOnline},
		{name: "a member being deleted no longer counts", members: []string{OperatingOnline, OperatingError},
			change: func(tr *tree, w *storepb.TreeWrite) {
				m := writableMember(tr, w, "b")
				m.ProvisioningStatus = StatusPendingDelete
			},
			wantMembers: map[string]string{"a": OperatingOnline, "b": OperatingError},
			pool:        OperatingOnline, listener: OperatingOnline, lbOp: OperatingOnline},
	}
	for _, c := range cases {
		tr := poolTree(c.members...)
		var change func(*storepb.TreeWrite)
		if c.change != nil {
			change = func(w *storepb.TreeWrite) { c.change(tr, w) }
		}
		members, pool, listener, lb := rolledUp(tr, change)
		for id, want := range c.wantMembers {
			if members[id] != want {
				t.Errorf("%s: member %s is %s, want %s", c.name, id, members[id], want)
			}
		}
		if pool != c.pool || listener != c.listener || lb != c.lbOp {
			t.Errorf("%s: pool %s, listener %s, load balancer %s; want %s, %s, %s", c.name, pool, listener, lb, c.pool, c.listener, c.lbOp)
		}
	}
}
