package http

import (
	"sort"
	"strings"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type listener = *storepb.Listener

var listeners = newResource[listener]("Listener", "listener", "listeners",
	func(s *store.State) *store.Table[listener] { return s.Listeners }, []*attr[listener]{
		{name: "id", kind: kindString, str: listener.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: listener.GetName, index: store.IndexName},
		{name: "description", kind: kindString, str: listener.GetDescription},
		{name: "provisioning_status", kind: kindString, str: listener.GetProvisioningStatus},
		{name: "operating_status", kind: kindString, str: listener.GetOperatingStatus},
		{name: "admin_state_up", kind: kindBool, boolean: listener.GetAdminStateUp},
		{name: "protocol", kind: kindString, str: listener.GetProtocol},
		{name: "protocol_port", kind: kindInt, integer: i32(listener.GetProtocolPort)},
		{name: "connection_limit", kind: kindInt, integer: i32(listener.GetConnectionLimit)},
		{name: "default_tls_container_ref", kind: kindNullableString, str: listener.GetDefaultTlsContainerRef},
		{name: "sni_container_refs", kind: kindComputed, render: stringList(listener.GetSniContainerRefs)},
		{name: "project_id", kind: kindString, str: listener.GetProjectId},
		{name: "tenant_id", kind: kindComputed, render: tenantOf[listener]()},
		{name: "default_pool_id", kind: kindNullableString, str: listener.GetDefaultPoolId, index: store.IndexDefaultPool},
		{name: "l7policies", kind: kindComputed, render: func(b []byte, v listener, st *store.State) []byte {
			return appendIDList(b, ids(st.PoliciesOfListener(v.Id)))
		}},
		{name: "insert_headers", kind: kindComputed, render: func(b []byte, v listener, _ *store.State) []byte {
			return appendStringMap(b, v.InsertHeaders)
		}},
		{name: "created_at", kind: kindTimestamp, integer: listener.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: listener.GetUpdatedAt},
		{name: "loadbalancers", kind: kindComputed, render: func(b []byte, v listener, _ *store.State) []byte {
			return appendIDList(b, []string{v.LoadbalancerId})
		}},
		{name: "loadbalancer_id", kind: kindString, str: listener.GetLoadbalancerId, index: store.IndexLoadBalancer, hidden: true},
		{name: "timeout_client_data", kind: kindInt, integer: i32(listener.GetTimeoutClientData)},
		{name: "timeout_member_connect", kind: kindInt, integer: i32(listener.GetTimeoutMemberConnect)},
		{name: "timeout_member_data", kind: kindInt, integer: i32(listener.GetTimeoutMemberData)},
		{name: "timeout_tcp_inspect", kind: kindInt, integer: i32(listener.GetTimeoutTcpInspect)},
		{name: "tags", kind: kindTags, list: listener.GetTags},
		{name: "client_ca_tls_container_ref", kind: kindNullableString, str: listener.GetClientCaTlsContainerRef},
		{name: "client_authentication", kind: kindString, str: listener.GetClientAuthentication},
		{name: "client_crl_container_ref", kind: kindNullableString, str: listener.GetClientCrlContainerRef},
		{name: "allowed_cidrs", kind: kindComputed, render: nullableList(listener.GetAllowedCidrs)},
		{name: "tls_ciphers", kind: kindNullableString, str: listener.GetTlsCiphers},
		{name: "tls_versions", kind: kindComputed, render: nullableList(listener.GetTlsVersions)},
		{name: "alpn_protocols", kind: kindComputed, render: nullableList(listener.GetAlpnProtocols)},
	})

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := openObject(b)
	for _, k := range keys {
		o.str(k, m[k])
	}
	return o.close()
}

func (s *Server) listenerRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/listeners", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveList(s, ctx, listeners, nil) }))
	r.POST(prefix+"/listeners", s.wrap(s.createListener))
	r.GET(prefix+"/listeners/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveShow(s, ctx, listeners, pathParam(ctx, "id"), nil)
	}))
	r.PUT(prefix+"/listeners/{id}", s.wrap(s.updateListener))
	r.DELETE(prefix+"/listeners/{id}", s.wrap(s.deleteListener))
	r.GET(prefix+"/listeners/{id}/stats", s.wrap(s.listenerStats))
}

