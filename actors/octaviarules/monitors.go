package octaviarules

import (
	"cmp"

	"keel/store/storepb"
)

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

// InvalidOption is Octavia's InvalidOption: "<value> is not a valid option for <option>".
func InvalidOption(value, option string) error {
	return invalidf("%s is not a valid option for %s", value, option)
}

// CheckMonitorDomain is Octavia's rule for domain_name: when one is given it
// needs an HTTP version, and with a domain the version must be 1.1.
func CheckMonitorDomain(domainGiven bool, version, domain string) error {
	if domainGiven && version == "" {
		return Invalid("Validation failure: 'http_version' must be specified when 'domain_name' is provided.")
	}
	if version != "" && domain != "" && version != "1.1" {
		return InvalidOption("http_version "+version, "health monitors HTTP 1.1 domain name health check")
	}
	return nil
}

// CheckMonitorUpdate is the domain_name rule of Octavia's _validate_update_hm:
// cur is the monitor before the update, values what the body sets (empty when
// absent or null); as Octavia, a value sent wins and the stored one stands in
// for one not sent.
func CheckMonitorUpdate(cur, values *storepb.HealthMonitor) error {
	return CheckMonitorDomain(values.DomainName != "", cmp.Or(values.HttpVersion, cur.HttpVersion),
		cmp.Or(values.DomainName, cur.DomainName))
}
