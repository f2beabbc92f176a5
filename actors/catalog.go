package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/reflect/protoreflect"

	"keel/actors/actorspb"
	"keel/actors/catalogpb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

// CatalogGrain writes the admin-managed catalog: quotas, flavors, flavor profiles,
// availability zones and their profiles, one grain (so one writer) per kind
// (CatalogIdentity). Every kind is written by the same steps, and what differs
// between kinds is data: catalogKinds here (Octavia's words for the kind, the
// checks of its values) and the store's rules (store/catalog.go). The HTTP layer
// has decoded the body; the grain checks the caller is an administrator, reads
// the rows after a barrier, decides against them (the store's rules asked of
// this read: State.CheckCatalog), and proposes one CatalogOperation with the
// version it read. The FSM applies the same rules again, so a duplicate
// activation can only lose a race, and a lost race is decided again on a fresh
// read: every refusal comes from the rows as they are.
type CatalogGrain struct {
	rt *Runtime
}

var _ catalogpb.Catalog = (*CatalogGrain)(nil)

// CatalogIdentity is the identity of the grain writing kind ("flavorprofiles").
func CatalogIdentity(kind storepb.CatalogKind) string {
	if k := catalogKinds[kind]; k != nil {
		return k.identity
	}
	return strings.ToLower(kind.String())
}

// Init binds the grain to its node.
func (g *CatalogGrain) Init(ctx cluster.GrainContext) { g.rt = runtimeOf(ctx.ActorSystem()) }