const maxTimeout = 2073600000

// readListenerAttrs decodes the attributes POST and PUT share into v.
func readListenerAttrs(f *fieldReader, v *storepb.Listener) {
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	}
	if n, set, null := f.integer("connection_limit", -1, 1<<31-1); set {
		v.ConnectionLimit = int32(n)
		if null {
			v.ConnectionLimit = -1
		}
	}
	v.DefaultPoolId, _ = f.uuidStr("default_pool_id")
	v.DefaultTlsContainerRef, _ = f.str("default_tls_container_ref", 255)
	v.SniContainerRefs, _ = f.strList("sni_container_refs", 255)
	v.ClientCaTlsContainerRef, _ = f.str("client_ca_tls_container_ref", 255)
	v.ClientCrlContainerRef, _ = f.str("client_crl_container_ref", 255)
	if a, set := f.enum("client_authentication", "NONE", "OPTIONAL", "MANDATORY"); set {
		v.ClientAuthentication = a
		if a == "" {
			v.ClientAuthentication = "NONE"
		}
	}
	if h, set := f.stringMap("insert_headers"); set {
		v.InsertHeaders = h
	}
	for _, t := range []struct {
		name string
		dst  *int32
		def  int32
	}{{"timeout_client_data", &v.TimeoutClientData, 50000}, {"timeout_member_connect", &v.TimeoutMemberConnect, 5000},
		{"timeout_member_data", &v.TimeoutMemberData, 50000}, {"timeout_tcp_inspect", &v.TimeoutTcpInspect, 0}} {
		if n, set, null := f.integer(t.name, 0, maxTimeout); set {
			*t.dst = int32(n)
			if null {
				*t.dst = t.def
			}
		}
	}
	if cidrs, set := f.strList("allowed_cidrs", 64); set {
		// Octavia's CidrType canonicalises each CIDR and stores them as a set.
		canonical, bad, ok := octaviarules.CanonicalCIDRs(cidrs)
		if !ok {
			f.fail(badRequest("Invalid input for field/attribute allowed_cidrs. Value: '%s'. Value should be a valid CIDR", bad))
		}
		v.AllowedCidrs = canonical
	}
	v.TlsCiphers, _ = f.str("tls_ciphers", 2048)
	if err := octaviarules.CheckCiphers(v.TlsCiphers); err != nil {
		f.fail(err)
	}
	if versions, set := f.strList("tls_versions", 32); set {
		for _, tv := range versions {
			if !contains(octaviarules.TLSVersions, tv) {
				f.fail(badRequest("Invalid input for field/attribute tls_versions. Value: '%s'. Value should be one of: %s", tv, strings.Join(octaviarules.TLSVersions, ", ")))
			}
		}
		v.TlsVersions = versions
	}
	if protos, set := f.strList("alpn_protocols", 32); set {
		for _, p := range protos {
			if !contains(octaviarules.ALPNProtocols, p) {
				f.fail(badRequest("Invalid input for field/attribute alpn_protocols. Value: '%s'. Value should be one of: %s", p, strings.Join(octaviarules.ALPNProtocols, ", ")))
			}
		}
		v.AlpnProtocols = protos
	}
	v.Tags, _ = f.strList("tags", 255)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readListenerCreate reads a listener's own POST attributes (not its load balancer)
// with Octavia's defaults; checkListenerCreate finishes the job.
func readListenerCreate(f *fieldReader) *storepb.Listener {
	v := &storepb.Listener{AdminStateUp: true, ConnectionLimit: -1, ClientAuthentication: "NONE",
		TimeoutClientData: 50000, TimeoutMemberConnect: 5000, TimeoutMemberData: 50000}
	f.required("protocol")
	f.required("protocol_port")
	v.Protocol, _ = f.enum("protocol", octaviarules.ListenerProtocols...)
	if n, set, _ := f.integer("protocol_port", 1, 65535); set {
		v.ProtocolPort = int32(n)
	}
	readListenerAttrs(f, v)
	return v
}

