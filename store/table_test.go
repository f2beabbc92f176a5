package store

import (
	"fmt"
	"testing"

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
