package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"keel/actors/actorspb"
	"keel/actors/catalogpb"
	"keel/store"
	"keel/store/storepb"
)

// The catalog grain's identities: one grain, so one writer, per kind of row.
const (
	CatalogQuotas                   = "quotas"
	CatalogFlavors                  = "flavors"
	CatalogFlavorProfiles           = "flavorprofiles"
	CatalogAvailabilityZones        = "availabilityzones"
	CatalogAvailabilityZoneProfiles = "availabilityzoneprofiles"
)

// CatalogGrain writes the admin-managed catalog: quotas, flavors, flavor profiles,
// availability zones and their profiles. The HTTP layer has validated the request
// (attributes, provider data, roles); the grain reads the rows after a barrier,
// decides against them (existence, unique names, rows still in use), and proposes
// the store command with the version it read. The FSM checks the same invariants
// again, so a duplicate activation can only lose a race.
type CatalogGrain struct {
	kind string
	rt   *Runtime
}

var _ catalogpb.Catalog = (*CatalogGrain)(nil)

// Init binds the grain to its kind of row and its node.
func (g *CatalogGrain) Init(ctx cluster.GrainContext) {
	g.kind = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
}

// Terminate has nothing to release: the grain keeps no state between calls.
func (g *CatalogGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault ignores messages that are not calls.
func (g *CatalogGrain) ReceiveDefault(ctx cluster.GrainContext) {}

// catalogRow is what every catalog row has: its CAS version.
type catalogRow interface {
	proto.Message
	GetVersion() uint64
}

// read returns the tables after a read barrier.
func (g *CatalogGrain) read() (*store.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.rt.Store.Barrier(ctx); err != nil {
		return nil, err
	}
	return g.rt.Store.State().Current(), nil
}

// runWrite runs one change for an admin. decide returns the row as it will be
// stored (zero for a delete) and the command. A request an earlier attempt already
// applied (the FSM replays it, or settles a retry's refusal as applied) is
// answered with the row as stored now, which stored looks up (nil for a delete).
func runWrite[T catalogRow](g *CatalogGrain, caller *actorspb.Caller, stored func(*store.State) (T, bool), decide func(st *store.State) (T, *storepb.Command, error)) (T, error) {
	var zero T
	if !caller.GetAdmin() {
		return zero, grainError(KindForbidden, policyRefused)
	}
	row, err := decideAndPropose(g, caller, decide)
	applied := errors.Is(err, errApplied)
	if !applied {
		if applied, err = settleRefusal(g.rt, caller, err); err != nil {
			return zero, err
		}
	}
	if !applied {
		return row, nil
	}
	if stored == nil {
		return zero, nil
	}
	st, err := g.read()
	if err != nil {
		return zero, unavailable(err)
	}
	if row, found := stored(st); found {
		return row, nil
	}
	return zero, unavailable(fmt.Errorf("the request was applied, but the %s row it wrote has changed since; read it again", g.kind))
}

// errApplied tells runWrite that an earlier attempt of the request applied it.
var errApplied = errors.New("applied by an earlier attempt")

// decideAndPropose reads, decides and proposes; on a lost race (version moved, row
// appeared or vanished) it reads and decides again, so the answer always comes
// from the rows as they are.
func decideAndPropose[T catalogRow](g *CatalogGrain, caller *actorspb.Caller, decide func(st *store.State) (T, *storepb.Command, error)) (T, error) {
	var zero T
	reqID := caller.GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		st, err := g.read()
		if err != nil {
			return zero, unavailable(err)
		}
		row, cmd, err := decide(st)
		if err != nil {
			return zero, err
		}
		cmd.RequestId, cmd.DeadlineUnixMs = reqID, caller.GetDeadlineUnixMs()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := g.rt.Store.Propose(ctx, cmd)
		cancel()
		if errors.Is(err, store.ErrAmbiguous) && reqID != "" {
			// The command may still apply: decide it for good before answering.
			res, err = resolveRequest(g.rt, caller)
		}
		if err != nil {
			return zero, unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			if res.Replayed {
				return zero, errApplied
			}
			if row.ProtoReflect().IsValid() {
				stamp(row, res.Version)
			}
			return row, nil
		case storepb.CommandResult_CONFLICT, storepb.CommandResult_NOT_FOUND, storepb.CommandResult_ALREADY_EXISTS:
			continue // another writer got there first: decide again on what it wrote
		case storepb.CommandResult_IN_USE:
			return zero, grainError(KindConflict, "%s", res.Message)
		case storepb.CommandResult_EXPIRED, storepb.CommandResult_ABORTED:
			return zero, grainError(KindNotApplied, "Service unavailable: %s; retry the request.", res.Message)
		default:
			return zero, grainError(KindInternal, "%s", res.Message)
		}
	}
	return zero, grainError(KindConflict, "The %s catalog is being changed concurrently; retry.", g.kind)
}