// Terminate has nothing to release: the grain keeps no state between calls.
func (g *CatalogGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault ignores messages that are not calls.
func (g *CatalogGrain) ReceiveDefault(ctx cluster.GrainContext) {}

// catalogKind is what the grain knows of one kind beyond the store's rules.
type catalogKind struct {
	identity string // the grain's, also in its "being changed concurrently" 409
	// display names the kind in Octavia's 404 of a show or an update ("Flavor
	// Profile"); short in its 404 of a delete or of the nil UUID ("Flavor profile").
	display, short string
	// nilKey: the nil UUID is not found, without looking (every kind but quotas).
	nilKey bool
	// duplicate is Octavia's 409 for a create of a key that exists.
	duplicate func(key string) string
	// notNull are the attributes an update may not set to null.
	notNull []string
	// check, when set, validates a create's row (fields nil) or an update's values
	// against the row as it is (cur nil: missing, the 404 to answer if it needs it).
	check func(values, cur storepb.CatalogEntity, fields []string, missing error) error
	// deleteResets: a delete sets every attribute back to its default and the row
	// stays (Octavia's DELETE of a project's quotas).
	deleteResets bool
}

func idExists(string) string { return "Already an entity with that specified id." }

var catalogKinds = map[storepb.CatalogKind]*catalogKind{
	storepb.CatalogKind_QUOTA:  {identity: "quotas", display: "Quotas", short: "Quotas", deleteResets: true},
	storepb.CatalogKind_FLAVOR: {identity: "flavors", display: "Flavor", short: "Flavor", nilKey: true, duplicate: idExists},
	storepb.CatalogKind_FLAVOR_PROFILE: {identity: "flavorprofiles", display: "Flavor Profile", short: "Flavor profile",
		nilKey: true, duplicate: idExists,
		notNull: []string{"name", "provider_name", "flavor_data"},
		check:   profileData("flavor_data", octaviarules.FlavorOptions)},
	storepb.CatalogKind_AVAILABILITY_ZONE: {identity: "availabilityzones", display: "Availability Zone", short: "Availability Zone", nilKey: true,
		duplicate: func(name string) string { return "A availability zone of " + name + " already exists." }},
	storepb.CatalogKind_AVAILABILITY_ZONE_PROFILE: {identity: "availabilityzoneprofiles", display: "Availability Zone Profile",
		short: "Availability Zone Profile", nilKey: true, duplicate: idExists,
		notNull: []string{"name", "provider_name", "availability_zone_data"},
		check:   profileData("availability_zone_data", octaviarules.ZoneOptions)},
}

// nilUUID is the id Octavia answers 404 for without looking (its sentinel).
const nilUUID = "00000000-0000-0000-0000-000000000000"

// CatalogNilKey is Octavia's 404 for the nil UUID as the key of a row of kind,
// answered without looking (the API's show answers it too); nil for any other key.
func CatalogNilKey(kind storepb.CatalogKind, key string) error {
	if k := catalogKinds[kind]; k != nil && k.nilKey && key == nilUUID {
		return &Error{Kind: KindNotFound, Message: k.missing(key)}
	}
	return nil
}

// missing is the kind's 404 of a delete or of the nil UUID.
func (k *catalogKind) missing(key string) string { return k.short + " " + key + " not found." }

// Write makes one change to one row.
func (g *CatalogGrain) Write(req *catalogpb.WriteRequest, ctx cluster.GrainContext) (*catalogpb.WriteReply, error) {
	caller, kind, key, values := req.GetCaller(), req.GetKind(), req.GetKey(), req.GetRow().Entity()
	k := catalogKinds[kind]
	switch {
	case !caller.GetAdmin():
		return nil, grainError(KindForbidden, policyRefused)
	case k == nil || key == "" || values != nil && storepb.CatalogKindOf(values) != kind:
		return nil, grainError(KindInvalid, "a catalog write needs a kind, a key, and values of the kind")
	}
	row, err := g.decideAndPropose(caller, k.identity, func(st *store.State) (storepb.CatalogEntity, *storepb.Command, error) {
		return k.decide(st, req, g.rt.Now().UnixMicro())
	})
	applied := errors.Is(err, errApplied)
	if !applied {
		if applied, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
	}
	switch {
	case req.GetOp() == catalogpb.WriteRequest_DELETE:
		row = nil
	case applied: // by an earlier attempt: answer with the row as stored
		if row, err = g.stored(kind, key); err != nil {
			return nil, err
		}
	}
	return &catalogpb.WriteReply{Row: storepb.NewCatalogRow(row)}, nil
}

// decide turns a request into the row to store and its command, from the rows as
// st has them, refusing in Octavia's order: nulls, a used row's locked
// attributes, the nil UUID, the kind's own checks, the row's existence, then the
// store's rules (the parent, a unique name, a row in use).
func (k *catalogKind) decide(st *store.State, req *catalogpb.WriteRequest, now int64) (storepb.CatalogEntity, *storepb.Command, error) {
	kind, key, values, fields := req.GetKind(), req.GetKey(), req.GetRow().Entity(), req.GetFields()
	cur, found := st.CatalogRow(kind, key)
	var x storepb.CatalogEntity
	switch op := req.GetOp(); {
	case op == catalogpb.WriteRequest_CREATE && values != nil:
		if err := k.checkValues(values, nil, nil, nil); err != nil {
			return nil, nil, err
		}
		if found {
			return nil, nil, grainError(KindConflict, "%s", k.duplicate(key))
		}
		x = cloneRow(values)
	case op == catalogpb.WriteRequest_UPDATE && values != nil:
		for _, attr := range k.notNull {
			if slices.Contains(req.GetNulls(), attr) {
				return nil, nil, grainError(KindInvalid, "None is not a valid option for %s", attr)
			}
		}
		if slices.ContainsFunc(store.CatalogLocked(kind), func(a string) bool { return slices.Contains(fields, a) }) {
			if err := refusal(st.CatalogInUse(kind, key)); err != nil {
				return nil, nil, err
			}
		}
		if k.nilKey && key == nilUUID {
			return nil, nil, grainError(KindNotFound, "%s", k.missing(key))
		}
		missing := grainError(KindNotFound, "%s %s not found.", k.display, key)
		if err := k.checkValues(values, cur, fields, missing); err != nil {
			return nil, nil, err
		}
		switch {
		case found:
			x = cloneRow(cur)
		case req.GetCreateMissing():
			x = values.ProtoReflect().New().Interface().(storepb.CatalogEntity)
		default:
			return nil, nil, missing
		}
		if err := applyFields(x, values, fields); err != nil {
			return nil, nil, err
		}
	case op == catalogpb.WriteRequest_DELETE:
		if !found || k.nilKey && key == nilUUID {
			return nil, nil, grainError(KindNotFound, "%s", k.missing(key))
		}
		if !k.deleteResets {
			cmd := storepb.CatalogDelete(kind, key, cur.GetVersion())
			return nil, cmd, refusal(st.CheckCatalog(cmd.GetCatalog()))
		}
		x = cur.ProtoReflect().New().Interface().(storepb.CatalogEntity)
	default:
		return nil, nil, grainError(KindInvalid, "catalog write %v without its values", op)
	}
	x.SetId(key)
	var expected uint64
	if found {
		expected = cur.GetVersion()
		x.SetCreatedAt(cur.GetCreatedAt())
	} else {
		x.SetCreatedAt(now)
	}
	cmd := storepb.CatalogPut(x, expected)
	return x, cmd, refusal(st.CheckCatalog(cmd.GetCatalog()))
}

func (k *catalogKind) checkValues(values, cur storepb.CatalogEntity, fields []string, missing error) error {
	if k.check == nil {
		return nil
	}
	return k.check(values, cur, fields, missing)
}

// profileData checks a profile's provider and data (attr) as Octavia does: a
// create's data against its provider; an update's provider when it names one,
// then its data when it names them, against the provider the profile will have.
// A profile naming no provider is checked by the default driver.
func profileData(attr string, options []octaviarules.ProviderOption) func(values, cur storepb.CatalogEntity, fields []string, missing error) error {
	str := func(e storepb.CatalogEntity, name string) string {
		m := e.ProtoReflect()
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
	}
	driver := func(e storepb.CatalogEntity) string {
		if p := str(e, "provider_name"); p != "" {
			return p
		}
		return octaviarules.DefaultProvider
	}
	return func(values, cur storepb.CatalogEntity, fields []string, missing error) error {
		provider := values
		if fields != nil { // an update
			setsProvider := slices.Contains(fields, "provider_name")
			if setsProvider {
				if err := octaviarules.CheckProviderEnabled(driver(values)); err != nil {
					return invalid(err)
				}
			}
			if !slices.Contains(fields, attr) {
				return nil
			}
			if !setsProvider {
				if cur == nil {
					return missing
				}
				provider = cur
			}
		}
		_, err := octaviarules.ValidateProviderData(driver(provider), attr, str(values, attr), options)
		return invalid(err)
	}
}

// refusal is the store's refusal of a decision as the API answers it.
func refusal(res *storepb.CommandResult) error {
	switch {
	case res == nil:
		return nil
	case res.Code == storepb.CommandResult_NOT_FOUND:
		return grainError(KindNotFound, "%s", res.Message)
	case res.Code == storepb.CommandResult_INVALID:
		return grainError(KindInternal, "%s", res.Message)
	}
	return grainError(KindConflict, "%s", res.Message)
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

// stored is the row of kind with key as stored now.
func (g *CatalogGrain) stored(kind storepb.CatalogKind, key string) (storepb.CatalogEntity, error) {
	st, err := g.read()
	if err != nil {
		return nil, unavailable(err)
	}
	if row, found := st.CatalogRow(kind, key); found {
		return row, nil
	}
	return nil, unavailable(fmt.Errorf("the request was applied, but the %s row it wrote has changed since; read it again", CatalogIdentity(kind)))
}

// errApplied tells Write that an earlier attempt of the request applied it.
var errApplied = errors.New("applied by an earlier attempt")

// decideAndPropose reads, decides and proposes; on a lost race (version moved, row
// appeared or vanished, a parent gone, a user arrived) it reads and decides again,
// so the answer always comes from the rows as they are.
func (g *CatalogGrain) decideAndPropose(caller *actorspb.Caller, identity string, decide func(st *store.State) (storepb.CatalogEntity, *storepb.Command, error)) (storepb.CatalogEntity, error) {
	reqID := caller.GetRequestId()
	for attempt := 0; attempt < 3; attempt++ {
		st, err := g.read()
		if err != nil {
			return nil, unavailable(err)
		}
		row, cmd, err := decide(st)
		if err != nil {
			return nil, err
		}
		cmd.RequestId, cmd.DeadlineUnixMs = reqID, caller.GetDeadlineUnixMs()
		res, err := g.rt.Store.ProposeWithin(proposeStep, cmd)
		if errors.Is(err, store.ErrAmbiguous) && reqID != "" {
			// The command may still apply: decide it for good before answering.
			res, err = resolveRequest(g.rt, caller)
		}
		if err != nil {
			return nil, unavailable(err)
		}
		switch res.Code {
		case storepb.CommandResult_OK:
			if res.Replayed {
				return nil, errApplied
			}
			if row != nil {
				row.SetVersion(res.Version)
			}
			return row, nil
		case storepb.CommandResult_CONFLICT, storepb.CommandResult_NOT_FOUND, storepb.CommandResult_ALREADY_EXISTS,
			storepb.CommandResult_IN_USE:
			continue // another writer got there first: decide again on what it wrote
		case storepb.CommandResult_EXPIRED, storepb.CommandResult_ABORTED:
			return nil, grainError(KindNotApplied, "Service unavailable: %s; retry the request.", res.Message)
		default:
			return nil, grainError(KindInternal, "%s", res.Message)
		}
	}
	return nil, grainError(KindConflict, "The %s catalog is being changed concurrently; retry.", identity)
}

// CallCatalog makes one write to the catalog grain of req's kind, with keel's
// per-attempt deadline and retries (requests carry their request id, so a retry
// is answered, not applied twice), and returns the row as stored (nil for a
// delete).
func CallCatalog(ctx context.Context, c *Client, req *catalogpb.WriteRequest) (storepb.CatalogEntity, error) {
	g := catalogpb.GetCatalogGrainClient(c.cluster, CatalogIdentity(req.GetKind()))
	reply, err := call(ctx, c, catalogGrains, func(attempt uint32, opts ...cluster.GrainCallOption) (*catalogpb.WriteReply, error) {
		return g.Write(numbered(req, attempt), opts...)
	})
	return reply.GetRow().Entity(), err
}
