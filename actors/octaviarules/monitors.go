package octaviarules

import "keel/store/storepb"

// MonitorTypes are the health monitor types (Octavia 11).
var MonitorTypes = []string{"HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"}

// UDPConnectMinDelay is Octavia's [api_settings] udp_connect_min_interval_health_monitor.
const UDPConnectMinDelay = 3

// CheckMonitorType checks a health monitor's type (and, for UDP-CONNECT, its
// delay) against its pool's protocol.
func CheckMonitorType(pool *storepb.Pool, hm *storepb.HealthMonitor) error {
	lvs := IsLVS(pool.Protocol)
	switch {
	case lvs && hm.Type != "UDP-CONNECT" && hm.Type != "SCTP" && hm.Type != "TCP" && hm.Type != "HTTP":
		return invalidf("Validation failure: The associated pool protocol is %s, so only a "+
			"UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.", pool.Protocol)
	case lvs && hm.Type == "UDP-CONNECT" && hm.Delay < UDPConnectMinDelay:
		return invalidf("Validation failure: The request delay value %d should be larger than %d for "+
			"UDP-CONNECT health monitor type.", hm.Delay, UDPConnectMinDelay)
	case !lvs && (hm.Type == "UDP-CONNECT" || hm.Type == "SCTP"):
		return invalidf("Validation failure: The %s type is only supported for pools of type UDP/SCTP.", hm.Type)
	}
	return nil
}
