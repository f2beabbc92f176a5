package actors

import (
	"errors"
	"net/http"
	"net/netip"

	"keel/actors/actorspb"
	"keel/actors/compute"
	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

// allocateVip gives a new load balancer its VIP address (and its additional VIPs
// theirs), as Neutron would. With real amphorae the address comes from the
// driver's range (-vip-cidr): an explicit address must lie in it and be free, a
// missing one is the first free address from a hash of the id; the create is
// then exclusive (the FSM refuses a second holder). Without (the noop provider),
// addresses are records only: a missing one is derived from the id in 10.0.0.0/8.
func (g *LoadBalancerGrain) allocateVip(w *storepb.TreeWrite) (exclusive bool, err error) {
	lb := w.LoadBalancer
	if g.rt.Amphorae == nil {
		recordedVip(lb)
	} else if err := g.allocateLoopbackVip(lb); err != nil {
		return false, err
	}
	// The address may be known only now: check the listeners' allowed CIDRs
	// against it.
	for _, l := range w.Listeners {
		if err := invalid(octaviarules.CheckAllowedCIDRs(l.AllowedCidrs, lb.VipAddress)); err != nil {
			return false, err
		}
	}
	return g.rt.Amphorae != nil, nil
}

// checkVipClaims refuses a VIP port or address another load balancer holds
// (the store's rule, checked again by the FSM where creates are serialised:
// store.checkVipClaims), in the words Octavia passes on from Neutron: a port the
// caller cannot see is not found (400), one it can see is in use (400); an
// address of the subnet — the VIP's or an additional VIP's, held by another's
// VIP or additional VIP — is already allocated (409, Neutron's status). An
// additional VIP in the VIP's subnet or another additional VIP's (the VIP's is
// known only now when the request named a port or network) is Octavia's 400, as
// the API's when the request named the subnet.
func (g *LoadBalancerGrain) checkVipClaims(caller *actorspb.Caller, lb *storepb.LoadBalancer, exclusive bool) error {
	seen := map[string]bool{lb.VipSubnetId: true}
	for _, av := range lb.AdditionalVips {
		if seen[av.SubnetId] {
			return grainError(KindInvalid, "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet.")
		}
		seen[av.SubnetId] = true
	}
	// The tables are read only for a named port or address claims: reading them
	// publishes the FSM's latest writes (StateStore.Current), which a plain
	// create does not need.
	var st *store.State
	if lb.NamedVipPort() {
		st = g.rt.Store.State().Current()
		if h := st.VipPortHolder(lb.VipPortId); h != nil {
			if !authorized(caller, h.ProjectId) {
				return grainError(KindInvalid, "Port %s not found.", lb.VipPortId)
			}
			return grainError(KindInvalid, "Validation failure: Port %s is already used by device lb-%s ", lb.VipPortId, h.Id)
		}
	}
	if exclusive {
		return nil // allocateLoopbackVip checked the address (the driver's, no additional VIPs)
	}
	for _, c := range lb.VipAddressClaims() {
		if st == nil {
			st = g.rt.Store.State().Current()
		}
		if st.VipAddressHolder(c.SubnetId, c.IpAddress) != nil {
			return grainError(KindConflict, "IP address %s already allocated in subnet %s", c.IpAddress, c.SubnetId)
		}
	}
	return nil
}

// allocateLoopbackVip allocates from the amphora driver's range.
func (g *LoadBalancerGrain) allocateLoopbackVip(lb *storepb.LoadBalancer) error {
	if len(lb.AdditionalVips) > 0 {
		return grainError(KindUnimplemented, "Provider 'amphora' does not support a requested option: "+
			"additional VIPs need the netns amphora driver; the %s driver serves one loopback VIP.", g.rt.Amphorae.Driver.Name())
	}
	if lb.Topology == "ACTIVE_STANDBY" {
		return grainError(KindUnimplemented, "Provider 'amphora' does not support a requested option: "+
			"ACTIVE_STANDBY needs the netns amphora driver (keepalived); the %s driver runs SINGLE amphorae.", g.rt.Amphorae.Driver.Name())
	}
	vips := g.rt.Amphorae.VIPs
	used := g.rt.Store.State().Current().VipAddressesIn(func(a string) bool {
		addr, err := netip.ParseAddr(a)
		return err == nil && vips.Prefix().Contains(addr)
	})
	addr, err := vips.Allocate(used, lb.VipAddress, g.id)
	if err != nil {
		var ve *compute.VIPError
		if errors.As(err, &ve) && ve.Status() == http.StatusConflict {
			return grainError(KindConflict, "%s", err.Error())
		}
		return grainError(KindInvalid, "%s", err.Error())
	}
	lb.VipAddress = addr
	return nil
}

// recordedVip records a missing VIP address (and additional VIP addresses)
// derived from the load balancer's id in 10.0.0.0/8: records only, never
// connected to.
func recordedVip(v *storepb.LoadBalancer) {
	if v.VipAddress == "" {
		v.VipAddress = storepb.RecordedVipAddress(v.Id)
	}
	for _, av := range v.AdditionalVips {
		if av.IpAddress == "" {
			av.IpAddress = storepb.RecordedAdditionalVipAddress(v.Id, av.SubnetId)
		}
	}
}
