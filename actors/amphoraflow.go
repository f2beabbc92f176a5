package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"

	"keel/actors/actorspb"
	"keel/actors/haproxyconfig"
	"keel/cluster/metrics"
	"keel/store/storepb"
)

// The load balancer's side of real amphorae: the provider step drives its
// amphora grains (build, configure, destroy) off the grain's mailbox, then records
// the outcome with one compare-and-set, as the noop provider step does; health
// reported by the amphora grains is written only on change; silence starts
// Octavia's failover.

// amphoraeDriven is the outcome of the amphora work of one provider step.
type amphoraeDriven struct {
	version uint64             // the load balancer's version the step was decided on
	write   *storepb.TreeWrite // nil: purge
	err     error
}

// amphoraNamespace derives amphora ids: an amphora decided at one version of its
// load balancer, in one role, has one id, so a provider step retried after a
// lost outcome rebuilds the same amphora (the driver's build is idempotent)
// instead of leaking one.
var amphoraNamespace = uuid.MustParse("b0c1f7d2-3a51-4f0e-9a77-5d2c8e6f4a10")

func amphoraID(lbID, role string, version uint64) string {
	return uuid.NewSHA1(amphoraNamespace, []byte(fmt.Sprintf("%s/%s/%d", lbID, role, version))).String()
}

// driveAmphorae runs the provider step's amphora work in the background: build the
// new amphorae, push the tree as the step leaves it to every serving amphora,
// destroy the replaced ones (or all, for a deleted load balancer).
func (g *LoadBalancerGrain) driveAmphorae(c *cluster.Cluster, t *tree) {
	if g.driving {
		return
	}
	g.driving = true
	version := t.lb.Version
	var w *storepb.TreeWrite
	var after *storepb.Tree
	var doomed []*storepb.Amphora
	if t.lb.ProvisioningStatus == StatusPendingDelete {
		for _, a := range t.amphorae {
			doomed = append(doomed, a)
		}
	} else {
		w = g.completeProvisioning(t)
		for _, id := range w.DeleteAmphorae {
			doomed = append(doomed, t.amphorae[id])
		}
		after = t.withWrite(w).asReply()
	}
	var fresh []*storepb.Amphora // rows of w the build fills in
	if w != nil {
		for _, a := range w.Amphorae {
			if _, known := t.amphorae[a.Id]; !known {
				fresh = append(fresh, a)
			}
		}
	}
	root, self, amp, lbID, vip := g.root, g.self, g.rt.Amphorae, g.id, t.lb.VipAddress
	go func() {
		err := runAmphoraWork(c, amp, lbID, vip, fresh, after, doomed)
		root.Send(self, &amphoraeDriven{version: version, write: w, err: err})
	}()
}

func runAmphoraWork(c *cluster.Cluster, amp *Amphorae, lbID, vip string, fresh []*storepb.Amphora,
	after *storepb.Tree, doomed []*storepb.Amphora) error {
	call := cluster.WithTimeout(amp.BuildTimeout + 5*time.Second)
	spec := func(a *storepb.Amphora) *actorspb.AmphoraSpec {
		return &actorspb.AmphoraSpec{AmphoraId: a.Id, LoadBalancerId: lbID, VipAddress: vip, ComputeId: a.ComputeId}
	}
	var errs []error
	for _, a := range fresh {
		reply, err := actorspb.GetAmphoraGrainClient(c, a.Id).Build(spec(a), call)
		if err != nil {
			a.Status = StatusError
			errs = append(errs, fmt.Errorf("amphora %s: build: %w", a.Id, err))
			continue
		}
		a.ComputeId, a.LbNetworkIp, a.CertExpiration = reply.ComputeId, reply.LbNetworkIp, reply.CertExpiration
	}
	if after != nil && len(errs) == 0 {
		for _, a := range servingAmphorae(after) {
			_, err := actorspb.GetAmphoraGrainClient(c, a.Id).Configure(
				&actorspb.ConfigureAmphoraRequest{Spec: spec(a), Tree: after}, call)
			if err != nil {
				errs = append(errs, fmt.Errorf("amphora %s: configure: %w", a.Id, err))
			}
		}
	}
	for _, a := range doomed {
		if a == nil {
			continue
		}
		if _, err := actorspb.GetAmphoraGrainClient(c, a.Id).Destroy(spec(a), call); err != nil {
			errs = append(errs, fmt.Errorf("amphora %s: delete: %w", a.Id, err))
		}
	}
	return errors.Join(errs...)
}

