package http

import (
	"context"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type lb = *storepb.LoadBalancer

// loadBalancers is the Octavia load balancer resource: its attributes as the API
// shows them, with how each renders, filters and sorts.
var loadBalancers = newResource[lb]("Load Balancer", "loadbalancer", "loadbalancers",
	func(s *store.State) *store.Table[lb] { return s.LoadBalancers }, []*attr[lb]{
		{name: "id", kind: kindString, str: lb.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: lb.GetName, index: store.IndexName},
		{name: "description", kind: kindString, str: lb.GetDescription},
		{name: "provisioning_status", kind: kindString, str: lb.GetProvisioningStatus, index: store.IndexProvisioningStatus},
		{name: "operating_status", kind: kindString, str: lb.GetOperatingStatus},
		{name: "admin_state_up", kind: kindBool, boolean: lb.GetAdminStateUp},
		{name: "project_id", kind: kindString, str: lb.GetProjectId},
		{name: "tenant_id", kind: kindComputed, render: func(b []byte, v lb, _ *store.State) []byte { return appendJSONString(b, v.ProjectId) }},
		{name: "created_at", kind: kindTimestamp, integer: lb.GetCreatedAt},
		{name: "updated_at", kind: kindTimestamp, integer: lb.GetUpdatedAt},
		{name: "vip_address", kind: kindString, str: lb.GetVipAddress},
		{name: "vip_port_id", kind: kindNullableString, str: lb.GetVipPortId},
		{name: "vip_subnet_id", kind: kindNullableString, str: lb.GetVipSubnetId},
		{name: "vip_network_id", kind: kindNullableString, str: lb.GetVipNetworkId},
		{name: "vip_qos_policy_id", kind: kindNullableString, str: lb.GetVipQosPolicyId},
		{name: "additional_vips", kind: kindComputed, render: appendAdditionalVips},
		{name: "listeners", kind: kindComputed, render: func(b []byte, v lb, st *store.State) []byte {
			return appendIDList(b, ids(store.InCreationOrder(store.Collect(st.Listeners, store.IndexLoadBalancer, v.Id))))
		}},
		{name: "pools", kind: kindComputed, render: func(b []byte, v lb, st *store.State) []byte {
			return appendIDList(b, ids(store.InCreationOrder(store.Collect(st.Pools, store.IndexLoadBalancer, v.Id))))
		}},
		{name: "provider", kind: kindString, str: lb.GetProvider},
		{name: "flavor_id", kind: kindNullableString, str: lb.GetFlavorId, index: store.IndexFlavor},
		{name: "availability_zone", kind: kindNullableString, str: lb.GetAvailabilityZone, index: store.IndexAvailabilityZone},
		{name: "tags", kind: kindTags, list: lb.GetTags},
	})

// ids returns the ids of rows, in the rows' order.
func ids[T store.Entity](rows []T) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.GetId()
	}
	return out
}

func appendAdditionalVips(b []byte, v lb, _ *store.State) []byte {
	b = append(b, '[')
	for i, av := range v.AdditionalVips {
		if i > 0 {
			b = append(b, ',')
		}
		o := openObject(b)
		o.str("subnet_id", av.SubnetId)
		o.str("ip_address", av.IpAddress)
		b = o.close()
	}
	return append(b, ']')
}

// keelNamespace derives the ids keel makes up where Octavia would ask Neutron.
var keelNamespace = uuid.MustParse("6f1d3c1e-8f4b-4c8e-9b0e-6b6b2f0c7e11")

func (s *Server) listLoadBalancers(ctx *fasthttp.RequestCtx) error {
	return serveList(s, ctx, loadBalancers, nil)
}

func (s *Server) showLoadBalancer(ctx *fasthttp.RequestCtx) error {
	return serveShow(s, ctx, loadBalancers, pathParam(ctx, "id"), nil)
}