// checkListenerCreate applies the TLS defaults and the protocol's rules.
func checkListenerCreate(v *storepb.Listener) error {
	if v.Protocol == "TERMINATED_HTTPS" {
		if v.TlsCiphers == "" {
			v.TlsCiphers = octaviarules.DefaultTLSCiphers
		}
		if len(v.TlsVersions) == 0 {
			v.TlsVersions = octaviarules.DefaultTLSVersions
		}
		if len(v.AlpnProtocols) == 0 {
			v.AlpnProtocols = octaviarules.DefaultALPNProtocols
		}
	}
	return octaviarules.CheckListenerOptions(v)
}

// decodeListenerCreate validates a POST body and applies Octavia's defaults.
func decodeListenerCreate(body []byte, _ *actorspb.Caller) (*storepb.Listener, error) {
	f, err := decodeRoot(body, "listener_", "listener")
	if err != nil {
		return nil, err
	}
	f.required("loadbalancer_id")
	lbID, _ := f.uuidStr("loadbalancer_id")
	v := readListenerCreate(f)
	v.LoadbalancerId = lbID
	// project_id / tenant_id are validated, then the load balancer's project is
	// the listener's, as Octavia makes it (the grain sets it).
	f.str("tenant_id", 36)
	f.str("project_id", 36)
	if err := f.finish(); err != nil {
		return nil, err
	}
	if err := checkListenerCreate(v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeListenerUpdate validates a PUT body: the mutable attributes only.
func decodeListenerUpdate(body []byte) (*storepb.Listener, []string, error) {
	f, err := decodeRoot(body, "listener_", "listener")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.Listener{}
	readListenerAttrs(f, v)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
}

func (s *Server) createListener(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeListenerCreate(ctx.PostBody(), caller)
	if err != nil {
		return err
	}
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		lb := st.LoadBalancer(v.LoadbalancerId)
		if lb == nil {
			return "", notFound("Load Balancer %s not found.", v.LoadbalancerId)
		}
		if err := authorize(ctx, rbacListener+actPost, lb.ProjectId); err != nil {
			return "", err
		}
		return lb.Id, octaviarules.CheckAllowedCIDRs(v.AllowedCidrs, lb.VipAddress)
	}, (*actorspb.LoadBalancerGrainClient).CreateListener, func() *actorspb.CreateListenerRequest {
		v.Id = uuid.NewString()
		return &actorspb.CreateListenerRequest{Caller: caller, Listener: v}
	})
	if err != nil {
		return err
	}
	listeners.writeOne(ctx, fasthttp.StatusCreated, reply.Listener, treeState(reply.Tree))
	return nil
}

// updateListener routes on this node's tables: the rules that combine the update
// with the listener (its protocol's options, the allowed CIDRs against the VIP)
// are the grain's, applied to the listener as it holds it.
func (s *Server) updateListener(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	values, fields, err := decodeListenerUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	id := pathParam(ctx, "id")
	reply, err := writeTree(s, func(st *store.State) (string, error) {
		cur, err := childIn(ctx, st, listeners, id, rbacListener+actPut)
		return cur.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).UpdateListener, func() *actorspb.UpdateListenerRequest {
		values.Id = id
		return &actorspb.UpdateListenerRequest{Caller: caller, Values: values, Fields: fields}
	})
	if err != nil {
		return err
	}
	listeners.writeOne(ctx, fasthttp.StatusOK, reply.Listener, treeState(reply.Tree))
	return nil
}

func (s *Server) deleteListener(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	_, err := writeTree(s, func(st *store.State) (string, error) {
		l, err := childIn(ctx, st, listeners, id, rbacListener+actDelete)
		return l.GetLoadbalancerId(), err
	}, (*actorspb.LoadBalancerGrainClient).DeleteListener, func() *actorspb.DeleteChildRequest {
		return &actorspb.DeleteChildRequest{Caller: caller, Id: id}
	})
	if err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// listenerStats answers GET /listeners/{id}/stats.
func (s *Server) listenerStats(ctx *fasthttp.RequestCtx) error {
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	l, err := childIn(ctx, st, listeners, pathParam(ctx, "id"), rbacListener+actGetStats)
	if err != nil {
		return err
	}
	writeStats(ctx, listenerTraffic(st, l.Id))
	return nil
}
