package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tidwall/btree"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func collectEqual(t *Table[*storepb.LoadBalancer], index, value string) []string {
	var ids []string
	t.Equal(index, value, func(lb *storepb.LoadBalancer) bool { ids = append(ids, lb.Id); return true })
	return ids
}

// TestTableIndexesFollowReplacement checks that replacing an entity moves it in
// every index (including in and out of a partial index) and that a clone taken
// before a write never sees it.
func TestTableIndexesFollowReplacement(t *testing.T) {
	tab := NewTable(loadBalancerSchema)
	for i := 0; i < 100; i++ {
		tab.Put(&storepb.LoadBalancer{Id: fmt.Sprintf("id%03d", i), Name: "n", ProjectId: "p", CreatedAt: int64(i), ProvisioningStatus: "PENDING_CREATE"})
	}
	before := tab.Clone()
	tab.Put(&storepb.LoadBalancer{Id: "id007", Name: "renamed", ProjectId: "q", CreatedAt: 7, ProvisioningStatus: "ACTIVE"})
	tab.Delete("id008")

	if got := len(collectEqual(tab, IndexName, "n")); got != 98 {
		t.Fatalf("name index holds %d entities named n, want 98", got)
	}
	if got := collectEqual(tab, IndexName, "renamed"); len(got) != 1 || got[0] != "id007" {
		t.Fatalf("renamed: %v", got)
	}
	if got := len(collectEqual(tab, IndexProvisioningStatus, "PENDING_CREATE")); got != 98 {
		t.Fatalf("partial index holds %d, want 98", got)
	}
	if got := collectEqual(tab, IndexProvisioningStatus, "ACTIVE"); len(got) != 0 {
		t.Fatalf("partial index holds non-pending entities: %v", got)
	}
	page, _ := List(tab, Query[*storepb.LoadBalancer]{Project: "q"})
	if len(page.Items) != 1 || page.Items[0].Id != "id007" {
		t.Fatalf("project index after move: %v", page.Items)
	}
	if tab.Len() != 99 {
		t.Fatalf("len %d", tab.Len())
	}

	// The clone is a snapshot: untouched by the writes.
	if before.Len() != 100 || before.byID.Len() != before.created.Len() {
		t.Fatalf("clone changed: %d", before.Len())
	}
	if lb, _ := before.Get("id007"); lb.Name != "n" {
		t.Fatalf("clone sees a later write: %v", lb)
	}
	if _, ok := before.Get("id008"); !ok {
		t.Fatal("clone sees a later delete")
	}
	if got := len(collectEqual(before, IndexName, "n")); got != 100 {
		t.Fatalf("clone name index: %d", got)
	}
}

// TestTablePutMatchesRebuild replaces entities at random (keys changed or kept,
// in and out of partial and multi-valued indexes) and checks every index against
// a table built afresh from the final entities: replacing in place must leave
// exactly what unindexing and inserting would.
func TestTablePutMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := NewTable(loadBalancerSchema)
	final := map[string]*storepb.LoadBalancer{}
	statuses := []string{"PENDING_CREATE", "ACTIVE", "PENDING_UPDATE", "ERROR"}
	for i := 0; i < 5000; i++ {
		id := fmt.Sprintf("id%03d", rng.IntN(300))
		if rng.IntN(10) == 0 {
			tab.Delete(id)
			delete(final, id)
			continue
		}
		lb := &storepb.LoadBalancer{Id: id, Name: fmt.Sprintf("n%d", rng.IntN(4)), ProjectId: fmt.Sprintf("p%d", rng.IntN(2)),
			CreatedAt: int64(rng.IntN(3)), ProvisioningStatus: statuses[rng.IntN(len(statuses))],
			FlavorId: []string{"", "f1"}[rng.IntN(2)], VipAddress: fmt.Sprintf("127.0.100.%d", rng.IntN(3))}
		if prev, ok := final[id]; ok && rng.IntN(2) == 0 { // keep every key, change only the status
			c := proto.CloneOf(prev)
			c.ProvisioningStatus = statuses[rng.IntN(len(statuses))]
			lb = c
		}
		tab.Put(lb)
		final[id] = lb
	}
	want := NewTable(loadBalancerSchema)
	for _, lb := range final {
		want.Put(lb)
	}
	ids := func(tr *btree.BTreeG[*storepb.LoadBalancer]) []string {
		var out []string
		tr.Scan(func(lb *storepb.LoadBalancer) bool { out = append(out, lb.Id); return true })
		return out
	}
	if got, w := ids(tab.created), ids(want.created); !slices.Equal(got, w) {
		t.Fatalf("created index: %d entries, want %d", len(got), len(w))
	}
	if got, w := ids(tab.projectCreated), ids(want.projectCreated); !slices.Equal(got, w) {
		t.Fatalf("project index: %d entries, want %d", len(got), len(w))
	}
	for name := range loadBalancerSchema.Exact {
		if got, w := ids(tab.exact[name]), ids(want.exact[name]); !slices.Equal(got, w) {
			t.Fatalf("index %s: %v, want %v", name, got, w)
		}
	}
	for name := range loadBalancerSchema.Multi {
		var got, w []string
		tab.multi[name].Scan(func(e keyed[*storepb.LoadBalancer]) bool { got = append(got, e.key+"/"+e.v.Id); return true })
		want.multi[name].Scan(func(e keyed[*storepb.LoadBalancer]) bool { w = append(w, e.key+"/"+e.v.Id); return true })
		if !slices.Equal(got, w) {
			t.Fatalf("multi index %s: %v, want %v", name, got, w)
		}
	}
}
