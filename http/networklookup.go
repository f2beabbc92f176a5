package http

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// keel has no network service: VIP subnets, networks and ports, member subnets and
// QoS policies are opaque UUIDs it records. The openstack CLI (python-octaviaclient)
// resolves such arguments through Neutron on the same endpoint before it calls
// Octavia (GET /v2.0/subnets?id=<uuid>, then ?name=<value>). These read-only
// lookups answer it: an id that is a UUID is found (as an object carrying just that
// id), a name never is. Nothing else of Neutron's API is served.
func (s *Server) networkLookupRoutes(r *router.Router) {
	for path, key := range map[string]string{
		"/v2.0/subnets":      "subnets",
		"/v2.0/networks":     "networks",
		"/v2.0/ports":        "ports",
		"/v2.0/qos/policies": "policies",
	} {
		key := key
		r.GET(path, s.wrap(func(ctx *fasthttp.RequestCtx) error { return lookupByID(ctx, key) }))
	}
}

func lookupByID(ctx *fasthttp.RequestCtx, key string) error {
	b := []byte(`{`)
	b = appendJSONString(b, key)
	b = append(b, ':', '[')
	n := 0
	for _, v := range ctx.QueryArgs().PeekMulti("id") {
		id := string(v)
		if !isUUID(id) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		o := openObject(b)
		o.str("id", id)
		o.str("name", "")
		b = o.close()
	}
	b = append(b, ']', '}')
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(b)
	return nil
}
