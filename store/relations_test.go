package store

import (
	"slices"
	"testing"

	"keel/store/storepb"
)

// relationsFixture is one load balancer whose L7 policies cover every case of
// the "in use" rule. Creation times and ids disagree on purpose, and so do
// positions and creation times, so the tests see which order an answer is in.
//
//	listener l1: default pool A; policy p-own → A (enabled, a rule)
//	listener l2: default pool A; policy p-early → B (enabled, a rule)
//	listener l3: no default pool; by position:
//	  1 p-late  → E (enabled, a rule, created last)
//	  2 p-used  → B (enabled, a rule)
//	  3 p-empty → C (enabled, no rule)
//	  4 p-off   → D (disabled, a rule)
//	  5 p-deny  REJECT (a rule)
func relationsFixture() *State {
	listener := func(id string, created int64, defaultPool string) *storepb.Listener {
		return &storepb.Listener{Id: id, LoadbalancerId: "lb", CreatedAt: created, DefaultPoolId: defaultPool}
	}
	pool := func(id string, created int64) *storepb.Pool {
		return &storepb.Pool{Id: id, LoadbalancerId: "lb", CreatedAt: created}
	}
	redirect := func(id string, created int64, listenerID string, position int32, poolID string, up bool) *storepb.L7Policy {
		return &storepb.L7Policy{Id: id, LoadbalancerId: "lb", CreatedAt: created, ListenerId: listenerID, Position: position,
			Action: "REDIRECT_TO_POOL", RedirectPoolId: poolID, AdminStateUp: up}
	}
	rule := func(id string, created int64, policyID string) *storepb.L7Rule {
		return &storepb.L7Rule{Id: id, LoadbalancerId: "lb", CreatedAt: created, L7PolicyId: policyID}
	}
	member := func(id string, created int64, poolID string) *storepb.Member {
		return &storepb.Member{Id: id, LoadbalancerId: "lb", CreatedAt: created, PoolId: poolID}
	}
	return StateOf(&storepb.Tree{LoadBalancer: &storepb.LoadBalancer{Id: "lb"},
		Listeners:      []*storepb.Listener{listener("l2", 2, "A"), listener("l1", 1, "A"), listener("l3", 3, "")},
		Pools:          []*storepb.Pool{pool("A", 1), pool("B", 2), pool("C", 3), pool("D", 4), pool("E", 5)},
		Members:        []*storepb.Member{member("m-z", 1, "A"), member("m-a", 2, "A"), member("m-b", 3, "B")},
		HealthMonitors: []*storepb.HealthMonitor{{Id: "hm", LoadbalancerId: "lb", PoolId: "A", CreatedAt: 1}},
		L7Policies: []*storepb.L7Policy{
			redirect("p-own", 10, "l1", 1, "A", true),
			redirect("p-early", 11, "l2", 1, "B", true),
			redirect("p-used", 12, "l3", 2, "B", true),
			redirect("p-empty", 13, "l3", 3, "C", true),
			redirect("p-off", 14, "l3", 4, "D", false),
			{Id: "p-deny", LoadbalancerId: "lb", CreatedAt: 15, ListenerId: "l3", Position: 5, Action: "REJECT", AdminStateUp: true},
			redirect("p-late", 16, "l3", 1, "E", true),
		},
		L7Rules: []*storepb.L7Rule{rule("r-own", 20, "p-own"), rule("r-early", 21, "p-early"), rule("r-used-2", 22, "p-used"),
			rule("r-used-1", 23, "p-used"), rule("r-off", 24, "p-off"), rule("r-deny", 25, "p-deny"), rule("r-late", 26, "p-late")},
	})
}

func idsOf[T interface{ GetId() string }](rows []T) []string {
	out := []string{}
	for _, x := range rows {
		out = append(out, x.GetId())
	}
	return out
}

