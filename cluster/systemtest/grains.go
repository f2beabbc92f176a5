package systemtest

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// GrainPlacement is one node's answer to GET /debug/grains/{kind}/{identity}.
type GrainPlacement struct {
	Kind     string `json:"kind"`
	Identity string `json:"identity"`
	Owner    string `json:"owner"`
	Self     string `json:"self"`
	Hosted   bool   `json:"hosted"`
}

// GrainPlacementOn asks n where the grain kind/identity lives.
func (n *Node) GrainPlacementOn(kind, identity string) (GrainPlacement, error) {
	var p GrainPlacement
	r, err := n.Do("GET", "/debug/grains/"+url.PathEscape(kind)+"/"+url.PathEscape(identity), nil)
	if err != nil {
		return p, err
	}
	if r.Status != 200 {
		return p, fmt.Errorf("%s: GET /debug/grains: %d %s", n.Name, r.Status, r.Body)
	}
	return p, json.Unmarshal(r.Body, &p)
}

// GrainHost is the node of nodes that runs an activation of the grain now,
// found by asking each (every node must answer): exactly one may say it
// hosts it, and it must be the owner every node's placement names.
func GrainHost(t T, nodes []*Node, kind, identity string) *Node {
	t.Helper()
	var host *Node
	owners := map[string]bool{}
	for _, n := range nodes {
		p, err := n.GrainPlacementOn(kind, identity)
		if err != nil {
			t.Fatalf("placement of %s %s: %v", kind, identity, err)
		}
		owners[p.Owner] = true
		if !p.Hosted {
			continue
		}
		if host != nil {
			t.Fatalf("%s %s is hosted by both %s and %s", kind, identity, host.Name, n.Name)
		}
		if p.Owner != p.Self {
			t.Fatalf("%s hosts %s %s but places it on %s", n.Name, kind, identity, p.Owner)
		}
		host = n
	}
	if host == nil {
		t.Fatalf("no node hosts %s %s", kind, identity)
	}
	if len(owners) != 1 {
		t.Fatalf("the nodes disagree on the owner of %s %s: %v", kind, identity, owners)
	}
	return host
}
