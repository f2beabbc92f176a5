package http

import (
	"context"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

type amphora = *storepb.Amphora

// amphorae is Octavia's admin amphora resource (seed 000). An amphora belongs to
// its load balancer's tree; project_id (the load balancer's) is a filter, not an
// attribute Octavia shows.
var amphorae = newResource[amphora]("Amphora", "amphora", "amphorae",
	func(s *store.State) *store.Table[amphora] { return s.Amphorae }, []*attr[amphora]{
		{name: "id", kind: kindString, str: amphora.GetId, index: store.IndexID},
		{name: "loadbalancer_id", kind: kindNullableString, str: amphora.GetLoadbalancerId, index: store.IndexLoadBalancer},
		{name: "compute_id", kind: kindNullableString, str: amphora.GetComputeId},
		{name: "lb_network_ip", kind: kindNullableString, str: amphora.GetLbNetworkIp},
		{name: "vrrp_ip", kind: kindNullableString, str: amphora.GetVrrpIp},
		{name: "ha_ip", kind: kindNullableString, str: amphora.GetHaIp},
		{name: "vrrp_port_id", kind: kindNullableString, str: amphora.GetVrrpPortId},
		{name: "ha_port_id", kind: kindNullableString, str: amphora.GetHaPortId},
		{name: "cert_expiration", kind: kindTimestamp, integer: amphora.GetCertExpiration},
		{name: "cert_busy", kind: kindBool, boolean: amphora.GetCertBusy},
		{name: "role", kind: kindNullableString, str: amphora.GetRole},
		{name: "status", kind: kindString, str: amphora.GetStatus, index: store.IndexStatus},
		{name: "vrrp_interface", kind: kindNullableString, str: amphora.GetVrrpInterface},
		// vrrp_id and vrrp_priority are null for a STANDALONE amphora; each is
		// listed twice so the hidden integer serves filters and sorting.
		{name: "vrrp_id", kind: kindComputed, render: nullWhenZero(i32(amphora.GetVrrpId))},
		{name: "vrrp_id", kind: kindInt, integer: i32(amphora.GetVrrpId), hidden: true},
		{name: "vrrp_priority", kind: kindComputed, render: nullWhenZero(i32(amphora.GetVrrpPriority))},
		{name: "vrrp_priority", kind: kindInt, integer: i32(amphora.GetVrrpPriority), hidden: true},
		{name: "cached_zone", kind: kindNullableString, str: amphora.GetCachedZone},
		{name: "created_at", kind: kindTimestamp, integer: amphora.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: amphora.GetUpdatedAt},
		{name: "image_id", kind: kindNullableString, str: amphora.GetImageId},
		{name: "compute_flavor", kind: kindNullableString, str: amphora.GetComputeFlavor},
		{name: "project_id", kind: kindString, str: amphora.GetProjectId, hidden: true},
	})

// amphoraRoutes registers the amphora admin API under base (/v2/octavia/amphorae).
func (s *Server) amphoraRoutes(r *router.Router, base string) {
	r.GET(base, s.wrap(s.listAmphorae))
	r.GET(base+"/{id}", s.wrap(s.showAmphora))
	r.DELETE(base+"/{id}", s.wrap(s.deleteAmphora))
	r.GET(base+"/{id}/stats", s.wrap(s.amphoraStats))
	r.PUT(base+"/{id}/config", s.wrap(s.configureAmphora))
	r.PUT(base+"/{id}/failover", s.wrap(s.failoverAmphora))
}

// The amphora API is for administrators only (Octavia's amphora rules, checked
// against the caller's own project).
func amphoraAPIAllowed(ctx *fasthttp.RequestCtx, action string) error {
	return authorize(ctx, rbacAmphora+action, identityOf(ctx).ProjectID)
}

// amphoraInPath reads the amphora of the path after a barrier, then authorizes
// action (Octavia looks the amphora up first: a missing one is a 404 for anyone).
func (s *Server) amphoraInPath(ctx *fasthttp.RequestCtx, action string) (*store.State, *storepb.Amphora, error) {
	if err := s.barrier(); err != nil {
		return nil, nil, err
	}
	st := s.store.State().Current()
	id := pathParam(ctx, "id")
	a, found := st.Amphorae.Get(id)
	if !found {
		return nil, nil, notFound("Amphora %s not found.", id)
	}
	if err := amphoraAPIAllowed(ctx, action); err != nil {
		return nil, nil, err
	}
	return st, a, nil
}

func (s *Server) listAmphorae(ctx *fasthttp.RequestCtx) error {
	if err := amphoraAPIAllowed(ctx, actGetAll); err != nil {
		return err
	}
	return serveList(s, ctx, amphorae, nil)
}

func (s *Server) showAmphora(ctx *fasthttp.RequestCtx) error {
	st, a, err := s.amphoraInPath(ctx, actGetOne)
	if err != nil {
		return err
	}
	amphorae.writeOne(ctx, fasthttp.StatusOK, a, st)
	return nil
}

// amphoraStats answers GET /octavia/amphorae/{id}/stats: one entry per listener
// the amphora serves (its load balancer's, in creation order), its row of the
// statistics table (zeros until the amphora reports the listener). Octavia lists
// only the rows it has; keel lists every listener, as it did before amphorae
// reported traffic.
func (s *Server) amphoraStats(ctx *fasthttp.RequestCtx) error {
	if err := amphoraAPIAllowed(ctx, actGetStats); err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	id := pathParam(ctx, "id")
	var served []*storepb.Listener
	if a, found := st.Amphorae.Get(id); found && a.LoadbalancerId != "" {
		served = store.InCreationOrder(store.Collect(st.Listeners, store.IndexLoadBalancer, a.LoadbalancerId))
	}
	if len(served) == 0 {
		return notFound("Amphora stats for %s not found.", id)
	}
	b := append([]byte(nil), `{"amphora_stats":[`...)
	for i, l := range served {
		if i > 0 {
			b = append(b, ',')
		}
		t := amphoraTraffic(st, id, l.Id)
		o := openObject(b)
		o.integer("active_connections", t.ActiveConnections)
		o.integer("bytes_in", t.BytesIn)
		o.integer("bytes_out", t.BytesOut)
		o.str("id", id)
		o.str("listener_id", l.Id)
		o.str("loadbalancer_id", l.LoadbalancerId)
		o.integer("request_errors", t.RequestErrors)
		o.integer("total_connections", t.TotalConnections)
		b = o.close()
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(append(b, "]}"...))
	return nil
}

// configureAmphora answers PUT /octavia/amphorae/{id}/config (202): once the
// amphora is found, authorized and ALLOCATED (in service), its grain pushes the
// agent's configuration again (its heartbeat targets and every listener's haproxy
// configuration); with the noop driver there is nothing to push.
func (s *Server) configureAmphora(ctx *fasthttp.RequestCtx) error {
	_, a, err := s.amphoraInPath(ctx, actPutConfig)
	if err != nil {
		return err
	}
	if a.Status != actors.AmphoraAllocated {
		return &apiError{fasthttp.StatusConflict, "amphora " + a.Id + " is immutable and cannot be updated."}
	}
	c := context.Background()
	if err := s.grains.RefreshAmphora(c, &actorspb.AmphoraSpec{AmphoraId: a.Id, LoadBalancerId: a.LoadbalancerId,
		VipAddress: a.HaIp, ComputeId: a.ComputeId}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	return nil
}

// failoverAmphora answers PUT /octavia/amphorae/{id}/failover (202): its load
// balancer's grain replaces it.
func (s *Server) failoverAmphora(ctx *fasthttp.RequestCtx) error {
	_, a, err := s.amphoraInPath(ctx, actPutFailover)
	if err != nil {
		return err
	}
	c := context.Background()
	if _, err := actors.CallLoadBalancer(c, s.grains, a.LoadbalancerId, (*actorspb.LoadBalancerGrainClient).Failover,
		&actorspb.FailoverRequest{Caller: callerOf(ctx), AmphoraId: a.Id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	return nil
}

// deleteAmphora answers DELETE /octavia/amphorae/{id} (204): only an amphora that
// is READY (a spare) or in ERROR may go.
func (s *Server) deleteAmphora(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	if err := amphoraAPIAllowed(ctx, actDelete); err != nil {
		return err
	}
	_, a, err := s.amphoraInPath(ctx, actDelete)
	if err != nil {
		return err
	}
	c := context.Background()
	if _, err := actors.CallLoadBalancer(c, s.grains, a.LoadbalancerId, (*actorspb.LoadBalancerGrainClient).DeleteAmphora,
		&actorspb.DeleteChildRequest{Caller: caller, Id: a.Id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
