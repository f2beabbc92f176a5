package store

import (
	"testing"

	"keel/store/storepb"
)

// A reply's State for one load balancer builds only the lookup it is read by:
// its table answers by id, holds the one row, and has no secondary index to
// query (a query names the missing index).
func TestStateOfLoneLoadBalancer(t *testing.T) {
	lb := &storepb.LoadBalancer{Id: "lb-1", ProjectId: "p1", Name: "web", VipAddress: "127.0.100.9", ProvisioningStatus: "PENDING_CREATE"}
	tree := &storepb.Tree{LoadBalancer: lb}
	st := StateOf(tree)
	if got := st.LoadBalancer("lb-1"); got != lb || st.LoadBalancers.Len() != 1 {
		t.Fatalf("LoadBalancer(lb-1) = %v, %d rows", got, st.LoadBalancers.Len())
	}
	if st.Listeners.Len() != 0 || st.Pools.Len() != 0 {
		t.Fatal("a lone load balancer's State has children")
	}
	func() {
		defer func() {
			if r := recover(); r == nil || r != "store: no index "+IndexName+" on loadbalancers" {
				t.Errorf("a query on the name index: %v", r)
			}
		}()
		st.LoadBalancers.Equal(IndexName, "web", func(*storepb.LoadBalancer) bool { return true })
	}()
	// 44 with the full table's ten B-trees, 14 without.
	if allocs := testing.AllocsPerRun(100, func() { StateOf(tree) }); allocs > 25 {
		t.Errorf("StateOf(lone load balancer) made %.0f allocations", allocs)
	}
}
