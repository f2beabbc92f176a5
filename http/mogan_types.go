package http

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/baremetal"
	"keel/actors/instancepb"
	"keel/store/storepb"
)

// /v1/types: the instance types (Mogan's flavors). Anyone reads the public
// ones, an administrator every one; only an administrator writes them (the
// instance type grain; POST 201 with a new uuid, PUT 200, DELETE 204). And
// /v1/availability_zones: the distinct zones of the Blazar hosts.

// errTypeNotFound is InstanceTypeNotFound as show answers it (404, the type
// grain's text for update and delete).
func errTypeNotFound(id string) *baremetal.Error {
	return moganRefusal(fasthttp.StatusNotFound, "InstanceType "+id+" could not be found")
}

func (m *MoganServer) listTypes(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, ruleMoganTypeGet, ""); err != nil {
		return err
	}
	if err := m.barrier(); err != nil {
		return err
	}
	id := identityOf(ctx)
	admin := id.Allowed(ruleMoganAdmin, id.ProjectID)
	base := moganBase(ctx)
	out := []byte(`{"types":[`)
	n := 0
	for _, t := range m.store.State().Current().InstanceTypes() {
		if !t.IsPublic && !admin {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = appendInstanceType(out, base, t)
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}

// visibleType is the instance type id as of now (a read barrier first), or
// Mogan's 404 when there is none or the caller may not see it (a private type is
// an administrator's).
func (m *MoganServer) visibleType(ctx *fasthttp.RequestCtx, id string) (*storepb.InstanceType, error) {
	if err := m.barrier(); err != nil {
		return nil, err
	}
	t := m.store.State().Current().InstanceType(id)
	who := identityOf(ctx)
	if t == nil || (!t.IsPublic && !who.Allowed(ruleMoganAdmin, who.ProjectID)) {
		return nil, errTypeNotFound(id)
	}
	return t, nil
}

func (m *MoganServer) showType(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, ruleMoganTypeGet, ""); err != nil {
		return err
	}
	t, err := m.visibleType(ctx, pathParam(ctx, "uuid"))
	if err != nil {
		return err
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, appendInstanceType(nil, moganBase(ctx), t))
	return nil
}

func (m *MoganServer) createType(ctx *fasthttp.RequestCtx) error {
	return m.writeType(ctx, ruleMoganTypeCreate, fasthttp.StatusCreated, uuid.NewString(), instancepb.TypeWriteRequest_CREATE)
}

func (m *MoganServer) updateType(ctx *fasthttp.RequestCtx) error {
	return m.writeType(ctx, ruleMoganTypeUpdate, fasthttp.StatusOK, pathParam(ctx, "uuid"), instancepb.TypeWriteRequest_UPDATE)
}

func (m *MoganServer) deleteType(ctx *fasthttp.RequestCtx) error {
	return m.writeType(ctx, ruleMoganTypeDelete, fasthttp.StatusNoContent, pathParam(ctx, "uuid"), instancepb.TypeWriteRequest_DELETE)
}

// writeType authorizes a type write (administrators only, before anything is
// looked up), decodes its body and makes the type grain's one call.
func (m *MoganServer) writeType(ctx *fasthttp.RequestCtx, rule string, status int, id string, op instancepb.TypeWriteRequest_Op) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, rule, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	req := &instancepb.TypeWriteRequest{Caller: moganCaller(ctx), Op: op}
	if op != instancepb.TypeWriteRequest_DELETE {
		body, err := moganBody(ctx, "object",
			moganRefusal(fasthttp.StatusBadRequest, "Invalid instance type body: the request body is not a JSON object"))
		if err != nil {
			return err
		}
		req.Body = body
	}
	c := context.Background()
	reply, err := m.grains.WriteType(c, id, req)
	if err != nil {
		return err
	}
	if op == instancepb.TypeWriteRequest_DELETE {
		ctx.SetStatusCode(status)
		return nil
	}
	base := moganBase(ctx)
	if op == instancepb.TypeWriteRequest_CREATE {
		ctx.Response.Header.Set("Location", base+"/v1/types/"+id)
	}
	writeMoganJSON(ctx, status, appendInstanceType(nil, base, reply.GetType()))
	return nil
}

// /v1/types/{uuid}/extraspecs: the type's extra_specs alone (Mogan's
// TypeExtraSpecController), the same map the type renders and the scheduler
// matches against the hosts. GET {"extra_specs": {…}} (visible as the type
// is); PATCH an object of strings merged in, 202 {"extra_specs": {…}} as
// Mogan answers; DELETE …/extraspecs/{key} 204, 404 for a key the type does
// not have. Writes are the administrator's, checked before anything is looked
// up, and made by the type grain (one call).

func appendExtraSpecs(b []byte, t *storepb.InstanceType) []byte {
	o := openObject(b)
	o.key("extra_specs")
	o.b = appendStringMap(o.b, t.ExtraSpecs)
	return o.close()
}

func (m *MoganServer) showExtraSpecs(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, ruleMoganTypeGet, ""); err != nil {
		return err
	}
	t, err := m.visibleType(ctx, pathParam(ctx, "uuid"))
	if err != nil {
		return err
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, appendExtraSpecs(nil, t))
	return nil
}

func (m *MoganServer) setExtraSpecs(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, ruleMoganExtraSpecsUpdate, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	body, err := moganBody(ctx, "object",
		moganRefusal(fasthttp.StatusBadRequest, "Invalid extra specs body: the request body is not a JSON object of strings"))
	if err != nil {
		return err
	}
	c := context.Background()
	reply, err := m.grains.WriteType(c, pathParam(ctx, "uuid"), &instancepb.TypeWriteRequest{Caller: moganCaller(ctx),
		Op: instancepb.TypeWriteRequest_SET_EXTRA_SPECS, Body: body})
	if err != nil {
		return err
	}
	writeMoganJSON(ctx, fasthttp.StatusAccepted, appendExtraSpecs(nil, reply.GetType()))
	return nil
}

func (m *MoganServer) unsetExtraSpec(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := moganAuthorize(ctx, ruleMoganExtraSpecsDelete, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	c := context.Background()
	if _, err := m.grains.WriteType(c, pathParam(ctx, "uuid"), &instancepb.TypeWriteRequest{Caller: moganCaller(ctx),
		Op: instancepb.TypeWriteRequest_UNSET_EXTRA_SPEC, Key: pathParam(ctx, "key")}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// listAvailabilityZones is {"availability_zones": [names]}: the distinct
// availability zones of the Blazar hosts, sorted (a host without one adds
// none).
func (m *MoganServer) listAvailabilityZones(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	if err := m.barrier(); err != nil {
		return err
	}
	var zones []string
	for _, h := range m.store.State().Current().Hosts() {
		if z := h.AvailabilityZone; z != "" && !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	slices.Sort(zones)
	out := []byte(`{"availability_zones":[`)
	for i, z := range zones {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, z)
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
	return nil
}
