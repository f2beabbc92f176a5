package http

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/baremetal"
	"keel/actors/instancepb"
	"keel/store/storepb"
)

// /v1/instances: list (uuid, name, description, status, links unless
// ?fields=), detail (every field), show, create (201, the API makes the
// uuid), JSON Patch, delete (204, asynchronous), states and power (202).

// visibleInstance is the instance uuid names, or Mogan's 404 (unknown,
// deleted, or not a uuid at all), after the barrier.
func (m *MoganServer) visibleInstance(id string) (*storepb.Instance, error) {
	if err := m.barrier(); err != nil {
		return nil, err
	}
	x := m.store.State().Current().Instance(id)
	if x == nil || x.Status == storepb.InstanceDeleted {
		return nil, baremetal.ErrInstanceNotFound()
	}
	return x, nil
}

// authorizedInstance is visibleInstance the caller may act on by rule (the
// instance's project is the target: another project's is 403).
func (m *MoganServer) authorizedInstance(ctx *fasthttp.RequestCtx, rule string) (*storepb.Instance, error) {
	x, err := m.visibleInstance(pathParam(ctx, "uuid"))
	if err != nil {
		return nil, err
	}
	if err := moganAuthorize(ctx, rule, x.ProjectId); err != nil {
		return nil, err
	}
	return x, nil
}

// listed is the instances a list shows: the caller's project's, every
// project's for an administrator asking all_tenants (ignored for others).
func (m *MoganServer) listed(ctx *fasthttp.RequestCtx) ([]*storepb.Instance, error) {
	all := false
	if args := ctx.QueryArgs(); args.Has("all_tenants") {
		var bad *baremetal.Error
		if all, bad = baremetal.ParseAllTenants(string(args.Peek("all_tenants"))); bad != nil {
			return nil, bad
		}
	}
	if err := m.barrier(); err != nil {
		return nil, err
	}
	st := m.store.State().Current()
	id := identityOf(ctx)
	var xs []*storepb.Instance
	if all && id.Allowed(ruleMoganAdmin, id.ProjectID) {
		xs = st.Instances()
	} else {
		xs = st.InstancesOfProject(id.ProjectID)
	}
	out := xs[:0:0]
	for _, x := range xs {
		if x.Status != storepb.InstanceDeleted {
			out = append(out, x)
		}
	}
	return out, nil
}

func (m *MoganServer) writeInstances(ctx *fasthttp.RequestCtx, xs []*storepb.Instance, fields []string) {
	base := moganBase(ctx)
	out := append(make([]byte, 0, 32+256*len(xs)), `{"instances":[`...)
	for i, x := range xs {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendInstance(out, base, x, fields)
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, append(out, "]}"...))
}

// queryFields is ?fields= read by baremetal.ParseFields, or def without it.
func queryFields(ctx *fasthttp.RequestCtx, def []string) []string {
	if args := ctx.QueryArgs(); args.Has("fields") {
		return baremetal.ParseFields(string(args.Peek("fields")))
	}
	return def
}

func (m *MoganServer) listInstances(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx, "fields", "all_tenants"); err != nil {
		return err
	}
	xs, err := m.listed(ctx)
	if err != nil {
		return err
	}
	m.writeInstances(ctx, xs, queryFields(ctx, listFields))
	return nil
}

// detailInstances takes no fields (WSME's Unknown argument).
func (m *MoganServer) detailInstances(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx, "all_tenants"); err != nil {
		return err
	}
	xs, err := m.listed(ctx)
	if err != nil {
		return err
	}
	m.writeInstances(ctx, xs, detailFields)
	return nil
}

func (m *MoganServer) showInstance(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx, "fields"); err != nil {
		return err
	}
	x, err := m.authorizedInstance(ctx, baremetal.RuleInstanceGet)
	if err != nil {
		return err
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, appendInstance(nil, moganBase(ctx), x, queryFields(ctx, detailFields)))
	return nil
}

