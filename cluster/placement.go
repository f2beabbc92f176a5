package cluster

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"

	"keel/cluster/clusterpb"
)

// ActivatorActorName is the well-known name of each node's grain activator.
const ActivatorActorName = "keel-activator"

// activationTimeout bounds one activation request to a grain's owner. A dead
// owner that gossip has not yet declared dead must cost a short, retried wait, not
// disthash's hard-coded 5 s.
const activationTimeout = 750 * time.Millisecond

// PlacementLookup is keel's protoactor IdentityLookup. It places grains as
// protoactor's disthash does — rendezvous hashing of the identity over the members
// that host the kind, the owner activating the grain as a child of its activator —
// but keeps the activator's bookkeeping O(1): disthash finds a terminated grain by
// scanning every activation and comparing PID pointers, so it never forgets a
// passivated grain (a leak) and each passivation costs O(grains) plus a broadcast
// to every member. At 100k grains that stalls placement for minutes.
type PlacementLookup struct {
	active    atomic.Int64 // grains activated on this node and not yet stopped
	fenced    atomic.Bool  // cut off from a quorum: host no grains, place none
	cluster   *protocluster.Cluster
	rdv       atomic.Pointer[protocluster.Rendezvous]
	activator *actor.PID
	sub       *eventstream.Subscription

	topoMu      sync.Mutex
	topoChanged chan struct{} // closed, and replaced, when a new topology arrives
}

// NewPlacementLookup returns the lookup; protoactor calls Setup when the member starts.
func NewPlacementLookup() *PlacementLookup { return &PlacementLookup{} }

var _ protocluster.IdentityLookup = (*PlacementLookup)(nil)

// Setup starts the activator and follows topology changes.
func (l *PlacementLookup) Setup(c *protocluster.Cluster, kinds []string, isClient bool) {
	l.cluster = c
	l.rdv.Store(protocluster.NewRendezvous())
	l.topoMu.Lock()
	l.topoChanged = make(chan struct{})
	l.topoMu.Unlock()
	system := c.ActorSystem
	props := actor.PropsFromProducer(func() actor.Actor { return newActivator(c, &l.active, &l.fenced) })
	l.activator, _ = system.Root.SpawnNamed(props, ActivatorActorName)
	l.sub = system.EventStream.Subscribe(func(ev interface{}) {
		if topology, ok := ev.(*protocluster.ClusterTopology); ok {
			rdv := protocluster.NewRendezvous()
			rdv.UpdateMembers(topology.Members)
			l.rdv.Store(rdv)
			l.topoMu.Lock()
			close(l.topoChanged)
			l.topoChanged = make(chan struct{})
			l.topoMu.Unlock()
			system.Root.Send(l.activator, topology)
		}
	})
}

// SetFenced fences the node off (true) or lets it host grains again (false). A
// fenced node cannot reach a quorum of voters: whatever it sees as the topology
// is stale, so it stops every local grain, refuses activations and places no
// calls; its grains re-activate on the majority side, which no longer sees it.
func (l *PlacementLookup) SetFenced(fenced bool) {
	if l.fenced.Swap(fenced) == fenced || !fenced || l.activator == nil {
		return
	}
	l.cluster.ActorSystem.Root.Send(l.activator, stopAllGrains{})
}

// Fenced reports whether the node is fenced off.
func (l *PlacementLookup) Fenced() bool { return l.fenced.Load() }

// stopAllGrains tells the activator to stop every local grain.
type stopAllGrains struct{}

// Active returns how many grains this node hosts now.
func (l *PlacementLookup) Active() int64 { return l.active.Load() }

// GrainPlacement is where one grain lives, as this node sees it.
type GrainPlacement struct {
	// Owner is the member address rendezvous hashing places the grain on
	// ("" when the node knows no members of the kind).
	Owner string
	// Self is this node's member address.
	Self string
	// Hosted reports whether this node runs an activation of the grain now.
	Hosted bool
}

