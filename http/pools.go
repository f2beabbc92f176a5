package http

import (
	"math"
	"strings"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/actors/python"
	"keel/store"
	"keel/store/storepb"
)

type pool = *storepb.Pool

// pools is the Octavia pool resource. Its references render from the snapshot:
// the load balancer, the listeners using the pool (Octavia's Pool.listeners), the
// members, and the health monitor's id (left out when there is none, as Octavia
// leaves out an unset healthmonitor_id).
var pools = newResource[pool]("Pool", "pool", "pools",
	func(s *store.State) *store.Table[pool] { return s.Pools }, []*attr[pool]{
		{name: "id", kind: kindString, str: pool.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: pool.GetName, index: store.IndexName},
		{name: "description", kind: kindString, str: pool.GetDescription},
		{name: "provisioning_status", kind: kindString, str: pool.GetProvisioningStatus},
		{name: "operating_status", kind: kindString, str: pool.GetOperatingStatus},
		{name: "admin_state_up", kind: kindBool, boolean: pool.GetAdminStateUp},
		{name: "protocol", kind: kindString, str: pool.GetProtocol},
		{name: "lb_algorithm", kind: kindString, str: pool.GetLbAlgorithm},
		{name: "session_persistence", kind: kindComputed, render: appendSessionPersistence},
		{name: "project_id", kind: kindString, str: pool.GetProjectId},
		{name: "loadbalancers", kind: kindComputed, render: func(b []byte, v pool, _ *store.State) []byte {
			return appendIDList(b, []string{v.LoadbalancerId})
		}},
		{name: "listeners", kind: kindComputed, render: func(b []byte, v pool, st *store.State) []byte {
			return appendIDList(b, ids(store.ListenersUsingPool(st, v.Id)))
		}},
		{name: "created_at", kind: kindTimestamp, integer: pool.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: pool.GetUpdatedAt},
		{name: "healthmonitor_id", kind: kindComputed,
			render: func(b []byte, v pool, st *store.State) []byte {
				return appendJSONString(b, st.MonitorOfPool(v.Id).GetId())
			},
			omit: func(v pool, st *store.State) bool { return st.MonitorOfPool(v.Id) == nil }},
		{name: "members", kind: kindComputed, render: func(b []byte, v pool, st *store.State) []byte {
			return appendIDList(b, ids(st.MembersOfPool(v.Id)))
		}},
		{name: "tags", kind: kindTags, list: pool.GetTags},
		{name: "tls_container_ref", kind: kindNullableString, str: pool.GetTlsContainerRef},
		{name: "ca_tls_container_ref", kind: kindNullableString, str: pool.GetCaTlsContainerRef},
		{name: "crl_container_ref", kind: kindNullableString, str: pool.GetCrlContainerRef},
		{name: "tls_enabled", kind: kindBool, boolean: pool.GetTlsEnabled},
		{name: "tls_ciphers", kind: kindNullableString, str: pool.GetTlsCiphers},
		{name: "tls_versions", kind: kindComputed, render: nullableList(pool.GetTlsVersions)},
		{name: "alpn_protocols", kind: kindComputed, render: nullableList(pool.GetAlpnProtocols)},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[pool]()},
		{name: "loadbalancer_id", kind: kindString, str: pool.GetLoadbalancerId, index: store.IndexLoadBalancer, hidden: true},
	})

// appendSessionPersistence renders null, or the object with null for what is unset.
func appendSessionPersistence(b []byte, v pool, _ *store.State) []byte {
	sp := v.SessionPersistence
	if sp == nil {
		return append(b, "null"...)
	}
	o := openObject(b)
	o.str("type", sp.Type)
	o.nullableStr("cookie_name", sp.CookieName)
	if sp.PersistenceTimeout != nil {
		o.integer("persistence_timeout", int64(*sp.PersistenceTimeout))
	} else {
		o.null("persistence_timeout")
	}
	o.nullableStr("persistence_granularity", sp.PersistenceGranularity)
	return o.close()
}

