package haproxyconfig_test

import (
	"testing"

	"keel/actors/haproxyconfig"
)

// TestViewOfSelectsTheListenersPools: a view holds the listener's pools and their
// members only.
func TestViewOfSelectsTheListenersPools(t *testing.T) {
	full := baseTree()
	v, err := haproxyconfig.ViewOf(full, lisID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pools) != 1 || v.Pools[0].Pool.Id != poolA || len(v.Pools[0].Members) != 2 {
		t.Fatalf("ViewOf selects the listener's pools and their members: %+v", v.Pools)
	}
}