// stamp records the version the store gave a row, so the reply shows the row as
// stored.
func stamp(m proto.Message, version uint64) {
	r := m.ProtoReflect()
	r.Set(r.Descriptor().Fields().ByName("version"), protoreflect.ValueOfUint64(version))
}

func (g *CatalogGrain) micros() int64 { return g.rt.Now().UnixMicro() }

func setsAny(fields []string, names ...string) bool {
	for _, n := range names {
		if slices.Contains(fields, n) {
			return true
		}
	}
	return false
}

// Quotas

// SetQuota changes the quotas a PUT named; a project without a row gets one.
func (g *CatalogGrain) SetQuota(req *catalogpb.SetQuotaRequest, ctx cluster.GrainContext) (*catalogpb.QuotaReply, error) {
	project := req.GetProjectId()
	stored := func(st *store.State) (*storepb.Quota, bool) { return st.Quotas.Get(project) }
	q, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.Quota, *storepb.Command, error) {
		cur, found := st.Quotas.Get(project)
		x := &storepb.Quota{Id: project, CreatedAt: g.micros()}
		if found {
			x = cloneRow(cur)
		}
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, nil, err
		}
		return x, storepb.CatalogPut(x, cur.GetVersion()), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.QuotaReply{Quota: q}, nil
}

