package http

import (
	"cmp"
	"context"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/catalogpb"
	"keel/store"
	"keel/store/storepb"
)

// The admin-managed catalog: quotas, providers, flavors and flavor profiles,
// availability zones and their profiles. Each kind of row is one descriptor
// (catalogKind) and one set of handlers serves them all. Reads are lock-free
// snapshots after a barrier, with resource[T]'s conventions. A write decodes
// its body (the one check made here), makes one call to the catalog grain of
// its kind and renders the reply: every other rule of a write has its home in
// the grain (the role, nulls, the nil UUID, provider data, existence) or in the
// store's rules it applies (a missing parent, a taken name, a row in use).

// catalogRoutes registers the catalog's endpoints under one API prefix.
func (s *Server) catalogRoutes(r *router.Router, prefix string) {
	s.quotaRoutes(r, prefix)
	s.providerRoutes(r, prefix)
	flavorKind.routes(s, r, prefix)
	flavorProfileKind.routes(s, r, prefix)
	availabilityZoneKind.routes(s, r, prefix)
	availabilityZoneProfileKind.routes(s, r, prefix)
}

// catalogEntity is a catalog row as the API reads and writes it.
type catalogEntity interface {
	store.Entity
	storepb.CatalogEntity
}

// catalogKind describes one kind of catalog row to the generic handlers.
type catalogKind[T catalogEntity] struct {
	*resource[T]
	kind storepb.CatalogKind
	path string // under the API prefix ("/flavors"); a row is at path/{key}
	// ownReads: the kind serves its list and show itself (quotas).
	ownReads bool
	// create decodes a POST body (nil: the kind has no POST). newID: a new row
	// gets a new UUID as its key (else its body names it: a zone's name).
	create func(body []byte) (T, error)
	newID  bool
	// update decodes a PUT body: the values, the attributes it sets, those it
	// sets to null. upsert: a PUT of a missing row creates it (quotas).
	update func(body []byte) (values T, fields, nulls []string, err error)
	upsert bool
	// updated and deleted are the statuses of a PUT and a DELETE (0: 200, 204).
	updated, deleted int
	// render shows a written row (nil: the resource's object).
	render func(ctx *fasthttp.RequestCtx, status int, v T)
}

func (k *catalogKind[T]) routes(s *Server, r *router.Router, prefix string) {
	one := prefix + k.path + "/{key}"
	handle := func(h func(*Server, *fasthttp.RequestCtx) error) fasthttp.RequestHandler {
		return s.wrap(func(ctx *fasthttp.RequestCtx) error { return h(s, ctx) })
	}
	if !k.ownReads {
		r.GET(prefix+k.path, handle(k.list))
		r.GET(one, handle(k.show))
	}
	if k.create != nil {
		r.POST(prefix+k.path, handle(k.createRow))
	}
	r.PUT(one, handle(k.updateRow))
	r.DELETE(one, handle(k.deleteRow))
}

// list answers a list of the kind's rows with seed 001's conventions.
// The rows belong to no project: who may read them is the policy's (checked,
// as Octavia checks it, against the caller's own project), and a list is never
// narrowed to a project.
func (k *catalogKind[T]) list(s *Server, ctx *fasthttp.RequestCtx) error {
	if err := authorize(ctx, k.rbac+actGetAll, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	req, err := k.parseList(ctx)
	if err != nil {
		return err
	}
	q, err := k.query(req, "")
	if err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	page, err := store.List(k.table(st), q)
	if err == store.ErrInvalidMarker {
		return badRequest("Supplied pagination marker '%s' is not valid.", req.marker)
	}
	if err != nil {
		return err
	}
	k.writeList(ctx, req, page, st)
	return nil
}

// show answers GET of one row by its key.
func (k *catalogKind[T]) show(s *Server, ctx *fasthttp.RequestCtx) error {
	if err := authorize(ctx, k.rbac+actGetOne, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	key := pathParam(ctx, "key")
	if err := actors.CatalogNilKey(k.kind, key); err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	v, found := k.table(st).Get(key)
	if !found {
		return notFound("%s %s not found.", k.display, key)
	}
	k.writeOne(ctx, fasthttp.StatusOK, v, st)
	return nil
}

func (k *catalogKind[T]) createRow(s *Server, ctx *fasthttp.RequestCtx) error {
	v, err := k.create(ctx.PostBody())
	if err != nil {
		return err
	}
	key := v.GetId()
	if k.newID {
		key = uuid.NewString()
	}
	return k.write(s, ctx, actPost, fasthttp.StatusCreated,
		&catalogpb.WriteRequest{Op: catalogpb.WriteRequest_CREATE, Key: key, Row: storepb.NewCatalogRow(v)})
}

func (k *catalogKind[T]) updateRow(s *Server, ctx *fasthttp.RequestCtx) error {
	v, fields, nulls, err := k.update(ctx.PostBody())
	if err != nil {
		return err
	}
	return k.write(s, ctx, actPut, cmp.Or(k.updated, fasthttp.StatusOK), &catalogpb.WriteRequest{Op: catalogpb.WriteRequest_UPDATE,
		Key: pathParam(ctx, "key"), Row: storepb.NewCatalogRow(v), Fields: fields, Nulls: nulls, CreateMissing: k.upsert})
}

func (k *catalogKind[T]) deleteRow(s *Server, ctx *fasthttp.RequestCtx) error {
	return k.write(s, ctx, actDelete, cmp.Or(k.deleted, fasthttp.StatusNoContent),
		&catalogpb.WriteRequest{Op: catalogpb.WriteRequest_DELETE, Key: pathParam(ctx, "key")})
}

// write authorizes a decoded write (the policy's rule for action, on the
// caller's project, or for quotas the project whose quotas they are), makes
// its one grain call and renders the row it answers (no body for a delete).
func (k *catalogKind[T]) write(s *Server, ctx *fasthttp.RequestCtx, action string, status int, req *catalogpb.WriteRequest) error {
	target := identityOf(ctx).ProjectID
	if k.kind == storepb.CatalogKind_QUOTA {
		target = req.Key
	}
	if err := authorize(ctx, k.rbac+action, target); err != nil {
		return err
	}
	req.Caller, req.Kind = actingFor(ctx), k.kind
	c := context.Background()
	row, err := actors.CallCatalog(c, s.grains, req)
	switch {
	case err != nil:
		return err
	case row == nil:
		ctx.SetStatusCode(status)
	case k.render != nil:
		k.render(ctx, status, row.(T))
	default:
		k.writeOne(ctx, status, row.(T), nil)
	}
	return nil
}