// Placement reports where the grain kind/identity lives as this node sees
// it, without activating it: the owner rendezvous hashing picks from this
// node's topology, and whether this node's activator holds an activation of
// it now (asked through the activator's mailbox, its only reader). Operators
// and tests use it to find the node running a grain.
func (l *PlacementLookup) Placement(kind, identity string) (GrainPlacement, error) {
	id := protocluster.NewClusterIdentity(identity, kind)
	p := GrainPlacement{Owner: l.rdv.Load().GetByClusterIdentity(id), Self: l.cluster.ActorSystem.Address()}
	res, err := l.cluster.ActorSystem.Root.RequestFuture(l.activator, hostedQuery{key: id.AsKey()}, time.Second).Result()
	if err != nil {
		return p, err
	}
	p.Hosted, _ = res.(bool)
	return p, nil
}

// hostedQuery asks the activator whether it holds an activation of key.
type hostedQuery struct{ key string }

// Get returns the PID of the identity's activation, asking its owner to activate it
// if needed; nil when the owner cannot be reached in time (the caller retries).
func (l *PlacementLookup) Get(id *protocluster.ClusterIdentity) *actor.PID {
	if l.fenced.Load() {
		return nil
	}
	owner := l.rdv.Load().GetByClusterIdentity(id)
	if owner == "" {
		return nil
	}
	req := &protocluster.ActivationRequest{ClusterIdentity: id}
	res, err := l.cluster.ActorSystem.Root.RequestFuture(actor.NewPID(owner, ActivatorActorName), req, activationTimeout).Result()
	if err != nil {
		return nil
	}
	resp, ok := res.(*protocluster.ActivationResponse)
	if !ok || resp.Failed {
		return nil
	}
	return resp.Pid
}

// TopologyChanged returns a channel closed when the next topology arrives (a
// member joined, died or left; grains may have new owners). nil before Setup.
func (l *PlacementLookup) TopologyChanged() <-chan struct{} {
	l.topoMu.Lock()
	defer l.topoMu.Unlock()
	return l.topoChanged
}

// Owner is the member address the grain (kind, identity) is placed on now: its
// owner by rendezvous hashing over the current members ("" when this node knows
// none, or is fenced off).
func (l *PlacementLookup) Owner(kind, identity string) string {
	rdv := l.rdv.Load()
	if rdv == nil || l.fenced.Load() {
		return ""
	}
	return rdv.GetByClusterIdentity(&protocluster.ClusterIdentity{Kind: kind, Identity: identity})
}

// errNotDelivered is Deliver's when the owner could not activate the grain.
var errNotDelivered = errors.New("cluster: the grain's owner could not activate it")

// Deliver sends a grain call to the grain's owner's activator, which activates
// the grain if need be and hands it the call with this caller as its sender: one
// round trip, where a call to a grain not yet active otherwise takes two (the
// activation request, then the call). The reply is the grain's.
func (l *PlacementLookup) Deliver(kind, identity string, req *protocluster.GrainRequest, timeout time.Duration) (interface{}, error) {
	owner := l.Owner(kind, identity)
	if owner == "" {
		return nil, errNotDelivered
	}
	msg := &clusterpb.GrainDelivery{Kind: kind, Identity: identity, MethodIndex: req.MethodIndex, MessageData: req.MessageData}
	res, err := l.cluster.ActorSystem.Root.RequestFuture(actor.NewPID(owner, ActivatorActorName), msg, timeout).Result()
	if err != nil {
		return nil, err
	}
	if _, failed := res.(*clusterpb.GrainDeliveryFailed); failed {
		return nil, errNotDelivered
	}
	return res, nil
}

// RemovePid is called by protoactor when a cached PID turned out dead; the
// activator learns of terminations itself, so there is nothing to do.
func (l *PlacementLookup) RemovePid(*protocluster.ClusterIdentity, *actor.PID) {}

