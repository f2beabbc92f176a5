package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/cluster/metrics"
)

// Client calls grains for the HTTP handlers and the reconciler. protoactor-go's own
// call timeout is soft (an activation on a just-died owner can stall for 5 s), so
// every attempt runs under a hard deadline of its own, and attempts that reach no
// decision are retried with the same request id until the call's deadline. Each
// attempt is numbered in its Caller, so a grain knows when an earlier one may
// still be in flight.
type Client struct {
	cluster        *cluster.Cluster
	attemptTimeout time.Duration
	callTimeout    time.Duration
	writeLeader    func() string // the Raft leader's member address; nil or "": unknown
}

// NewClient returns a grain client over c.
func NewClient(c *cluster.Cluster) *Client {
	return &Client{cluster: c, attemptTimeout: time.Second, callTimeout: RequestLifetime}
}

// placement is what the cluster's identity lookup answers about where grains live
// (cluster.PlacementLookup).
type placement interface {
	Owner(kind, identity string) string
	Deliver(kind, identity string, req *cluster.GrainRequest, timeout time.Duration) (interface{}, error)
}

// topologyWatcher is the identity lookup's signal of a new topology
// (cluster.PlacementLookup).
type topologyWatcher interface {
	TopologyChanged() <-chan struct{}
}

// topologyChanged is closed when the cluster's next topology arrives (nil, never
// closed, without keel's placement).
func (c *Client) topologyChanged() <-chan struct{} {
	if w, ok := c.cluster.Config.IdentityLookup.(topologyWatcher); ok {
		return w.TopologyChanged()
	}
	return nil
}

// SetWriteLeader tells the client how to find the member that leads Raft now
// (its protoactor address, "" when unknown); NewLoadBalancerID places new load
// balancers' grains there. Call it before the client serves.
func (c *Client) SetWriteLeader(addr func() string) { c.writeLeader = addr }

// newGrainTries bounds the ids NewLoadBalancerID draws: with n nodes, each lands
// on the wanted one with probability 1/n, so on 3 nodes 8 draws all miss for
// (2/3)^8, about 4% of creates (whose grain is then simply placed elsewhere).
const newGrainTries = 8

// NewLoadBalancerID returns a new load balancer id (a random UUID) whose grain is
// placed on the Raft leader's node (this node's while the leader is unknown), if
// one of a few draws is. Every write is committed by the leader: a grain there
// proposes its create, and the provider step that follows it, straight into the
// leader's batches, where a grain on a follower forwards each batch to the
// leader and waits for the reply, behind the follower's own batching. A create
// sent to a follower then costs one call to the grain on the leader instead,
// as Nomad and Consul servers forward a write's whole RPC to their leader. In
// the 3-node create profile (c=64) that cut p99 from 66-82 ms to 56-60 ms at
// the same throughput and CPU (docs/benchmarks.md). Where the grain lives is a
// property of its id, so this changes no guarantee: the grain is placed as any
// other, stays where its id puts it when the leader changes, moves when members
// change, and another node's request reaches it as ever.
func (c *Client) NewLoadBalancerID() string {
	id := uuid.NewString()
	p, ok := c.cluster.Config.IdentityLookup.(placement)
	if !ok {
		return id
	}
	want := ""
	if c.writeLeader != nil {
		want = c.writeLeader()
	}
	if want == "" {
		want = c.cluster.ActorSystem.Address()
	}
	for i := 1; i < newGrainTries && p.Owner(loadBalancerKind, id) != want; i++ {
		id = uuid.NewString()
	}
	return id
}

// loadBalancerKind is the protoactor kind of LoadBalancerGrain (actorspb's).
const loadBalancerKind = "LoadBalancer"

// RequestLifetime bounds an API request's grain call, retries included; the
// request's commands carry its end as their deadline, after which the FSM
// refuses them.
const RequestLifetime = 12 * time.Second

// RequestDeadline is the deadline (unix ms) of a request that arrives at now.
func RequestDeadline(now time.Time) int64 { return now.Add(RequestLifetime).UnixMilli() }

// protoactorSlack keeps protoactor-go's own timeout past the attempt's: it resends
// a message after its timeout, and that resend must never be the answer taken for
// an attempt (it would carry the attempt's number while racing the first delivery).
const protoactorSlack = 500 * time.Millisecond

