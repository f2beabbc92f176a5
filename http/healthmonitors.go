package http

import (
	"cmp"
	"math"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type healthMonitor = *storepb.HealthMonitor

// healthMonitors is the Octavia health monitor resource. http_version renders as
// a number (1.0, 1.1) or null; pool_id filters but does not render (the response
// has pools: [{id}]).
var healthMonitors = newResource[healthMonitor]("Health Monitor", "healthmonitor", "healthmonitors",
	func(s *store.State) *store.Table[healthMonitor] { return s.HealthMonitors }, []*attr[healthMonitor]{
		{name: "id", kind: kindString, str: healthMonitor.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: healthMonitor.GetName, index: store.IndexName},
		{name: "type", kind: kindString, str: healthMonitor.GetType},
		{name: "delay", kind: kindInt, integer: i32(healthMonitor.GetDelay)},
		{name: "timeout", kind: kindInt, integer: i32(healthMonitor.GetTimeout)},
		{name: "max_retries", kind: kindInt, integer: i32(healthMonitor.GetMaxRetries)},
		{name: "max_retries_down", kind: kindInt, integer: i32(healthMonitor.GetMaxRetriesDown)},
		{name: "http_method", kind: kindNullableString, str: healthMonitor.GetHttpMethod},
		{name: "url_path", kind: kindNullableString, str: healthMonitor.GetUrlPath},
		{name: "expected_codes", kind: kindNullableString, str: healthMonitor.GetExpectedCodes},
		{name: "admin_state_up", kind: kindBool, boolean: healthMonitor.GetAdminStateUp},
		{name: "project_id", kind: kindString, str: healthMonitor.GetProjectId},
		{name: "pools", kind: kindComputed, render: func(b []byte, v healthMonitor, _ *store.State) []byte {
			return appendIDList(b, []string{v.PoolId})
		}},
		{name: "provisioning_status", kind: kindString, str: healthMonitor.GetProvisioningStatus},
		{name: "operating_status", kind: kindString, str: healthMonitor.GetOperatingStatus},
		{name: "created_at", kind: kindTimestamp, integer: healthMonitor.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: healthMonitor.GetUpdatedAt},
		{name: "tags", kind: kindTags, list: healthMonitor.GetTags},
		{name: "http_version", kind: kindComputed, str: healthMonitor.GetHttpVersion,
			render: func(b []byte, v healthMonitor, _ *store.State) []byte {
				if v.HttpVersion == "" {
					return append(b, "null"...)
				}
				return append(b, v.HttpVersion...) // "1.0" / "1.1": a JSON number as Octavia renders the float
			}},
		{name: "domain_name", kind: kindNullableString, str: healthMonitor.GetDomainName},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[healthMonitor]()},
		{name: "pool_id", kind: kindString, str: healthMonitor.GetPoolId, index: store.IndexPool, hidden: true},
	})

func (s *Server) healthMonitorRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/healthmonitors", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveList(s, ctx, healthMonitors, nil) }))
	r.POST(prefix+"/healthmonitors", s.wrap(s.createHealthMonitor))
	r.GET(prefix+"/healthmonitors/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveShow(s, ctx, healthMonitors, pathParam(ctx, "id"), nil)
	}))
	r.PUT(prefix+"/healthmonitors/{id}", s.wrap(s.updateHealthMonitor))
	r.DELETE(prefix+"/healthmonitors/{id}", s.wrap(s.deleteHealthMonitor))
}

// Health monitor option sets and defaults (Octavia 11).
var (
	monitorHTTPMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}
	httpVersions       = []string{"1.0", "1.1"}
)

const (
	defaultMonitorHTTPMethod    = "GET"
	defaultMonitorURLPath       = "/"
	defaultMonitorExpectedCodes = "200"
	defaultMaxRetriesDown       = 3
)

func isHTTPMonitor(monitorType string) bool { return monitorType == "HTTP" || monitorType == "HTTPS" }

