package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"keel/store/storepb"
)

// TestListMatchesReference pages through random data with every query shape the
// engine plans differently (indexed default order, scoped, index filter, custom
// sort, reverse) and checks each page against a brute-force reference.
func TestListMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := NewFSM()
	var all []*storepb.LoadBalancer
	var cmds []*storepb.Command
	for i := 0; i < 300; i++ {
		lb := testLB(fmt.Sprintf("%08x", rng.Uint32()), fmt.Sprintf("p%d", rng.IntN(3)), int64(rng.IntN(50))) // many equal created_at
		lb.Name = fmt.Sprintf("n%d", rng.IntN(5))
		if rng.IntN(2) == 0 {
			lb.ProvisioningStatus = "ACTIVE"
		}
		all = append(all, lb)
		cmds = append(cmds, createCmd("r"+lb.Id, lb))
	}
	applyCmds(t, f, 1, cmds...)

	type lbq = Query[*storepb.LoadBalancer]
	byName := SortKey[*storepb.LoadBalancer]{Compare: func(a, b *storepb.LoadBalancer) int { return strings.Compare(a.Name, b.Name) }}
	isActive := func(o *storepb.LoadBalancer) bool { return o.ProvisioningStatus == "ACTIVE" }
	nameIs := func(v string) func(*storepb.LoadBalancer) bool {
		return func(o *storepb.LoadBalancer) bool { return o.Name == v }
	}
	cases := []struct {
		name string
		q    lbq
	}{
		{"default", lbq{}},
		{"project", lbq{Project: "p1"}},
		{"filter", lbq{Match: isActive}},
		{"project+filter", lbq{Project: "p2", Match: isActive}},
		{"index filter", lbq{IndexFilter: &IndexFilter{Index: IndexName, Value: "n3"}, Match: nameIs("n3")}},
		{"scoped index filter", lbq{Project: "p1", IndexFilter: &IndexFilter{Index: IndexName, Value: "n2"}, Match: nameIs("n2")}},
		{"partial index", lbq{IndexFilter: &IndexFilter{Index: IndexProvisioningStatus, Value: "PENDING_CREATE"},
			Match: func(o *storepb.LoadBalancer) bool { return o.ProvisioningStatus == "PENDING_CREATE" }}},
		{"value a partial index does not cover", lbq{IndexFilter: &IndexFilter{Index: IndexProvisioningStatus, Value: "ACTIVE"}, Match: isActive}},
		{"sort name", lbq{Order: []SortKey[*storepb.LoadBalancer]{byName}}},
		{"sort name desc scoped", lbq{Project: "p0", Order: []SortKey[*storepb.LoadBalancer]{{Compare: byName.Compare, Desc: true}}}},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 7, 1000} {
			for _, reverse := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/limit=%d/reverse=%v", c.name, limit, reverse), func(t *testing.T) {
					q := c.q
					q.Limit, q.Reverse = limit, reverse
					want := reference(all, q)
					checkPaging(t, f.State().Current().LoadBalancers, q, want)
				})
			}
		}
	}

	table := f.State().Current().LoadBalancers
	if _, err := List(table, lbq{Marker: "nope"}); err != ErrInvalidMarker {
		t.Fatalf("unknown marker: %v", err)
	}
	if _, err := List(table, lbq{Project: "p1", Marker: firstOf(all, "p2")}); err != ErrInvalidMarker {
		t.Fatalf("marker of another project: %v", err)
	}
}

func firstOf(all []*storepb.LoadBalancer, project string) string {
	for _, lb := range all {
		if lb.ProjectId == project {
			return lb.Id
		}
	}
	return ""
}

// reference filters and sorts by brute force.
func reference(all []*storepb.LoadBalancer, q Query[*storepb.LoadBalancer]) []string {
	var items []*storepb.LoadBalancer
	for _, lb := range all {
		if q.Project != "" && lb.ProjectId != q.Project {
			continue
		}
		if q.Match != nil && !q.Match(lb) {
			continue
		}
		items = append(items, lb)
	}
	slices.SortFunc(items, q.compare)
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.GetId()
	}
	return ids
}

// checkPaging walks every page from the start (forward) or from the end (reverse)
// following markers as a client follows links, and compares to want.
func checkPaging(t *testing.T, table *Table[*storepb.LoadBalancer], q Query[*storepb.LoadBalancer], want []string) {
	t.Helper()
	var got []string
	for pages := 0; pages <= len(want)+1; pages++ {
		page, err := List(table, q)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(page.Items))
		for i, it := range page.Items {
			ids[i] = it.GetId()
		}
		if len(ids) > q.Limit {
			t.Fatalf("page of %d > limit %d", len(ids), q.Limit)
		}
		if q.Reverse {
			got = append(ids, got...)
		} else {
			got = append(got, ids...)
		}
		if !page.More {
			if !slices.Equal(got, want) {
				t.Fatalf("paged %v\nwant %v", got, want)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatal("empty page that says more follow")
		}
		if q.Reverse {
			q.Marker = ids[0]
		} else {
			q.Marker = ids[len(ids)-1]
		}
	}
	t.Fatal("paging did not end")
}

// TestListByIDTables: a table whose Octavia model has no created_at (flavors,
// flavor profiles, availability zones and their profiles, quotas) lists by id by
// default, and breaks ties of a user sort on id alone, as Octavia's pagination
// (DEFAULT_SORT_KEYS, appended only where the model has them) does; pages follow
// that order.
func TestListByIDTables(t *testing.T) {
	for name, byID := range map[string]bool{flavorSchema.Name: flavorSchema.ByID, flavorProfileSchema.Name: flavorProfileSchema.ByID,
		availabilityZoneSchema.Name: availabilityZoneSchema.ByID, availabilityZoneProfileSchema.Name: availabilityZoneProfileSchema.ByID,
		quotaSchema.Name: quotaSchema.ByID} {
		if !byID {
			t.Errorf("%s: not ordered by id", name)
		}
	}
	if loadBalancerSchema.ByID || amphoraSchema.ByID {
		t.Error("load balancers and amphorae have created_at: ordered by it")
	}

	tb := NewTable(flavorSchema)
	// Created in the reverse of id order; names tie in pairs.
	for i, id := range []string{"f", "e", "d", "c", "b", "a"} {
		tb.Put(&storepb.Flavor{Id: id, Name: fmt.Sprintf("n%d", i/2), CreatedAt: int64(i)})
	}
	ids := func(p Page[*storepb.Flavor]) string {
		var out []string
		for _, f := range p.Items {
			out = append(out, f.Id)
		}
		return strings.Join(out, "")
	}
	type fq = Query[*storepb.Flavor]
	byName := SortKey[*storepb.Flavor]{Compare: func(a, b *storepb.Flavor) int { return strings.Compare(a.Name, b.Name) }}
	for _, c := range []struct {
		name string
		q    fq
		want string
	}{
		{"default", fq{}, "abcdef"},
		{"page", fq{Limit: 2, Marker: "b"}, "cd"},
		{"reverse page", fq{Limit: 2, Marker: "e", Reverse: true}, "cd"},
		{"index filter", fq{IndexFilter: &IndexFilter{Index: IndexName, Value: "n1"}}, "cd"},
		{"name, ties by id", fq{Order: []SortKey[*storepb.Flavor]{byName}}, "efcdab"},
		{"name desc, ties by id", fq{Order: []SortKey[*storepb.Flavor]{{Compare: byName.Compare, Desc: true}}}, "abcdef"},
	} {
		p, err := List(tb, c.q)
		if err != nil || ids(p) != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, ids(p), err, c.want)
		}
	}
}
