package storepb

// StatusChangeOf returns next's statuses and update time as a LoadBalancerStatus
// when next is cur in every other field (its version aside), else nil: then a
// tree write may send the change instead of the row (TreeWrite's
// load_balancer_status).
func StatusChangeOf(cur, next *LoadBalancer) *LoadBalancerStatus {
	if cur == nil || next == nil {
		return nil
	}
	// Compare next with cur's statuses, update time and version in their
	// place, then put next's back: no copy of the row (a grain asks this of
	// every write it proposes). So next must be the caller's alone meanwhile.
	prov, op, updated, version := next.ProvisioningStatus, next.OperatingStatus, next.UpdatedAt, next.Version
	next.ProvisioningStatus, next.OperatingStatus = cur.ProvisioningStatus, cur.OperatingStatus
	next.UpdatedAt, next.Version = cur.UpdatedAt, cur.Version
	same := next.EqualVT(cur)
	next.ProvisioningStatus, next.OperatingStatus, next.UpdatedAt, next.Version = prov, op, updated, version
	if !same {
		return nil
	}
	return &LoadBalancerStatus{ProvisioningStatus: prov, OperatingStatus: op, UpdatedAt: updated}
}

// AppliedTo returns a copy of lb with s's statuses and update time.
func (s *LoadBalancerStatus) AppliedTo(lb *LoadBalancer) *LoadBalancer {
	out := lb.CloneVT()
	out.ProvisioningStatus, out.OperatingStatus, out.UpdatedAt = s.ProvisioningStatus, s.OperatingStatus, s.UpdatedAt
	return out
}