// readMonitorAttrs decodes the attributes POST and PUT share.
func readMonitorAttrs(f *fieldReader, v *storepb.HealthMonitor) {
	v.Name, _ = f.str("name", 255)
	v.HttpMethod, _ = f.enum("http_method", monitorHTTPMethods...)
	v.UrlPath, _ = f.validStr("url_path", 0, 0, "Value must be a valid URL Path string", octaviarules.URLPathValid)
	v.ExpectedCodes, _ = f.validStr("expected_codes", 0, 0, patternReason(octaviarules.ExpectedCodesPattern), octaviarules.ExpectedCodesValid)
	v.Tags, _ = f.strList("tags", 255)
	v.HttpVersion, _ = f.floatEnum("http_version", httpVersions...)
	v.DomainName, _ = f.validStr("domain_name", 1, 255, patternReason(octaviarules.DomainNamePattern), octaviarules.DomainNameValid)
}

// readMonitorCreate reads a monitor's own POST attributes (not its pool) with
// Octavia's defaults.
func readMonitorCreate(f *fieldReader) *storepb.HealthMonitor {
	v := &storepb.HealthMonitor{AdminStateUp: true, MaxRetriesDown: defaultMaxRetriesDown}
	for _, name := range []string{"type", "delay", "timeout", "max_retries"} {
		f.required(name)
	}
	v.Type, _ = f.enum("type", octaviarules.MonitorTypes...)
	readCount := func(name string, min, max int64, dst *int32) {
		if n, set, null := f.integer(name, min, max); set && !null {
			*dst = int32(n)
		}
	}
	readCount("delay", 0, math.MaxInt32, &v.Delay)
	readCount("timeout", 0, math.MaxInt32, &v.Timeout)
	readCount("max_retries", 1, 10, &v.MaxRetries)
	readCount("max_retries_down", 1, 10, &v.MaxRetriesDown)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	}
	readMonitorAttrs(f, v)
	// A monitor's project is its pool's; Octavia accepts and ignores these.
	f.str("project_id", 36)
	f.str("tenant_id", 36)
	return v
}

// decodeMonitorCreate validates a POST body (what WSME checks); checkMonitorCreate
// applies the rules Octavia checks once it found the pool.
func decodeMonitorCreate(body []byte) (*storepb.HealthMonitor, error) {
	f, err := decodeRoot(body, "health_monitor_", "healthmonitor")
	if err != nil {
		return nil, err
	}
	f.required("pool_id")
	poolID, _ := f.uuidStr("pool_id")
	v := readMonitorCreate(f)
	v.PoolId = poolID
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// checkMonitorCreate is Octavia's _validate_create_hm: HTTP options only on HTTP
// and HTTPS monitors (which get their defaults), and the domain_name rule.
func checkMonitorCreate(v *storepb.HealthMonitor) error {
	if !isHTTPMonitor(v.Type) {
		for _, opt := range []struct{ name, value string }{
			{"http_method", v.HttpMethod}, {"url_path", v.UrlPath}, {"expected_codes", v.ExpectedCodes}} {
			if opt.value != "" {
				return octaviarules.InvalidOption(opt.name, "health monitors of type "+v.Type)
			}
		}
	} else {
		v.HttpMethod = cmp.Or(v.HttpMethod, defaultMonitorHTTPMethod)
		v.UrlPath = cmp.Or(v.UrlPath, defaultMonitorURLPath)
		v.ExpectedCodes = cmp.Or(v.ExpectedCodes, defaultMonitorExpectedCodes)
	}
	return octaviarules.CheckMonitorDomain(v.DomainName != "", v.HttpVersion, v.DomainName)
}

// monitorUpdate is a decoded PUT /healthmonitors/{id}: the values, the attributes
// set, and which of them were null.
type monitorUpdate struct {
	values *storepb.HealthMonitor
	fields []string
	set    map[string]bool
	null   map[string]bool
}

// decodeMonitorUpdate validates a PUT body: the mutable attributes only.
func decodeMonitorUpdate(body []byte) (*monitorUpdate, error) {
	f, err := decodeRoot(body, "health_monitor_", "healthmonitor")
	if err != nil {
		return nil, err
	}
	u := &monitorUpdate{values: &storepb.HealthMonitor{}, set: map[string]bool{}, null: map[string]bool{}}
	v := u.values
	readCount := func(name string, min, max int64, dst *int32) {
		n, set, null := f.integer(name, min, max)
		if set {
			*dst = int32(n)
			u.null[name] = null
		}
	}
	readCount("delay", 0, math.MaxInt32, &v.Delay)
	readCount("timeout", 0, math.MaxInt32, &v.Timeout)
	readCount("max_retries", 1, 10, &v.MaxRetries)
	readCount("max_retries_down", 1, 10, &v.MaxRetriesDown)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	} else if f.has("admin_state_up") {
		f.fail(badRequest("Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"))
	}
	readMonitorAttrs(f, v)
	if err := f.finish(); err != nil {
		return nil, err
	}
	u.fields = f.mask()
	for _, name := range u.fields {
		u.set[name] = true
	}
	for _, name := range []string{"http_method", "url_path", "expected_codes", "domain_name", "http_version"} {
		if u.set[name] && !nonNull(f, name) {
			u.null[name] = true
		}
	}
	return u, nil
}

