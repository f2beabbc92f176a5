package http

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"strings"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors/actorspb"
	"keel/store"
	"keel/store/storepb"
)

type lb = *storepb.LoadBalancer

// loadBalancers is the Octavia load balancer resource: its attributes as the API
// shows them, with how each renders, filters and sorts.
var loadBalancers = newResource[lb]("loadbalancer", "loadbalancers", func(s *store.State) *store.Table[lb] { return s.LoadBalancers }, []*attr[lb]{
	{name: "id", kind: kindString, str: lb.GetId, index: store.IndexID},
	{name: "name", kind: kindString, str: lb.GetName, index: store.IndexName},
	{name: "description", kind: kindString, str: lb.GetDescription},
	{name: "provisioning_status", kind: kindString, str: lb.GetProvisioningStatus, index: store.IndexProvisioningStatus},
	{name: "operating_status", kind: kindString, str: lb.GetOperatingStatus},
	{name: "admin_state_up", kind: kindBool, boolean: lb.GetAdminStateUp},
	{name: "project_id", kind: kindString, str: lb.GetProjectId},
	{name: "tenant_id", kind: kindComputed, render: func(b []byte, v lb) []byte { return appendJSONString(b, v.ProjectId) }},
	{name: "created_at", kind: kindTimestamp, integer: lb.GetCreatedAt},
	{name: "updated_at", kind: kindTimestamp, integer: lb.GetUpdatedAt},
	{name: "vip_address", kind: kindString, str: lb.GetVipAddress},
	{name: "vip_port_id", kind: kindNullableString, str: lb.GetVipPortId},
	{name: "vip_subnet_id", kind: kindNullableString, str: lb.GetVipSubnetId},
	{name: "vip_network_id", kind: kindNullableString, str: lb.GetVipNetworkId},
	{name: "vip_qos_policy_id", kind: kindNullableString, str: lb.GetVipQosPolicyId},
	{name: "additional_vips", kind: kindComputed, render: appendAdditionalVips},
	{name: "listeners", kind: kindComputed, render: func(b []byte, v lb) []byte { return appendIDList(b, nil) }},
	{name: "pools", kind: kindComputed, render: func(b []byte, v lb) []byte { return appendIDList(b, nil) }},
	{name: "provider", kind: kindString, str: lb.GetProvider},
	{name: "flavor_id", kind: kindNullableString, str: lb.GetFlavorId},
	{name: "availability_zone", kind: kindNullableString, str: lb.GetAvailabilityZone},
	{name: "tags", kind: kindTags, list: lb.GetTags},
})

func appendAdditionalVips(b []byte, v lb) []byte {
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

// Providers keel serves; "octavia" is Octavia's alias of the default "amphora".
var enabledProviders = map[string]bool{"amphora": true, "octavia": true}

const defaultProvider = "amphora"

// keelNamespace derives the ids keel makes up where Octavia would ask Neutron.
var keelNamespace = uuid.MustParse("6f1d3c1e-8f4b-4c8e-9b0e-6b6b2f0c7e11")

func (s *Server) listLoadBalancers(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	req, err := loadBalancers.parseList(ctx)
	if err != nil {
		return err
	}
	q, err := loadBalancers.query(req, caller)
	if err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	page, err := store.List(loadBalancers.table(s.store.State().Snapshot()), q)
	if err == store.ErrInvalidMarker {
		return badRequest("Supplied pagination marker '%s' is not valid.", req.marker)
	}
	if err != nil {
		return err
	}
	loadBalancers.writeList(ctx, req, page)
	return nil
}

func (s *Server) showLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	id := pathParam(ctx, "id")
	if err := s.barrier(); err != nil {
		return err
	}
	v := s.store.State().LoadBalancer(id)
	if v == nil {
		return notFound("Load Balancer %s not found.", id)
	}
	if !caller.Admin && v.ProjectId != caller.ProjectId {
		return forbidden()
	}
	loadBalancers.writeOne(ctx, fasthttp.StatusOK, v)
	return nil
}

func (s *Server) createLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	spec, err := decodeLoadBalancerCreate(ctx.PostBody(), caller)
	if err != nil {
		return err
	}
	if spec.ProjectId != caller.ProjectId && !caller.Admin {
		return forbidden()
	}
	spec.Id = uuid.NewString()
	allocateVip(spec)
	c, cancel := grainContext()
	defer cancel()
	created, err := s.grains.CreateLoadBalancer(c, caller, spec)
	if err != nil {
		return err
	}
	loadBalancers.writeOne(ctx, fasthttp.StatusCreated, created)
	return nil
}

