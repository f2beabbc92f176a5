package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"

	"keel/actors/actorspb"
	"keel/cluster/metrics"
	"keel/store"
	"keel/store/storepb"
)

// policyRefused is Octavia's 403 text.
const policyRefused = "Policy does not allow this request to be performed."

// provisionTick is the grain's own timer message: continue the provider step.
type provisionTick struct{}

// LoadBalancerGrain is the single writer of one load balancer and everything it
// owns (listeners, pools, members, health monitors, L7 policies and rules,
// amphorae). It caches the tree it last read or wrote; every write is a
// compare-and-set on the load balancer's version, so a stale cache or a duplicate
// activation elsewhere only costs a reload.
type LoadBalancerGrain struct {
	id     string
	rt     *Runtime
	self   *actor.PID
	root   *actor.RootContext
	tree   *tree // nil: absent
	loaded bool
	timer  *time.Timer
	// driving: the provider step's amphora work runs (driveAmphorae).
	driving bool
	// failoverAt is when a failover this activation committed began (zero:
	// none in flight); its provider step's end records the failover's duration.
	failoverAt time.Time
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

// ReceiveDefault handles the grain's own timer and the end of its amphora work.
func (g *LoadBalancerGrain) ReceiveDefault(ctx cluster.GrainContext) {
	switch m := ctx.Message().(type) {
	case *provisionTick:
		g.provision(ctx)
	case *amphoraeDriven:
		g.amphoraeDone(ctx, m)
	}
}

// load reads the tree after a read barrier (once, or again when forced).
func (g *LoadBalancerGrain) load(force bool) error {
	if g.loaded && !force {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.rt.Store.Barrier(ctx); err != nil {
		return err
	}
	g.tree = treeFromStore(g.rt.Store.State().Current().Tree(g.id))
	g.loaded = true
	return nil
}

// proposeStep bounds one proposal of a grain's (its mailbox waits meanwhile):
// the store bounds its own retries across leader changes well within it, so
// this is a backstop.
const proposeStep = 10 * time.Second

func (g *LoadBalancerGrain) propose(cmd *storepb.Command) (*storepb.CommandResult, error) {
	return g.rt.Store.ProposeWithin(proposeStep, cmd)
}

// proposeTree proposes a tree transaction decided from the cached tree t. When
// the load balancer's row changes only in its statuses and update time (the
// provider step, a child's change, a heartbeat's), only those travel, and the FSM
// applies them to the row at the write's expected version, t's. The caller's
// write set keeps the whole row: the cache is updated from it.
func (g *LoadBalancerGrain) proposeTree(t *tree, cmd *storepb.Command) (*storepb.CommandResult, error) {
	w := cmd.GetTreeTransaction().GetWrite()
	if t != nil && t.lb != nil && w != nil && w.ExpectedVersion == t.lb.Version {
		if change := storepb.StatusChangeOf(t.lb, w.LoadBalancer); change != nil {
			row := w.LoadBalancer
			w.LoadBalancer, w.LoadBalancerStatus = nil, change
			defer func() { w.LoadBalancer, w.LoadBalancerStatus = row, nil }() // Propose keeps no reference to cmd
		}
	}
	return g.propose(cmd)
}

func (g *LoadBalancerGrain) micros() int64 { return g.rt.Now().UnixMicro() }

func unavailable(err error) error {
	return grainError(KindUnavailable, "Service unavailable: %v", err)
}

func (g *LoadBalancerGrain) notFound() error {
	return grainError(KindNotFound, "Load Balancer %s not found.", g.id)
}

func immutableLB(id string) error {
	return grainError(KindConflict, "Load Balancer %s is immutable and cannot be updated.", id)
}

func authorized(c *actorspb.Caller, project string) bool {
	return c.GetAdmin() || c.GetProjectId() == project
}

// decision is what a grain decided for one request: the write set and the command
// that carries it.
type decision struct {
	write  *storepb.TreeWrite
	intent storepb.TreeTransaction_Intent
	// exclusiveVip: the create's VIP must be held by no other load balancer.
	exclusiveVip bool
}

// treeTransaction is the command that records one decided change of a tree.
func treeTransaction(intent storepb.TreeTransaction_Intent, w *storepb.TreeWrite) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_TreeTransaction{
		TreeTransaction: &storepb.TreeTransaction{Intent: intent, Write: w}}}
}