// amphoraeDone records what the amphora work did: the provider step's write set
// (ERROR for the load balancer and what it was provisioning when the work
// failed), or the purge of a deleted load balancer.
func (g *LoadBalancerGrain) amphoraeDone(ctx cluster.GrainContext, d *amphoraeDriven) {
	g.driving = false
	if err := g.load(false); err != nil || g.tree == nil || g.tree.lb.Version != d.version {
		g.loaded = false
		g.schedule(10 * time.Millisecond) // moved on meanwhile: decide again
		return
	}
	if d.err != nil {
		g.rt.Logger.Error("provisioning failed", "lb", g.id, "err", d.err)
		if d.write == nil {
			g.schedule(time.Second) // a delete is retried until its amphorae are gone
			return
		}
		failProvisioning(d.write)
	}
	if d.write == nil {
		g.proposePurge(ctx)
		return
	}
	g.recordProvisioning(ctx, d.write)
}

// failProvisioning turns a provider step's write set into its failure: the load
// balancer and every object it was provisioning go ERROR (Octavia's revert marks
// them so); amphorae that did not build are already ERROR.
func failProvisioning(w *storepb.TreeWrite) {
	w.LoadBalancer.ProvisioningStatus = StatusError
	at := w.LoadBalancer.UpdatedAt
	for _, x := range w.Listeners {
		x.SetProvisioning(StatusError, at)
	}
	for _, x := range w.Pools {
		x.SetProvisioning(StatusError, at)
	}
	for _, x := range w.Members {
		x.SetProvisioning(StatusError, at)
	}
	for _, x := range w.HealthMonitors {
		x.SetProvisioning(StatusError, at)
	}
	for _, x := range w.L7Policies {
		x.SetProvisioning(StatusError, at)
	}
	for _, x := range w.L7Rules {
		x.SetProvisioning(StatusError, at)
	}
}

// checkServable refuses, before anything is written, a tree the amphora driver
// cannot serve (Octavia's amphora provider refuses an unsupported option the same
// way: 501 with the reason). The noop provider serves every tree the API accepts.
func (g *LoadBalancerGrain) checkServable(t *tree, w *storepb.TreeWrite) error {
	if g.rt.Amphorae == nil {
		return nil
	}
	after := newTree(w.LoadBalancer)
	if t != nil {
		after = t.withWrite(w)
	} else {
		after.apply(cloneRow(w), 0)
	}
	if err := haproxyconfig.Check(after.asReply()); err != nil {
		return grainError(KindUnimplemented, "Provider 'amphora' does not support a requested option: %v", err)
	}
	return nil
}

// RecordHealth writes the operating statuses an amphora's heartbeats changed.
func (g *LoadBalancerGrain) RecordHealth(req *actorspb.RecordHealthRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	return g.writeOwn(storepb.TreeTransaction_RECORD_HEALTH, func(t *tree) (*storepb.TreeWrite, error) {
		return healthWrite(t, req.GetChanges()), nil
	})
}