func (s *Server) updateLoadBalancer(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	patch, err := decodeLoadBalancerUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	c, cancel := grainContext()
	defer cancel()
	updated, err := s.grains.UpdateLoadBalancer(c, caller, pathParam(ctx, "id"), patch)
	if err != nil {
		return err
	}
	loadBalancers.writeOne(ctx, fasthttp.StatusOK, updated)
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
	c, cancel := grainContext()
	defer cancel()
	if err := s.grains.DeleteLoadBalancer(c, caller, pathParam(ctx, "id"), cascade); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// decodeLoadBalancerCreate validates a POST body and returns the load balancer
// with Octavia's defaults applied.
func decodeLoadBalancerCreate(body []byte, caller *actorspb.Caller) (*storepb.LoadBalancer, error) {
	f, err := decodeRoot(body, "load_balancer", "loadbalancer")
	if err != nil {
		return nil, err
	}
	v := &storepb.LoadBalancer{AdminStateUp: true, Provider: defaultProvider, ProjectId: caller.ProjectId}
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
	flavor, _ := f.uuidStr("flavor_id")
	zone, _ := f.str("availability_zone", 255)
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
	if err := f.finish(); err != nil {
		return nil, err
	}
	if v.VipSubnetId == "" && v.VipNetworkId == "" && v.VipPortId == "" {
		return nil, badRequest("Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
	}
	if providerSet && provider != "" {
		if !enabledProviders[provider] {
			return nil, badRequest("Provider '%s' is not enabled.", provider)
		}
		v.Provider = provider
	}
	if flavor != "" {
		return nil, badRequest("Validation failure: Invalid flavor_id.")
	}
	if zone != "" {
		return nil, badRequest("Validation failure: Invalid availability zone.")
	}
	seen := map[string]bool{v.VipSubnetId: true}
	for _, av := range v.AdditionalVips {
		if seen[av.SubnetId] {
			return nil, badRequest("Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.")
		}
		seen[av.SubnetId] = true
	}
	return v, nil
}

// allocateVip fills in what Neutron would: keel has no network service, so the VIP
// port id is new, a missing subnet or network id is derived (stably) from the other,
// and a missing VIP address is derived from the load balancer id in 10.0.0.0/8.
func allocateVip(v *storepb.LoadBalancer) {
	if v.VipPortId == "" {
		v.VipPortId = uuid.NewString()
	}
	if v.VipNetworkId == "" {
		v.VipNetworkId = uuid.NewSHA1(keelNamespace, []byte("network-of:"+firstNonEmpty(v.VipSubnetId, v.VipPortId))).String()
	}
	if v.VipSubnetId == "" {
		v.VipSubnetId = uuid.NewSHA1(keelNamespace, []byte("subnet-of:"+v.VipNetworkId)).String()
	}
	if v.VipAddress == "" {
		h := fnv.New32a()
		h.Write([]byte(v.Id))
		n := h.Sum32()&0x00ffffff | 0x0a000000
		if n&0xff == 0 || n&0xff == 0xff {
			n ^= 0x01
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], n)
		v.VipAddress = netip.AddrFrom4(a).String()
	}
	for _, av := range v.AdditionalVips {
		if av.IpAddress == "" {
			h := fnv.New32a()
			h.Write([]byte(v.Id + av.SubnetId))
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], h.Sum32()&0x00fffffe|0x0a000001)
			av.IpAddress = netip.AddrFrom4(a).String()
		}
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
func decodeLoadBalancerUpdate(body []byte) (*actorspb.LoadBalancerPatch, error) {
	f, err := decodeRoot(body, "load_balancer", "loadbalancer")
	if err != nil {
		return nil, err
	}
	p := &actorspb.LoadBalancerPatch{}
	if v, set := f.str("name", 255); set {
		p.Name = &actorspb.OptString{Value: v}
	}
	if v, set := f.str("description", 255); set {
		p.Description = &actorspb.OptString{Value: v}
	}
	if v, set := f.boolean("admin_state_up"); set {
		p.AdminStateUp = &actorspb.OptBool{Value: v}
	}
	if v, set := f.uuidStr("vip_qos_policy_id"); set {
		p.VipQosPolicyId = &actorspb.OptString{Value: v}
	}
	if v, set := f.strList("tags", 255); set {
		p.SetTags, p.Tags = true, v
	}
	if err := f.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// pathParam returns a route parameter.
func pathParam(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	return strings.TrimSpace(v)
}