// errDone tells mutate the request needs no write (Octavia's no-ops).
var errDone = errors.New("already done")

// mutate runs one request through the tree: decide from the cached tree, propose
// the write with the version read, and on a lost race reload and decide again.
// After a write the provider step is scheduled. Its answer is definite: success
// means applied (now or by an earlier attempt), a refusal means not applied, and
// an unknown outcome is KindUnavailable.
func (g *LoadBalancerGrain) mutate(caller *actorspb.Caller, create bool, decide func(t *tree) (*decision, error)) error {
	return g.definite(caller, g.decideAndWrite(caller, create, decide))
}

// definite makes a refusal of a retried request mean "not applied"
// (settleRefusal); if an earlier attempt did apply it, that is the answer.
func (g *LoadBalancerGrain) definite(caller *actorspb.Caller, err error) error {
	applied, err := settleRefusal(g.rt, caller, err)
	if applied {
		if err := g.load(true); err != nil {
			return unavailable(err)
		}
	}
	return err
}

// settleRefusal makes a grain's refusal of a retried request mean "not applied":
// an earlier attempt of it (still queued at another activation, or in a forward
// to the leader) could otherwise apply after the refusal was answered. The
// request is resolved in the FSM first (store.Resolve): applied reports that an
// earlier attempt applied it, and the refusal is dropped; otherwise no copy of
// the request can apply any more, and the refusal stands. Other errors pass.
func settleRefusal(rt *Runtime, caller *actorspb.Caller, err error) (applied bool, _ error) {
	if err == nil || caller.GetAttempt() == 0 || caller.GetRequestId() == "" || !isRefusal(err) {
		return false, err
	}
	res, rerr := resolveRequest(rt, caller)
	if rerr != nil {
		return false, rerr
	}
	if res.Code == storepb.CommandResult_OK {
		return true, nil
	}
	return false, err
}

// resolveRequest decides the outcome of the caller's request for good
// (store.Resolve): OK (replayed) if it was applied, ABORTED otherwise.
func resolveRequest(rt *Runtime, caller *actorspb.Caller) (*storepb.CommandResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := rt.Store.Resolve(ctx, caller.GetRequestId(), caller.GetDeadlineUnixMs())
	if err != nil {
		return nil, unavailable(err)
	}
	return res, nil
}

// isRefusal reports whether err is a grain's 4xx decision.
func isRefusal(err error) bool {
	var ge *cluster.GrainErrorResponse
	if !errors.As(err, &ge) {
		return false
	}
	switch ErrorKind(ge.Reason) {
	case KindNotFound, KindConflict, KindInvalid, KindForbidden:
		return true
	}
	return false
}

