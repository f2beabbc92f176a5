package systemtest

import (
	"fmt"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	m := ParseMetrics([]byte(`# HELP x y
keel_http_requests_total{code="201",listener="octavia",method="POST",route="/v2/lbaas/loadbalancers/{id}"} 3
keel_raft_commitTime_count 4
weird{a="q\"uo,te}",b="2"} 1.5e+00
`))
	if v := m.Value("keel_http_requests_total", "route=/v2/lbaas/loadbalancers/{id}", "code=201"); v != 3 {
		t.Fatalf("requests = %v", v)
	}
	if v := m.Value("keel_raft_commitTime_count"); v != 4 {
		t.Fatalf("commit count = %v", v)
	}
	if v := m.Value("weird", `a=q"uo,te}`, "b=2"); v != 1.5 {
		t.Fatalf("escaped label: %v %+v", v, m["weird"])
	}
}

// TestMetricsAfterTraffic drives writes through every node of a 3-node
// cluster and finds on /metrics what they did: the create route's 201s on the
// node that answered them, grain calls, FSM batches applied on every node,
// Raft commits on the leader (bridged from go-metrics) and log writes on every
// node (raft's own timing, and raft-wal's counts bridged from
// armon/go-metrics), gossip members alive;
// a project member is refused the page.
func TestMetricsAfterTraffic(t *testing.T) {
	nodes := StartCluster(t, 3)
	leader := ByName(nodes, WaitConverged(t, nodes, 3, 30*time.Second))
	before := make([]Metrics, len(nodes))
	for i, n := range nodes {
		if before[i] = n.Metrics(); before[i] == nil {
			t.Fatalf("%s: no /metrics", n.Name)
		}
		n.MustDo(403, "GET", "/metrics", nil, "X-Roles: member")
	}
	const perNode = 3
	for _, n := range nodes {
		for i := 0; i < perNode; i++ {
			r := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(
				`{"loadbalancer":{"name":"m-%s-%d","vip_subnet_id":%q}}`, n.Name, i, Subnet))
			n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+CreatedID(t, r), nil)
		}
	}
	created := []string{"route=/v2/lbaas/loadbalancers", "method=POST", "code=201", "listener=octavia"}
	shown := []string{"route=/v2/lbaas/loadbalancers/{id}", "method=GET", "code=200", "listener=octavia"}
	for i, n := range nodes {
		after := n.Metrics()
		delta := func(name string, labels ...string) float64 {
			return after.Value(name, labels...) - before[i].Value(name, labels...)
		}
		if d := delta("keel_http_requests_total", created...); d != perNode {
			t.Errorf("%s: create counter moved by %v, want %d", n.Name, d, perNode)
		}
		if d := delta("keel_http_request_duration_seconds_count", shown...); d < perNode {
			t.Errorf("%s: show latency histogram counted %v, want ≥ %d", n.Name, d, perNode)
		}
		if d := delta("keel_grain_calls_total", "kind=LoadBalancer", "outcome=ok"); d < perNode {
			t.Errorf("%s: LoadBalancer grain calls moved by %v, want ≥ %d", n.Name, d, perNode)
		}
		// Every node's FSM applies every create (and its provider step).
		if d := delta("keel_fsm_apply_duration_seconds_count"); d < 1 {
			t.Errorf("%s: FSM apply histogram count moved by %v", n.Name, d)
		}
		if d := delta("keel_fsm_commands_applied_total"); d < 3*perNode {
			t.Errorf("%s: FSM applied %v commands, want ≥ %d", n.Name, d, 3*perNode)
		}
		if v := after.Value("keel_gossip_members", "state=alive"); v != 3 {
			t.Errorf("%s: %v members alive, want 3", n.Name, v)
		}
		if n == leader {
			if d := delta("keel_raft_commitTime_count"); d < 1 || after.Value("keel_raft_commitTime_sum") <= 0 {
				t.Errorf("%s (leader): raft commit metrics: count moved by %v, sum %v", n.Name, d, after.Value("keel_raft_commitTime_sum"))
			}
		}
		// Every node writes the entries to its log (fsync'd): raft times the
		// write (the leader's dispatch, a follower's append), and raft-wal counts
		// its appends through the armon/go-metrics bridge.
		write := "keel_raft_rpc_appendEntries_storeLogs_count"
		if n == leader {
			write = "keel_raft_leader_dispatchLog_count"
		}
		if d := delta(write); d < 1 {
			t.Errorf("%s: %s moved by %v", n.Name, write, d)
		}
		if d := delta("keel_raft_wal_log_appends"); d < 1 {
			t.Errorf("%s: raft-wal appends moved by %v", n.Name, d)
		}
		if !after.Has("keel_raft_fsm_apply_count") && !after.Has("keel_raft_fsm_applyBatch_count") {
			t.Errorf("%s: no raft FSM apply metrics bridged", n.Name)
		}
	}
}
