package store

import (
	"unique"

	"keel/store/storepb"
)

// intern returns the canonical copy of a string that many entities share (statuses,
// providers, projects, subnets): decoding allocates every string afresh, and at
// 100k load balancers the duplicates would cost more than the indexes.
func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

func internLoadBalancer(lb *storepb.LoadBalancer) *storepb.LoadBalancer {
	lb.ProjectId = intern(lb.ProjectId)
	lb.ProvisioningStatus = intern(lb.ProvisioningStatus)
	lb.OperatingStatus = intern(lb.OperatingStatus)
	lb.VipSubnetId = intern(lb.VipSubnetId)
	lb.VipNetworkId = intern(lb.VipNetworkId)
	lb.VipQosPolicyId = intern(lb.VipQosPolicyId)
	lb.Provider = intern(lb.Provider)
	lb.FlavorId = intern(lb.FlavorId)
	lb.AvailabilityZone = intern(lb.AvailabilityZone)
	for i, t := range lb.Tags {
		lb.Tags[i] = intern(t)
	}
	return lb
}
