package store

import (
	"unique"

	"keel/store/storepb"
)

// intern returns the canonical copy of a string that many entities share (statuses,
// protocols, providers, projects, subnets, parent ids): decoding allocates every
// string afresh, and at 100k objects the duplicates would cost more than the indexes.
func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

func internAll(ss []string) {
	for i, s := range ss {
		ss[i] = intern(s)
	}
}

// A child row's load balancer id is the stored load balancer's own Id string
// (parent.id, from parentOf), not an interned copy: a canonical copy in
// unique's map costs ~150 bytes per load balancer, more than the row's own
// id, and the row's id is there anyway. An amphora's ha_ip and ha_port_id,
// the load balancer's VIP address and port, share its strings the same way.

// parent holds the strings of a stored load balancer that its children's rows
// repeat.
type parent struct{ id, vipAddress, vipPortID string }

func parentOf(lb *storepb.LoadBalancer) parent {
	return parent{id: lb.Id, vipAddress: lb.VipAddress, vipPortID: lb.VipPortId}
}

// shared returns canonical when it equals s, so that s's own copy can be freed.
func shared(s, canonical string) string {
	if s == canonical {
		return canonical
	}
	return s
}

func internLoadBalancer(x *storepb.LoadBalancer) *storepb.LoadBalancer {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.VipSubnetId = intern(x.VipSubnetId)
	x.VipNetworkId = intern(x.VipNetworkId)
	x.VipQosPolicyId = intern(x.VipQosPolicyId)
	x.Provider = intern(x.Provider)
	x.FlavorId = intern(x.FlavorId)
	x.AvailabilityZone = intern(x.AvailabilityZone)
	x.Topology = intern(x.Topology)
	internAll(x.Tags)
	return x
}

func internListener(x *storepb.Listener, lb parent) *storepb.Listener {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.Protocol = intern(x.Protocol)
	x.ClientAuthentication = intern(x.ClientAuthentication)
	internAll(x.Tags)
	return x
}

func internPool(x *storepb.Pool, lb parent) *storepb.Pool {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.Protocol = intern(x.Protocol)
	x.LbAlgorithm = intern(x.LbAlgorithm)
	internAll(x.Tags)
	return x
}

func internMember(x *storepb.Member, lb parent) *storepb.Member {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.PoolId = intern(x.PoolId)
	x.SubnetId = intern(x.SubnetId)
	internAll(x.Tags)
	return x
}

func internHealthMonitor(x *storepb.HealthMonitor, lb parent) *storepb.HealthMonitor {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.PoolId = intern(x.PoolId)
	x.Type = intern(x.Type)
	x.HttpMethod = intern(x.HttpMethod)
	internAll(x.Tags)
	return x
}

func internL7Policy(x *storepb.L7Policy, lb parent) *storepb.L7Policy {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.ListenerId = intern(x.ListenerId)
	x.Action = intern(x.Action)
	internAll(x.Tags)
	return x
}

func internL7Rule(x *storepb.L7Rule, lb parent) *storepb.L7Rule {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lb.id
	x.ListenerId = intern(x.ListenerId)
	x.L7PolicyId = intern(x.L7PolicyId)
	x.Type = intern(x.Type)
	x.CompareType = intern(x.CompareType)
	internAll(x.Tags)
	return x
}

func internAmphora(x *storepb.Amphora, lb parent) *storepb.Amphora {
	x.ProjectId = intern(x.ProjectId)
	x.LoadbalancerId = lb.id
	x.HaIp, x.HaPortId = shared(x.HaIp, lb.vipAddress), shared(x.HaPortId, lb.vipPortID)
	x.Role = intern(x.Role)
	x.Status = intern(x.Status)
	x.CachedZone = intern(x.CachedZone)
	x.ImageId = intern(x.ImageId)
	x.ComputeFlavor = intern(x.ComputeFlavor)
	return x
}