func (g *LoadBalancerGrain) decideAndWrite(caller *actorspb.Caller, create bool, decide func(t *tree) (*decision, error)) error {
	reqID := caller.GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		// A create needs no read: the id is new, the FSM refuses a duplicate and a
		// retry is recognised by its request id. Only a refusal makes the grain read.
		// A refusal is answered only from the tree as it is now: one decided on
		// the cache (which a paused or duplicate activation may hold stale) is
		// decided again after a read.
		fresh := attempt > 0 || !g.loaded
		if !create || attempt > 0 || g.loaded {
			if err := g.load(attempt > 0); err != nil {
				return unavailable(err)
			}
		}
		var d *decision
		var err error
		switch {
		case g.tree != nil && !create && !authorized(caller, g.tree.lb.ProjectId):
			err = grainError(KindForbidden, policyRefused)
		case g.tree == nil && !create:
			err = g.notFound()
		default:
			d, err = decide(g.tree)
		}
		if errors.Is(err, errDone) {
			return nil
		}
		if err != nil && !fresh && isRefusal(err) {
			continue
		}
		if err == nil && d.intent != storepb.TreeTransaction_COMPLETE_PROVISIONING {
			err = g.checkServable(g.tree, d.write)
		}
		if err != nil {
			return err
		}
		cmd := treeTransaction(d.intent, d.write)
		cmd.GetTreeTransaction().ExclusiveVip = d.exclusiveVip
		cmd.RequestId, cmd.DeadlineUnixMs = reqID, caller.GetDeadlineUnixMs()
		res, err := g.proposeTree(g.tree, cmd)
		if errors.Is(err, store.ErrAmbiguous) && reqID != "" {
			// The command may still apply: decide it for good before answering.
			res, err = resolveRequest(g.rt, caller)
		}
		if err != nil {
			return unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			if res.Replayed {
				g.loaded = false // applied by an earlier attempt: read what it wrote
				if err := g.load(true); err != nil {
					return unavailable(err)
				}
				return nil
			}
			if g.tree == nil {
				g.tree = newTree(d.write.LoadBalancer)
			}
			g.tree.apply(d.write, res.Version)
			g.loaded = true
			g.schedule(g.rt.Settings.ProvisionDelay)
			return nil
		case storepb.CommandResult_CONFLICT, storepb.CommandResult_ALREADY_EXISTS:
			g.loaded = false
			continue // another writer got there first: reload and decide again
		case storepb.CommandResult_NOT_FOUND:
			g.tree, g.loaded = nil, true
			return g.notFound()
		case storepb.CommandResult_QUOTA_EXCEEDED:
			return grainError(KindForbidden, "%s", res.Message)
		case storepb.CommandResult_EXPIRED, storepb.CommandResult_ABORTED:
			// Definitely not applied, and too late to decide again.
			return grainError(KindNotApplied, "Service unavailable: %s; retry the request.", res.Message)
		default:
			return grainError(KindInternal, "%s", res.Message)
		}
	}
	return grainError(KindConflict, "Load Balancer %s is being changed concurrently; retry.", g.id)
}

// beginTreeWrite starts a write set that moves the load balancer to status.
func (g *LoadBalancerGrain) beginTreeWrite(t *tree, status string) *storepb.TreeWrite {
	lb := cloneRow(t.lb)
	lb.ProvisioningStatus = status
	lb.UpdatedAt = g.micros()
	return &storepb.TreeWrite{LoadBalancerId: g.id, ExpectedVersion: t.lb.Version, LoadBalancer: lb}
}

// childWrite starts the write set of a child operation: the load balancer must be
// ACTIVE, and goes PENDING_UPDATE.
func (g *LoadBalancerGrain) childWrite(t *tree) (*storepb.TreeWrite, error) {
	if t.lb.ProvisioningStatus != StatusActive {
		return nil, immutableLB(g.id)
	}
	return g.beginTreeWrite(t, StatusPendingUpdate), nil
}

// Create stores a new load balancer (and, for a single-call create, its whole
// tree) in PENDING_CREATE and starts provisioning.
func (g *LoadBalancerGrain) Create(req *actorspb.CreateLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.LoadBalancerReply, error) {
	err := g.mutate(req.GetCaller(), true, func(t *tree) (*decision, error) {
		if t != nil {
			return nil, grainError(KindConflict, "Load Balancer %s already exists.", g.id)
		}
		w, err := g.newTreeWrite(req.GetTree())
		if err != nil {
			return nil, err
		}
		exclusive, err := g.allocateVip(w)
		if err != nil {
			return nil, err
		}
		if err := g.checkVipClaims(req.GetCaller(), w.LoadBalancer, exclusive); err != nil {
			return nil, err
		}
		if err := validateNewTree(newTree(nil).withWrite(w)); err != nil { // reads w, copies nothing
			return nil, err
		}
		return &decision{write: w, intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, exclusiveVip: exclusive}, nil
	})
	if err != nil {
		return nil, err
	}
	if g.tree == nil {
		return nil, changedSince()
	}
	return &actorspb.LoadBalancerReply{Tree: g.tree.asReply()}, nil
}

