package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"keel/actors/actorspb"
	"keel/actors/compute"
	"keel/actors/haproxyconfig"
	"keel/actors/healthmap"
	"keel/agent/agentclient"
	"keel/agent/heartbeat"
	"keel/cluster/amphorapki"
	"keel/store/storepb"
)

// AmphoraGrain supervises one amphora's agent (identity = the amphora's id): it
// builds the agent through the compute driver, pushes its load balancer's
// configuration to it, maps its heartbeats to operating statuses (written by the
// load balancer's grain, only on change) and, when the heartbeats stop for longer
// than the heartbeat timeout, asks the load balancer's grain to fail it over.
//
// The grain never passivates while it supervises: the reconciler sends Watch for
// every amphora in service, so after its node dies the grain is activated on
// another node, where a grace period of one timeout passes before silence counts.
type AmphoraGrain struct {
	id   string
	rt   *Runtime
	amp  *Amphorae
	c    *cluster.Cluster
	self *actor.PID
	root *actor.RootContext

	spec   *actorspb.AmphoraSpec // known once built or watched
	agent  *agentclient.Client
	addr   string
	since  time.Time // supervision start: silence counts from here at the earliest
	beat   time.Time // the last accepted heartbeat
	silent bool      // silence reported; cleared by a heartbeat or a new compute id
	timer  *time.Timer

	// health: at most one RecordHealth in flight.
	healthBusy bool
	// controllers is the heartbeat target list the agent was last given.
	controllers []string
	// stats are the heartbeats' traffic counters (amphorastats.go).
	stats amphoraStats
}

var _ actorspb.Amphora = (*AmphoraGrain)(nil)

type silenceTick struct{}

type healthDone struct{}

// Init binds the grain to its identity and node.
func (g *AmphoraGrain) Init(ctx cluster.GrainContext) {
	g.id = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
	g.amp = g.rt.Amphorae
	g.c = ctx.Cluster()
	g.self = ctx.Self()
	g.root = ctx.ActorSystem().Root
}

// Terminate stops the silence timer.
func (g *AmphoraGrain) Terminate(ctx cluster.GrainContext) {
	if g.timer != nil {
		g.timer.Stop()
	}
}

// ReceiveDefault handles the grain's own timer and completion messages.
func (g *AmphoraGrain) ReceiveDefault(ctx cluster.GrainContext) {
	switch m := ctx.Message().(type) {
	case *silenceTick:
		g.checkSilence()
	case *healthDone:
		g.healthBusy = false
	case *statsLoaded:
		g.statsLoaded(m)
	}
}

func (g *AmphoraGrain) ready() error {
	if g.amp == nil || g.amp.Driver == nil {
		return grainError(KindUnimplemented, "amphorae are records only (-amphora-driver noop)")
	}
	return nil
}

// Build starts the amphora's agent (idempotent: a running one is kept) and waits
// until it answers /info over mutual TLS.
func (g *AmphoraGrain) Build(spec *actorspb.AmphoraSpec, ctx cluster.GrainContext) (*actorspb.BuildAmphoraReply, error) {
	if err := g.ready(); err != nil {
		return nil, err
	}
	trust, err := g.amp.Trust()
	if err != nil {
		return nil, grainError(KindUnavailable, "amphora trust: %v", err)
	}
	cert, err := trust.IssueAmphora(g.id)
	if err != nil {
		return nil, grainError(KindInternal, "amphora certificate: %v", err)
	}
	bctx, cancel := context.WithTimeout(context.Background(), g.amp.BuildTimeout)
	defer cancel()
	controllers := g.amp.Controllers()
	inst, err := g.amp.Driver.Build(bctx, compute.Spec{
		AmphoraID: g.id, ServerCert: cert.CertPEM, ServerKey: cert.KeyPEM, ClientCA: trust.CA.CertPEM(),
		HeartbeatKey: trust.HeartbeatKey, Controllers: controllers,
		HeartbeatInterval: g.amp.HeartbeatInterval, VIP: spec.GetVipAddress(),
	})
	if err != nil {
		return nil, grainError(KindInternal, "%v", err)
	}
	if err := g.connect(trust, inst); err != nil {
		return nil, grainError(KindInternal, "%v", err)
	}
	g.controllers = controllers
	if _, err := g.agent.Info(bctx); err != nil {
		return nil, grainError(KindInternal, "amphora %s does not answer: %v", g.id, err)
	}
	spec.ComputeId = inst.ComputeID
	g.supervise(spec)
	return &actorspb.BuildAmphoraReply{ComputeId: inst.ComputeID, LbNetworkIp: inst.NetworkIP(),
		CertExpiration: cert.NotAfter.UnixMicro()}, nil
}