func (s *Server) createLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	tree, err := decodeLoadBalancerCreate(ctx.PostBody(), caller)
	if err != nil {
		return err
	}
	spec := tree.LoadBalancer
	if spec.ProjectId == "" { // a domain- or system-scoped token, and no project_id
		return badRequest("Validation failure: Missing project ID in request where one is required. " +
			"An administrator should check the keystone settings in the Octavia configuration.")
	}
	if err := authorize(ctx, rbacLoadBalancer+actPost, spec.ProjectId); err != nil {
		return err
	}
	spec.Id = s.grains.NewLoadBalancerID()
	allocateVip(spec)
	var catalog *store.State // read only when the request names a flavor or zone
	if spec.FlavorId != "" || spec.AvailabilityZone != "" {
		if err := s.barrier(); err != nil { // read the catalog as of now
			return err
		}
		catalog = s.store.State().Current()
	}
	if err := resolveFlavorAndZone(catalog, spec); err != nil {
		return err
	}
	for _, l := range tree.Listeners {
		if err := octaviarules.CheckAllowedCIDRs(l.AllowedCidrs, spec.VipAddress); err != nil {
			return err
		}
	}
	c := context.Background()
	reply, err := s.grains.CreateLoadBalancer(c, spec.Id, &actorspb.CreateLoadBalancerRequest{Caller: caller, Tree: tree})
	if err != nil {
		return err
	}
	if len(tree.Listeners)+len(tree.Pools) == 0 {
		loadBalancers.writeOne(ctx, fasthttp.StatusCreated, reply.Tree.LoadBalancer, treeState(reply.Tree))
		return nil
	}
	ctx.SetStatusCode(fasthttp.StatusCreated)
	ctx.SetContentType("application/json")
	ctx.SetBody(writeGraph(nil, reply.Tree, treeState(reply.Tree)))
	return nil
}

func (s *Server) updateLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	values, fields, err := decodeLoadBalancerUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	values.Id = id
	reply, err := writeTree(s, s.authorizedLoadBalancer(ctx, id, rbacLoadBalancer+actPut),
		(*actorspb.LoadBalancerGrainClient).Update, func() *actorspb.UpdateLoadBalancerRequest {
			return &actorspb.UpdateLoadBalancerRequest{Caller: caller, Values: values, Fields: fields}
		})
	if err != nil {
		return err
	}
	loadBalancers.writeOne(ctx, fasthttp.StatusOK, reply.Tree.LoadBalancer, treeState(reply.Tree))
	return nil
}