// newTreeWrite stamps a validated tree from the API with statuses and timestamps.
func (g *LoadBalancerGrain) newTreeWrite(in *storepb.Tree) (*storepb.TreeWrite, error) {
	if in == nil || in.LoadBalancer == nil {
		return nil, grainError(KindInvalid, "missing load balancer")
	}
	now := g.micros()
	lb := cloneRow(in.LoadBalancer)
	lb.Id = g.id
	lb.ProvisioningStatus, lb.OperatingStatus = StatusPendingCreate, OperatingOffline
	lb.CreatedAt, lb.UpdatedAt = now, 0
	if lb.Topology == "" {
		lb.Topology = "SINGLE"
	}
	w := &storepb.TreeWrite{LoadBalancerId: g.id, LoadBalancer: lb}
	monitored := map[string]bool{}
	for _, hm := range in.HealthMonitors {
		monitored[hm.PoolId] = true
	}
	// Children are stamped in the order given, a microsecond apart, so lists show
	// them in creation order.
	for _, x := range in.Pools {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus, x.CreatedAt = StatusPendingCreate, OperatingOffline, now
		now++
		w.Pools = append(w.Pools, x)
	}
	for _, x := range in.Listeners {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus, x.CreatedAt = StatusPendingCreate, OperatingOffline, now
		now++
		w.Listeners = append(w.Listeners, x)
	}
	for _, x := range in.Members {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.CreatedAt = StatusPendingCreate, now
		x.OperatingStatus = OperatingNoMonitor
		if monitored[x.PoolId] {
			x.OperatingStatus = OperatingOffline
		}
		now++
		w.Members = append(w.Members, x)
	}
	for _, x := range in.HealthMonitors {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus, x.CreatedAt = StatusPendingCreate, OperatingOffline, now
		now++
		w.HealthMonitors = append(w.HealthMonitors, x)
	}
	for _, x := range in.L7Policies {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus, x.CreatedAt = StatusPendingCreate, OperatingOffline, now
		now++
		w.L7Policies = append(w.L7Policies, x)
	}
	for _, x := range in.L7Rules {
		x = cloneRow(x)
		x.LoadbalancerId, x.ProjectId = g.id, lb.ProjectId
		x.ProvisioningStatus, x.OperatingStatus, x.CreatedAt = StatusPendingCreate, OperatingOffline, now
		now++
		w.L7Rules = append(w.L7Rules, x)
	}
	return w, nil
}

// Update applies a user's change: the load balancer goes PENDING_UPDATE, then ACTIVE.
func (g *LoadBalancerGrain) Update(req *actorspb.UpdateLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.LoadBalancerReply, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		if t.lb.ProvisioningStatus != StatusActive {
			return nil, grainError(KindConflict, "Invalid state %s of loadbalancer resource %s", t.lb.ProvisioningStatus, g.id)
		}
		w := g.beginTreeWrite(t, StatusPendingUpdate)
		if err := applyFields(w.LoadBalancer, req.GetValues(), req.GetFields()); err != nil {
			return nil, err
		}
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_LOAD_BALANCER}, nil
	})
	if err != nil {
		return nil, err
	}
	if g.tree == nil {
		return nil, changedSince()
	}
	return &actorspb.LoadBalancerReply{Tree: g.tree.asReply()}, nil
}