func (g *AmphoraGrain) connect(trust *AmphoraTrust, inst compute.Instance) error {
	if g.agent != nil && g.addr == inst.Addr {
		return nil
	}
	tlsConf, err := trust.ClientTLS(g.id)
	if err != nil {
		return fmt.Errorf("amphora client TLS: %w", err)
	}
	if g.agent != nil {
		g.agent.CloseIdleConnections()
	}
	g.agent, g.addr = agentclient.New(inst.Addr, tlsConf, 10*time.Second), inst.Addr
	return nil
}

// agentFor finds the agent of spec's compute id (after a move or a restart the
// grain knows no address yet).
func (g *AmphoraGrain) agentFor(ctx context.Context, spec *actorspb.AmphoraSpec) error {
	if g.agent != nil && g.spec.GetComputeId() == spec.GetComputeId() {
		return nil
	}
	trust, err := g.amp.Trust()
	if err != nil {
		return err
	}
	inst, err := g.amp.Driver.Status(ctx, spec.GetComputeId())
	if err != nil {
		return err
	}
	if inst.State != compute.Running {
		return fmt.Errorf("amphora %s is %s", g.id, inst.State)
	}
	return g.connect(trust, inst)
}

// Configure makes the agent serve the tree: one haproxy configuration per
// listener of the load balancer (docs/haproxy-config.md), uploaded and reloaded;
// listeners the tree no longer serves are deleted from the agent.
func (g *AmphoraGrain) Configure(req *actorspb.ConfigureAmphoraRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	if err := g.ready(); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(context.Background(), g.amp.BuildTimeout)
	defer cancel()
	if err := g.agentFor(cctx, req.GetSpec()); err != nil {
		return nil, grainError(KindUnavailable, "amphora %s: %v", g.id, err)
	}
	g.supervise(req.GetSpec())
	if err := g.configure(cctx, req.GetTree()); err != nil {
		return nil, grainError(KindInternal, "amphora %s: %v", g.id, err)
	}
	return &actorspb.Empty{}, nil
}

func (g *AmphoraGrain) configure(ctx context.Context, t *storepb.Tree) error {
	serve := map[string]bool{}
	for _, l := range t.GetListeners() {
		v, err := haproxyconfig.ViewOf(t, l.Id)
		if err != nil {
			return err
		}
		if !v.Live() {
			continue
		}
		cfg, err := haproxyconfig.Render(v)
		if err != nil {
			return err
		}
		if _, err := g.agent.UploadConfig(ctx, g.id, l.Id, cfg); err != nil {
			return fmt.Errorf("listener %s: upload: %w", l.Id, err)
		}
		if _, err := g.agent.ListenerAction(ctx, l.Id, "reload"); err != nil {
			return fmt.Errorf("listener %s: %w", l.Id, err)
		}
		serve[l.Id] = true
	}
	running, err := g.agent.Listeners(ctx)
	if err != nil {
		return fmt.Errorf("listing listeners: %w", err)
	}
	for _, l := range running {
		if !serve[l.UUID] {
			if err := g.agent.DeleteListener(ctx, l.UUID); err != nil {
				return fmt.Errorf("listener %s: delete: %w", l.UUID, err)
			}
		}
	}
	return nil
}

// Destroy stops the amphora: its agent, its haproxy processes and its files.
func (g *AmphoraGrain) Destroy(spec *actorspb.AmphoraSpec, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	if err := g.ready(); err != nil {
		return nil, err
	}
	if id := spec.GetComputeId(); id != "" {
		dctx, cancel := context.WithTimeout(context.Background(), g.amp.BuildTimeout)
		defer cancel()
		if err := g.amp.Driver.Delete(dctx, id); err != nil && !errors.Is(err, compute.ErrNotLocal) {
			return nil, grainError(KindInternal, "amphora %s: %v", g.id, err)
		}
	}
	g.amp.Forget(g.id)
	if g.agent != nil {
		g.agent.CloseIdleConnections()
	}
	g.spec, g.agent = nil, nil
	if g.timer != nil {
		g.timer.Stop()
	}
	ctx.Poison(ctx.Self())
	return &actorspb.Empty{}, nil
}