// poolRoutes registers pools, their members and health monitors.
func (s *Server) poolRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/pools", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveList(s, ctx, pools, nil) }))
	r.POST(prefix+"/pools", s.wrap(s.createPool))
	r.GET(prefix+"/pools/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveShow(s, ctx, pools, pathParam(ctx, "id"), nil)
	}))
	r.PUT(prefix+"/pools/{id}", s.wrap(s.updatePool))
	r.DELETE(prefix+"/pools/{id}", s.wrap(s.deletePool))
	s.memberRoutes(r, prefix)
	s.healthMonitorRoutes(r, prefix)
}

// readSessionPersistence decodes session_persistence: set is false when absent;
// null gives nil with set true. A POST requires its type.
func readSessionPersistence(f *fieldReader, create bool) (*storepb.SessionPersistence, bool) {
	o, set := f.object("session_persistence")
	if o == nil {
		return nil, set
	}
	if create {
		o.required("type")
	}
	sp := &storepb.SessionPersistence{}
	sp.Type, _ = o.enum("type", octaviarules.PersistenceTypes...)
	sp.CookieName, _ = o.validStr("cookie_name", 0, 255, patternReason(octaviarules.CookieNamePattern), octaviarules.CookieNameMatches)
	if n, set, null := o.integer("persistence_timeout", math.MinInt32, math.MaxInt32); set && !null {
		t := int32(n)
		sp.PersistenceTimeout = &t
	}
	sp.PersistenceGranularity, _ = o.ipStr("persistence_granularity")
	if err := o.finish(); err != nil {
		f.fail(err)
	}
	return sp, true
}

// nonNull reports whether an attribute is present and not null.
func nonNull(f *fieldReader, name string) bool {
	raw, ok := f.fields[name]
	return ok && !isNull(raw)
}

// readPoolTLS decodes the TLS attributes POST and PUT share.
func readPoolTLS(f *fieldReader, v *storepb.Pool) {
	v.TlsContainerRef, _ = f.str("tls_container_ref", 255)
	v.CaTlsContainerRef, _ = f.str("ca_tls_container_ref", 255)
	v.CrlContainerRef, _ = f.str("crl_container_ref", 255)
	v.TlsCiphers, _ = f.str("tls_ciphers", 2048)
	if err := octaviarules.CheckCiphers(v.TlsCiphers); err != nil {
		f.fail(err)
	}
	v.TlsVersions, _ = f.strList("tls_versions", 32)
	if protos, set := f.strList("alpn_protocols", 255); set {
		for _, p := range protos {
			if !contains(octaviarules.ALPNProtocols, p) {
				f.fail(badRequest("Invalid input for field/attribute alpn_protocols. Value: '%s'. Value should be a valid ALPN protocol ID", python.QuotedList(protos)))
				break
			}
		}
		v.AlpnProtocols = protos
	}
}

// poolCreate is a validated POST /pools: the pool (defaults applied, id not yet
// assigned) and where it goes.
type poolCreate struct {
	pool       *storepb.Pool
	listenerID string
}

// poolCreateFields is what readPoolCreate noted of the body for the checks after it.
type poolCreateFields struct {
	versionsGiven, alpnGiven, ciphersGiven bool
}

// readPoolCreate reads a pool's own POST attributes (not its parent ids) with
// Octavia's defaults; checkPoolCreate finishes the job once the body is read.
func readPoolCreate(f *fieldReader) (*storepb.Pool, poolCreateFields) {
	v := &storepb.Pool{AdminStateUp: true}
	f.required("protocol")
	f.required("lb_algorithm")
	v.Protocol, _ = f.enum("protocol", octaviarules.PoolProtocols...)
	v.LbAlgorithm, _ = f.enum("lb_algorithm", octaviarules.LBAlgorithms...)
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	}
	v.SessionPersistence, _ = readSessionPersistence(f, true)
	v.Tags, _ = f.strList("tags", 255)
	if on, set := f.boolean("tls_enabled"); set {
		v.TlsEnabled = on
	}
	readPoolTLS(f, v)
	given := poolCreateFields{versionsGiven: nonNull(f, "tls_versions"), alpnGiven: nonNull(f, "alpn_protocols"),
		ciphersGiven: nonNull(f, "tls_ciphers")}
	// The pool's project is its load balancer's; Octavia accepts and ignores these.
	f.str("project_id", 36)
	f.str("tenant_id", 36)
	return v, given
}