// Delete marks the load balancer (and, with cascade, its whole tree) PENDING_DELETE;
// the provider step purges it.
func (g *LoadBalancerGrain) Delete(req *actorspb.DeleteLoadBalancerRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		if s := t.lb.ProvisioningStatus; s != StatusActive && s != StatusError {
			return nil, grainError(KindConflict, "Invalid state %s of loadbalancer resource %s", s, g.id)
		}
		if !req.GetCascade() && (len(t.listeners) > 0 || len(t.pools) > 0) {
			return nil, grainError(KindInvalid, "Validation failure: Cannot delete Load Balancer %s - it has children", g.id)
		}
		w := g.beginTreeWrite(t, StatusPendingDelete)
		now := w.LoadBalancer.UpdatedAt
		markAll(t.listeners, &w.Listeners, StatusPendingDelete, now)
		markAll(t.pools, &w.Pools, StatusPendingDelete, now)
		markAll(t.members, &w.Members, StatusPendingDelete, now)
		markAll(t.monitors, &w.HealthMonitors, StatusPendingDelete, now)
		markAll(t.policies, &w.L7Policies, StatusPendingDelete, now)
		markAll(t.rules, &w.L7Rules, StatusPendingDelete, now)
		return &decision{write: w, intent: storepb.TreeTransaction_DELETE_LOAD_BALANCER}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Failover replaces the load balancer's amphorae (or one of them): the load
// balancer goes PENDING_UPDATE, the amphorae being replaced PENDING_DELETE; the
// provider step records their replacements.
func (g *LoadBalancerGrain) Failover(req *actorspb.FailoverRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	return g.failover(req, metrics.FailoverAPI)
}

// failover is Failover, counted under trigger (keel_amphora_failovers_total).
func (g *LoadBalancerGrain) failover(req *actorspb.FailoverRequest, trigger string) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		ampID := req.GetAmphoraId()
		if ampID != "" {
			if _, ok := t.amphorae[ampID]; !ok {
				return nil, grainError(KindNotFound, "Amphora %s not found.", ampID)
			}
			// Octavia fails an amphora over only while its load balancer is ACTIVE
			// (MUTABLE_STATUSES); a load balancer in ERROR is failed over whole.
			if t.lb.ProvisioningStatus != StatusActive {
				return nil, immutableLB(g.id)
			}
		} else if s := t.lb.ProvisioningStatus; s != StatusActive && s != StatusError {
			return nil, grainError(KindConflict, "Invalid state %s of loadbalancer resource %s", s, g.id)
		}
		w := g.beginTreeWrite(t, StatusPendingUpdate)
		for _, a := range t.amphorae {
			if ampID == "" || a.Id == ampID {
				x := cloneRow(a)
				x.Status, x.UpdatedAt = StatusPendingDelete, w.LoadBalancer.UpdatedAt
				w.Amphorae = append(w.Amphorae, x)
			}
		}
		return &decision{write: w, intent: storepb.TreeTransaction_FAILOVER_LOAD_BALANCER}, nil
	})
	if err != nil {
		return nil, err
	}
	metrics.FailoverStarted(trigger)
	g.failoverAt = g.rt.Now()
	return &actorspb.Empty{}, nil
}

