package actors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"keel/actors/actorspb"
	"keel/store/storepb"
)

// Reconciler runs on the Raft leader and resumes flows a dead node left behind:
// protoactor re-activates a grain only when it is called, so an entity whose grain
// died mid-flow would otherwise stay PENDING_* forever. It scans the provisioning-
// status index for PENDING_* entities untouched for longer than Grace and sends
// their grains Resume; the grain's compare-and-set makes a needless resume harmless.
type Reconciler struct {
	Store    Store
	Client   *Client
	Interval time.Duration
	Grace    time.Duration
	Logger   *slog.Logger
	// WatchAmphorae: every pass also sends Watch to the grain of every amphora in
	// service (real amphorae only), so supervision survives the death of the node
	// that hosted a grain.
	WatchAmphorae bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start begins the loop.
func (r *Reconciler) Start() {
	if r.Interval == 0 {
		r.Interval = time.Second
	}
	if r.Grace == 0 {
		r.Grace = 2 * time.Second
	}
	r.stop = make(chan struct{})
	r.wg.Add(1)
	go r.loop()
}

// Stop ends the loop and waits for it.
func (r *Reconciler) Stop() {
	close(r.stop)
	r.wg.Wait()
}

func (r *Reconciler) loop() {
	defer r.wg.Done()
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		if r.Store.LeaderReady() {
			r.pass()
			if r.WatchAmphorae {
				r.watch()
			}
		}
	}
}

// pass resumes every stale PENDING_* load balancer, 16 at a time.
func (r *Reconciler) pass() {
	cutoff := time.Now().Add(-r.Grace).UnixMicro()
	var ids []string
	for _, lb := range r.Store.State().PendingLoadBalancers() {
		if max(lb.CreatedAt, lb.UpdatedAt) < cutoff {
			ids = append(ids, lb.Id)
		}
	}
	eachAtMost16(r.stop, ids, func(id string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Client.ResumeLoadBalancer(ctx, id); err != nil {
			r.Logger.Warn("resume failed", "lb", id, "err", err)
		}
	})
}

// watch sends Watch to the grain of every built amphora that serves, 16 at a time.
func (r *Reconciler) watch() {
	var specs []*actorspb.AmphoraSpec
	r.Store.State().Current().Amphorae.All(func(a *storepb.Amphora) bool {
		if a.ComputeId != "" && a.Status != StatusPendingDelete && a.Status != StatusError {
			specs = append(specs, &actorspb.AmphoraSpec{AmphoraId: a.Id, LoadBalancerId: a.LoadbalancerId,
				VipAddress: a.HaIp, ComputeId: a.ComputeId})
		}
		return true
	})
	eachAtMost16(r.stop, specs, func(spec *actorspb.AmphoraSpec) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Client.WatchAmphora(ctx, spec); err != nil {
			r.Logger.Debug("watch failed", "amphora", spec.AmphoraId, "err", err)
		}
	})
}

// eachAtMost16 runs do for every item, 16 at a time, and returns when all ran
// (or, once stop closes, when those started have).
func eachAtMost16[T any](stop <-chan struct{}, items []T, do func(T)) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, item := range items {
		select {
		case <-stop:
			return
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			do(item)
		}()
	}
}