func TestPoolsOfListener(t *testing.T) {
	st := relationsFixture()
	for _, c := range []struct {
		listener string
		want     []string
	}{
		// The default pool once, though a policy redirects to it as well.
		{"l1", []string{"A"}},
		{"l2", []string{"A", "B"}},
		// By position (E before B, though created after it); C's policy has no
		// rule, D's is disabled, and a REJECT policy uses no pool.
		{"l3", []string{"E", "B"}},
	} {
		if got := idsOf(PoolsOfListener(st, st.Listener(c.listener))); !slices.Equal(got, c.want) {
			t.Errorf("pools of %s: %v, want %v", c.listener, got, c.want)
		}
	}
}

func TestListenersUsingPool(t *testing.T) {
	st := relationsFixture()
	for _, c := range []struct {
		pool string
		want []string
	}{
		// Default-pool listeners in creation order; l1's own policy adds nothing.
		{"A", []string{"l1", "l2"}},
		// Through policies, in the policies' creation order.
		{"B", []string{"l2", "l3"}},
		{"C", []string{}}, // a policy without rules uses nothing
		{"D", []string{}}, // nor does a disabled one
		{"E", []string{"l3"}},
	} {
		if got := idsOf(ListenersUsingPool(st, c.pool)); !slices.Equal(got, c.want) {
			t.Errorf("listeners using %s: %v, want %v", c.pool, got, c.want)
		}
	}
}

func TestStateRelations(t *testing.T) {
	st := relationsFixture()
	if got := idsOf(st.MembersOfPool("A")); !slices.Equal(got, []string{"m-z", "m-a"}) {
		t.Errorf("members of A: %v (want creation order)", got)
	}
	if got := idsOf(st.MembersOfPool("C")); len(got) != 0 {
		t.Errorf("members of C: %v", got)
	}
	if hm := st.MonitorOfPool("A"); hm == nil || hm.Id != "hm" {
		t.Errorf("monitor of A: %v", hm)
	}
	if hm := st.MonitorOfPool("B"); hm != nil {
		t.Errorf("monitor of B: %v", hm)
	}
	if got := idsOf(st.PoliciesOfListener("l3")); !slices.Equal(got, []string{"p-late", "p-used", "p-empty", "p-off", "p-deny"}) {
		t.Errorf("policies of l3: %v (want position order)", got)
	}
	if got := idsOf(st.PoliciesRedirectingTo("B")); !slices.Equal(got, []string{"p-early", "p-used"}) {
		t.Errorf("policies redirecting to B: %v", got)
	}
	if got := idsOf(st.RulesOfPolicy("p-used")); !slices.Equal(got, []string{"r-used-2", "r-used-1"}) {
		t.Errorf("rules of p-used: %v (want creation order)", got)
	}
	if !st.PolicyHasRules("p-off") || st.PolicyHasRules("p-empty") {
		t.Errorf("PolicyHasRules: p-off %v, p-empty %v", st.PolicyHasRules("p-off"), st.PolicyHasRules("p-empty"))
	}
	if got := idsOf(st.ListenersWithDefaultPool("A")); !slices.Equal(got, []string{"l1", "l2"}) {
		t.Errorf("listeners with default pool A: %v", got)
	}
	if st.Listener("nope") != nil || st.Pool("nope") != nil {
		t.Error("a missing row is not nil")
	}
}

// TestMonitorOfPoolFirstCreated pins the answer for a pool holding two monitors
// (the grain never stores that): the first created, whatever the ids.
func TestMonitorOfPoolFirstCreated(t *testing.T) {
	st := StateOf(&storepb.Tree{HealthMonitors: []*storepb.HealthMonitor{
		{Id: "a", PoolId: "p", CreatedAt: 2}, {Id: "b", PoolId: "p", CreatedAt: 1}, {Id: "c", PoolId: "p", CreatedAt: 1}}})
	if hm := st.MonitorOfPool("p"); hm == nil || hm.Id != "b" {
		t.Fatalf("monitor of p: %v, want b", hm)
	}
}
