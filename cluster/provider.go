package cluster

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"keel/cluster/clusterpb"
)

// ProviderActorName is the well-known name of the actor that hands protoactor
// each new topology.
const ProviderActorName = "keel-provider"

// ActorProvider is a protoactor-go ClusterProvider built on Membership: grains are
// placed (disthash-style rendezvous) over the alive members, and a member that dies
// or leaves is dropped from the topology so its grains re-activate elsewhere on the
// next call.
//
// Topology reaches protoactor from one actor (ProviderActorName), never from a
// provider goroutine: MemberList.UpdateClusterTopology publishes on the event
// stream and mutates member strategies that protoactor's own actors read, so
// upstream providers serialize it through an actor too (protoactor-go
// cluster/clusterproviders/consul/provider_actor.go: the watch goroutine only
// Sends MemberListUpdated to the provider actor, whose Receive calls
// UpdateClusterTopology). Here a goroutine waits for gossip changes (and ticks
// once a second) and Sends a publishTopology message; the actor computes and
// applies the topology.
//
// protoactor blocks a member's ID forever once it leaves the topology, so a member
// that comes back — a healed partition, a paused process resumed — would never
// host grains again. Other members are therefore published under a generation ID
// (its ActorSystem ID, "#", a counter bumped each time it re-enters the topology
// here); blocking an old generation does not block the next. Only this node
// appears under its own ActorSystem ID, and protoactor's own gossip must be off
// (cmd/keeld does so): its heartbeat expiry blocks real IDs, and memberlist is
// the only judge of liveness.
//
// Self-fencing: the node stops hosting grains (OnFence(true)) while it cannot
// reach a quorum, by either of two signs: fewer than a majority of the Raft
// voters are alive in gossip (this node included), or Raft has known no leader
// for LeaderlessFenceAfter. The second catches a node cut off from everyone
// whose gossip is slow to say so (memberlist's Lifeguard stretches the timeouts
// of a node whose own probes fail); the grace keeps ordinary elections (~1 s)
// from stopping every grain.
type ActorProvider struct {
	membership *Membership
	opts       ProviderOptions

	mu   sync.Mutex
	pid  *actor.PID
	root *actor.RootContext
	stop chan struct{}
	done chan struct{}
}

// ProviderOptions are the provider's optional hooks.
type ProviderOptions struct {
	// Voters returns the names of the current Raft voters (nil: unknown, never fence).
	Voters func() []string
	// HasLeader reports whether Raft knows a leader now (nil: not a sign).
	HasLeader func() bool
	// OnFence is called (from the provider actor) when the node starts or stops
	// being fenced off from a quorum, with the reason.
	OnFence func(fenced bool, why string)
}

// LeaderlessFenceAfter is how long Raft may know no leader before the node
// fences itself: well above an election after a leader's death (~1–1.5 s).
const LeaderlessFenceAfter = 3 * time.Second

// NewActorProvider returns a provider publishing membership to protoactor.
func NewActorProvider(m *Membership, opts ProviderOptions) *ActorProvider {
	return &ActorProvider{membership: m, opts: opts}
}

var _ cluster.ClusterProvider = (*ActorProvider)(nil)

// StartMember publishes this node's actor identity in gossip, spawns the provider
// actor and starts feeding it: on every membership change and once a second.
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
	state := &topologyState{self: p.membership.Name(), selfID: c.ActorSystem.ID, gens: map[string]*generation{}}
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(publishTopology); ok {
			p.publish(c, state)
		}
	})
	pid, err := c.ActorSystem.Root.SpawnNamed(props, ProviderActorName)
	if err != nil {
		return fmt.Errorf("cluster: provider actor: %w", err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	p.mu.Lock()
	p.pid, p.root = pid, c.ActorSystem.Root
	p.stop, p.done = stop, done
	p.mu.Unlock()
	go p.kickLoop(c.ActorSystem.Root, pid, p.membership.Subscribe(), stop, done)
	return nil
}

// StartClient is not used: every keeld node is a full member.
func (p *ActorProvider) StartClient(c *cluster.Cluster) error { return p.StartMember(c) }

// Shutdown stops publishing. Gossip itself belongs to the node and is left by it.
func (p *ActorProvider) Shutdown(graceful bool) error {
	p.mu.Lock()
	stop, done, pid, root := p.stop, p.done, p.pid, p.root
	p.stop, p.pid = nil, nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if pid != nil {
		_ = root.PoisonFuture(pid).Wait()
	}
	return nil
}

// publishTopology asks the provider actor to hand protoactor the current members.
type publishTopology struct{}

func (p *ActorProvider) kickLoop(root *actor.RootContext, pid *actor.PID, changes <-chan struct{}, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		root.Send(pid, publishTopology{})
		select {
		case <-stop:
			return
		case <-changes:
		case <-tick.C:
		}
	}
}

