package actors

import (
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
	for _, other := range t.members {
		if other.Id != m.Id && other.PoolId == m.PoolId && other.ProvisioningStatus != StatusPendingDelete &&
			other.Address == m.Address && other.ProtocolPort == m.ProtocolPort {
			return grainError(KindConflict, "Another member on this pool is already using ip %s on protocol_port %d",
				m.Address, m.ProtocolPort)
		}
	}
	return nil
}

// checkMonitorType checks a health monitor's type against its pool's protocol.
func checkMonitorType(pool *storepb.Pool, hm *storepb.HealthMonitor) error {
	udp := pool.Protocol == "UDP" || pool.Protocol == "SCTP"
	switch {
	case udp && hm.Type != "UDP-CONNECT" && hm.Type != "SCTP" && hm.Type != "TCP" && hm.Type != "HTTP":
		return grainError(KindInvalid, "Validation failure: The associated pool protocol is %s, so only a UDP-CONNECT, SCTP, TCP or HTTP type health monitor is supported.", pool.Protocol)
	case !udp && (hm.Type == "UDP-CONNECT" || hm.Type == "SCTP"):
		return grainError(KindInvalid, "Validation failure: The associated pool protocol is %s, so a %s type health monitor is not supported.", pool.Protocol, hm.Type)
	case hm.Type == "UDP-CONNECT" && hm.Delay < 3:
		return grainError(KindInvalid, "Validation failure: The request delay value %d should be larger than 3 for UDP-CONNECT health monitor type.", hm.Delay)
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
		if len(t.rulesOfPolicy(p.Id)) > maxRulesPerPolicy {
			return grainError(KindConflict, "Too many rules on L7 policy %s", p.Id)
		}
	}
	return nil
}
