package actors

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// placeByLastChar places a load balancer on addrs[i] when its id ends in the
// hexadecimal digit i (one of 16), elsewhere otherwise.
type placeByLastChar struct {
	cluster.IdentityLookup
	addrs map[byte]string
	asked int
}

func (p *placeByLastChar) Owner(kind, id string) string {
	p.asked++
	if kind != loadBalancerKind {
		return ""
	}
	if a, ok := p.addrs[id[len(id)-1]]; ok {
		return a
	}
	return "elsewhere"
}

func (p *placeByLastChar) Deliver(string, string, *cluster.GrainRequest, time.Duration) (interface{}, error) {
	return nil, errors.New("not delivered")
}

// NewLoadBalancerID aims new load balancers' grains at the Raft leader's node,
// and at this node while the leader is unknown, within newGrainTries draws.
func TestNewLoadBalancerIDPrefersTheLeader(t *testing.T) {
	system := actor.NewActorSystem()
	self := system.Address()
	for _, tc := range []struct {
		name   string
		leader string
		want   byte
	}{
		{"leader known", "leader:1", '0'},
		{"leader unknown", "", '1'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &placeByLastChar{addrs: map[byte]string{'0': "leader:1", '1': self}}
			c := &Client{cluster: &cluster.Cluster{ActorSystem: system, Config: &cluster.Config{IdentityLookup: p}},
				writeLeader: func() string { return tc.leader }}
			hits := 0
			for i := 0; i < 200; i++ {
				id := c.NewLoadBalancerID()
				if len(id) != 36 {
					t.Fatalf("id %q is not a UUID", id)
				}
				if id[35] == tc.want {
					hits++
				}
			}
			// Each draw lands on the wanted node with probability 1/16: 8 draws
			// find one ~40% of the time (1-(15/16)^8), one draw ~6%.
			if hits < 40 || p.asked > 200*newGrainTries {
				t.Fatalf("%d of 200 ids on the wanted node after %d draws", hits, p.asked)
			}
		})
	}
}

// topologyNotifier is an identity lookup whose topology changes when the test
// says so.
type topologyNotifier struct {
	cluster.IdentityLookup
	mu      sync.Mutex
	changed chan struct{}
}

func (n *topologyNotifier) TopologyChanged() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// change announces a new topology, as PlacementLookup does: the channel is
// closed and replaced.
func (n *topologyNotifier) change() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.changed)
	n.changed = make(chan struct{})
}

// An attempt stuck on a grain whose node died (here: one that never answers)
// is given up as soon as the topology changes, not when its timeout expires,
// and the next attempt answers.
func TestAttemptEndsWhenTheTopologyChanges(t *testing.T) {
	lookup := &topologyNotifier{changed: make(chan struct{})}
	c := &Client{cluster: &cluster.Cluster{Config: &cluster.Config{IdentityLookup: lookup}},
		attemptTimeout: time.Minute, callTimeout: 2 * time.Minute}
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{})
	go func() {
		<-started
		time.Sleep(50 * time.Millisecond)
		lookup.change()
	}()
	begin := time.Now()
	v, err := attempts(context.Background(), c, func(attempt uint32, _ ...cluster.GrainCallOption) (uint32, error) {
		if attempt == 0 {
			close(started)
			<-stuck // the dead owner: no answer until the test ends
			return 0, errors.New("unreachable")
		}
		return attempt, nil
	})
	if err != nil || v != 1 {
		t.Fatalf("call: %v, %v; want attempt 1's answer", v, err)
	}
	if took := time.Since(begin); took > 30*time.Second {
		t.Fatalf("the call took %v: it waited out the stuck attempt", took)
	}
}
