package actors

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

// Octavia provisioning and operating statuses.
const (
	StatusActive        = "ACTIVE"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"

	OperatingOnline  = "ONLINE"
	OperatingOffline = "OFFLINE"
)

// IsPending reports whether a provisioning status is one of the immutable PENDING_*.
func IsPending(status string) bool { return strings.HasPrefix(status, "PENDING_") }

// policyRefused is Octavia's 403 text.
const policyRefused = "Policy does not allow this request to be performed."

// provisionTick is the grain's own timer message: continue the provider step.
type provisionTick struct{}

// LoadBalancerGrain is the single writer of one load balancer. It caches the entity
// it last read or wrote; every write is a compare-and-set on that version, so a
// stale cache or a duplicate activation elsewhere only costs a reload.
type LoadBalancerGrain struct {
	id     string
	rt     *Runtime
	self   *actor.PID
	root   *actor.RootContext
	lb     *storepb.LoadBalancer // nil: absent
	loaded bool
	timer  *time.Timer
}

var _ actorspb.LoadBalancer = (*LoadBalancerGrain)(nil)

// Init binds the grain to its identity and node.
func (g *LoadBalancerGrain) Init(ctx cluster.GrainContext) {
	g.id = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
	g.self = ctx.Self()
	g.root = ctx.ActorSystem().Root
}

// Terminate stops the grain's timer; an unfinished flow is resumed by the reconciler.
func (g *LoadBalancerGrain) Terminate(ctx cluster.GrainContext) {
	if g.timer != nil {
		g.timer.Stop()
	}
}

// ReceiveDefault handles the grain's own timer.
func (g *LoadBalancerGrain) ReceiveDefault(ctx cluster.GrainContext) {
	if _, ok := ctx.Message().(*provisionTick); ok {
		g.provision(ctx)
	}
}

// load reads the entity after a read barrier (once, or again when forced).
func (g *LoadBalancerGrain) load(force bool) error {
	if g.loaded && !force {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.rt.Store.Barrier(ctx); err != nil {
		return err
	}
	g.lb = g.rt.Store.State().LoadBalancer(g.id)
	g.loaded = true
	return nil
}

func (g *LoadBalancerGrain) propose(cmd *storepb.Command) (*storepb.CommandResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.rt.Store.Propose(ctx, cmd)
}

func unavailable(err error) error {
	return grainError(KindUnavailable, "Service unavailable: %v", err)
}

func (g *LoadBalancerGrain) notFound() error {
	return grainError(KindNotFound, "Load Balancer %s not found.", g.id)
}

// sameRequest reports whether lb's last change came from request reqID (or from a
// follow-up step of it): a retried request is answered, not applied again.
func sameRequest(lb *storepb.LoadBalancer, reqID string) bool {
	return reqID != "" && (lb.LastRequestId == reqID || strings.HasPrefix(lb.LastRequestId, reqID+"/"))
}

func authorized(c *actorspb.Caller, project string) bool {
	return c.GetAdmin() || c.GetProjectId() == project
}

func (g *LoadBalancerGrain) micros() int64 { return g.rt.Now().UnixMicro() }

// Create stores a new load balancer in PENDING_CREATE and starts provisioning.
func (g *LoadBalancerGrain) Create(req *actorspb.CreateLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.LoadBalancerReply, error) {
	reqID := req.GetCaller().GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		// The id is new (the API made it up), so the first attempt need not read the
		// store: the FSM refuses a duplicate, and a retried request is recognised
		// by its request id. Only a refusal makes the grain read.
		if attempt > 0 || g.loaded {
			if err := g.load(attempt > 0); err != nil {
				return nil, unavailable(err)
			}
			if g.lb != nil {
				if sameRequest(g.lb, reqID) {
					return &actorspb.LoadBalancerReply{LoadBalancer: g.lb}, nil
				}
				return nil, grainError(KindConflict, "Load Balancer %s already exists.", g.id)
			}
		}
		lb := proto.Clone(req.GetLoadBalancer()).(*storepb.LoadBalancer)
		lb.Id = g.id
		lb.ProvisioningStatus, lb.OperatingStatus = StatusPendingCreate, OperatingOffline
		lb.CreatedAt, lb.UpdatedAt = g.micros(), 0
		res, err := g.propose(&storepb.Command{RequestId: reqID,
			Op: &storepb.Command_CreateLoadBalancer{CreateLoadBalancer: &storepb.CreateLoadBalancer{LoadBalancer: lb}}})
		if err != nil {
			return nil, unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			lb.Version, lb.LastRequestId = res.Version, reqID
			g.lb, g.loaded = lb, true
			g.schedule(g.rt.Settings.ProvisionDelay)
			return &actorspb.LoadBalancerReply{LoadBalancer: lb}, nil
		case storepb.CommandResult_ALREADY_EXISTS, storepb.CommandResult_CONFLICT:
			continue // another activation wrote first: reload and decide again
		default:
			return nil, grainError(KindInternal, "%s", res.Message)
		}
	}
	return nil, grainError(KindConflict, "Load Balancer %s is being changed concurrently; retry.", g.id)
}