// checkPoolCreate applies the rules that need the whole pool, and the TLS defaults.
func checkPoolCreate(v *storepb.Pool, given poolCreateFields) error {
	if err := octaviarules.CheckSessionPersistence(v.Protocol, v.SessionPersistence, true); err != nil {
		return err
	}
	if v.CrlContainerRef != "" && v.CaTlsContainerRef == "" {
		return badRequest("Validation failure: A CA certificate reference is required to specify a revocation list.")
	}
	if v.TlsEnabled {
		if !given.ciphersGiven {
			v.TlsCiphers = octaviarules.DefaultTLSCiphers
		}
		if !given.versionsGiven {
			v.TlsVersions = octaviarules.DefaultTLSVersions
		}
		if !given.alpnGiven {
			v.AlpnProtocols = octaviarules.DefaultALPNProtocols
		}
		if err := octaviarules.CheckTLSVersions(v.TlsVersions); err != nil {
			return err
		}
		if err := octaviarules.CheckALPNProtocols(v.AlpnProtocols); err != nil {
			return err
		}
	}
	return nil
}

// decodePoolCreate validates a POST body and applies Octavia's defaults.
func decodePoolCreate(body []byte) (*poolCreate, error) {
	f, err := decodeRoot(body, "pool_", "pool")
	if err != nil {
		return nil, err
	}
	v, given := readPoolCreate(f)
	v.LoadbalancerId, _ = f.uuidStr("loadbalancer_id")
	listenerID, _ := f.uuidStr("listener_id")
	// Octavia knows these attributes but creates a pool's members and monitor only
	// in a single-call load balancer create (here it fails with a 500).
	f.lookup("members")
	f.lookup("healthmonitor")
	if err := f.finish(); err != nil {
		return nil, err
	}
	if f.has("members") || f.has("healthmonitor") {
		return nil, badRequest("Validation failure: A pool's members and health monitor can only be created with it in a fully populated load balancer.")
	}
	if v.LoadbalancerId == "" && listenerID == "" {
		return nil, badRequest("Validation failure: Must provide at least one of: loadbalancer_id, listener_id")
	}
	if err := checkPoolCreate(v, given); err != nil {
		return nil, err
	}
	return &poolCreate{pool: v, listenerID: listenerID}, nil
}

// poolUpdate is a decoded PUT /pools/{id}: the values and the attributes set
// (null included); the grain checks them against the pool (CheckPoolUpdate).
type poolUpdate struct {
	values *storepb.Pool
	fields []string
}

// decodePoolUpdate validates a PUT body: the mutable attributes only. Nulls reset
// tls_ciphers and tls_versions to their defaults (Octavia's PUT); admin_state_up,
// tls_enabled and lb_algorithm cannot be null.
func decodePoolUpdate(body []byte) (*poolUpdate, error) {
	f, err := decodeRoot(body, "pool_", "pool")
	if err != nil {
		return nil, err
	}
	v := &storepb.Pool{}
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	readBool := func(name string, dst *bool) {
		if b, set := f.boolean(name); set {
			*dst = b
		} else if f.has(name) {
			f.fail(badRequest("Invalid input for field/attribute %s. Value: 'None'. Value should be boolean", name))
		}
	}
	readBool("admin_state_up", &v.AdminStateUp)
	if alg, set := f.enum("lb_algorithm", octaviarules.LBAlgorithms...); set && alg == "" {
		f.fail(badRequest("Invalid input for field/attribute lb_algorithm. Value: 'None'. Value should be one of: %s", strings.Join(octaviarules.LBAlgorithms, ", ")))
	} else {
		v.LbAlgorithm = alg
	}
	v.SessionPersistence, _ = readSessionPersistence(f, false)
	v.Tags, _ = f.strList("tags", 255)
	readBool("tls_enabled", &v.TlsEnabled)
	readPoolTLS(f, v)
	if err := f.finish(); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, name := range f.mask() {
		set[name] = true
	}
	if set["tls_ciphers"] && !nonNull(f, "tls_ciphers") {
		v.TlsCiphers = octaviarules.DefaultTLSCiphers
	}
	if set["tls_versions"] {
		if !nonNull(f, "tls_versions") {
			v.TlsVersions = octaviarules.DefaultTLSVersions
		}
		if err := octaviarules.CheckTLSVersions(v.TlsVersions); err != nil {
			return nil, err
		}
	}
	if nonNull(f, "alpn_protocols") {
		if err := octaviarules.CheckALPNProtocols(v.AlpnProtocols); err != nil {
			return nil, err
		}
	}
	return &poolUpdate{values: v, fields: f.mask()}, nil
}

