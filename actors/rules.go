package actors

import (
	"errors"
	"fmt"
	"net/netip"

	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

// Cross-object rules of a load balancer's tree (what one request's body cannot
// show): checked by the grain against its tree before it proposes anything.

// invalid is a refusal of one of Octavia's stateless rules (octaviarules) as a
// grain answers it: KindInvalid, a 400 with the rule's message (a provider's
// refusal, octaviarules.Unsupported: KindUnimplemented, a 501).
func invalid(err error) error {
	var unsupported octaviarules.Unsupported
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unsupported):
		return grainError(KindUnimplemented, "%s", err.Error())
	}
	return grainError(KindInvalid, "%s", err.Error())
}

// checkListenerUpdate checks a listener as an update leaves it: its protocol's
// options, then its allowed CIDRs against the load balancer's VIP.
func checkListenerUpdate(t *tree, l *storepb.Listener) error {
	if err := invalid(octaviarules.CheckListenerOptions(l)); err != nil {
		return err
	}
	return invalid(octaviarules.CheckAllowedCIDRs(l.AllowedCidrs, t.lb.GetVipAddress()))
}

// checkListenerPort refuses a second listener on the same transport and port.
func checkListenerPort(listeners map[string]*storepb.Listener, l *storepb.Listener) error {
	for _, other := range listeners {
		if other.Id != l.Id && other.ProvisioningStatus != StatusPendingDelete &&
			other.ProtocolPort == l.ProtocolPort && octaviarules.L4Protocol(other.Protocol) == octaviarules.L4Protocol(l.Protocol) {
			return grainError(KindConflict, "Another Listener on this Load Balancer is already using protocol %s and protocol_port %d",
				l.Protocol, l.ProtocolPort)
		}
	}
	return nil
}

// checkDefaultPool checks a listener's default pool: on this load balancer and of a
// protocol the listener can use.
func checkDefaultPool(t *tree, l *storepb.Listener) error {
	if l.DefaultPoolId == "" {
		return nil
	}
	p, ok := t.pools[l.DefaultPoolId]
	if !ok || p.ProvisioningStatus == StatusPendingDelete {
		return grainError(KindNotFound, "Pool %s not found.", l.DefaultPoolId)
	}
	return invalid(octaviarules.CheckPoolProtocol(l.Protocol, p.Protocol))
}

// checkMemberUnique refuses two members of a pool on the same address and port,
// however each address is spelled (octaviarules.AddressKey).
func checkMemberUnique(t *tree, m *storepb.Member) error {
	addr := octaviarules.AddressKey(m.Address)
	for _, other := range t.MembersOfPool(m.PoolId) {
		if other.Id != m.Id && other.ProvisioningStatus != StatusPendingDelete &&
			other.ProtocolPort == m.ProtocolPort && octaviarules.AddressKey(other.Address) == addr {
			return duplicateMember(m)
		}
	}
	return nil
}

func duplicateMember(m *storepb.Member) error {
	return grainError(KindConflict, "Another member on this pool is already using ip %s on protocol_port %d",
		m.Address, m.ProtocolPort)
}

// providerName is the load balancer's provider as Octavia names it in provider
// errors (the driver's name: "amphora", or the alias the load balancer was
// created with).
func providerName(lb *storepb.LoadBalancer) string {
	if lb.Provider != "" {
		return lb.Provider
	}
	return "amphora"
}

func unsupportedOption(lb *storepb.LoadBalancer, format string, args ...interface{}) error {
	return grainError(KindUnimplemented, "Provider '%s' does not support a requested option: %s",
		providerName(lb), fmt.Sprintf(format, args...))
}

// checkPoolAlgorithm is the amphora provider's refusal (501) of an algorithm it
// does not implement.
func checkPoolAlgorithm(lb *storepb.LoadBalancer, p *storepb.Pool) error {
	if !octaviarules.AmphoraAlgorithms[p.LbAlgorithm] {
		return unsupportedOption(lb, "Amphora provider does not support %s algorithm.", p.LbAlgorithm)
	}
	return nil
}

// checkMemberFamilies is the amphora provider's rule for UDP and SCTP pools that a
// listener uses (LVS cannot translate between IP versions): an IPv4 member needs an
// IPv4 VIP on the load balancer, an IPv6 member an IPv6 VIP.
func checkMemberFamilies(t *tree, pool *storepb.Pool, members []*storepb.Member) error {
	if !octaviarules.IsLVS(pool.Protocol) || len(store.ListenersUsingPool(t, pool.Id)) == 0 {
		return nil
	}
	vips := []string{t.lb.VipAddress}
	for _, av := range t.lb.AdditionalVips {
		vips = append(vips, av.IpAddress)
	}
	has4, has6 := false, false
	for _, v := range vips {
		if a, err := netip.ParseAddr(v); err == nil {
			has4, has6 = has4 || !a.Is6(), has6 || a.Is6()
		}
	}
	for _, m := range members {
		a, err := netip.ParseAddr(m.Address)
		if err != nil {
			continue
		}
		if a.Is6() && !has6 || !a.Is6() && !has4 {
			return unsupportedOption(t.lb, "This provider doesn't support mixing IPv4 and IPv6 addresses for its VIP "+
				"and members in %s load balancers.", pool.Protocol)
		}
	}
	return nil
}

// checkPolicyTarget checks an L7 policy's listener and redirect pool.
func checkPolicyTarget(t *tree, p *storepb.L7Policy) error {
	l, ok := t.listeners[p.ListenerId]
	if !ok || l.ProvisioningStatus == StatusPendingDelete {
		return grainError(KindNotFound, "Listener %s not found.", p.ListenerId)
	}
	if l.Protocol == "PROMETHEUS" {
		return invalid(octaviarules.ErrPrometheusChildren)
	}
	if l.Protocol != "HTTP" && l.Protocol != "TERMINATED_HTTPS" {
		return grainError(KindUnimplemented, "Provider 'amphora' does not support a requested option: %s protocol listeners do not support L7 policies", l.Protocol)
	}
	if p.Action == "REDIRECT_TO_POOL" {
		pool, ok := t.pools[p.RedirectPoolId]
		if !ok || pool.ProvisioningStatus == StatusPendingDelete {
			return grainError(KindNotFound, "Pool %s not found.", p.RedirectPoolId)
		}
		return invalid(octaviarules.CheckPoolProtocol(l.Protocol, pool.Protocol))
	}
	return nil
}

// validateNewTree checks a single-call create's tree as a whole.
func validateNewTree(t *tree) error {
	for _, l := range sortedRows(t.listeners) {
		if err := checkListenerPort(t.listeners, l); err != nil {
			return err
		}
		if err := checkDefaultPool(t, l); err != nil {
			return err
		}
	}
	for _, m := range sortedRows(t.members) {
		if err := checkMemberUnique(t, m); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, hm := range sortedRows(t.monitors) {
		if seen[hm.PoolId] {
			return grainError(KindConflict, "This pool already has a health monitor")
		}
		seen[hm.PoolId] = true
		if err := invalid(octaviarules.CheckMonitorType(t.pools[hm.PoolId], hm)); err != nil {
			return err
		}
	}
	for _, p := range sortedRows(t.policies) {
		if err := checkPolicyTarget(t, p); err != nil {
			return err
		}
		if len(t.RulesOfPolicy(p.Id)) > octaviarules.MaxRulesPerPolicy {
			return grainError(KindConflict, "Too many rules on L7 policy %s", p.Id)
		}
	}
	return nil
}