// Watch keeps the grain supervising the amphora spec names, points the agent's
// heartbeats at the nodes alive now (when nodes join or leave, agents learn the
// new list) and rotates the amphora's certificate when it nears its expiry.
func (g *AmphoraGrain) Watch(spec *actorspb.AmphoraSpec, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	if err := g.ready(); err != nil {
		return nil, err
	}
	g.supervise(spec)
	wctx, cancel := context.WithTimeout(context.Background(), g.amp.BuildTimeout)
	defer cancel()
	g.syncControllers(wctx, spec, false)
	if amp, _ := g.rt.Store.State().Current().Amphorae.Get(g.id); amp != nil && g.rotationDue(amp) {
		if err := g.rotateCert(wctx, spec, amp); err != nil {
			g.rt.Logger.Warn("amphora certificate not rotated", "amphora", g.id, "err", err)
		}
	}
	return &actorspb.Empty{}, nil
}

// Refresh pushes the agent's configuration again (PUT /amphorae/{id}/config).
func (g *AmphoraGrain) Refresh(spec *actorspb.AmphoraSpec, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	if g.amp == nil || g.amp.Driver == nil {
		return &actorspb.Empty{}, nil // the noop provider has no agent to configure
	}
	rctx, cancel := context.WithTimeout(context.Background(), g.amp.BuildTimeout)
	defer cancel()
	if err := g.agentFor(rctx, spec); err != nil {
		return nil, grainError(KindUnavailable, "amphora %s: %v", g.id, err)
	}
	g.supervise(spec)
	g.syncControllers(rctx, spec, true)
	if err := g.rt.Store.Barrier(rctx); err != nil {
		return nil, unavailable(err)
	}
	if err := g.configure(rctx, g.rt.Store.State().Current().Tree(spec.GetLoadBalancerId())); err != nil {
		return nil, grainError(KindInternal, "amphora %s: %v", g.id, err)
	}
	return &actorspb.Empty{}, nil
}

// syncControllers gives the agent the current controller list if it has another
// one (or, forced, whatever it has: the driver restarts it only on a change).
func (g *AmphoraGrain) syncControllers(ctx context.Context, spec *actorspb.AmphoraSpec, force bool) {
	want := g.amp.Controllers()
	if len(want) == 0 || spec.GetComputeId() == "" || (!force && slices.Equal(want, g.controllers)) {
		return
	}
	inst, err := g.amp.Driver.SetControllers(ctx, spec.GetComputeId(), want)
	switch {
	case errors.Is(err, compute.ErrNotLocal):
	case err != nil:
		g.rt.Logger.Warn("amphora controllers not updated", "amphora", g.id, "err", err)
	default:
		g.controllers = want
		if trust, terr := g.amp.Trust(); terr == nil {
			_ = g.connect(trust, inst) // the restarted agent may listen elsewhere
		}
	}
}

// rotationDue: the certificate expires within the rotation buffer (Octavia's
// cert_expiry_buffer, two weeks; or half the validity when that is shorter).
func (g *AmphoraGrain) rotationDue(amp *storepb.Amphora) bool {
	if amp.CertExpiration == 0 || amp.Status != AmphoraAllocated {
		return false
	}
	buffer := min(amphorapki.RotationBuffer, g.amp.CertValidity/2)
	return time.UnixMicro(amp.CertExpiration).Sub(g.rt.Now()) < buffer
}

// rotateCert issues a new server certificate and swaps it into the live agent
// (PUT /certificate), recording cert_busy while it runs and the new expiry after.
func (g *AmphoraGrain) rotateCert(ctx context.Context, spec *actorspb.AmphoraSpec, amp *storepb.Amphora) error {
	if err := g.agentFor(ctx, spec); err != nil {
		return err
	}
	trust, err := g.amp.Trust()
	if err != nil {
		return err
	}
	record := func(expiration int64, busy bool) error {
		_, err := actorspb.GetLoadBalancerGrainClient(g.c, amp.LoadbalancerId).RecordAmphoraCert(
			&actorspb.RecordAmphoraCertRequest{AmphoraId: g.id, CertExpiration: expiration, CertBusy: busy},
			cluster.WithTimeout(10*time.Second))
		return err
	}
	if err := record(0, true); err != nil {
		return err
	}
	cert, err := trust.IssueAmphora(g.id)
	if err == nil {
		err = g.agent.PutServerCertificate(ctx, cert.Bundle())
	}
	if err != nil {
		_ = record(0, false)
		return err
	}
	g.rt.Logger.Info("amphora certificate rotated", "amphora", g.id, "expires", cert.NotAfter)
	return record(cert.NotAfter.UnixMicro(), false)
}