func (s *Server) deleteLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	cascade := false
	if v := ctx.QueryArgs().Peek("cascade"); v != nil {
		b, ok := parseBool(string(v))
		if !ok {
			return badRequest("Invalid input for field/attribute cascade. Value: '%s'. Value should be boolean", v)
		}
		cascade = b
	}
	id := pathParam(ctx, "id")
	if _, err := writeTree(s, s.authorizedLoadBalancer(ctx, id, rbacLoadBalancer+actDelete),
		(*actorspb.LoadBalancerGrainClient).Delete, func() *actorspb.DeleteLoadBalancerRequest {
			return &actorspb.DeleteLoadBalancerRequest{Caller: caller, Cascade: cascade}
		}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// failoverLoadBalancer is for administrators only (Octavia's put_failover).
func (s *Server) failoverLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	if _, err := writeTree(s, s.authorizedLoadBalancer(ctx, id, rbacLoadBalancer+actPutFailover),
		(*actorspb.LoadBalancerGrainClient).Failover, func() *actorspb.FailoverRequest {
			return &actorspb.FailoverRequest{Caller: caller}
		}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	return nil
}

// authorizedLoadBalancer routes a write on load balancer id (see writeTree): 404
// when it does not exist (or is being deleted: the grain's answer), 403 when
// the policy's rule does not allow the caller on its project. A load balancer's
// project never changes, so this node's tables can tell.
func (s *Server) authorizedLoadBalancer(ctx *fasthttp.RequestCtx, id, rule string) func(*store.State) (string, error) {
	return func(st *store.State) (string, error) {
		lb := st.LoadBalancer(id)
		if lb == nil {
			return "", notFound("Load Balancer %s not found.", id)
		}
		return id, authorize(ctx, rule, lb.ProjectId)
	}
}

// treeState makes a State holding just a grain's reply tree, so a write's response
// renders references (a load balancer's listeners and pools, a pool's members, a
// listener's policies, ...) from what the grain wrote, without reading again. A
// missing tree (the grain's load balancer gone since the write) is an empty State.
func treeState(t *storepb.Tree) *store.State {
	return store.StateOf(t)
}

// decodeLoadBalancerCreate validates a POST body and returns the load balancer
// with Octavia's defaults applied and, for a single-call create, its tree.
func decodeLoadBalancerCreate(body []byte, caller *actorspb.Caller) (*storepb.Tree, error) {
	f, err := decodeRoot(body, "load_balancer", "loadbalancer")
	if err != nil {
		return nil, err
	}
	v := &storepb.LoadBalancer{AdminStateUp: true, ProjectId: caller.ProjectId} // provider: resolveFlavorAndZone
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	}
	v.VipSubnetId, _ = f.uuidStr("vip_subnet_id")
	v.VipNetworkId, _ = f.uuidStr("vip_network_id")
	v.VipPortId, _ = f.uuidStr("vip_port_id")
	v.VipAddress, _ = f.ipStr("vip_address")
	v.VipQosPolicyId, _ = f.uuidStr("vip_qos_policy_id")
	// project_id wins over tenant_id when both are given (seed 001).
	tenant, tenantSet := f.str("tenant_id", 36)
	project, projectSet := f.str("project_id", 36)
	switch {
	case projectSet && project != "":
		v.ProjectId = project
	case tenantSet && tenant != "":
		v.ProjectId = tenant
	}
	provider, providerSet := f.str("provider", 64)
	v.FlavorId, _ = f.uuidStr("flavor_id")
	v.AvailabilityZone, _ = f.str("availability_zone", 255)
	v.Tags, _ = f.strList("tags", 255)
	if vips, ok := f.objectList("additional_vips"); ok {
		for _, av := range vips {
			subnet, subnetSet := av.uuidStr("subnet_id")
			ip, _ := av.ipStr("ip_address")
			if err := av.finish(); err != nil {
				return nil, err
			}
			if !subnetSet || subnet == "" {
				return nil, badRequest("Invalid input for field/attribute subnet_id. Value: 'None'. Mandatory field missing.")
			}
			v.AdditionalVips = append(v.AdditionalVips, &storepb.AdditionalVip{SubnetId: subnet, IpAddress: ip})
		}
	}
	tree, err := readGraph(f, v)
	if err != nil {
		return nil, err
	}
	if err := f.finish(); err != nil {
		return nil, err
	}
	if v.VipSubnetId == "" && v.VipNetworkId == "" && v.VipPortId == "" {
		return nil, badRequest("Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
	}
	if providerSet && provider != "" {
		if !octaviarules.ProviderEnabled(provider) {
			return nil, badRequest("Provider '%s' is not enabled.", provider)
		}
		v.Provider = provider
	}
	seen := map[string]bool{v.VipSubnetId: true}
	for _, av := range v.AdditionalVips {
		if seen[av.SubnetId] {
			return nil, badRequest("Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.")
		}
		seen[av.SubnetId] = true
	}
	if tree == nil {
		tree = &storepb.Tree{LoadBalancer: v}
	}
	return tree, nil
}

// allocateVip fills in the ids Neutron would: keel has no network service, so a
// missing VIP port id is derived from the load balancer's id (storepb.
// DerivedVipPortID: the store tells it from a named one) and a missing subnet or
// network id (stably) from the other. The VIP address itself is the grain's to
// allocate (it knows the amphora driver's range).
func allocateVip(v *storepb.LoadBalancer) {
	if v.VipPortId == "" {
		v.VipPortId = firstNonEmpty(storepb.DerivedVipPortID(v.Id), uuid.NewString())
	}
	if v.VipNetworkId == "" {
		v.VipNetworkId = uuid.NewSHA1(keelNamespace, []byte("network-of:"+firstNonEmpty(v.VipSubnetId, v.VipPortId))).String()
	}
	if v.VipSubnetId == "" {
		v.VipSubnetId = uuid.NewSHA1(keelNamespace, []byte("subnet-of:"+v.VipNetworkId)).String()
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// decodeLoadBalancerUpdate validates a PUT body: only mutable attributes are known.
func decodeLoadBalancerUpdate(body []byte) (*storepb.LoadBalancer, []string, error) {
	f, err := decodeRoot(body, "load_balancer", "loadbalancer")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.LoadBalancer{}
	v.Name, _ = f.str("name", 255)
	v.Description, _ = f.str("description", 255)
	if up, set := f.boolean("admin_state_up"); set {
		v.AdminStateUp = up
	} else if f.has("admin_state_up") {
		f.fail(badRequest("Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"))
	}
	v.VipQosPolicyId, _ = f.uuidStr("vip_qos_policy_id")
	v.Tags, _ = f.strList("tags", 255)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
}

// pathParam returns a route parameter, percent-decoded (decodePathParam).
func pathParam(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	return decodePathParam(v)
}
