package http

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/store"
)

// The admin-managed catalog: quotas, providers, flavors and flavor profiles,
// availability zones and their profiles. Writes go through the catalog grain of
// their kind (actors.CatalogGrain); reads are lock-free snapshots after a barrier.

// catalogRoutes registers the catalog's endpoints under one API prefix.
func (s *Server) catalogRoutes(r *router.Router, prefix string) {
	s.quotaRoutes(r, prefix)
	s.providerRoutes(r, prefix)
	s.flavorRoutes(r, prefix)
	s.flavorProfileRoutes(r, prefix)
	s.availabilityZoneRoutes(r, prefix)
	s.availabilityZoneProfileRoutes(r, prefix)
}

// nilUUID is the id Octavia answers 404 for without looking (its sentinel).
const nilUUID = "00000000-0000-0000-0000-000000000000"

// catalogReader is every caller's view of rows that belong to no project: the
// lists are never scoped to the caller's project (who may read them at all is
// decided before).
var catalogReader = &actorspb.Caller{Admin: true}

// serveCatalogList answers a list of catalog rows with seed 001's conventions.
func serveCatalogList[T store.Entity](s *Server, ctx *fasthttp.RequestCtx, r *resource[T]) error {
	req, err := r.parseList(ctx)
	if err != nil {
		return err
	}
	q, err := r.query(req, catalogReader)
	if err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	page, err := store.List(r.table(st), q)
	if err == store.ErrInvalidMarker {
		return badRequest("Supplied pagination marker '%s' is not valid.", req.marker)
	}
	if err != nil {
		return err
	}
	r.writeList(ctx, req, page, st)
	return nil
}

// serveCatalogShow answers GET of one catalog row by its key.
func serveCatalogShow[T store.Entity](s *Server, ctx *fasthttp.RequestCtx, r *resource[T], key string) error {
	if key == nilUUID {
		return notFound("%s %s not found.", r.display, key)
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	v, found := r.table(st).Get(key)
	if !found {
		return notFound("%s %s not found.", r.display, key)
	}
	r.writeOne(ctx, fasthttp.StatusOK, v, st)
	return nil
}

// adminOnly refuses callers who are not administrators.
func adminOnly(ctx *fasthttp.RequestCtx) error {
	if !callerOf(ctx).Admin {
		return forbidden()
	}
	return nil
}

// conflictError is a 409 raised before a write reaches its grain.
func conflictError(format string, args ...interface{}) *apiError {
	e := badRequest(format, args...)
	e.status = fasthttp.StatusConflict
	return e
}