// supervise starts (or keeps) watching for silence; a new compute id (a rebuilt
// amphora) starts a new grace period.
func (g *AmphoraGrain) supervise(spec *actorspb.AmphoraSpec) {
	if spec.GetComputeId() == "" {
		return
	}
	if g.spec == nil || g.spec.GetComputeId() != spec.GetComputeId() {
		g.since, g.silent = g.rt.Now(), false
	}
	g.spec = spec
	if g.timer == nil {
		g.tick()
	}
}

func (g *AmphoraGrain) tick() {
	root, self := g.root, g.self
	g.timer = time.AfterFunc(g.amp.HeartbeatInterval/2, func() { root.Send(self, &silenceTick{}) })
}

// checkSilence reports an amphora whose heartbeats stopped for longer than the
// timeout (counted from the last heartbeat, or from the start of supervision).
func (g *AmphoraGrain) checkSilence() {
	g.tick()
	if g.spec == nil || g.silent {
		return
	}
	last := g.since
	if g.beat.After(last) {
		last = g.beat
	}
	quiet := g.rt.Now().Sub(last)
	if quiet <= g.amp.HeartbeatTimeout {
		return
	}
	g.silent = true
	lbID, c, logger := g.spec.GetLoadBalancerId(), g.c, g.rt.Logger
	logger.Warn("amphora silent: failing over", "amphora", g.id, "lb", lbID, "silent", quiet.Round(time.Millisecond))
	go func() {
		_, err := actorspb.GetLoadBalancerGrainClient(c, lbID).AmphoraSilent(
			&actorspb.AmphoraSilentRequest{AmphoraId: g.id, SilentMs: quiet.Milliseconds()}, cluster.WithTimeout(10*time.Second))
		if err != nil {
			logger.Warn("amphora failover not started", "amphora", g.id, "lb", lbID, "err", err)
		}
	}()
}

// Heartbeat takes one verified heartbeat: it refreshes the amphora's health (as
// Octavia's, only when it reports every enabled listener), adds its traffic
// counters to the amphora's statistics and sends the operating statuses it
// changes to the load balancer's grain.
func (g *AmphoraGrain) Heartbeat(req *actorspb.HeartbeatRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	var msg heartbeat.Message
	if err := json.Unmarshal(req.GetMessageJson(), &msg); err != nil {
		return nil, grainError(KindInvalid, "heartbeat: %v", err)
	}
	amp, _ := g.rt.Store.State().Current().Amphorae.Get(g.id)
	if amp == nil {
		// Deleted, or not recorded yet: nothing to supervise, so no grain stays
		// (a heartbeat naming an unknown amphora must not keep one alive).
		if g.spec == nil {
			ctx.Poison(ctx.Self())
		}
		return &actorspb.Empty{}, nil
	}
	tree := g.rt.Store.State().Current().Tree(amp.LoadbalancerId)
	res := healthmap.Map(&msg, tree)
	g.recordStats(&msg, res.Stats)
	if res.Alive {
		g.beat, g.silent = time.UnixMilli(req.GetReceivedUnixMs()), false
	}
	if g.spec == nil && amp.ComputeId != "" {
		g.supervise(&actorspb.AmphoraSpec{AmphoraId: g.id, LoadBalancerId: amp.LoadbalancerId,
			VipAddress: amp.HaIp, ComputeId: amp.ComputeId})
	}
	if len(res.Changes) == 0 || g.healthBusy {
		return &actorspb.Empty{}, nil
	}
	changes := make([]*actorspb.OperatingStatusChange, 0, len(res.Changes))
	for _, c := range res.Changes {
		changes = append(changes, &actorspb.OperatingStatusChange{Kind: string(c.Kind), Id: c.ID, OperatingStatus: c.To})
	}
	g.healthBusy = true
	root, self, c, lbID, logger := g.root, g.self, g.c, amp.LoadbalancerId, g.rt.Logger
	go func() {
		defer root.Send(self, &healthDone{})
		_, err := actorspb.GetLoadBalancerGrainClient(c, lbID).RecordHealth(
			&actorspb.RecordHealthRequest{AmphoraId: g.id, Changes: changes}, cluster.WithTimeout(5*time.Second))
		if err != nil {
			logger.Debug("health not recorded", "amphora", g.id, "lb", lbID, "err", err)
		}
	}()
	return &actorspb.Empty{}, nil
}

// servingAmphorae are the amphorae of a tree that serve it (not being replaced),
// in id order.
func servingAmphorae(t *storepb.Tree) []*storepb.Amphora {
	var out []*storepb.Amphora
	for _, a := range t.GetAmphorae() {
		if a.Status != StatusPendingDelete && a.Status != StatusError {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}
