package http

import (
	"context"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/leasepb"
	"keel/actors/reservation"
	"keel/store/storepb"
)

// /v1/os-hosts: keel's inventory of physical hosts, their allocations and the
// resource properties their extra capabilities name. Every route is Blazar's
// administrator's (blazar:oshosts:*), checked before anything is looked up.

func (b *BlazarServer) listHosts(ctx *fasthttp.RequestCtx) error {
	if err := b.hostsAuthorize(ctx, reservation.RuleHostsGet); err != nil {
		return err
	}
	if err := b.barrier(); err != nil {
		return err
	}
	hosts := b.store.State().Current().Hosts()
	out := append(make([]byte, 0, 64+512*len(hosts)), `{"hosts":[`...)
	for i, h := range hosts {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendHost(out, h)
	}
	writeBlazarJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}

func (b *BlazarServer) showHost(ctx *fasthttp.RequestCtx) error {
	if err := b.hostsAuthorize(ctx, reservation.RuleHostsGet); err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	if err := b.barrier(); err != nil {
		return err
	}
	h := b.store.State().Current().Host(id)
	if h == nil {
		return reservation.ErrHostNotFound(id)
	}
	writeHost(ctx, fasthttp.StatusOK, h)
	return nil
}

// createHost gives the host a new id (keel has no Nova hypervisor ids) and asks
// the inventory grain to enroll it from the body.
func (b *BlazarServer) createHost(ctx *fasthttp.RequestCtx) error {
	return b.writeHost(ctx, reservation.RuleHostsPost, fasthttp.StatusCreated,
		&leasepb.HostWriteRequest{Op: leasepb.HostWriteRequest_CREATE, HostId: uuid.NewString()})
}

func (b *BlazarServer) updateHost(ctx *fasthttp.RequestCtx) error {
	return b.writeHost(ctx, reservation.RuleHostsPut, fasthttp.StatusOK,
		&leasepb.HostWriteRequest{Op: leasepb.HostWriteRequest_UPDATE, HostId: pathParam(ctx, "id")})
}

func (b *BlazarServer) deleteHost(ctx *fasthttp.RequestCtx) error {
	return b.writeHost(ctx, reservation.RuleHostsDelete, fasthttp.StatusNoContent,
		&leasepb.HostWriteRequest{Op: leasepb.HostWriteRequest_DELETE, HostId: pathParam(ctx, "id")})
}

// updateProperty is PATCH /v1/os-hosts/properties/{name} ({"private": bool}).
func (b *BlazarServer) updateProperty(ctx *fasthttp.RequestCtx) error {
	return b.writeHost(ctx, reservation.RuleHostsUpdateResourceProperties, fasthttp.StatusOK,
		&leasepb.HostWriteRequest{Op: leasepb.HostWriteRequest_SET_PROPERTY, PropertyName: pathParam(ctx, "name")})
}

// writeHost decodes a write's body (POST, PUT, PATCH), authorizes it, makes the
// inventory grain's one call and renders what it answers.
func (b *BlazarServer) writeHost(ctx *fasthttp.RequestCtx, rule string, status int, req *leasepb.HostWriteRequest) error {
	if req.Op != leasepb.HostWriteRequest_DELETE {
		body, err := blazarBody(ctx)
		if err != nil {
			return err
		}
		req.Body = body
	}
	if err := b.hostsAuthorize(ctx, rule); err != nil {
		return err
	}
	req.Caller = blazarCaller(ctx)
	c := context.Background()
	reply, err := b.grains.WriteHosts(c, req)
	switch {
	case err != nil:
		return err
	case req.Op == leasepb.HostWriteRequest_DELETE:
		ctx.SetStatusCode(status)
	case req.Op == leasepb.HostWriteRequest_SET_PROPERTY:
		out := append(make([]byte, 0, 256), `{"resource_property":`...)
		writeBlazarJSON(ctx, status, append(appendResourceProperty(out, reply.GetProperty()), '}'))
	default:
		writeHost(ctx, status, reply.GetHost())
	}
	return nil
}

// listAllocations is GET /v1/os-hosts/allocations: every host, each with its
// allocations (those of ?lease_id= and ?reservation_id= when given).
func (b *BlazarServer) listAllocations(ctx *fasthttp.RequestCtx) error {
	if err := b.hostsAuthorize(ctx, reservation.RuleHostsGetAllocations); err != nil {
		return err
	}
	if err := b.barrier(); err != nil {
		return err
	}
	keep := allocationFilter(ctx)
	all := b.store.State().Current().AllAllocations()
	out := append(make([]byte, 0, 64+128*len(all)), `{"allocations":[`...)
	for i, ha := range all {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendAllocation(out, ha.Host.Id, ha.Allocations, keep)
	}
	writeBlazarJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}

// showAllocation is GET /v1/os-hosts/{id}/allocation.
func (b *BlazarServer) showAllocation(ctx *fasthttp.RequestCtx) error {
	if err := b.hostsAuthorize(ctx, reservation.RuleHostsGetAllocations); err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	if err := b.barrier(); err != nil {
		return err
	}
	st := b.store.State().Current()
	if st.Host(id) == nil {
		return reservation.ErrHostNotFound(id)
	}
	out := append(make([]byte, 0, 256), `{"allocation":`...)
	out = appendAllocation(out, id, st.AllocationsOfHost(id), allocationFilter(ctx))
	writeBlazarJSON(ctx, fasthttp.StatusOK, append(out, '}'))
	return nil
}

// allocationFilter keeps the allocations of ?lease_id= and ?reservation_id=
// (each when given).
func allocationFilter(ctx *fasthttp.RequestCtx) func(*storepb.Allocation) bool {
	lease, res := string(ctx.QueryArgs().Peek("lease_id")), string(ctx.QueryArgs().Peek("reservation_id"))
	return func(a *storepb.Allocation) bool {
		return (lease == "" || a.LeaseId == lease) && (res == "" || a.ReservationId == res)
	}
}

// listProperties is GET /v1/os-hosts/properties: the names ({"property"}), or
// with ?detail= also whether each is private and the distinct values hosts
// give it. Private properties are listed only with ?all= (the route is the
// administrator's already).
func (b *BlazarServer) listProperties(ctx *fasthttp.RequestCtx) error {
	if err := b.hostsAuthorize(ctx, reservation.RuleHostsGetResourceProperties); err != nil {
		return err
	}
	if err := b.barrier(); err != nil {
		return err
	}
	detail, all := truthy(ctx, "detail"), truthy(ctx, "all")
	st := b.store.State().Current()
	out := append(make([]byte, 0, 256), `{"resource_properties":[`...)
	n := 0
	for _, p := range st.ResourceProperties() {
		if p.Private && !all {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		o := openObject(out)
		o.str("property", p.PropertyName)
		if detail {
			o.boolean("private", p.Private)
			o.key("values")
			o.b = appendStringList(o.b, st.CapabilityValues(p.PropertyName))
		}
		out = o.close()
	}
	writeBlazarJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}

// hostsAuthorize checks one of the administrator's host rules.
func (b *BlazarServer) hostsAuthorize(ctx *fasthttp.RequestCtx, rule string) error {
	return blazarAuthorize(ctx, rule, identityOf(ctx).ProjectID)
}

func writeHost(ctx *fasthttp.RequestCtx, status int, h *storepb.Host) {
	out := append(make([]byte, 0, 512), `{"host":`...)
	writeBlazarJSON(ctx, status, append(appendHost(out, h), '}'))
}