type attemptResult[T any] struct {
	v   T
	err error
}

// The recorders of each kind's calls, activations and passivations
// (keel_grain_*), label children resolved once.
var (
	loadBalancerGrains  = metrics.GrainKindOf("LoadBalancer")
	amphoraGrains       = metrics.GrainKindOf("Amphora")
	catalogGrains       = metrics.GrainKindOf("Catalog")
	leaseGrains         = metrics.GrainKindOf("Lease")
	hostInventoryGrains = metrics.GrainKindOf("HostInventory")
	instanceGrains      = metrics.GrainKindOf("Instance")
	instanceTypeGrains  = metrics.GrainKindOf("InstanceType")
)

// call runs f until it returns a value or a grain's decision (*Error); f gets the
// attempt's number. The call, retries included, is recorded on kind: ok, error
// (the grain's refusal) or timeout (no decision before the deadline).
func call[T any](ctx context.Context, c *Client, kind *metrics.GrainKind, f func(attempt uint32, opts ...cluster.GrainCallOption) (T, error)) (v T, err error) {
	start := time.Now()
	defer func() { kind.Call(callOutcome(err), time.Since(start)) }()
	return attempts(ctx, c, f)
}

// callOutcome classifies a call's result; KindUnavailable is only ever the
// call's own verdict (asError retries a grain's UNAVAILABLE).
func callOutcome(err error) metrics.Outcome {
	switch e, _ := err.(*Error); {
	case err == nil:
		return metrics.CallOK
	case e != nil && e.Kind == KindUnavailable:
		return metrics.CallTimeout
	default:
		return metrics.CallError
	}
}

// attempts is call's loop.
func attempts[T any](ctx context.Context, c *Client, f func(attempt uint32, opts ...cluster.GrainCallOption) (T, error)) (T, error) {
	var zero T
	deadline := time.Now().Add(c.callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var last error
	for attempt := 0; ; attempt++ {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return zero, &Error{Kind: KindUnavailable, Message: fmt.Sprintf("Service unavailable: %v", last)}
		}
		timeout := min(c.attemptTimeout, remaining)
		changed := c.topologyChanged()
		ch := make(chan attemptResult[T], 1)
		go func(attempt uint32) {
			v, err := f(attempt, cluster.WithTimeout(timeout+protoactorSlack), cluster.WithRetryCount(3))
			ch <- attemptResult[T]{v, err}
		}(uint32(attempt))
		var r attemptResult[T]
		answered := false
		select {
		case r = <-ch:
			answered = true
		case <-time.After(timeout):
			last = fmt.Errorf("grain call attempt timed out after %v", timeout)
		case <-changed:
			// A member joined, died or left: an attempt waiting on a dead
			// node's grain (a cached PID, an activation request) would wait
			// out its whole timeout, though the grain can now be reached on
			// its new owner. The next attempt asks again (the same request
			// id: answered once, never applied twice). After a leader's kill,
			// a lease event due on a grain of the dead node fired a full
			// attempt timeout after gossip declared the node dead.
			select {
			case r = <-ch: // answered meanwhile: take it
				answered = true
			default:
				last = errors.New("the cluster's topology changed during the attempt")
			}
		case <-ctx.Done():
			return zero, &Error{Kind: KindUnavailable, Message: "Service unavailable: request cancelled"}
		}
		if answered {
			if r.err == nil {
				return r.v, nil
			}
			if e := asError(r.err); e != nil {
				return zero, e
			}
			last = r.err
		}
		select {
		case <-time.After(time.Duration(50+rand.IntN(100)) * time.Millisecond):
		case <-ctx.Done():
			return zero, &Error{Kind: KindUnavailable, Message: "Service unavailable: request cancelled"}
		}
	}
}

// LoadBalancerMethod is a method of the load balancer grain's generated client,
// as a method expression: (*actorspb.LoadBalancerGrainClient).CreateListener.
type LoadBalancerMethod[Req, Resp any] func(*actorspb.LoadBalancerGrainClient, Req, ...cluster.GrainCallOption) (Resp, error)

// CallLoadBalancer calls one method of load balancer lbID's grain with keel's
// per-attempt deadline and retries (requests carry their request id, so a retry
// is answered, not applied twice).
func CallLoadBalancer[Req, Resp any](ctx context.Context, c *Client, lbID string, method LoadBalancerMethod[Req, Resp], req Req) (Resp, error) {
	g := actorspb.GetLoadBalancerGrainClient(c.cluster, lbID)
	return call(ctx, c, loadBalancerGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (Resp, error) {
		return method(g, numbered(req, attempt), opts...)
	})
}

