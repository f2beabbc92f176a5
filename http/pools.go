package http

import (
	"math"
	"strings"
	"unicode"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
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

// Pool option sets (Octavia 11).
var (
	poolProtocols    = []string{"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP"}
	lbAlgorithms     = []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}
	persistenceTypes = []string{"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"}
)

// cookieNamePattern is the session persistence cookie_name's WSME pattern.
const cookieNamePattern = `^[^\s,;\\]+$`

func cookieNameMatches(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == '\\'
	})
}

// cookieNameValid is Octavia's check_session_persistence test: no control
// character, space or RFC 6265 separator, and at least one Latin-1 character.
func cookieNameValid(s string) bool {
	latin1 := false
	for _, r := range s {
		if r <= 0x20 || r == 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
		latin1 = latin1 || r <= 0xff
	}
	return latin1
}

func isLVS(protocol string) bool { return protocol == "UDP" || protocol == "SCTP" }

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
	sp.Type, _ = o.enum("type", persistenceTypes...)
	sp.CookieName, _ = o.validStr("cookie_name", 0, 255, patternReason(cookieNamePattern), cookieNameMatches)
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

// checkSessionPersistence applies Octavia's rules to a pool's session persistence:
// the UDP/SCTP restrictions (or, for other protocols, that timeout and granularity
// are UDP/SCTP options; POST and PUT word that differently), then
// check_session_persistence.
func checkSessionPersistence(protocol string, sp *storepb.SessionPersistence, create bool) error {
	if sp == nil {
		return nil
	}
	if isLVS(protocol) {
		switch {
		case sp.Type == "SOURCE_IP" && sp.CookieName != "":
			return badRequest("Validation failure: session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: " +
				"type, persistence_timeout, persistence_granularity.")
		case sp.CookieName != "":
			return badRequest("Validation failure: Cookie names are not supported for UDP/SCTP pools.")
		case sp.Type == "HTTP_COOKIE" || sp.Type == "APP_COOKIE":
			return badRequest("Validation failure: Session persistence of type %s is not supported for UDP/SCTP protocol pools.", sp.Type)
		}
	} else if sp.GetPersistenceTimeout() != 0 || sp.PersistenceGranularity != "" {
		if create {
			return badRequest("Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.")
		}
		return badRequest("Validation failure: persistence_timeout and persistence_granularity is only for UDP protocol pools.")
	}
	switch {
	case sp.Type == "":
		return badRequest("Validation failure: Invalid session_persistence provided.")
	case sp.CookieName != "" && sp.Type != "APP_COOKIE":
		return badRequest(`Validation failure: Field "cookie_name" can only be specified with session persistence of type "APP_COOKIE".`)
	case sp.CookieName != "" && !cookieNameValid(sp.CookieName):
		return badRequest(`Validation failure: Supplied "cookie_name" is invalid.`)
	case sp.Type == "APP_COOKIE" && sp.CookieName == "":
		return badRequest(`Validation failure: Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.`)
	}
	return nil
}

// nonNull reports whether an attribute is present and not null.
func nonNull(f *fieldReader, name string) bool {
	raw, ok := f.fields[name]
	return ok && !isNull(raw)
}

