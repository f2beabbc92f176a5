package http

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors/octaviarules"
)

// Providers and their capabilities. The providers and their schemas are
// octaviarules'; the catalog grain checks profiles' data against them.

func (s *Server) providerRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/providers", s.wrap(s.listProviders))
	r.GET(prefix+"/providers/{provider}/flavor_capabilities", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return writeCapabilities(ctx, rbacProviderFlavor+actGetAll, "flavor_capabilities", octaviarules.FlavorOptions)
	}))
	r.GET(prefix+"/providers/{provider}/availability_zone_capabilities", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return writeCapabilities(ctx, rbacProviderZone+actGetAll, "availability_zone_capabilities", octaviarules.ZoneOptions)
	}))
}

// listProviders answers GET /providers (any load-balancer reader; fields applies).
func (s *Server) listProviders(ctx *fasthttp.RequestCtx) error {
	if err := authorize(ctx, rbacProvider+actGetAll, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	items := make([][2]string, len(octaviarules.Providers))
	for i, p := range octaviarules.Providers {
		items[i] = [2]string{p.Name, p.Description}
	}
	writeNamedList(ctx, "providers", items)
	return nil
}

// writeCapabilities answers a provider's flavor or availability zone
// capabilities: administrators only, the provider must be enabled, and the
// name and description parameters filter exactly (other parameters are ignored,
// as Octavia ignores them).
func writeCapabilities(ctx *fasthttp.RequestCtx, rule, root string, options []octaviarules.ProviderOption) error {
	if err := authorize(ctx, rule, identityOf(ctx).ProjectID); err != nil {
		return err
	}
	if err := octaviarules.CheckProviderEnabled(pathParam(ctx, "provider")); err != nil {
		return err
	}
	args := ctx.QueryArgs()
	name, description := string(args.Peek("name")), string(args.Peek("description"))
	var items [][2]string
	for _, o := range options {
		if (name == "" || o.Name == name) && (description == "" || o.Description == description) {
			items = append(items, [2]string{o.Name, o.Description})
		}
	}
	writeNamedList(ctx, root, items)
	return nil
}

// writeNamedList renders {"<root>": [{"name", "description"}, ...]} with the
// request's fields.
func writeNamedList(ctx *fasthttp.RequestCtx, root string, items [][2]string) {
	fields := fieldsOf(ctx)
	b := append(appendJSONString([]byte{'{'}, root), ':', '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		o := openObject(b)
		if fields == nil || fields["name"] {
			o.str("name", it[0])
		}
		if fields == nil || fields["description"] {
			o.str("description", it[1])
		}
		b = o.close()
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(append(b, ']', '}'))
}