// Update applies a user's change: the load balancer goes PENDING_UPDATE, then ACTIVE.
func (g *LoadBalancerGrain) Update(req *actorspb.UpdateLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.LoadBalancerReply, error) {
	reqID := req.GetCaller().GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		if err := g.load(attempt > 0); err != nil {
			return nil, unavailable(err)
		}
		cur := g.lb
		if cur == nil {
			return nil, g.notFound()
		}
		if !authorized(req.GetCaller(), cur.ProjectId) {
			return nil, grainError(KindForbidden, policyRefused)
		}
		if sameRequest(cur, reqID) {
			return &actorspb.LoadBalancerReply{LoadBalancer: cur}, nil
		}
		if cur.ProvisioningStatus != StatusActive {
			return nil, grainError(KindConflict, "Invalid state %s of loadbalancer resource %s", cur.ProvisioningStatus, g.id)
		}
		next := proto.Clone(cur).(*storepb.LoadBalancer)
		applyPatch(next, req.GetPatch())
		next.ProvisioningStatus = StatusPendingUpdate
		next.UpdatedAt = g.micros()
		res, err := g.propose(&storepb.Command{RequestId: reqID,
			Op: &storepb.Command_UpdateLoadBalancer{UpdateLoadBalancer: &storepb.UpdateLoadBalancer{LoadBalancer: next, ExpectedVersion: cur.Version}}})
		if err != nil {
			return nil, unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			next.Version, next.LastRequestId = res.Version, reqID
			g.lb = next
			g.schedule(g.rt.Settings.ProvisionDelay)
			return &actorspb.LoadBalancerReply{LoadBalancer: next}, nil
		case storepb.CommandResult_CONFLICT:
			continue
		case storepb.CommandResult_NOT_FOUND:
			g.lb = nil
			return nil, g.notFound()
		default:
			return nil, grainError(KindInternal, "%s", res.Message)
		}
	}
	return nil, grainError(KindConflict, "Load Balancer %s is being changed concurrently; retry.", g.id)
}

func applyPatch(lb *storepb.LoadBalancer, p *actorspb.LoadBalancerPatch) {
	if p == nil {
		return
	}
	if p.Name != nil {
		lb.Name = p.Name.Value
	}
	if p.Description != nil {
		lb.Description = p.Description.Value
	}
	if p.AdminStateUp != nil {
		lb.AdminStateUp = p.AdminStateUp.Value
	}
	if p.VipQosPolicyId != nil {
		lb.VipQosPolicyId = p.VipQosPolicyId.Value
	}
	if p.SetTags {
		lb.Tags = append([]string(nil), p.Tags...)
	}
}

