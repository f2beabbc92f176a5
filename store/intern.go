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
// (lbID, from canonicalLB), not an interned copy: a canonical copy in
// unique's map costs ~150 bytes per load balancer, more than the row's own
// id, and the row's id is there anyway.

// canonicalLB is the Id string of the stored load balancer id (id itself if
// there is none).
func canonicalLB(st *State, id string) string {
	if lb := st.LoadBalancer(id); lb != nil {
		return lb.Id
	}
	return id
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

func internListener(x *storepb.Listener, lbID string) *storepb.Listener {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.Protocol = intern(x.Protocol)
	x.ClientAuthentication = intern(x.ClientAuthentication)
	internAll(x.Tags)
	return x
}

func internPool(x *storepb.Pool, lbID string) *storepb.Pool {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.Protocol = intern(x.Protocol)
	x.LbAlgorithm = intern(x.LbAlgorithm)
	internAll(x.Tags)
	return x
}

func internMember(x *storepb.Member, lbID string) *storepb.Member {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.PoolId = intern(x.PoolId)
	x.SubnetId = intern(x.SubnetId)
	internAll(x.Tags)
	return x
}

func internHealthMonitor(x *storepb.HealthMonitor, lbID string) *storepb.HealthMonitor {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.PoolId = intern(x.PoolId)
	x.Type = intern(x.Type)
	x.HttpMethod = intern(x.HttpMethod)
	internAll(x.Tags)
	return x
}

func internL7Policy(x *storepb.L7Policy, lbID string) *storepb.L7Policy {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.ListenerId = intern(x.ListenerId)
	x.Action = intern(x.Action)
	internAll(x.Tags)
	return x
}

func internL7Rule(x *storepb.L7Rule, lbID string) *storepb.L7Rule {
	x.ProjectId = intern(x.ProjectId)
	x.ProvisioningStatus = intern(x.ProvisioningStatus)
	x.OperatingStatus = intern(x.OperatingStatus)
	x.LoadbalancerId = lbID
	x.ListenerId = intern(x.ListenerId)
	x.L7PolicyId = intern(x.L7PolicyId)
	x.Type = intern(x.Type)
	x.CompareType = intern(x.CompareType)
	internAll(x.Tags)
	return x
}

func internAmphora(x *storepb.Amphora, lbID string) *storepb.Amphora {
	x.ProjectId = intern(x.ProjectId)
	x.LoadbalancerId = lbID
	x.Role = intern(x.Role)
	x.Status = intern(x.Status)
	x.CachedZone = intern(x.CachedZone)
	x.ImageId = intern(x.ImageId)
	x.ComputeFlavor = intern(x.ComputeFlavor)
	return x
}