// checkMonitorUpdate is what of Octavia's _validate_update_hm and
// _set_default_on_none needs no more of the monitor than its type, which never
// changes: HTTP options (even null) only on HTTP and HTTPS monitors; delay,
// timeout and max_retries cannot be null; nulls reset http_method, url_path,
// expected_codes and max_retries_down to their defaults. The domain_name rule,
// next in Octavia's order, reads the monitor's HTTP version and domain, which an
// earlier update may have changed: the grain applies it (CheckMonitorUpdate).
func checkMonitorUpdate(cur *storepb.HealthMonitor, u *monitorUpdate) error {
	if !isHTTPMonitor(cur.Type) {
		for _, name := range []string{"http_method", "url_path", "expected_codes"} {
			if u.set[name] {
				return octaviarules.InvalidOption(name, "health monitors of type "+cur.Type)
			}
		}
	}
	for _, name := range []string{"delay", "max_retries", "timeout"} {
		if u.null[name] {
			return octaviarules.InvalidOption("None", name)
		}
	}
	v := u.values
	for _, d := range []struct {
		name string
		dst  *string
		def  string
	}{{"http_method", &v.HttpMethod, defaultMonitorHTTPMethod}, {"url_path", &v.UrlPath, defaultMonitorURLPath},
		{"expected_codes", &v.ExpectedCodes, defaultMonitorExpectedCodes}} {
		if u.null[d.name] {
			*d.dst = d.def
		}
	}
	if u.null["max_retries_down"] {
		v.MaxRetriesDown = defaultMaxRetriesDown
	}
	return nil
}

func (s *Server) createHealthMonitor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeMonitorCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		p, found := st.Pools.Get(v.PoolId)
		if !found {
			return "", notFound("Pool %s not found.", v.PoolId)
		}
		if err := authorize(ctx, rbacHealthMonitor+actPost, p.ProjectId); err != nil {
			return "", err
		}
		return p.LoadbalancerId, checkMonitorCreate(v) // its defaults are the same on a second pass
	}, (*actorspb.LoadBalancerGrainClient).CreateHealthMonitor, func() *actorspb.CreateHealthMonitorRequest {
		v.Id = uuid.NewString()
		return &actorspb.CreateHealthMonitorRequest{Caller: caller, HealthMonitor: v}
	})
	if err != nil {
		return err
	}
	healthMonitors.writeOne(ctx, fasthttp.StatusCreated, reply.HealthMonitor, treeState(reply.Tree))
	return nil
}

// updateHealthMonitor routes on this node's tables: what it checks against the
// monitor reads only its type, and the domain_name rule is the grain's.
func (s *Server) updateHealthMonitor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	u, err := decodeMonitorUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		cur, err := childIn(ctx, st, healthMonitors, id, rbacHealthMonitor+actPut)
		if err != nil {
			return "", err
		}
		return cur.LoadbalancerId, checkMonitorUpdate(cur, u)
	}, (*actorspb.LoadBalancerGrainClient).UpdateHealthMonitor, func() *actorspb.UpdateHealthMonitorRequest {
		u.values.Id = id
		return &actorspb.UpdateHealthMonitorRequest{Caller: caller, Values: u.values, Fields: u.fields}
	})
	if err != nil {
		return err
	}
	healthMonitors.writeOne(ctx, fasthttp.StatusOK, reply.HealthMonitor, treeState(reply.Tree))
	return nil
}

func (s *Server) deleteHealthMonitor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		hm, err := childIn(ctx, st, healthMonitors, id, rbacHealthMonitor+actDelete)
		return hm.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeleteHealthMonitor, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