// Delete marks the load balancer PENDING_DELETE; the provider step removes it.
func (g *LoadBalancerGrain) Delete(req *actorspb.DeleteLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.DeleteLoadBalancerReply, error) {
	reqID := req.GetCaller().GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		if err := g.load(attempt > 0); err != nil {
			return nil, unavailable(err)
		}
		cur := g.lb
		if cur == nil {
			return nil, g.notFound()
		}
		if !authorized(req.GetCaller(), cur.ProjectId) {
			return nil, grainError(KindForbidden, policyRefused)
		}
		if sameRequest(cur, reqID) {
			return &actorspb.DeleteLoadBalancerReply{}, nil
		}
		if cur.ProvisioningStatus != StatusActive && cur.ProvisioningStatus != StatusError {
			return nil, grainError(KindConflict, "Invalid state %s of loadbalancer resource %s", cur.ProvisioningStatus, g.id)
		}
		now := g.micros()
		res, err := g.propose(&storepb.Command{RequestId: reqID,
			Op: &storepb.Command_DeleteLoadBalancer{DeleteLoadBalancer: &storepb.DeleteLoadBalancer{Id: g.id, ExpectedVersion: cur.Version, UpdatedAt: now}}})
		if err != nil {
			return nil, unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			next := proto.Clone(cur).(*storepb.LoadBalancer)
			next.ProvisioningStatus, next.UpdatedAt = StatusPendingDelete, now
			next.Version, next.LastRequestId = res.Version, reqID
			g.lb = next
			g.schedule(g.rt.Settings.ProvisionDelay)
			return &actorspb.DeleteLoadBalancerReply{}, nil
		case storepb.CommandResult_CONFLICT:
			continue
		case storepb.CommandResult_NOT_FOUND:
			g.lb = nil
			return nil, g.notFound()
		default:
			return nil, grainError(KindInternal, "%s", res.Message)
		}
	}
	return nil, grainError(KindConflict, "Load Balancer %s is being changed concurrently; retry.", g.id)
}

// Resume re-reads the entity and continues an unfinished flow at once.
func (g *LoadBalancerGrain) Resume(req *actorspb.ResumeRequest, ctx cluster.GrainContext) (*actorspb.ResumeReply, error) {
	if err := g.load(true); err != nil {
		return nil, unavailable(err)
	}
	if g.lb == nil {
		return &actorspb.ResumeReply{}, nil
	}
	if IsPending(g.lb.ProvisioningStatus) {
		g.schedule(0)
	}
	return &actorspb.ResumeReply{ProvisioningStatus: g.lb.ProvisioningStatus}, nil
}

func (g *LoadBalancerGrain) schedule(d time.Duration) {
	if g.timer != nil {
		g.timer.Stop()
	}
	root, self := g.root, g.self
	g.timer = time.AfterFunc(d, func() { root.Send(self, &provisionTick{}) })
}

// provision is the provider step (until amphorae exist): PENDING_CREATE and
// PENDING_UPDATE become ACTIVE, PENDING_DELETE is purged. Its commands carry the
// originating request id with a suffix, so they are idempotent across activations.
func (g *LoadBalancerGrain) provision(ctx cluster.GrainContext) {
	if err := g.load(false); err != nil {
		g.schedule(time.Second)
		return
	}
	cur := g.lb
	if cur == nil || !IsPending(cur.ProvisioningStatus) {
		return
	}
	reqID := cur.LastRequestId + "/provisioned"
	var cmd *storepb.Command
	next := proto.Clone(cur).(*storepb.LoadBalancer)
	if cur.ProvisioningStatus == StatusPendingDelete {
		cmd = &storepb.Command{RequestId: reqID,
			Op: &storepb.Command_PurgeLoadBalancer{PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: g.id, ExpectedVersion: cur.Version}}}
	} else {
		next.ProvisioningStatus, next.OperatingStatus = StatusActive, OperatingOnline
		if !cur.AdminStateUp {
			next.OperatingStatus = OperatingOffline
		}
		next.UpdatedAt = g.micros()
		cmd = &storepb.Command{RequestId: reqID, Op: &storepb.Command_SetLoadBalancerStatus{SetLoadBalancerStatus: &storepb.SetLoadBalancerStatus{
			Id: g.id, ExpectedVersion: cur.Version, ProvisioningStatus: next.ProvisioningStatus,
			OperatingStatus: next.OperatingStatus, UpdatedAt: next.UpdatedAt}}}
	}
	res, err := g.propose(cmd)
	switch {
	case err != nil && errors.Is(err, store.ErrShutdown):
		return
	case err != nil:
		g.rt.Logger.Warn("provision step failed, retrying", "lb", g.id, "err", err)
		g.schedule(time.Second)
	case res.Code == storepb.CommandResult_OK && cur.ProvisioningStatus == StatusPendingDelete:
		g.lb = nil
		ctx.Poison(ctx.Self()) // nothing left to own
	case res.Code == storepb.CommandResult_OK:
		next.Version, next.LastRequestId = res.Version, reqID
		g.lb = next
	default: // moved on or vanished: re-read and re-decide
		g.loaded = false
		g.schedule(10 * time.Millisecond)
	}
}
