package cluster

import (
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"keel/cluster/clusterpb"
)

// ActorProvider is a protoactor-go ClusterProvider built on Membership: grains are
// placed (disthash) over the alive members, and a member that dies or leaves is
// dropped from the topology so its grains re-activate elsewhere on the next call.
type ActorProvider struct {
	membership *Membership

	mu      sync.Mutex
	cluster *cluster.Cluster
	stop    chan struct{}
	done    chan struct{}
}

// NewActorProvider returns a provider publishing membership to protoactor.
func NewActorProvider(m *Membership) *ActorProvider {
	return &ActorProvider{membership: m}
}

var _ cluster.ClusterProvider = (*ActorProvider)(nil)

// StartMember publishes this node's actor identity in gossip and starts feeding
// protoactor the topology: on every membership change and once a second.
func (p *ActorProvider) StartMember(c *cluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	kinds := c.GetClusterKinds()
	p.membership.UpdateMeta(func(meta *clusterpb.NodeMeta) {
		meta.ActorId = c.ActorSystem.ID
		meta.ActorAddr = net.JoinHostPort(host, strconv.Itoa(port))
		meta.Kinds = kinds
	})
	stop, done := make(chan struct{}), make(chan struct{})
	p.mu.Lock()
	p.cluster = c
	p.stop, p.done = stop, done
	p.mu.Unlock()
	go p.publishLoop(p.membership.Subscribe(), stop, done)
	return nil
}

// StartClient is not used: every keeld node is a full member.
func (p *ActorProvider) StartClient(c *cluster.Cluster) error { return p.StartMember(c) }

// Shutdown stops publishing. Gossip itself belongs to the node and is left by it.
func (p *ActorProvider) Shutdown(graceful bool) error {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	return nil
}

func (p *ActorProvider) publishLoop(changes <-chan struct{}, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	p.publish()
	for {
		select {
		case <-stop:
			return
		case <-changes:
		case <-tick.C:
		}
		p.publish()
	}
}

// publish hands protoactor the full set of alive (and suspect) members that run an
// actor system; protoactor computes joins and leaves itself.
func (p *ActorProvider) publish() {
	var members []*cluster.Member
	for _, m := range p.membership.Members() {
		if m.State != StateAlive && m.State != StateSuspect {
			continue
		}
		if m.Meta == nil || m.Meta.ActorId == "" {
			continue
		}
		host, portStr, err := net.SplitHostPort(m.Meta.ActorAddr)
		if err != nil {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			continue
		}
		members = append(members, &cluster.Member{
			Id: m.Meta.ActorId, Host: host, Port: int32(port), Kinds: append([]string(nil), m.Meta.Kinds...),
		})
	}
	p.cluster.MemberList.UpdateClusterTopology(members)
}
