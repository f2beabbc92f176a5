package octaviarules

// Listener and pool protocols, and the load-balancing algorithms (Octavia 11).
var (
	ListenerProtocols = []string{"HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"}
	PoolProtocols     = []string{"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP"}
	LBAlgorithms      = []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}
)

// AmphoraAlgorithms are the load-balancing algorithms the amphora provider
// implements (Octavia's AMPHORA_SUPPORTED_LB_ALGORITHMS; not SOURCE_IP_PORT).
var AmphoraAlgorithms = map[string]bool{"ROUND_ROBIN": true, "LEAST_CONNECTIONS": true, "SOURCE_IP": true}

// L4Protocol groups listener protocols by the transport their ports live on.
func L4Protocol(p string) string {
	switch p {
	case "UDP":
		return "UDP"
	case "SCTP":
		return "SCTP"
	default:
		return "TCP"
	}
}

// IsLVS reports whether a protocol is one the amphora serves with LVS rather
// than HAProxy (UDP and SCTP), which has rules of its own.
func IsLVS(protocol string) bool { return protocol == "UDP" || protocol == "SCTP" }

// ErrPrometheusChildren refuses a pool or an L7 policy on a PROMETHEUS listener.
const ErrPrometheusChildren Invalid = "Protocol PROMETHEUS listeners cannot have child objects."

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

// CheckPoolProtocol checks that a listener of one protocol can use a pool of
// another (VALID_LISTENER_POOL_PROTOCOL_MAP).
func CheckPoolProtocol(listenerProtocol, poolProtocol string) error {
	if listenerProtocol == "PROMETHEUS" {
		return ErrPrometheusChildren
	}
	if !validListenerPool[listenerProtocol][poolProtocol] {
		return invalidf("Validation failure: The pool protocol '%s' is invalid while the listener protocol is '%s'.",
			poolProtocol, listenerProtocol)
	}
	return nil
}