// ResetQuota puts a project's quotas back to the defaults. As Octavia does, the
// row stays (every value unset) and a project without one is not found.
func (g *CatalogGrain) ResetQuota(req *catalogpb.ResetQuotaRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	project := req.GetProjectId()
	_, err := runWrite(g, req.GetCaller(), nil, func(st *store.State) (*storepb.Quota, *storepb.Command, error) {
		cur, found := st.Quotas.Get(project)
		if !found {
			return nil, nil, grainError(KindNotFound, "Quotas %s not found.", project)
		}
		x := &storepb.Quota{Id: project, CreatedAt: cur.CreatedAt}
		return x, storepb.CatalogPut(x, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Flavors

// flavorNameTaken reports whether another flavor has this name.
func flavorNameTaken(st *store.State, name, id string) bool {
	taken := false
	st.Flavors.Equal(store.IndexName, name, func(f *storepb.Flavor) bool {
		taken = f.Id != id
		return !taken
	})
	return taken
}

// CreateFlavor stores a new flavor of an existing profile, under a unique name.
func (g *CatalogGrain) CreateFlavor(req *catalogpb.CreateFlavorRequest, ctx cluster.GrainContext) (*catalogpb.FlavorReply, error) {
	in := req.GetFlavor()
	stored := func(st *store.State) (*storepb.Flavor, bool) { return st.Flavors.Get(in.Id) }
	f, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.Flavor, *storepb.Command, error) {
		if _, found := st.Flavors.Get(in.Id); found {
			return nil, nil, grainError(KindConflict, "Already an entity with that specified id.")
		}
		if _, found := st.FlavorProfiles.Get(in.FlavorProfileId); !found {
			return nil, nil, grainError(KindNotFound, "Flavor Profile %s not found.", in.FlavorProfileId)
		}
		if in.Name != "" && flavorNameTaken(st, in.Name, in.Id) {
			return nil, nil, grainError(KindConflict, "A flavor of %s already exists.", in.Name)
		}
		x := cloneRow(in)
		x.CreatedAt = g.micros()
		return x, storepb.CatalogPut(x, 0), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.FlavorReply{Flavor: f}, nil
}

// UpdateFlavor changes a flavor's name, description or enabled.
func (g *CatalogGrain) UpdateFlavor(req *catalogpb.UpdateFlavorRequest, ctx cluster.GrainContext) (*catalogpb.FlavorReply, error) {
	id := req.GetValues().GetId()
	stored := func(st *store.State) (*storepb.Flavor, bool) { return st.Flavors.Get(id) }
	f, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.Flavor, *storepb.Command, error) {
		cur, found := st.Flavors.Get(id)
		if !found {
			return nil, nil, grainError(KindNotFound, "Flavor %s not found.", id)
		}
		x := cloneRow(cur)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, nil, err
		}
		if x.Name != "" && x.Name != cur.Name && flavorNameTaken(st, x.Name, id) {
			return nil, nil, grainError(KindConflict, "A flavor of %s already exists.", x.Name)
		}
		return x, storepb.CatalogPut(x, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.FlavorReply{Flavor: f}, nil
}

// DeleteFlavor deletes a flavor no load balancer uses.
func (g *CatalogGrain) DeleteFlavor(req *catalogpb.DeleteRowRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	id := req.GetKey()
	_, err := runWrite(g, req.GetCaller(), nil, func(st *store.State) (*storepb.Flavor, *storepb.Command, error) {
		cur, found := st.Flavors.Get(id)
		if !found {
			return nil, nil, grainError(KindNotFound, "Flavor %s not found.", id)
		}
		if len(store.Collect(st.LoadBalancers, store.IndexFlavor, id)) > 0 {
			return nil, nil, grainError(KindConflict, "Flavor %s is in use and cannot be modified.", id)
		}
		return nil, storepb.CatalogDelete(storepb.CatalogKind_FLAVOR, id, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Flavor profiles

// CreateFlavorProfile stores a new flavor profile.
func (g *CatalogGrain) CreateFlavorProfile(req *catalogpb.CreateFlavorProfileRequest, ctx cluster.GrainContext) (*catalogpb.FlavorProfileReply, error) {
	in := req.GetFlavorProfile()
	stored := func(st *store.State) (*storepb.FlavorProfile, bool) { return st.FlavorProfiles.Get(in.Id) }
	p, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.FlavorProfile, *storepb.Command, error) {
		if _, found := st.FlavorProfiles.Get(in.Id); found {
			return nil, nil, grainError(KindConflict, "Already an entity with that specified id.")
		}
		x := cloneRow(in)
		x.CreatedAt = g.micros()
		return x, storepb.CatalogPut(x, 0), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.FlavorProfileReply{FlavorProfile: p}, nil
}

// UpdateFlavorProfile changes a profile; its provider and data are locked while a
// flavor uses it (Octavia refuses a PUT that names either, changed or not).
func (g *CatalogGrain) UpdateFlavorProfile(req *catalogpb.UpdateFlavorProfileRequest, ctx cluster.GrainContext) (*catalogpb.FlavorProfileReply, error) {
	id := req.GetValues().GetId()
	stored := func(st *store.State) (*storepb.FlavorProfile, bool) { return st.FlavorProfiles.Get(id) }
	p, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.FlavorProfile, *storepb.Command, error) {
		cur, found := st.FlavorProfiles.Get(id)
		if setsAny(req.GetFields(), "provider_name", "flavor_data") &&
			len(store.Collect(st.Flavors, store.IndexFlavorProfile, id)) > 0 {
			return nil, nil, grainError(KindConflict, "Flavor profile %s is in use and cannot be modified.", id)
		}
		if !found {
			return nil, nil, grainError(KindNotFound, "Flavor Profile %s not found.", id)
		}
		x := cloneRow(cur)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, nil, err
		}
		return x, storepb.CatalogPut(x, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.FlavorProfileReply{FlavorProfile: p}, nil
}

// DeleteFlavorProfile deletes a profile no flavor uses.
func (g *CatalogGrain) DeleteFlavorProfile(req *catalogpb.DeleteRowRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	id := req.GetKey()
	_, err := runWrite(g, req.GetCaller(), nil, func(st *store.State) (*storepb.FlavorProfile, *storepb.Command, error) {
		if len(store.Collect(st.Flavors, store.IndexFlavorProfile, id)) > 0 {
			return nil, nil, grainError(KindConflict, "Flavor profile %s is in use and cannot be modified.", id)
		}
		cur, found := st.FlavorProfiles.Get(id)
		if !found {
			return nil, nil, grainError(KindNotFound, "Flavor profile %s not found.", id)
		}
		return nil, storepb.CatalogDelete(storepb.CatalogKind_FLAVOR_PROFILE, id, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Availability zones

// CreateAvailabilityZone stores a new availability zone (its name is its key).
func (g *CatalogGrain) CreateAvailabilityZone(req *catalogpb.CreateAvailabilityZoneRequest, ctx cluster.GrainContext) (*catalogpb.AvailabilityZoneReply, error) {
	in := req.GetAvailabilityZone()
	stored := func(st *store.State) (*storepb.AvailabilityZone, bool) { return st.AvailabilityZones.Get(in.Name) }
	z, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.AvailabilityZone, *storepb.Command, error) {
		if _, found := st.AvailabilityZones.Get(in.Name); found {
			return nil, nil, grainError(KindConflict, "A availability zone of %s already exists.", in.Name)
		}
		if _, found := st.AvailabilityZoneProfiles.Get(in.AvailabilityZoneProfileId); !found {
			return nil, nil, grainError(KindNotFound, "Availability Zone Profile %s not found.", in.AvailabilityZoneProfileId)
		}
		x := cloneRow(in)
		x.CreatedAt = g.micros()
		return x, storepb.CatalogPut(x, 0), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.AvailabilityZoneReply{AvailabilityZone: z}, nil
}

// UpdateAvailabilityZone changes an availability zone's description or enabled.
func (g *CatalogGrain) UpdateAvailabilityZone(req *catalogpb.UpdateAvailabilityZoneRequest, ctx cluster.GrainContext) (*catalogpb.AvailabilityZoneReply, error) {
	name := req.GetValues().GetName()
	stored := func(st *store.State) (*storepb.AvailabilityZone, bool) { return st.AvailabilityZones.Get(name) }
	z, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.AvailabilityZone, *storepb.Command, error) {
		cur, found := st.AvailabilityZones.Get(name)
		if !found {
			return nil, nil, grainError(KindNotFound, "Availability Zone %s not found.", name)
		}
		x := cloneRow(cur)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, nil, err
		}
		return x, storepb.CatalogPut(x, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.AvailabilityZoneReply{AvailabilityZone: z}, nil
}

// DeleteAvailabilityZone deletes an availability zone no load balancer uses.
func (g *CatalogGrain) DeleteAvailabilityZone(req *catalogpb.DeleteRowRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	name := req.GetKey()
	_, err := runWrite(g, req.GetCaller(), nil, func(st *store.State) (*storepb.AvailabilityZone, *storepb.Command, error) {
		cur, found := st.AvailabilityZones.Get(name)
		if !found {
			return nil, nil, grainError(KindNotFound, "Availability Zone %s not found.", name)
		}
		if len(store.Collect(st.LoadBalancers, store.IndexAvailabilityZone, name)) > 0 {
			return nil, nil, grainError(KindConflict, "Availability Zone %s is in use and cannot be modified.", name)
		}
		return nil, storepb.CatalogDelete(storepb.CatalogKind_AVAILABILITY_ZONE, name, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// Availability zone profiles

// CreateAvailabilityZoneProfile stores a new availability zone profile.
func (g *CatalogGrain) CreateAvailabilityZoneProfile(req *catalogpb.CreateAvailabilityZoneProfileRequest, ctx cluster.GrainContext) (*catalogpb.AvailabilityZoneProfileReply, error) {
	in := req.GetAvailabilityZoneProfile()
	stored := func(st *store.State) (*storepb.AvailabilityZoneProfile, bool) {
		return st.AvailabilityZoneProfiles.Get(in.Id)
	}
	p, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.AvailabilityZoneProfile, *storepb.Command, error) {
		if _, found := st.AvailabilityZoneProfiles.Get(in.Id); found {
			return nil, nil, grainError(KindConflict, "Already an entity with that specified id.")
		}
		x := cloneRow(in)
		x.CreatedAt = g.micros()
		return x, storepb.CatalogPut(x, 0), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.AvailabilityZoneProfileReply{AvailabilityZoneProfile: p}, nil
}

// UpdateAvailabilityZoneProfile changes a profile; its provider and data are
// locked while an availability zone uses it.
func (g *CatalogGrain) UpdateAvailabilityZoneProfile(req *catalogpb.UpdateAvailabilityZoneProfileRequest, ctx cluster.GrainContext) (*catalogpb.AvailabilityZoneProfileReply, error) {
	id := req.GetValues().GetId()
	stored := func(st *store.State) (*storepb.AvailabilityZoneProfile, bool) {
		return st.AvailabilityZoneProfiles.Get(id)
	}
	p, err := runWrite(g, req.GetCaller(), stored, func(st *store.State) (*storepb.AvailabilityZoneProfile, *storepb.Command, error) {
		cur, found := st.AvailabilityZoneProfiles.Get(id)
		if setsAny(req.GetFields(), "provider_name", "availability_zone_data") &&
			len(store.Collect(st.AvailabilityZones, store.IndexAvailabilityZoneProfile, id)) > 0 {
			return nil, nil, grainError(KindConflict, "Availability Zone Profile %s is in use and cannot be modified.", id)
		}
		if !found {
			return nil, nil, grainError(KindNotFound, "Availability Zone Profile %s not found.", id)
		}
		x := cloneRow(cur)
		if err := applyFields(x, req.GetValues(), req.GetFields()); err != nil {
			return nil, nil, err
		}
		return x, storepb.CatalogPut(x, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &catalogpb.AvailabilityZoneProfileReply{AvailabilityZoneProfile: p}, nil
}

// DeleteAvailabilityZoneProfile deletes a profile no availability zone uses.
func (g *CatalogGrain) DeleteAvailabilityZoneProfile(req *catalogpb.DeleteRowRequest, ctx cluster.GrainContext) (*actorspb.Empty, error) {
	id := req.GetKey()
	_, err := runWrite(g, req.GetCaller(), nil, func(st *store.State) (*storepb.AvailabilityZoneProfile, *storepb.Command, error) {
		if len(store.Collect(st.AvailabilityZones, store.IndexAvailabilityZoneProfile, id)) > 0 {
			return nil, nil, grainError(KindConflict, "Availability Zone Profile %s is in use and cannot be modified.", id)
		}
		cur, found := st.AvailabilityZoneProfiles.Get(id)
		if !found {
			return nil, nil, grainError(KindNotFound, "Availability Zone Profile %s not found.", id)
		}
		return nil, storepb.CatalogDelete(storepb.CatalogKind_AVAILABILITY_ZONE_PROFILE, id, cur.Version), nil
	})
	if err != nil {
		return nil, err
	}
	return &actorspb.Empty{}, nil
}

// CatalogMethod is a method of the catalog grain's generated client, as a method
// expression: (*catalogpb.CatalogGrainClient).CreateFlavor.
type CatalogMethod[Req, Resp any] func(*catalogpb.CatalogGrainClient, Req, ...cluster.GrainCallOption) (Resp, error)

// CallCatalog calls one method of the catalog grain of kind (CatalogFlavors, ...)
// with keel's per-attempt deadline and retries (requests carry their request id,
// so a retry is answered, not applied twice).
func CallCatalog[Req, Resp any](ctx context.Context, c *Client, kind string, method CatalogMethod[Req, Resp], req Req) (Resp, error) {
	g := catalogpb.GetCatalogGrainClient(c.cluster, kind)
	return call(ctx, c, func(attempt uint32, opts ...cluster.GrainCallOption) (Resp, error) {
		return method(g, numbered(req, attempt), opts...)
	})
}
