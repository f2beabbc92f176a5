package http

import (
	"math"
	"strconv"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/store"
	"keel/store/storepb"
)

type quota = *storepb.Quota

// quotaKinds are the quotas of a project, by the name the store (and Octavia's
// quota response) gives them, in Octavia's order.
var quotaKinds = []struct {
	name string
	get  func(quota) *int32
}{
	{"load_balancer", func(q quota) *int32 { return q.LoadBalancer }},
	{"listener", func(q quota) *int32 { return q.Listener }},
	{"member", func(q quota) *int32 { return q.Member }},
	{"pool", func(q quota) *int32 { return q.Pool }},
	{"health_monitor", func(q quota) *int32 { return q.HealthMonitor }},
	{"l7policy", func(q quota) *int32 { return q.L7Policy }},
	{"l7rule", func(q quota) *int32 { return q.L7Rule }},
}

// quotas is the GET /quotas list: the stored rows (one per project whose quotas
// were set), values null where the project uses the default, each of load
// balancer and health monitor under both of Octavia's names.
var quotas = newResource[quota]("Quotas", "quota", "quotas",
	func(s *store.State) *store.Table[quota] { return s.Quotas }, quotaAttrs())

func quotaAttrs() []*attr[quota] {
	attrs := []*attr[quota]{{name: "project_id", kind: kindString, str: quota.GetId, index: store.IndexID}}
	listed := []struct {
		name string
		get  func(quota) *int32
	}{
		{"loadbalancer", quotaKinds[0].get}, {"load_balancer", quotaKinds[0].get},
		{"listener", quotaKinds[1].get}, {"member", quotaKinds[2].get}, {"pool", quotaKinds[3].get},
		{"healthmonitor", quotaKinds[4].get}, {"health_monitor", quotaKinds[4].get},
		{"l7policy", quotaKinds[5].get}, {"l7rule", quotaKinds[6].get},
	}
	for _, l := range listed {
		attrs = append(attrs, nullableQuota(l.name, l.get)...)
	}
	return append(attrs, &attr[quota]{name: "tenant_id", kind: kindComputed, render: tenantOf[quota]()})
}

// nullableQuota describes one quota in the list as two attributes of the same
// name: a rendered one (the number, or null for "the default") and a hidden one
// that filters and sorts (the resource looks attributes up by name, and the later
// one wins). A null sorts first, as SQL's NULL does, and matches no filter value.
func nullableQuota(name string, get func(quota) *int32) []*attr[quota] {
	return []*attr[quota]{
		{name: name, kind: kindComputed, render: func(b []byte, q quota, _ *store.State) []byte {
			if v := get(q); v != nil {
				return strconv.AppendInt(b, int64(*v), 10)
			}
			return append(b, "null"...)
		}},
		{name: name, kind: kindInt, hidden: true, integer: func(q quota) int64 {
			if v := get(q); v != nil {
				return int64(*v)
			}
			return math.MinInt64
		}},
	}
}

// quotaKind writes a project's quotas: a PUT sets those it names (creating the
// row), a DELETE puts them all back to the defaults (the grain keeps the row, as
// Octavia does); both answer 202. Its reads are its own: a member reads its
// project's quotas, and a project without a row has the defaults.
var quotaKind = &catalogKind[quota]{resource: quotas, kind: storepb.CatalogKind_QUOTA, path: "/quotas", ownReads: true,
	update: decodeQuotaUpdate, upsert: true, updated: fasthttp.StatusAccepted, deleted: fasthttp.StatusAccepted,
	render: writeQuota}

func (s *Server) quotaRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/quotas", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveList(s, ctx, quotas, nil) }))
	r.GET(prefix+"/quotas/{key}", s.wrap(s.showQuota))
	r.GET(prefix+"/quotas/{key}/default", s.wrap(s.showDefaultQuota))
	quotaKind.routes(s, r, prefix)
}

// Octavia's quota bounds (-1 is unlimited).
const (
	minQuota = -1
	maxQuota = 2000000000
)

// writeQuota renders {"quota": {...}} with a project's effective quotas (the
// default where its row has none). Octavia shows only the underscored names here.
func writeQuota(ctx *fasthttp.RequestCtx, status int, q quota) {
	o := openObject(nil)
	o.key("quota")
	inner := openObject(o.b)
	for _, k := range quotaKinds {
		v := int64(store.DefaultQuota)
		if q != nil {
			if p := k.get(q); p != nil {
				v = int64(*p)
			}
		}
		inner.integer(k.name, v)
	}
	o.b = inner.close()
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(o.close())
}

func (s *Server) showQuota(ctx *fasthttp.RequestCtx) error {
	project := pathParam(ctx, "key")
	if err := authorize(ctx, rbacQuota+actGetOne, project); err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	q, _ := s.store.State().Current().Quotas.Get(project)
	writeQuota(ctx, fasthttp.StatusOK, q)
	return nil
}

func (s *Server) showDefaultQuota(ctx *fasthttp.RequestCtx) error {
	if err := authorize(ctx, rbacQuota+actGetDefaults, pathParam(ctx, "key")); err != nil {
		return err
	}
	writeQuota(ctx, fasthttp.StatusOK, nil)
	return nil
}

// decodeQuotaUpdate validates a PUT body: any of the quotas, each -1..2000000000
// or null (back to the default), under either of Octavia's names (loadbalancer
// and healthmonitor win over load_balancer and health_monitor). It returns the
// values and the store's names of the quotas the body set (a null is a value:
// the default).
func decodeQuotaUpdate(body []byte) (*storepb.Quota, []string, []string, error) {
	f, err := decodeRoot(body, "quotas", "quota")
	if err != nil {
		return nil, nil, nil, err
	}
	values := &storepb.Quota{}
	var fields []string
	set := func(field string, dst **int32, names ...string) {
		found := false
		for _, name := range names { // WSME's order; a later name overrides
			n, isSet, null := f.integer(name, minQuota, maxQuota)
			if !isSet {
				continue
			}
			found = true
			*dst = nil
			if !null {
				v := int32(n)
				*dst = &v
			}
		}
		if found {
			fields = append(fields, field)
		}
	}
	set("health_monitor", &values.HealthMonitor, "health_monitor", "healthmonitor")
	set("l7policy", &values.L7Policy, "l7policy")
	set("l7rule", &values.L7Rule, "l7rule")
	set("listener", &values.Listener, "listener")
	set("load_balancer", &values.LoadBalancer, "load_balancer", "loadbalancer")
	set("member", &values.Member, "member")
	set("pool", &values.Pool, "pool")
	if err := f.finish(); err != nil {
		return nil, nil, nil, err
	}
	return values, fields, nil, nil
}
