package http

import (
	"context"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/leasepb"
	"keel/actors/reservation"
	"keel/store/storepb"
)

// GET/POST /v1/leases, GET/PUT/DELETE /v1/leases/{id}. A lease's rules are
// blazar:leases:<action> on the lease's project, so another project's lease is
// 403, not 404; as in Blazar, every action on one lease is first a get
// (checked first: a refused DELETE names blazar:leases:get).

// listLeases answers every lease to Blazar's administrator, the caller's
// project's to anyone else. Query parameters are ignored, as Blazar ignores
// them (no filters, paging or sorting).
func (b *BlazarServer) listLeases(ctx *fasthttp.RequestCtx) error {
	who := identityOf(ctx)
	if err := blazarAuthorize(ctx, reservation.RuleLeasesGet, who.ProjectID); err != nil {
		return err
	}
	if err := b.barrier(); err != nil {
		return err
	}
	st := b.store.State().Current()
	var leases []*storepb.Lease
	if who.Allowed(ruleBlazarAdmin, who.ProjectID) {
		leases = st.Leases()
	} else {
		leases = st.LeasesOfProject(who.ProjectID)
	}
	out := append(make([]byte, 0, 64+1024*len(leases)), `{"leases":[`...)
	for i, l := range leases {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendLease(out, l)
	}
	writeBlazarJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}

// createLease gives the lease a new id and asks its grain to create it from
// the body (every check of the body is the grain's: actors/reservation).
func (b *BlazarServer) createLease(ctx *fasthttp.RequestCtx) error {
	body, err := blazarBody(ctx)
	if err != nil {
		return err
	}
	if err := blazarAuthorize(ctx, reservation.RuleLeasesPost, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	c := context.Background()
	id := uuid.NewString()
	reply, err := b.grains.CreateLease(c, id, &leasepb.CreateLeaseRequest{Caller: blazarCaller(ctx), Body: body,
		UserId: identityOf(ctx).UserID})
	if err != nil {
		return err
	}
	writeLease(ctx, fasthttp.StatusCreated, reply.GetLease())
	return nil
}

// showLease answers one lease.
func (b *BlazarServer) showLease(ctx *fasthttp.RequestCtx) error {
	l, err := b.leaseFor(ctx, "")
	if err != nil {
		return err
	}
	writeLease(ctx, fasthttp.StatusOK, l)
	return nil
}

func (b *BlazarServer) updateLease(ctx *fasthttp.RequestCtx) error {
	body, err := blazarBody(ctx)
	if err != nil {
		return err
	}
	l, err := b.leaseFor(ctx, reservation.RuleLeasesPut)
	if err != nil {
		return err
	}
	c := context.Background()
	reply, err := b.grains.UpdateLease(c, l.Id, &leasepb.UpdateLeaseRequest{Caller: blazarCaller(ctx), Body: body})
	if err != nil {
		return err
	}
	writeLease(ctx, fasthttp.StatusOK, reply.GetLease())
	return nil
}

func (b *BlazarServer) deleteLease(ctx *fasthttp.RequestCtx) error {
	l, err := b.leaseFor(ctx, reservation.RuleLeasesDelete)
	if err != nil {
		return err
	}
	c := context.Background()
	if _, err := b.grains.DeleteLease(c, l.Id, &leasepb.DeleteLeaseRequest{Caller: blazarCaller(ctx)}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// leaseFor reads the lease of the path (after the barrier) and authorizes the
// caller on it: blazar:leases:get, then rule ("" for a read). A missing lease
// is 404 to anyone, as in Blazar.
func (b *BlazarServer) leaseFor(ctx *fasthttp.RequestCtx, rule string) (*storepb.Lease, error) {
	id := pathParam(ctx, "id")
	if err := b.barrier(); err != nil {
		return nil, err
	}
	l := b.store.State().Current().Lease(id)
	if l == nil {
		return nil, reservation.ErrLeaseNotFound(id)
	}
	if err := blazarAuthorize(ctx, reservation.RuleLeasesGet, l.ProjectId); err != nil {
		return nil, err
	}
	if rule != "" {
		if err := blazarAuthorize(ctx, rule, l.ProjectId); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func writeLease(ctx *fasthttp.RequestCtx, status int, l *storepb.Lease) {
	out := append(make([]byte, 0, 1024), `{"lease":`...)
	writeBlazarJSON(ctx, status, append(appendLease(out, l), '}'))
}