// pyList writes a list of strings as Python shows one (['a', 'b']), which is how
// WSME quotes a list value in its messages.
func pyList(vs []string) string {
	quoted := make([]string, len(vs))
	for i, v := range vs {
		quoted[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// readPoolTLS decodes the TLS attributes POST and PUT share.
func readPoolTLS(f *fieldReader, v *storepb.Pool) {
	v.TlsContainerRef, _ = f.str("tls_container_ref", 255)
	v.CaTlsContainerRef, _ = f.str("ca_tls_container_ref", 255)
	v.CrlContainerRef, _ = f.str("crl_container_ref", 255)
	v.TlsCiphers, _ = f.str("tls_ciphers", 2048)
	v.TlsVersions, _ = f.strList("tls_versions", 32)
	if protos, set := f.strList("alpn_protocols", 255); set {
		for _, p := range protos {
			if !contains(alpnProtocols, p) {
				f.fail(badRequest("Invalid input for field/attribute alpn_protocols. Value: '%s'. Value should be a valid ALPN protocol ID", pyList(protos)))
				break
			}
		}
		v.AlpnProtocols = protos
	}
}

// checkTLSVersions and checkALPNProtocols are Octavia's validate.check_tls_version_list
// and check_alpn_protocols (for a list that was given).
func checkTLSVersions(versions []string) error {
	if len(versions) == 0 {
		return badRequest("Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.")
	}
	var invalid []string
	for _, v := range versions {
		if !contains(tlsVersions, v) {
			invalid = append(invalid, v)
		}
	}
	if len(invalid) > 0 {
		return badRequest("Validation failure: Invalid TLS versions: %s", strings.Join(invalid, ", "))
	}
	return nil
}

func checkALPNProtocols(protocols []string) error {
	if len(protocols) == 0 {
		return badRequest("Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default.")
	}
	return nil
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
	v.Protocol, _ = f.enum("protocol", poolProtocols...)
	v.LbAlgorithm, _ = f.enum("lb_algorithm", lbAlgorithms...)
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
	if err := checkSessionPersistence(v.Protocol, v.SessionPersistence, true); err != nil {
		return err
	}
	if v.CrlContainerRef != "" && v.CaTlsContainerRef == "" {
		return badRequest("Validation failure: A CA certificate reference is required to specify a revocation list.")
	}
	if v.TlsEnabled {
		if !given.ciphersGiven {
			v.TlsCiphers = defaultTLSCiphers
		}
		if !given.versionsGiven {
			v.TlsVersions = defaultTLSVersions
		}
		if !given.alpnGiven {
			v.AlpnProtocols = defaultALPNProtocols
		}
		if err := checkTLSVersions(v.TlsVersions); err != nil {
			return err
		}
		if err := checkALPNProtocols(v.AlpnProtocols); err != nil {
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

// poolUpdate is a decoded PUT /pools/{id}: the values, the attributes set, and
// what the checks against the current pool need to know about the body.
type poolUpdate struct {
	values *storepb.Pool
	fields []string
	set    map[string]bool // attributes present in the body (null included)
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
	if alg, set := f.enum("lb_algorithm", lbAlgorithms...); set && alg == "" {
		f.fail(badRequest("Invalid input for field/attribute lb_algorithm. Value: 'None'. Value should be one of: %s", strings.Join(lbAlgorithms, ", ")))
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
		v.TlsCiphers = defaultTLSCiphers
	}
	if set["tls_versions"] {
		if !nonNull(f, "tls_versions") {
			v.TlsVersions = defaultTLSVersions
		}
		if err := checkTLSVersions(v.TlsVersions); err != nil {
			return nil, err
		}
	}
	if nonNull(f, "alpn_protocols") {
		if err := checkALPNProtocols(v.AlpnProtocols); err != nil {
			return nil, err
		}
	}
	return &poolUpdate{values: v, fields: f.mask(), set: set}, nil
}

// checkPoolUpdate applies the rules that need the current pool: a session
// persistence without a type keeps the current type; the protocol's persistence
// rules; and Octavia's CA / CRL consistency for PUT.
func checkPoolUpdate(cur *storepb.Pool, u *poolUpdate) error {
	v := u.values
	if sp := v.SessionPersistence; sp != nil && sp.Type == "" && cur.SessionPersistence != nil {
		sp.Type = cur.SessionPersistence.Type
	}
	if err := checkSessionPersistence(cur.Protocol, v.SessionPersistence, false); err != nil {
		return err
	}
	crl := ""
	switch {
	case v.CrlContainerRef != "":
		crl = v.CrlContainerRef
	case !u.set["crl_container_ref"]:
		crl = cur.CrlContainerRef
	}
	curCA := cur.CaTlsContainerRef
	switch {
	case u.set["ca_tls_container_ref"]:
		if v.CaTlsContainerRef == "" && crl != "" {
			if curCA != "" {
				return badRequest("Validation failure: A CA reference cannot be removed when a certificate revocation list is present.")
			}
			return badRequest("Validation failure: A CA reference is required to specify a certificate revocation list.")
		}
	case curCA == "" && crl != "":
		return badRequest("Validation failure: A CA reference is required to specify a certificate revocation list.")
	}
	return nil
}

func (s *Server) createPool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	spec, err := decodePoolCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Snapshot()
	lbID := spec.pool.LoadbalancerId
	if lbID != "" && st.LoadBalancer(lbID) == nil {
		return notFound("Load Balancer %s not found.", lbID)
	}
	if spec.listenerID != "" {
		l, found := st.Listeners.Get(spec.listenerID)
		switch {
		case !found:
			return notFound("Listener %s not found.", spec.listenerID)
		case lbID == "":
			lbID = l.LoadbalancerId
		case l.LoadbalancerId != lbID:
			return badRequest("Validation failure: Listener %s is not on load balancer %s.", spec.listenerID, lbID)
		}
	}
	lb := st.LoadBalancer(lbID)
	if lb == nil {
		return notFound("Load Balancer %s not found.", lbID)
	}
	if !caller.Admin && lb.ProjectId != caller.ProjectId {
		return forbidden()
	}
	v := spec.pool
	v.Id, v.LoadbalancerId = uuid.NewString(), lb.Id
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallLoadBalancer(c, s.grains, lb.Id, (*actorspb.LoadBalancerGrainClient).CreatePool,
		&actorspb.CreatePoolRequest{Caller: caller, Pool: v, ListenerId: spec.listenerID})
	if err != nil {
		return err
	}
	return writeChild(s, ctx, pools, fasthttp.StatusCreated, reply.Pool)
}

func (s *Server) updatePool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	u, err := decodePoolUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	cur, err := lbOf(s, pools, pathParam(ctx, "id"), caller)
	if err != nil {
		return err
	}
	if err := checkPoolUpdate(cur, u); err != nil {
		return err
	}
	u.values.Id = cur.Id
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallLoadBalancer(c, s.grains, cur.LoadbalancerId, (*actorspb.LoadBalancerGrainClient).UpdatePool,
		&actorspb.UpdatePoolRequest{Caller: caller, Values: u.values, Fields: u.fields})
	if err != nil {
		return err
	}
	return writeChild(s, ctx, pools, fasthttp.StatusOK, reply.Pool)
}

func (s *Server) deletePool(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	cur, err := lbOf(s, pools, pathParam(ctx, "id"), caller)
	if err != nil {
		return err
	}
	c, cancel := grainContext()
	defer cancel()
	if _, err := actors.CallLoadBalancer(c, s.grains, cur.LoadbalancerId, (*actorspb.LoadBalancerGrainClient).DeletePool,
		&actorspb.DeleteChildRequest{Caller: caller, Id: cur.Id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// poolInPath reads the pool a members path names (/pools/{id}/members...), after a
// barrier: a missing one is Octavia's routing-time 404 in pecan's body ("Pool <id>
// not found."), another project's pool a 403.
func (s *Server) poolInPath(ctx *fasthttp.RequestCtx, caller *actorspb.Caller) (*store.State, *storepb.Pool, error) {
	if err := s.barrier(); err != nil {
		return nil, nil, err
	}
	st := s.store.State().Snapshot()
	p, err := poolIn(st, pathParam(ctx, "id"), caller)
	return st, p, err
}

func poolIn(st *store.State, id string, caller *actorspb.Caller) (*storepb.Pool, error) {
	p, found := st.Pools.Get(id)
	if !found {
		return nil, missingParent("Pool %s not found.", id)
	}
	if !caller.Admin && p.ProjectId != caller.ProjectId {
		return nil, forbidden()
	}
	return p, nil
}