// createInstance makes the instance's uuid and asks its grain to create it
// from the body (the grain validates it with baremetal.ValidateCreate).
// Location names the instance as keel serves it (/v1/instances/<uuid>;
// Mogan's says /v1/instance/, an upstream bug).
func (m *MoganServer) createInstance(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	body, err := moganBody(ctx, "object", baremetal.ErrCreateBodyNotJSON())
	if err != nil {
		return err
	}
	id := identityOf(ctx)
	if err := moganAuthorize(ctx, baremetal.RuleInstanceCreate, id.ProjectID); err != nil {
		return err
	}
	uid := uuid.NewString()
	c := context.Background()
	reply, err := m.grains.CreateInstance(c, uid, &instancepb.CreateInstanceRequest{Caller: moganCaller(ctx), Body: body, UserId: id.UserID})
	if err != nil {
		return err
	}
	base := moganBase(ctx)
	ctx.Response.Header.Set("Location", base+"/v1/instances/"+uid)
	writeMoganJSON(ctx, fasthttp.StatusCreated, appendInstance(nil, base, reply.GetInstance(), detailFields))
	return nil
}

// patchInstance passes the JSON Patch document (a JSON array) to the grain,
// which applies it with baremetal.ApplyPatch.
func (m *MoganServer) patchInstance(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	x, err := m.authorizedInstance(ctx, baremetal.RuleInstanceUpdate)
	if err != nil {
		return err
	}
	body, err := moganBody(ctx, "array", baremetal.ErrPatchBody())
	if err != nil {
		return err
	}
	c := context.Background()
	reply, err := m.grains.PatchInstance(c, x.Uuid, &instancepb.PatchInstanceRequest{Caller: moganCaller(ctx), Body: body})
	if err != nil {
		return err
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, appendInstance(nil, moganBase(ctx), reply.GetInstance(), detailFields))
	return nil
}

// deleteInstance is asynchronous: the grain answers with status deleting,
// powers the host off and purges the row (then 404).
func (m *MoganServer) deleteInstance(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	x, err := m.authorizedInstance(ctx, baremetal.RuleInstanceDelete)
	if err != nil {
		return err
	}
	c := context.Background()
	if _, err := m.grains.DeleteInstance(c, x.Uuid, &instancepb.DeleteInstanceRequest{Caller: moganCaller(ctx)}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// instanceStates is {"power_state", "target_power_state"} as stored (Mogan
// proxies the Ironic node; keel's grain keeps them from the BMC).
func (m *MoganServer) instanceStates(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	x, err := m.authorizedInstance(ctx, baremetal.RuleInstanceGetStates)
	if err != nil {
		return err
	}
	o := openObject(nil)
	o.nullableStr("power_state", x.PowerState)
	o.nullableStr("target_power_state", x.TargetPowerState)
	writeMoganJSON(ctx, fasthttp.StatusOK, o.close())
	return nil
}

// setPower is PUT …/states/power {"target": on|off|reboot|soft_off|
// soft_reboot}: 202 with an empty body and Location naming the states; the
// grain refuses a bad target or status (400) and a power action in progress
// (409).
func (m *MoganServer) setPower(ctx *fasthttp.RequestCtx) error {
	if err := moganQuery(ctx); err != nil {
		return err
	}
	x, err := m.authorizedInstance(ctx, baremetal.RuleInstanceSetPowerState)
	if err != nil {
		return err
	}
	body, err := moganBody(ctx, "object", baremetal.ErrInvalidPowerTarget())
	if err != nil {
		return err
	}
	var req struct {
		Target *string `json:"target"`
	}
	if json.Unmarshal(body, &req) != nil || req.Target == nil {
		return baremetal.ErrInvalidPowerTarget()
	}
	c := context.Background()
	if _, err := m.grains.SetPower(c, x.Uuid, &instancepb.SetPowerRequest{Caller: moganCaller(ctx), Target: *req.Target}); err != nil {
		return err
	}
	ctx.Response.Header.Set("Location", moganBase(ctx)+"/v1/instances/"+x.Uuid+"/states")
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	return nil
}
