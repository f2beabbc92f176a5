package haproxyconfig_test

import (
	"testing"

	"keel/actors/haproxyconfig"
	"keel/store"
	"keel/store/storepb"
)

// TestTreeConvertsFromStore: Tree keeps store.Tree's fields, so a caller converts
// without copying (this stops compiling if they drift apart).
func TestTreeConvertsFromStore(t *testing.T) {
	st := &store.Tree{LoadBalancer: &storepb.LoadBalancer{Id: lbID}}
	tr := haproxyconfig.Tree(*st)
	if tr.LoadBalancer.Id != lbID {
		t.Fatal("conversion lost the load balancer")
	}
	full := baseTree()
	v, err := haproxyconfig.ViewOf(full, lisID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pools) != 1 || v.Pools[0].Pool.Id != poolA || len(v.Pools[0].Members) != 2 {
		t.Fatalf("ViewOf selects the listener's pools and their members: %+v", v.Pools)
	}
}