// Shutdown stops the activator (and with it every local grain).
func (l *PlacementLookup) Shutdown() {
	if l.sub != nil {
		l.cluster.ActorSystem.EventStream.Unsubscribe(l.sub)
		l.sub = nil
	}
	if l.activator != nil {
		_ = l.cluster.ActorSystem.Root.PoisonFuture(l.activator).Wait()
		l.activator = nil
	}
}

// activator spawns the grains this node owns and forgets them when they stop.
type activator struct {
	cluster *protocluster.Cluster
	active  *atomic.Int64
	fenced  *atomic.Bool
	byKey   map[string]*actor.PID                    // identity key -> grain
	byPID   map[string]*protocluster.ClusterIdentity // grain PID id -> identity
}

func newActivator(c *protocluster.Cluster, active *atomic.Int64, fenced *atomic.Bool) *activator {
	return &activator{cluster: c, active: active, fenced: fenced, byKey: map[string]*actor.PID{}, byPID: map[string]*protocluster.ClusterIdentity{}}
}

// Receive implements actor.Actor.
func (a *activator) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *protocluster.ActivationRequest:
		pid := a.activate(ctx, msg.ClusterIdentity)
		ctx.Respond(&protocluster.ActivationResponse{Pid: pid, Failed: pid == nil})
	case *clusterpb.GrainDelivery:
		pid := a.activate(ctx, protocluster.NewClusterIdentity(msg.Identity, msg.Kind))
		if pid == nil {
			ctx.Respond(&clusterpb.GrainDeliveryFailed{})
			return
		}
		ctx.RequestWithCustomSender(pid, &protocluster.GrainRequest{MethodIndex: msg.MethodIndex, MessageData: msg.MessageData}, ctx.Sender())
	case hostedQuery:
		_, ok := a.byKey[msg.key]
		ctx.Respond(ok)
	case *actor.Terminated:
		if id, ok := a.byPID[msg.Who.Id]; ok {
			delete(a.byPID, msg.Who.Id)
			delete(a.byKey, id.AsKey())
			a.active.Add(-1)
			if k, ok := a.cluster.TryGetClusterKind(id.Kind); ok {
				k.Dec()
			}
			if len(a.byKey) == 0 {
				// Every grain passivated: a Go map keeps the buckets of its
				// largest size (~50 bytes per grain of the last burst).
				a.byKey, a.byPID = map[string]*actor.PID{}, map[string]*protocluster.ClusterIdentity{}
			}
		}
	case *actor.Stopping, stopAllGrains:
		for _, pid := range a.byKey {
			ctx.Poison(pid)
		}
	case *protocluster.ClusterTopology:
		// Grains whose owner is now another member stop here; their next call
		// activates them on the new owner, which reloads their state from the store.
		rdv := protocluster.NewRendezvous()
		rdv.UpdateMembers(msg.Members)
		self := a.cluster.ActorSystem.Address()
		for _, id := range a.byPID {
			if rdv.GetByClusterIdentity(id) != self {
				ctx.Poison(a.byKey[id.AsKey()])
			}
		}
	}
}

// activate returns the local activation of grain id, spawning it if need be;
// nil when this node hosts no grains (fenced off) or knows no such kind.
func (a *activator) activate(ctx actor.Context, id *protocluster.ClusterIdentity) *actor.PID {
	key := id.AsKey()
	if a.fenced.Load() {
		return nil
	}
	if pid, ok := a.byKey[key]; ok {
		return pid
	}
	kind, ok := a.cluster.TryGetClusterKind(id.Kind)
	if !ok {
		return nil
	}
	// Spawned from the root and watched, not as the activator's children:
	// protoactor's child set (PIDSet) keeps stale PIDs in its backing array after
	// removals, which would retain every stopped grain up to the peak count.
	props := protocluster.WithClusterIdentity(kind.Props, id)
	pid := ctx.ActorSystem().Root.SpawnPrefix(props, id.Identity)
	ctx.Watch(pid)
	kind.Inc()
	a.byKey[key] = pid
	a.byPID[pid.Id] = id
	a.active.Add(1)
	return pid
}
