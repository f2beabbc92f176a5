package actors

import (
	"fmt"
	"net/netip"

	"keel/store"
	"keel/store/storepb"
)

// Cross-object rules of a load balancer's tree (what one request's body cannot
// show): checked by the grain against its tree before it proposes anything.

// l4Protocol groups listener protocols by the transport their ports live on.
func l4Protocol(p string) string {
	switch p {
	case "UDP":
		return "UDP"
	case "SCTP":
		return "SCTP"
	default:
		return "TCP"
	}
}

// validListenerPool is Octavia's VALID_LISTENER_POOL_PROTOCOL_MAP.
var validListenerPool = map[string]map[string]bool{
	"TCP":              {"HTTP": true, "HTTPS": true, "PROXY": true, "PROXYV2": true, "TCP": true},
	"HTTP":             {"HTTP": true, "PROXY": true, "PROXYV2": true},
	"HTTPS":            {"HTTPS": true, "PROXY": true, "PROXYV2": true, "TCP": true},
	"TERMINATED_HTTPS": {"HTTP": true, "PROXY": true, "PROXYV2": true},
	"UDP":              {"UDP": true},
	"SCTP":             {"SCTP": true},
	"PROMETHEUS":       {},
}

func checkPoolProtocol(listenerProtocol, poolProtocol string) error {
	if listenerProtocol == "PROMETHEUS" {
		return grainError(KindInvalid, "Protocol PROMETHEUS listeners cannot have child objects.")
	}
	if !validListenerPool[listenerProtocol][poolProtocol] {
		return grainError(KindInvalid, "Validation failure: The pool protocol '%s' is invalid while the listener protocol is '%s'.",
			poolProtocol, listenerProtocol)
	}
	return nil
}

// checkListenerPort refuses a second listener on the same transport and port.
func checkListenerPort(listeners map[string]*storepb.Listener, l *storepb.Listener) error {
	for _, other := range listeners {
		if other.Id != l.Id && other.ProvisioningStatus != StatusPendingDelete &&
			other.ProtocolPort == l.ProtocolPort && l4Protocol(other.Protocol) == l4Protocol(l.Protocol) {
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
	return checkPoolProtocol(l.Protocol, p.Protocol)
}

// checkMemberUnique refuses two members of a pool on the same address and port.
func checkMemberUnique(t *tree, m *storepb.Member) error {
	for _, other := range t.MembersOfPool(m.PoolId) {
		if other.Id != m.Id && other.ProvisioningStatus != StatusPendingDelete &&
			other.Address == m.Address && other.ProtocolPort == m.ProtocolPort {
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

// amphoraAlgorithms are the load-balancing algorithms the amphora provider
// implements (Octavia's AMPHORA_SUPPORTED_LB_ALGORITHMS; not SOURCE_IP_PORT).
var amphoraAlgorithms = map[string]bool{"ROUND_ROBIN": true, "LEAST_CONNECTIONS": true, "SOURCE_IP": true}

// checkPoolAlgorithm is the amphora provider's refusal (501) of an algorithm it
// does not implement.
func checkPoolAlgorithm(lb *storepb.LoadBalancer, p *storepb.Pool) error {
	if !amphoraAlgorithms[p.LbAlgorithm] {
		return unsupportedOption(lb, "Amphora provider does not support %s algorithm.", p.LbAlgorithm)
	}
	return nil
}

// checkMemberFamilies is the amphora provider's rule for UDP and SCTP pools that a
// listener uses (LVS cannot translate between IP versions): an IPv4 member needs an
// IPv4 VIP on the load balancer, an IPv6 member an IPv6 VIP.
func checkMemberFamilies(t *tree, pool *storepb.Pool, members []*storepb.Member) error {
	if pool.Protocol != "UDP" && pool.Protocol != "SCTP" || len(store.ListenersUsingPool(t, pool.Id)) == 0 {
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

// udpConnectMinDelay is Octavia's [api_settings] udp_connect_min_interval_health_monitor.
const udpConnectMinDelay = 3

// checkMonitorType checks a health monitor's type (and, for UDP-CONNECT, its
// delay) against its pool's protocol, with Octavia's messages.
func checkMonitorType(pool *storepb.Pool, hm *storepb.HealthMonitor) error {
	lvs := pool.Protocol == "UDP" || pool.Protocol == "SCTP"
	switch {
	case lvs && hm.Type != "UDP-CONNECT" && hm.Type != "SCTP" && hm.Type != "TCP" && hm.Type != "HTTP":
		return grainError(KindInvalid, "Validation failure: The associated pool protocol is %s, so only a "+
			"UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.", pool.Protocol)
	case lvs && hm.Type == "UDP-CONNECT" && hm.Delay < udpConnectMinDelay:
		return grainError(KindInvalid, "Validation failure: The request delay value %d should be larger than %d for "+
			"UDP-CONNECT health monitor type.", hm.Delay, udpConnectMinDelay)
	case !lvs && (hm.Type == "UDP-CONNECT" || hm.Type == "SCTP"):
		return grainError(KindInvalid, "Validation failure: The %s type is only supported for pools of type UDP/SCTP.", hm.Type)
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
		return grainError(KindInvalid, "Protocol PROMETHEUS listeners cannot have child objects.")
	}
	if l.Protocol != "HTTP" && l.Protocol != "TERMINATED_HTTPS" {
		return grainError(KindUnimplemented, "Provider 'amphora' does not support a requested option: %s protocol listeners do not support L7 policies", l.Protocol)
	}
	if p.Action == "REDIRECT_TO_POOL" {
		pool, ok := t.pools[p.RedirectPoolId]
		if !ok || pool.ProvisioningStatus == StatusPendingDelete {
			return grainError(KindNotFound, "Pool %s not found.", p.RedirectPoolId)
		}
		return checkPoolProtocol(l.Protocol, pool.Protocol)
	}
	return nil
}

// maxRulesPerPolicy is Octavia's MAX_L7RULES_PER_L7POLICY.
const maxRulesPerPolicy = 50

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
		if err := checkMonitorType(t.pools[hm.PoolId], hm); err != nil {
			return err
		}
	}
	for _, p := range sortedRows(t.policies) {
		if err := checkPolicyTarget(t, p); err != nil {
			return err
		}
		if len(t.RulesOfPolicy(p.Id)) > maxRulesPerPolicy {
			return grainError(KindConflict, "Too many rules on L7 policy %s", p.Id)
		}
	}
	return nil
}
