package actors

import (
	"slices"
	"testing"

	"keel/store"
	"keel/store/storepb"
)

// relationRows is one load balancer whose L7 policies cover every case of the
// "in use" rule (store/relations_test.go pins the answers for the store); creation
// times, ids and positions disagree so that orders show.
func relationRows() *storepb.Tree {
	redirect := func(id string, created int64, listenerID string, position int32, poolID string, up bool) *storepb.L7Policy {
		return &storepb.L7Policy{Id: id, LoadbalancerId: "lb", CreatedAt: created, ListenerId: listenerID, Position: position,
			Action: "REDIRECT_TO_POOL", RedirectPoolId: poolID, AdminStateUp: up}
	}
	rule := func(id string, created int64, policyID string) *storepb.L7Rule {
		return &storepb.L7Rule{Id: id, LoadbalancerId: "lb", CreatedAt: created, L7PolicyId: policyID}
	}
	return &storepb.Tree{
		LoadBalancer: &storepb.LoadBalancer{Id: "lb"},
		Listeners: []*storepb.Listener{{Id: "l2", CreatedAt: 2, DefaultPoolId: "A"}, {Id: "l1", CreatedAt: 1, DefaultPoolId: "A"},
			{Id: "l3", CreatedAt: 3}},
		Pools: []*storepb.Pool{{Id: "A", CreatedAt: 1}, {Id: "B", CreatedAt: 2}, {Id: "C", CreatedAt: 3}, {Id: "D", CreatedAt: 4},
			{Id: "E", CreatedAt: 5}},
		Members: []*storepb.Member{{Id: "m-z", CreatedAt: 1, PoolId: "A"}, {Id: "m-a", CreatedAt: 2, PoolId: "A"},
			{Id: "m-b", CreatedAt: 3, PoolId: "B"}},
		HealthMonitors: []*storepb.HealthMonitor{{Id: "hm", PoolId: "A", CreatedAt: 1}},
		L7Policies: []*storepb.L7Policy{
			redirect("p-own", 10, "l1", 1, "A", true),
			redirect("p-early", 11, "l2", 1, "B", true),
			redirect("p-used", 12, "l3", 2, "B", true),
			redirect("p-empty", 13, "l3", 3, "C", true),
			redirect("p-off", 14, "l3", 4, "D", false),
			{Id: "p-deny", CreatedAt: 15, ListenerId: "l3", Position: 5, Action: "REJECT", AdminStateUp: true},
			redirect("p-late", 16, "l3", 1, "E", true),
		},
		L7Rules: []*storepb.L7Rule{rule("r-own", 20, "p-own"), rule("r-early", 21, "p-early"), rule("r-used-2", 22, "p-used"),
			rule("r-used-1", 23, "p-used"), rule("r-off", 24, "p-off"), rule("r-deny", 25, "p-deny"), rule("r-late", 26, "p-late")},
	}
}

func idsOf[T interface{ GetId() string }](rows []T) []string {
	out := []string{}
	for _, x := range rows {
		out = append(out, x.GetId())
	}
	return out
}

func idOf[T interface{ GetId() string }](x T) string { return x.GetId() }

// TestTreeAnswersRelationsAsTheStore holds the grain's view to the renderer's:
// for the same rows, every relation answers the same rows in the same order.
func TestTreeAnswersRelationsAsTheStore(t *testing.T) {
	rows := relationRows()
	tr := treeFromStore(rows)
	st := store.StateOf(rows)
	views := map[string]store.Relations{"tree": tr, "store": st}
	answers := map[string]map[string][]string{}
	for name, v := range views {
		a := map[string][]string{}
		for _, l := range rows.Listeners {
			a["pools of "+l.Id] = idsOf(store.PoolsOfListener(v, l))
			a["policies of "+l.Id] = idsOf(v.PoliciesOfListener(l.Id))
			a["listener "+l.Id] = []string{idOf(v.Listener(l.Id))}
		}
		for _, p := range rows.Pools {
			a["listeners using "+p.Id] = idsOf(store.ListenersUsingPool(v, p.Id))
			a["listeners defaulting to "+p.Id] = idsOf(v.ListenersWithDefaultPool(p.Id))
			a["policies redirecting to "+p.Id] = idsOf(v.PoliciesRedirectingTo(p.Id))
			a["members of "+p.Id] = idsOf(v.MembersOfPool(p.Id))
			a["monitor of "+p.Id] = []string{v.MonitorOfPool(p.Id).GetId()}
			a["pool "+p.Id] = []string{idOf(v.Pool(p.Id))}
		}
		// An empty id (no default pool, no redirect pool) relates to nothing.
		a["listeners defaulting to no pool"] = idsOf(v.ListenersWithDefaultPool(""))
		a["policies redirecting to no pool"] = idsOf(v.PoliciesRedirectingTo(""))
		a["members of no pool"] = idsOf(v.MembersOfPool(""))
		for _, p := range rows.L7Policies {
			a["rules of "+p.Id] = idsOf(v.RulesOfPolicy(p.Id))
			if v.PolicyHasRules(p.Id) {
				a["has rules "+p.Id] = []string{"yes"}
			}
		}
		answers[name] = a
	}
	for q, want := range answers["store"] {
		if got := answers["tree"][q]; !slices.Equal(got, want) {
			t.Errorf("%s: tree %v, store %v", q, got, want)
		}
	}
	if len(answers["tree"]) != len(answers["store"]) {
		t.Errorf("the tree answers %d questions, the store %d", len(answers["tree"]), len(answers["store"]))
	}
	// The cases that once disagreed, spelled out.
	if got := answers["tree"]["pools of l3"]; !slices.Equal(got, []string{"E", "B"}) {
		t.Errorf("pools of l3: %v: a disabled policy or one without rules uses no pool", got)
	}
	if got := answers["tree"]["listeners using C"]; len(got) != 0 {
		t.Errorf("listeners using C: %v", got)
	}
}

// TestRelationsAsTheWriteLeavesThem: while deciding, the grain reads the
// relations of its tree with a pending write applied, and neither changes.
func TestRelationsAsTheWriteLeavesThem(t *testing.T) {
	tr := treeFromStore(relationRows())
	w := &storepb.TreeWrite{LoadBalancer: tr.lb,
		L7Rules:       []*storepb.L7Rule{{Id: "r-new", CreatedAt: 30, L7PolicyId: "p-empty"}}, // C comes into use
		DeleteL7Rules: []string{"r-used-1", "r-used-2"},                                       // B goes out of use
	}
	off := cloneRow(tr.policies["p-off"])
	off.AdminStateUp = true // D comes into use
	w.L7Policies = append(w.L7Policies, off)

	after := tr.withWrite(w)
	if got := idsOf(store.PoolsOfListener(after, after.Listener("l3"))); !slices.Equal(got, []string{"E", "C", "D"}) {
		t.Errorf("pools of l3 after the write: %v", got)
	}
	if got := idsOf(store.PoolsOfListener(tr, tr.Listener("l3"))); !slices.Equal(got, []string{"E", "B"}) {
		t.Errorf("pools of l3 in the cache: %v (the write leaked)", got)
	}
	if len(tr.rules) != 7 || tr.policies["p-off"].AdminStateUp || tr.rules["r-new"] != nil {
		t.Error("withWrite changed the cached tree")
	}
}