// numbered returns req with its Caller's attempt set (a copy: an earlier attempt
// may still be sending the original).
func numbered[Req any](req Req, attempt uint32) Req {
	if attempt == 0 {
		return req
	}
	m, ok := any(req).(proto.Message)
	if !ok {
		return req
	}
	clone := proto.Clone(m)
	if c, ok := clone.(interface{ GetCaller() *actorspb.Caller }); ok && c.GetCaller() != nil {
		c.GetCaller().Attempt = attempt
	}
	return clone.(Req)
}

// createMethodIndex is the index protoc-gen-go-grain gives LoadBalancerGrain's
// Create, its first rpc in actors.proto (the generated client's GrainRequest).
const createMethodIndex = 0

// CreateLoadBalancer calls Create on the grain of the new load balancer id. When
// that grain is placed on another node (the leader's: NewLoadBalancerID), the
// first attempt goes to that node's activator, which activates the grain and
// hands it the call in one round trip (cluster.PlacementLookup.Deliver): a call
// to a grain not yet active otherwise asks its owner to activate it first, a
// round trip of its own. Retries call the grain as any other call does.
func (c *Client) CreateLoadBalancer(ctx context.Context, id string, req *actorspb.CreateLoadBalancerRequest) (*actorspb.LoadBalancerReply, error) {
	g := actorspb.GetLoadBalancerGrainClient(c.cluster, id)
	return call(ctx, c, loadBalancerGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (*actorspb.LoadBalancerReply, error) {
		r := numbered(req, attempt)
		if p, ok := c.cluster.Config.IdentityLookup.(placement); ok && attempt == 0 {
			if owner := p.Owner(loadBalancerKind, id); owner != "" && owner != c.cluster.ActorSystem.Address() {
				return c.deliverCreate(p, id, r, opts)
			}
		}
		return g.Create(r, opts...)
	})
}

// deliverCreate is CreateLoadBalancer's call through the owner's activator; its
// replies are the generated client's.
func (c *Client) deliverCreate(p placement, id string, req *actorspb.CreateLoadBalancerRequest, opts []cluster.GrainCallOption) (*actorspb.LoadBalancerReply, error) {
	data, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	cfg := cluster.NewGrainCallOptions(c.cluster)
	for _, o := range opts {
		o(cfg)
	}
	res, err := p.Deliver(loadBalancerKind, id, &cluster.GrainRequest{MethodIndex: createMethodIndex, MessageData: data}, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("error request: %w", err)
	}
	switch msg := res.(type) {
	case *actorspb.LoadBalancerReply:
		return msg, nil
	case *cluster.GrainErrorResponse:
		return nil, msg
	default:
		return nil, fmt.Errorf("unknown response type %T", res)
	}
}

// ResumeLoadBalancer asks the grain of id to continue an unfinished flow.
func (c *Client) ResumeLoadBalancer(ctx context.Context, id string) error {
	_, err := CallLoadBalancer(ctx, c, id, (*actorspb.LoadBalancerGrainClient).Resume, &actorspb.ResumeRequest{})
	return err
}

// WatchAmphora makes the grain of an amphora in service supervise it (activating
// it wherever placement puts it).
func (c *Client) WatchAmphora(ctx context.Context, spec *actorspb.AmphoraSpec) error {
	_, err := call(ctx, c, amphoraGrains, func(_ uint32, opts ...cluster.GrainCallOption) (*actorspb.Empty, error) {
		return actorspb.GetAmphoraGrainClient(c.cluster, spec.GetAmphoraId()).Watch(spec, opts...)
	})
	return err
}

// RefreshAmphora pushes an amphora's agent configuration again.
func (c *Client) RefreshAmphora(ctx context.Context, spec *actorspb.AmphoraSpec) error {
	_, err := call(ctx, c, amphoraGrains, func(_ uint32, opts ...cluster.GrainCallOption) (*actorspb.Empty, error) {
		return actorspb.GetAmphoraGrainClient(c.cluster, spec.GetAmphoraId()).Refresh(spec, opts...)
	})
	return err
}
