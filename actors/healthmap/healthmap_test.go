package healthmap

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/agent/heartbeat"
	"keel/store/storepb"
)

// tree is a load balancer with two listeners; pool p1 (members m1, m2) is l1's
// default pool, p2 (member m3, no monitor) is l2's; everything ONLINE and enabled.
func tree() *storepb.Tree {
	return &storepb.Tree{
		LoadBalancer: &storepb.LoadBalancer{Id: "lb", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
		Listeners: []*storepb.Listener{
			{Id: "l1", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", DefaultPoolId: "p1"},
			{Id: "l2", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", DefaultPoolId: "p2"},
		},
		Pools: []*storepb.Pool{
			{Id: "p1", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
			{Id: "p2", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
		},
		Members: []*storepb.Member{
			{Id: "m1", PoolId: "p1", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
			{Id: "m2", PoolId: "p1", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"},
			{Id: "m3", PoolId: "p2", AdminStateUp: true, ProvisioningStatus: "ACTIVE", OperatingStatus: "NO_MONITOR"},
		},
	}
}

// healthy is the heartbeat of the tree above with nothing wrong.
func healthy() *heartbeat.Message {
	return &heartbeat.Message{ID: "amp", Seq: 1, Ver: 3, Boot: 1, Time: 1,
		Listeners: map[string]heartbeat.Listener{
			"l1": {Status: "OPEN", Stats: heartbeat.Stats{RX: 100, TX: 2000, Conns: 3, TotConns: 7, Ereq: 1}},
			"l2": {Status: "OPEN"},
		},
		Pools: map[string]heartbeat.Pool{
			"p1:l1": {Status: "UP", Members: map[string]string{"m1": "UP", "m2": "UP"}},
			"p2:l2": {Status: "UP", Members: map[string]string{"m3": "no check"}},
		},
	}
}

func TestMapStatuses(t *testing.T) {
	cases := []struct {
		name     string
		tree     func(*storepb.Tree)
		msg      func(*heartbeat.Message)
		changes  []string
		notAlive bool
		warning  string
	}{
		{name: "all well, all stored: nothing to write"},
		{name: "statuses compare case-insensitively", tree: func(t *storepb.Tree) { t.Listeners[0].OperatingStatus = "online" }},

		// Listeners.
		{name: "listener FULL: listener and load balancer DEGRADED",
			msg:     func(m *heartbeat.Message) { m.Listeners["l1"] = heartbeat.Listener{Status: "FULL"} },
			changes: []string{"listener l1 ONLINE->DEGRADED", "loadbalancer lb ONLINE->DEGRADED"}},
		{name: "listener back to OPEN", tree: func(t *storepb.Tree) {
			t.Listeners[0].OperatingStatus, t.LoadBalancer.OperatingStatus = "DEGRADED", "DEGRADED"
		}, changes: []string{"listener l1 DEGRADED->ONLINE", "loadbalancer lb DEGRADED->ONLINE"}},
		{name: "enabled listener missing on an ACTIVE load balancer: ERROR, and the amphora is not alive",
			msg: func(m *heartbeat.Message) { delete(m.Listeners, "l2") }, changes: []string{"listener l2 ONLINE->ERROR"},
			notAlive: true, warning: "reports 1 listeners when 2 expected"},
		{name: "listener missing while the load balancer is PENDING_UPDATE: OFFLINE",
			tree: func(t *storepb.Tree) { t.LoadBalancer.ProvisioningStatus = "PENDING_UPDATE" },
			msg:  func(m *heartbeat.Message) { delete(m.Listeners, "l2") }, changes: []string{"listener l2 ONLINE->OFFLINE"}},
		{name: "disabled listener missing: OFFLINE, not expected",
			tree: func(t *storepb.Tree) { t.Listeners[1].AdminStateUp = false },
			msg:  func(m *heartbeat.Message) { delete(m.Listeners, "l2") }, changes: []string{"listener l2 ONLINE->OFFLINE"}},
		{name: "more listeners than the tree: not alive",
			msg:      func(m *heartbeat.Message) { m.Listeners["l9"] = heartbeat.Listener{Status: "OPEN"} },
			notAlive: true, warning: "reports 3 listeners when 2 expected"},
		{name: "listener status Octavia does not know: unchanged",
			msg: func(m *heartbeat.Message) { m.Listeners["l1"] = heartbeat.Listener{Status: "STOP"} }, warning: "listener l1 reported status of STOP"},
		{name: "a new listener's first heartbeat", tree: func(t *storepb.Tree) { t.Listeners[1].OperatingStatus = "OFFLINE" },
			changes: []string{"listener l2 OFFLINE->ONLINE"}},

		// Pools.
		{name: "pool DOWN: pool and load balancer ERROR", msg: func(m *heartbeat.Message) {
			m.Pools["p1:l1"] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{"m1": "DOWN", "m2": "DOWN"}}
		}, changes: []string{"member m1 ONLINE->ERROR", "member m2 ONLINE->ERROR", "pool p1 ONLINE->ERROR", "loadbalancer lb ONLINE->ERROR"}},
		{name: "pool DOWN beats a FULL listener", msg: func(m *heartbeat.Message) {
			m.Listeners["l1"] = heartbeat.Listener{Status: "FULL"}
			m.Pools["p2:l2"] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{"m3": "no check"}}
		}, changes: []string{"listener l1 ONLINE->DEGRADED", "pool p2 ONLINE->ERROR", "loadbalancer lb ONLINE->ERROR"}},
		{name: "pool ERROR stays the load balancer's status over a later degraded pool", msg: func(m *heartbeat.Message) {
			m.Pools["p1:l1"] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{"m1": "DOWN", "m2": "DOWN"}}
			m.Pools["p2:l2"] = heartbeat.Pool{Status: "UP", Members: map[string]string{"m3": "DOWN"}}
		}, changes: []string{"member m1 ONLINE->ERROR", "member m2 ONLINE->ERROR", "pool p1 ONLINE->ERROR",
			"member m3 NO_MONITOR->ERROR", "pool p2 ONLINE->DEGRADED", "loadbalancer lb ONLINE->ERROR"}},
		{name: "pool not reported: OFFLINE, its members untouched", msg: func(m *heartbeat.Message) { delete(m.Pools, "p2:l2") },
			changes: []string{"pool p2 ONLINE->OFFLINE"}},
		{name: "pool not reported and already OFFLINE: nothing", tree: func(t *storepb.Tree) { t.Pools[1].OperatingStatus = "OFFLINE" },
			msg: func(m *heartbeat.Message) { delete(m.Pools, "p2:l2") }},
		{name: "pool keyed by its id alone", msg: func(m *heartbeat.Message) {
			m.Pools["p1"] = heartbeat.Pool{Status: "UP", Members: map[string]string{"m1": "UP", "m2": "DRAIN"}}
			delete(m.Pools, "p1:l1")
		}, changes: []string{"member m2 ONLINE->DRAINING"}},
		{name: "pool reported by two listeners: the greatest key wins", msg: func(m *heartbeat.Message) {
			m.Pools["p1:l0"] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{"m1": "DOWN", "m2": "DOWN"}}
		}}, // "p1:l1" sorts after "p1:l0"
		{name: "pool status Octavia does not know: unchanged, a member DOWN degrades nothing", msg: func(m *heartbeat.Message) {
			m.Pools["p1:l1"] = heartbeat.Pool{Status: "MAINT", Members: map[string]string{"m1": "DOWN", "m2": "UP"}}
		}, changes: []string{"member m1 ONLINE->ERROR"}, warning: "pool p1 reported status of MAINT"},
		{name: "pool of another load balancer in the heartbeat: ignored", msg: func(m *heartbeat.Message) {
			m.Pools["px:l1"] = heartbeat.Pool{Status: "DOWN"}
		}},

		// Members.
		{name: "one member DOWN: member ERROR, pool and load balancer DEGRADED",
			msg:     func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m2"] = "DOWN" },
			changes: []string{"member m2 ONLINE->ERROR", "pool p1 ONLINE->DEGRADED", "loadbalancer lb ONLINE->DEGRADED"}},
		{name: "member back UP", tree: func(t *storepb.Tree) {
			t.Members[1].OperatingStatus, t.Pools[0].OperatingStatus, t.LoadBalancer.OperatingStatus = "ERROR", "DEGRADED", "DEGRADED"
		}, changes: []string{"member m2 ERROR->ONLINE", "pool p1 DEGRADED->ONLINE", "loadbalancer lb DEGRADED->ONLINE"}},
		{name: "transitional UP n/m is ONLINE, DOWN n/m is ERROR", tree: func(t *storepb.Tree) { t.Members[0].OperatingStatus = "OFFLINE" },
			msg: func(m *heartbeat.Message) {
				m.Pools["p1:l1"].Members["m1"] = "UP 1/3"
				m.Pools["p1:l1"].Members["m2"] = "DOWN 1/2"
			},
			changes: []string{"member m1 OFFLINE->ONLINE", "member m2 ONLINE->ERROR", "pool p1 ONLINE->DEGRADED", "loadbalancer lb ONLINE->DEGRADED"}},
		{name: "DRAIN is DRAINING", msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m1"] = "DRAIN" },
			changes: []string{"member m1 ONLINE->DRAINING"}},
		{name: "disabled member (haproxy MAINT) is OFFLINE", tree: func(t *storepb.Tree) { t.Members[0].AdminStateUp = false },
			msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m1"] = "MAINT" }, changes: []string{"member m1 ONLINE->OFFLINE"}},
		{name: "no check is NO_MONITOR", msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m1"] = "no check" },
			changes: []string{"member m1 ONLINE->NO_MONITOR"}},
		{name: "RESTARTING keeps the status", msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m1"] = "RESTARTING" }},
		{name: "member status Octavia does not know: unchanged", msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m1"] = "NOLB" },
			warning: "member m1 reported status of NOLB"},
		{name: "member in the tree, not in the heartbeat: OFFLINE", msg: func(m *heartbeat.Message) { delete(m.Pools["p1:l1"].Members, "m2") },
			changes: []string{"member m2 ONLINE->OFFLINE"}},
		{name: "member not in the heartbeat and NO_MONITOR: unchanged", msg: func(m *heartbeat.Message) { delete(m.Pools["p2:l2"].Members, "m3") }},
		{name: "member in the heartbeat, not in the tree: ignored", msg: func(m *heartbeat.Message) { m.Pools["p1:l1"].Members["m9"] = "DOWN" }},

		// The load balancer.
		// A missing enabled listener is ERROR on an ACTIVE load balancer even when
		// the load balancer is disabled (Octavia looks at the listener's
		// enabled flag and the load balancer's provisioning status only).
		{name: "disabled load balancer: OFFLINE, a FULL listener does not degrade it, any listener count is alive",
			tree: func(t *storepb.Tree) { t.LoadBalancer.AdminStateUp = false },
			msg: func(m *heartbeat.Message) {
				m.Listeners["l1"] = heartbeat.Listener{Status: "FULL"}
				delete(m.Listeners, "l2")
			},
			changes: []string{"listener l1 ONLINE->DEGRADED", "listener l2 ONLINE->ERROR", "loadbalancer lb ONLINE->OFFLINE"}},
		{name: "disabled load balancer with a pool DOWN: ERROR", tree: func(t *storepb.Tree) { t.LoadBalancer.AdminStateUp = false },
			msg: func(m *heartbeat.Message) {
				m.Pools["p2:l2"] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{"m3": "no check"}}
			}, changes: []string{"pool p2 ONLINE->ERROR", "loadbalancer lb ONLINE->ERROR"}},
		{name: "first heartbeat of a new load balancer", tree: func(t *storepb.Tree) {
			t.LoadBalancer.OperatingStatus = "OFFLINE"
			for _, l := range t.Listeners {
				l.OperatingStatus = "OFFLINE"
			}
			for _, p := range t.Pools {
				p.OperatingStatus = "OFFLINE"
			}
			t.Members[0].OperatingStatus, t.Members[1].OperatingStatus = "OFFLINE", "OFFLINE"
		}, changes: []string{"listener l1 OFFLINE->ONLINE", "listener l2 OFFLINE->ONLINE", "member m1 OFFLINE->ONLINE",
			"member m2 OFFLINE->ONLINE", "pool p1 OFFLINE->ONLINE", "pool p2 OFFLINE->ONLINE", "loadbalancer lb OFFLINE->ONLINE"}},
		{name: "an empty heartbeat of a load balancer without listeners",
			tree: func(t *storepb.Tree) { t.Listeners, t.Pools, t.Members = nil, nil, nil },
			msg:  func(m *heartbeat.Message) { m.Listeners, m.Pools = nil, nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, msg := tree(), healthy()
			if tc.tree != nil {
				tc.tree(tr)
			}
			if tc.msg != nil {
				tc.msg(msg)
			}
			before := cloneTree(tr)
			got := Map(msg, tr)
			var changes []string
			for _, c := range got.Changes {
				changes = append(changes, c.String())
			}
			if strings.Join(changes, "\n") != strings.Join(tc.changes, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(tc.changes, "\n"))
			}
			if got.Alive == tc.notAlive {
				t.Errorf("alive %v", got.Alive)
			}
			warnings := strings.Join(got.Warnings, "\n")
			if (tc.warning == "") != (warnings == "") || !strings.Contains(warnings, tc.warning) {
				t.Errorf("warnings %q, want %q", warnings, tc.warning)
			}
			if !sameTree(before, tr) {
				t.Error("Map changed its input")
			}
			// Applying the changes makes the same heartbeat change nothing more.
			apply(tr, got.Changes)
			if again := Map(msg, tr); len(again.Changes) != 0 {
				t.Errorf("not idempotent: %v", again.Changes)
			}
		})
	}
}

func TestMapStats(t *testing.T) {
	msg := healthy()
	msg.Listeners["l9"] = heartbeat.Listener{Status: "OPEN", Stats: heartbeat.Stats{RX: 5}} // not this load balancer's
	got := Map(msg, tree())
	want := []Stats{
		{ListenerID: "l1", BytesIn: 100, BytesOut: 2000, ActiveConnections: 3, TotalConnections: 7, RequestErrors: 1},
		{ListenerID: "l2"},
	}
	if len(got.Stats) != len(want) {
		t.Fatalf("stats %+v, want %+v", got.Stats, want)
	}
	for i := range want {
		if got.Stats[i] != want[i] {
			t.Errorf("stats[%d] %+v, want %+v", i, got.Stats[i], want[i])
		}
	}
	// Stats are mapped whatever the statuses say, even from a heartbeat that is not a
	// sign of life.
	delete(msg.Listeners, "l2")
	delete(msg.Listeners, "l9")
	if got := Map(msg, tree()); got.Alive || len(got.Stats) != 1 || got.Stats[0].BytesOut != 2000 {
		t.Fatalf("alive %v, stats %+v", got.Alive, got.Stats)
	}
}

func TestStatsAdd(t *testing.T) {
	cases := []struct {
		name       string
		heartbeats []Stats
		want       Stats
	}{
		{name: "nothing", want: Stats{}},
		{name: "deltas accumulate, active connections are the last",
			heartbeats: []Stats{
				{BytesIn: 10, BytesOut: 100, ActiveConnections: 5, TotalConnections: 2, RequestErrors: 1},
				{BytesIn: 1, BytesOut: 2, ActiveConnections: 3, TotalConnections: 4, RequestErrors: 0},
				{ActiveConnections: 0},
			},
			want: Stats{BytesIn: 11, BytesOut: 102, ActiveConnections: 0, TotalConnections: 6, RequestErrors: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s Stats
			for _, h := range tc.heartbeats {
				s.Add(h)
			}
			if s != tc.want {
				t.Fatalf("%+v, want %+v", s, tc.want)
			}
		})
	}
}

func TestMapWithoutLoadBalancer(t *testing.T) {
	for name, tr := range map[string]*storepb.Tree{"no load balancer": {}, "nil tree": nil, "no heartbeat": tree()} {
		t.Run(name, func(t *testing.T) {
			msg := healthy()
			if name == "no heartbeat" {
				msg = nil
			}
			if got := Map(msg, tr); len(got.Changes) != 0 || got.Alive || len(got.Stats) != 0 || len(got.Warnings) != 0 {
				t.Fatalf("%+v", got)
			}
		})
	}
}

func cloneTree(t *storepb.Tree) *storepb.Tree { return proto.Clone(t).(*storepb.Tree) }

func sameTree(a, b *storepb.Tree) bool { return proto.Equal(a, b) }
func apply(t *storepb.Tree, changes []Change) {
	for _, c := range changes {
		switch c.Kind {
		case LoadBalancer:
			t.LoadBalancer.OperatingStatus = c.To
		case Listener:
			for _, l := range t.Listeners {
				if l.Id == c.ID {
					l.OperatingStatus = c.To
				}
			}
		case Pool:
			for _, p := range t.Pools {
				if p.Id == c.ID {
					p.OperatingStatus = c.To
				}
			}
		case Member:
			for _, m := range t.Members {
				if m.Id == c.ID {
					m.OperatingStatus = c.To
				}
			}
		}
	}
}
