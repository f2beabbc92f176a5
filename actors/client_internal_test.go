package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/cluster"
)

// ownsEvery places on this node every load balancer whose id ends in want.
type ownsEvery struct {
	cluster.IdentityLookup
	want  byte
	asked int
}

func (o *ownsEvery) Owns(kind, id string) bool {
	o.asked++
	return kind == loadBalancerKind && id[len(id)-1] == o.want
}

func TestNewLoadBalancerIDPrefersThisNode(t *testing.T) {
	p := &ownsEvery{want: '0'}
	c := &Client{cluster: &cluster.Cluster{Config: &cluster.Config{IdentityLookup: p}}}
	local := 0
	for i := 0; i < 200; i++ {
		id := c.NewLoadBalancerID()
		if len(id) != 36 {
			t.Fatalf("id %q is not a UUID", id)
		}
		if id[35] == '0' {
			local++
		}
	}
	// Each draw is local with probability 1/16: 8 draws find one ~40% of the time
	// (1-(15/16)^8), one draw ~6%.
	if local < 40 || p.asked > 200*localIDTries {
		t.Fatalf("%d of 200 ids local after %d draws", local, p.asked)
	}
}