// DeleteAmphora removes a spare or broken amphora (status READY or ERROR); an
// amphora in ERROR that serves the load balancer is replaced.
func (g *LoadBalancerGrain) DeleteAmphora(req *actorspb.DeleteChildRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	err := g.mutate(req.GetCaller(), false, func(t *tree) (*decision, error) {
		a, ok := t.amphorae[req.GetId()]
		if !ok {
			return nil, grainError(KindNotFound, "Amphora %s not found.", req.GetId())
		}
		if a.Status != AmphoraReady && a.Status != StatusError {
			return nil, grainError(KindConflict, "amphora %s is immutable and cannot be updated.", a.Id)
		}
		if t.lb.ProvisioningStatus != StatusActive && t.lb.ProvisioningStatus != StatusError {
			return nil, immutableLB(g.id)
		}
		w := g.beginTreeWrite(t, StatusPendingUpdate)
		x := cloneRow(a)
		x.Status, x.UpdatedAt = StatusPendingDelete, w.LoadBalancer.UpdatedAt
		w.Amphorae = append(w.Amphorae, x)
		return &decision{write: w, intent: storepb.TreeTransaction_UPDATE_AMPHORA}, nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Resume re-reads the tree and continues an unfinished flow at once.
func (g *LoadBalancerGrain) Resume(req *actorspb.ResumeRequest, ctx cluster.GrainContext) (*actorspb.ResumeReply, error) {
	if err := g.load(true); err != nil {
		return nil, unavailable(err)
	}
	if g.tree == nil {
		return &actorspb.ResumeReply{}, nil
	}
	if g.tree.pending() {
		g.schedule(0)
	}
	return &actorspb.ResumeReply{ProvisioningStatus: g.tree.lb.ProvisioningStatus}, nil
}

// pending reports whether any object of the tree awaits the provider step.
func (t *tree) pending() bool {
	if IsPending(t.lb.ProvisioningStatus) {
		return true
	}
	for _, a := range t.amphorae {
		if a.Status == StatusPendingDelete {
			return true
		}
	}
	return false
}

func (g *LoadBalancerGrain) schedule(d time.Duration) {
	if g.timer != nil { // one timer per activation: Reset reschedules its tick
		g.timer.Reset(d)
		return
	}
	root, self := g.root, g.self
	g.timer = time.AfterFunc(d, func() { root.Send(self, &provisionTick{}) })
}

// provision is the provider step (until real amphorae are driven): every PENDING_*
// object of the tree becomes ACTIVE or is removed, amphorae are recorded (or
// replaced, after a failover), and a deleted load balancer is purged. Its command
// is a compare-and-set on the version it read, so a duplicate activation or a
// retry after an unknown outcome cannot apply it twice: it needs no request id.
func (g *LoadBalancerGrain) provision(ctx cluster.GrainContext) {
	if err := g.load(false); err != nil {
		g.schedule(time.Second)
		return
	}
	t := g.tree
	if t == nil || !t.pending() {
		return
	}
	if g.rt.Amphorae != nil {
		g.driveAmphorae(ctx.Cluster(), t)
		return
	}
	if t.lb.ProvisioningStatus == StatusPendingDelete {
		g.proposePurge(ctx)
		return
	}
	g.recordProvisioning(ctx, g.completeProvisioning(t))
}

// proposePurge removes the deleted load balancer's tree.
func (g *LoadBalancerGrain) proposePurge(ctx cluster.GrainContext) {
	g.finishProvisioning(ctx, &storepb.Command{Op: &storepb.Command_PurgeLoadBalancer{
		PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: g.id, ExpectedVersion: g.tree.lb.Version}}}, nil)
}

// recordProvisioning writes the provider step's outcome.
func (g *LoadBalancerGrain) recordProvisioning(ctx cluster.GrainContext, w *storepb.TreeWrite) {
	g.finishProvisioning(ctx, treeTransaction(storepb.TreeTransaction_COMPLETE_PROVISIONING, w), w)
}

func (g *LoadBalancerGrain) finishProvisioning(ctx cluster.GrainContext, cmd *storepb.Command, w *storepb.TreeWrite) {
	t := g.tree
	res, err := g.proposeTree(t, cmd)
	switch {
	case err != nil && errors.Is(err, store.ErrShutdown):
		return
	case err != nil:
		g.rt.Logger.Warn("provider step failed, retrying", "lb", g.id, "err", err)
		g.schedule(time.Second)
	case res.Code == storepb.CommandResult_OK && w == nil:
		g.tree, g.loaded = nil, true
		ctx.Poison(ctx.Self()) // nothing left to own
	case res.Code == storepb.CommandResult_OK && !res.Replayed:
		t.apply(w, res.Version)
		if !g.failoverAt.IsZero() {
			metrics.FailoverEnded(g.rt.Now().Sub(g.failoverAt), w.GetLoadBalancer().GetProvisioningStatus() != StatusError)
			g.failoverAt = time.Time{}
		}
		if !t.pending() && !g.driving {
			settled(ctx) // the provider step is done: nothing left in flight
		}
	default: // moved on, replayed or vanished: re-read and re-decide
		g.loaded = false
		g.schedule(10 * time.Millisecond)
	}
}

// markAll puts every cached child of one kind into the write set with status.
func markAll[T child](cache map[string]T, rows *[]T, status string, now int64) {
	for _, x := range cache {
		x = cloneRow(x)
		x.SetProvisioning(status, now)
		*rows = append(*rows, x)
	}
}

// child is a tree object the provider step settles.
type child interface {
	treeRow
	GetProvisioningStatus() string
	SetProvisioning(status string, at int64)
}

// settle puts every pending child of one kind into the write set: PENDING_DELETE
// ones are removed, PENDING_CREATE/UPDATE ones become ACTIVE (then onActive runs).
func settle[T child](cache map[string]T, rows *[]T, deletes *[]string, now int64, onActive func(T)) {
	for id, x := range cache {
		switch x.GetProvisioningStatus() {
		case StatusPendingDelete:
			*deletes = append(*deletes, id)
		case StatusPendingCreate, StatusPendingUpdate:
			x = cloneRow(x)
			x.SetProvisioning(StatusActive, now)
			if onActive != nil {
				onActive(x)
			}
			*rows = append(*rows, x)
		}
	}
}

// completeProvisioning builds the provider step's write set. Health monitors, L7
// policies and rules go ONLINE (or OFFLINE when disabled) as Octavia marks them,
// and a removed monitor's members NO_MONITOR; every other operating status is
// measured, left to the amphorae's heartbeats (status.go), so with the noop
// driver the load balancer, listeners and pools stay OFFLINE as in Octavia.
func (g *LoadBalancerGrain) completeProvisioning(t *tree) *storepb.TreeWrite {
	w := g.beginTreeWrite(t, StatusActive)
	now := w.LoadBalancer.UpdatedAt
	settle(t.listeners, &w.Listeners, &w.DeleteListeners, now, nil)
	settle(t.pools, &w.Pools, &w.DeletePools, now, nil)
	settle(t.members, &w.Members, &w.DeleteMembers, now, nil)
	settle(t.monitors, &w.HealthMonitors, &w.DeleteHealthMonitors, now, func(x *storepb.HealthMonitor) {
		x.OperatingStatus = enabledStatus(x.AdminStateUp)
	})
	settle(t.policies, &w.L7Policies, &w.DeleteL7Policies, now, func(x *storepb.L7Policy) {
		x.OperatingStatus = enabledStatus(x.AdminStateUp)
	})
	settle(t.rules, &w.L7Rules, &w.DeleteL7Rules, now, func(x *storepb.L7Rule) {
		x.OperatingStatus = enabledStatus(x.AdminStateUp)
	})
	unmonitorMembers(t, w)
	g.provisionAmphorae(t, w, now)
	return w
}

// provisionAmphorae records the amphorae a load balancer runs on: one STANDALONE
// for the SINGLE topology, a MASTER and a BACKUP for ACTIVE_STANDBY; amphorae
// marked PENDING_DELETE (failover) are replaced by new ones in the same role.
func (g *LoadBalancerGrain) provisionAmphorae(t *tree, w *storepb.TreeWrite, now int64) {
	roles := map[string]bool{}
	for id, a := range t.amphorae {
		if a.Status == StatusPendingDelete {
			w.DeleteAmphorae = append(w.DeleteAmphorae, id)
			continue
		}
		roles[a.Role] = true
	}
	want := []string{"STANDALONE"}
	if t.lb.Topology == "ACTIVE_STANDBY" {
		want = []string{"MASTER", "BACKUP"}
	}
	for i, role := range want {
		if roles[role] {
			continue
		}
		// Every amphora gets the VIP data Octavia's UpdateAmphoraVIPData records
		// whatever the topology: its base (VRRP) port on the VIP network and that
		// port's address (derived here), the VIP as its HA address and port, VRRP
		// id 1. Only
		// ACTIVE_STANDBY sets the VRRP interface and priority (its VRRP subflow);
		// a STANDALONE amphora's stay null.
		a := &storepb.Amphora{
			Id: amphoraID(g.id, role, t.lb.Version), ProjectId: t.lb.ProjectId, LoadbalancerId: g.id,
			ComputeId: uuid.NewString(), LbNetworkIp: managementAddress(g.id, role),
			VrrpIp: managementAddress(g.id, role+"-vrrp"), VrrpPortId: uuid.NewString(), VrrpId: 1,
			HaIp: t.lb.VipAddress, HaPortId: t.lb.VipPortId,
			CertExpiration: now + int64(2*365*24*time.Hour/time.Microsecond),
			Role:           role, Status: AmphoraAllocated, CachedZone: t.lb.AvailabilityZone,
			CreatedAt: now + int64(i), UpdatedAt: now,
		}
		if g.rt.Amphorae != nil { // the build fills them in
			a.ComputeId, a.LbNetworkIp, a.CertExpiration = "", "", 0
		}
		if t.lb.Topology == "ACTIVE_STANDBY" {
			a.VrrpInterface = "eth1"
			a.VrrpPriority = 100
			if role == "BACKUP" {
				a.VrrpPriority = 90
			}
		}
		w.Amphorae = append(w.Amphorae, a)
	}
}

// managementAddress derives a stable address in 172.16.0.0/12 for an amphora's
// management or VRRP port (keel has no network service to allocate one).
func managementAddress(lbID, role string) string {
	u := uuid.NewSHA1(uuid.NameSpaceOID, []byte(lbID+"/"+role))
	return fmt.Sprintf("172.%d.%d.%d", 16+int(u[0]&0x0f), u[1], 1+int(u[2])%254)
}