// writeOwn records one of the grain's own observations (not a user's request,
// so no request id: a lost race is decided again on the tree as it is): change
// builds the write set from the current tree, nil when nothing is to be written.
func (g *LoadBalancerGrain) writeOwn(intent storepb.TreeTransaction_Intent, change func(t *tree) (*storepb.TreeWrite, error)) (*actorspb.Empty, error) {
	for attempt := 0; attempt < 3; attempt++ {
		if err := g.load(attempt > 0); err != nil {
			return nil, unavailable(err)
		}
		if g.tree == nil {
			return &actorspb.Empty{}, nil
		}
		t := g.tree
		w, err := change(t)
		if err != nil || w == nil {
			return &actorspb.Empty{}, err
		}
		res, err := g.proposeTree(t, treeTransaction(intent, w))
		if err != nil {
			return nil, unavailable(err)
		}
		if res.Code == storepb.CommandResult_OK && !res.Replayed {
			t.apply(w, res.Version)
			return &actorspb.Empty{}, nil
		}
		g.loaded = false
	}
	return nil, grainError(KindConflict, "Load Balancer %s is being changed concurrently; retry.", g.id)
}

// healthWrite is the write set of the changes that differ from the tree (nil if
// none do). The load balancer's provisioning status is left as it is.
func healthWrite(t *tree, changes []*actorspb.OperatingStatusChange) *storepb.TreeWrite {
	lb := cloneRow(t.lb)
	w := &storepb.TreeWrite{LoadBalancerId: lb.Id, ExpectedVersion: t.lb.Version, LoadBalancer: lb}
	changed := false
	for _, c := range changes {
		switch c.GetKind() {
		case "loadbalancer":
			if lb.OperatingStatus != c.GetOperatingStatus() {
				lb.OperatingStatus, changed = c.GetOperatingStatus(), true
			}
		case "listener":
			if x := currentListener(t, w, c.GetId()); x != nil && x.OperatingStatus != c.GetOperatingStatus() {
				writableListener(t, w, c.GetId()).OperatingStatus, changed = c.GetOperatingStatus(), true
			}
		case "pool":
			if x := currentPool(t, w, c.GetId()); x != nil && x.OperatingStatus != c.GetOperatingStatus() {
				writablePool(t, w, c.GetId()).OperatingStatus, changed = c.GetOperatingStatus(), true
			}
		case "member":
			if x := t.members[c.GetId()]; x != nil && x.OperatingStatus != c.GetOperatingStatus() {
				writableMember(t, w, c.GetId()).OperatingStatus, changed = c.GetOperatingStatus(), true
			}
		}
	}
	if !changed {
		return nil
	}
	return w
}

// AmphoraSilent starts the failover of an amphora whose heartbeats stopped (the
// health manager's failover in Octavia): the load balancer goes PENDING_UPDATE,
// the amphora PENDING_DELETE, and the provider step builds its replacement on the
// same VIP, configures it and deletes the old one.
func (g *LoadBalancerGrain) AmphoraSilent(req *actorspb.AmphoraSilentRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	g.rt.Logger.Warn("amphora heartbeats stopped", "lb", g.id, "amphora", req.GetAmphoraId(), "silent_ms", req.GetSilentMs())
	return g.failover(&actorspb.FailoverRequest{Caller: &actorspb.Caller{Admin: true}, AmphoraId: req.GetAmphoraId()},
		metrics.FailoverSilence)
}

// RecordAmphoraCert records an amphora certificate's rotation on its row.
func (g *LoadBalancerGrain) RecordAmphoraCert(req *actorspb.RecordAmphoraCertRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	return g.writeOwn(storepb.TreeTransaction_UPDATE_AMPHORA, func(t *tree) (*storepb.TreeWrite, error) {
		cur := t.amphorae[req.GetAmphoraId()]
		if cur == nil {
			return nil, grainError(KindNotFound, "Amphora %s not found.", req.GetAmphoraId())
		}
		lb := cloneRow(t.lb)
		w := &storepb.TreeWrite{LoadBalancerId: lb.Id, ExpectedVersion: t.lb.Version, LoadBalancer: lb}
		a := cloneRow(cur)
		a.CertBusy = req.GetCertBusy()
		if req.GetCertExpiration() != 0 {
			a.CertExpiration = req.GetCertExpiration()
		}
		a.UpdatedAt = g.micros()
		w.Amphorae = append(w.Amphorae, a)
		return w, nil
	})
}