func (s *Server) createPool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	spec, err := decodePoolCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		lbID := spec.pool.LoadbalancerId
		if lbID != "" && st.LoadBalancer(lbID) == nil {
			return "", notFound("Load Balancer %s not found.", lbID)
		}
		if spec.listenerID != "" {
			l, found := st.Listeners.Get(spec.listenerID)
			switch {
			case !found:
				return "", notFound("Listener %s not found.", spec.listenerID)
			case lbID == "":
				lbID = l.LoadbalancerId
			case l.LoadbalancerId != lbID:
				return "", badRequest("Validation failure: Listener %s is not on load balancer %s.", spec.listenerID, lbID)
			}
		}
		lb := st.LoadBalancer(lbID)
		if lb == nil {
			return "", notFound("Load Balancer %s not found.", lbID)
		}
		if err := authorize(ctx, rbacPool+actPost, lb.ProjectId); err != nil {
			return "", err
		}
		return lb.Id, nil
	}, (*actorspb.LoadBalancerGrainClient).CreatePool, func() *actorspb.CreatePoolRequest {
		v := spec.pool
		v.Id = uuid.NewString()
		return &actorspb.CreatePoolRequest{Caller: caller, Pool: v, ListenerId: spec.listenerID}
	})
	if err != nil {
		return err
	}
	pools.writeOne(ctx, fasthttp.StatusCreated, reply.Pool, treeState(reply.Tree))
	return nil
}

// updatePool routes on this node's tables: the rules that combine the update
// with the pool (session persistence, CA / CRL) are the grain's, applied to the
// pool as it holds it.
func (s *Server) updatePool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	u, err := decodePoolUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		cur, err := childIn(ctx, st, pools, id, rbacPool+actPut)
		return cur.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).UpdatePool, func() *actorspb.UpdatePoolRequest {
		u.values.Id = id
		return &actorspb.UpdatePoolRequest{Caller: caller, Values: u.values, Fields: u.fields}
	})
	if err != nil {
		return err
	}
	pools.writeOne(ctx, fasthttp.StatusOK, reply.Pool, treeState(reply.Tree))
	return nil
}

func (s *Server) deletePool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		p, err := childIn(ctx, st, pools, id, rbacPool+actDelete)
		return p.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeletePool, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// poolInPath reads the pool a members path names (/pools/{id}/members...), after a
// barrier: a missing one is Octavia's routing-time 404 in pecan's body ("Pool <id>
// not found."), one whose project the policy's rule does not allow the caller on
// a 403.
func (s *Server) poolInPath(ctx *fasthttp.RequestCtx, rule string) (*store.State, *storepb.Pool, error) {
	if err := s.barrier(); err != nil {
		return nil, nil, err
	}
	st := s.store.State().Current()
	p, err := poolIn(ctx, st, pathParam(ctx, "id"), rule)
	return st, p, err
}

func poolIn(ctx *fasthttp.RequestCtx, st *store.State, id string, rules ...string) (*storepb.Pool, error) {
	p, found := st.Pools.Get(id)
	if !found {
		return nil, missingParent("Pool %s not found.", id)
	}
	for _, rule := range rules {
		if err := authorize(ctx, rule, p.ProjectId); err != nil {
			return nil, err
		}
	}
	return p, nil
}