// publish runs on the provider actor: it hands protoactor the full set of alive
// (and suspect) members that run an actor system — protoactor computes joins and
// leaves itself — and updates the fence.
func (p *ActorProvider) publish(c *cluster.Cluster, st *topologyState) {
	members := p.membership.Members()
	c.MemberList.UpdateClusterTopology(st.topology(members))
	if p.opts.Voters == nil || p.opts.OnFence == nil {
		return
	}
	now, voters := time.Now(), p.opts.Voters()
	// A node with no Raft configuration yet (waiting to be added) has no leader
	// by design; only a configured one is fenced for that.
	if len(voters) == 0 || p.opts.HasLeader == nil || p.opts.HasLeader() {
		st.leaderless = time.Time{}
	} else if st.leaderless.IsZero() {
		st.leaderless = now
	}
	why := fenceReason(quorumAlive(members, voters), st.leaderless, now)
	if fenced := why != ""; fenced != st.fenced {
		st.fenced = fenced
		p.opts.OnFence(fenced, why)
	}
}

// topologyState is what the provider actor remembers between publications.
type topologyState struct {
	self   string // node name
	selfID string // this node's ActorSystem ID
	gens   map[string]*generation
	fenced bool

	leaderless time.Time // since when Raft knows no leader (zero: it knows one)
}

// generation tracks one member's published identity.
type generation struct {
	actorID   string // the member's ActorSystem ID (new on every process start)
	n         int    // bumped each time the member re-enters the topology
	published bool   // in the last topology handed to protoactor
}

// topology turns gossip's members into protoactor members, giving each member
// that re-enters the topology a new generation ID (see ActorProvider).
func (st *topologyState) topology(members []Member) []*cluster.Member {
	var out []*cluster.Member
	for _, m := range members {
		eligible := (m.State == StateAlive || m.State == StateSuspect) && m.Meta != nil && m.Meta.ActorId != ""
		var host string
		var port int
		if eligible {
			var portStr string
			var err error
			host, portStr, err = net.SplitHostPort(m.Meta.ActorAddr)
			if err == nil {
				port, err = strconv.Atoi(portStr)
			}
			eligible = err == nil
		}
		g := st.gens[m.Name]
		if !eligible {
			if g != nil {
				g.published = false
			}
			continue
		}
		switch {
		case g == nil || g.actorID != m.Meta.ActorId: // first seen, or a new process
			g = &generation{actorID: m.Meta.ActorId, n: 1}
			st.gens[m.Name] = g
		case !g.published: // back after it was dropped: its old ID is blocked
			g.n++
		}
		g.published = true
		id := fmt.Sprintf("%s#%d", g.actorID, g.n)
		if m.Name == st.self && g.actorID == st.selfID {
			id = st.selfID
		}
		out = append(out, &cluster.Member{
			Id: id, Host: host, Port: int32(port), Kinds: append([]string(nil), m.Meta.Kinds...),
		})
	}
	return out
}

// fenceReason says why the node must fence itself ("" if it need not): no
// majority of voters alive in gossip, or no Raft leader since leaderless (zero:
// there is one) for longer than LeaderlessFenceAfter.
func fenceReason(quorumAlive bool, leaderless, now time.Time) string {
	switch {
	case !quorumAlive:
		return "a majority of voters is not alive in gossip"
	case !leaderless.IsZero() && now.Sub(leaderless) > LeaderlessFenceAfter:
		return "no raft leader for " + now.Sub(leaderless).Round(time.Second).String()
	}
	return ""
}

// quorumAlive reports whether a majority of voters is alive (or suspect) in
// gossip. With no voters known (no Raft configuration yet) there is nothing to
// fence against.
func quorumAlive(members []Member, voters []string) bool {
	if len(voters) == 0 {
		return true
	}
	state := make(map[string]MemberState, len(members))
	for _, m := range members {
		state[m.Name] = m.State
	}
	alive := 0
	for _, v := range voters {
		if s := state[v]; s == StateAlive || s == StateSuspect {
			alive++
		}
	}
	return alive >= len(voters)/2+1
}
