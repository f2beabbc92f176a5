package storepb

// StatusChangeOf returns next's statuses and update time as a LoadBalancerStatus
// when next is cur in every other field (its version aside), else nil: then a
// tree write may send the change instead of the row (TreeWrite's
// load_balancer_status).
func StatusChangeOf(cur, next *LoadBalancer) *LoadBalancerStatus {
	if cur == nil || next == nil {
		return nil
	}
	rest := next.CloneVT() // strings are shared, not copied
	rest.ProvisioningStatus, rest.OperatingStatus = cur.ProvisioningStatus, cur.OperatingStatus
	rest.UpdatedAt, rest.Version = cur.UpdatedAt, cur.Version
	if !rest.EqualVT(cur) {
		return nil
	}
	return &LoadBalancerStatus{ProvisioningStatus: next.ProvisioningStatus,
		OperatingStatus: next.OperatingStatus, UpdatedAt: next.UpdatedAt}
}

// AppliedTo returns a copy of lb with s's statuses and update time.
func (s *LoadBalancerStatus) AppliedTo(lb *LoadBalancer) *LoadBalancer {
	out := lb.CloneVT()
	out.ProvisioningStatus, out.OperatingStatus, out.UpdatedAt = s.ProvisioningStatus, s.OperatingStatus, s.UpdatedAt
	return out
}
