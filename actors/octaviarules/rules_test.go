package octaviarules

import (
	"slices"
	"strings"
	"testing"

	"keel/store/storepb"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	if _, ok := err.(Invalid); !ok {
		return "not an Invalid: " + err.Error()
	}
	return err.Error()
}

// TestPoolProtocolMap checks every listener and pool protocol pair against
// Octavia's VALID_LISTENER_POOL_PROTOCOL_MAP, written out again here.
func TestPoolProtocolMap(t *testing.T) {
	allowed := map[string]string{
		"TCP":              "HTTP HTTPS PROXY PROXYV2 TCP",
		"HTTP":             "HTTP PROXY PROXYV2",
		"HTTPS":            "HTTPS PROXY PROXYV2 TCP",
		"TERMINATED_HTTPS": "HTTP PROXY PROXYV2",
		"UDP":              "UDP",
		"SCTP":             "SCTP",
	}
	for _, l := range ListenerProtocols {
		for _, p := range PoolProtocols {
			got := errText(CheckPoolProtocol(l, p))
			var want string
			switch {
			case l == "PROMETHEUS":
				want = "Protocol PROMETHEUS listeners cannot have child objects."
			case !slices.Contains(strings.Fields(allowed[l]), p):
				want = "Validation failure: The pool protocol '" + p + "' is invalid while the listener protocol is '" + l + "'."
			}
			if got != want {
				t.Errorf("%s listener, %s pool: %q, want %q", l, p, got, want)
			}
		}
	}
}

func TestTransports(t *testing.T) {
	for p, want := range map[string]string{"HTTP": "TCP", "HTTPS": "TCP", "TERMINATED_HTTPS": "TCP", "TCP": "TCP",
		"PROMETHEUS": "TCP", "UDP": "UDP", "SCTP": "SCTP"} {
		if got := L4Protocol(p); got != want {
			t.Errorf("L4Protocol(%s) = %s, want %s", p, got, want)
		}
		if got := IsLVS(p); got != (want != "TCP") {
			t.Errorf("IsLVS(%s) = %v", p, got)
		}
	}
}

func TestTLSLists(t *testing.T) {
	for _, c := range []struct {
		versions []string
		want     string
	}{
		{[]string{"TLSv1.2", "TLSv1.3"}, ""},
		{[]string{"SSLv3"}, ""},
		{nil, "Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default."},
		{[]string{"TLSv1.2", "TLSv9", "tlsv1.3"}, "Validation failure: Invalid TLS versions: TLSv9, tlsv1.3"},
	} {
		if got := errText(CheckTLSVersions(c.versions)); got != c.want {
			t.Errorf("CheckTLSVersions(%q) = %q, want %q", c.versions, got, c.want)
		}
	}
	if got := errText(CheckALPNProtocols([]string{})); got != "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default." {
		t.Errorf("CheckALPNProtocols([]) = %q", got)
	}
	if got := errText(CheckALPNProtocols([]string{"h2"})); got != "" {
		t.Errorf("CheckALPNProtocols([h2]) = %q", got)
	}
}

func TestCookieNames(t *testing.T) {
	for _, c := range []struct {
		name           string
		matches, valid bool
	}{
		{"JSESSIONID", true, true},
		{"a(b)", true, false},
		{"a b", false, false},
		{"a;b", false, false},
		{"a,b", false, false},
		{`a\b`, false, false},
		{"a\u00a0b", false, true}, // a Unicode space: WSME's \s refuses it, Octavia's check does not
		{"\u65e5\u672c", true, false},
		{"caf\u00e9", true, true},
		{"a\x7fb", true, false},
		{"", false, false},
	} {
		if got := CookieNameMatches(c.name); got != c.matches {
			t.Errorf("CookieNameMatches(%q) = %v", c.name, got)
		}
		if got := CookieNameValid(c.name); got != c.valid {
			t.Errorf("CookieNameValid(%q) = %v", c.name, got)
		}
	}
}

func TestSessionPersistence(t *testing.T) {
	timeout := int32(60)
	sp := func(typ, cookie string) *storepb.SessionPersistence {
		return &storepb.SessionPersistence{Type: typ, CookieName: cookie}
	}
	for _, c := range []struct {
		protocol string
		sp       *storepb.SessionPersistence
		create   bool
		want     string
	}{
		{"HTTP", nil, true, ""},
		{"HTTP", sp("APP_COOKIE", "sid"), true, ""},
		{"HTTP", sp("HTTP_COOKIE", ""), true, ""},
		{"HTTP", sp("", ""), false, "Validation failure: Invalid session_persistence provided."},
		{"HTTP", sp("APP_COOKIE", ""), true, `Validation failure: Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.`},
		{"HTTP", sp("SOURCE_IP", "c"), true, `Validation failure: Field "cookie_name" can only be specified with session persistence of type "APP_COOKIE".`},
		{"HTTP", sp("APP_COOKIE", "a(b)"), true, `Validation failure: Supplied "cookie_name" is invalid.`},
		{"HTTP", &storepb.SessionPersistence{Type: "SOURCE_IP", PersistenceTimeout: &timeout}, true,
			"Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools."},
		{"TCP", &storepb.SessionPersistence{Type: "SOURCE_IP", PersistenceGranularity: "255.255.255.0"}, false,
			"Validation failure: persistence_timeout and persistence_granularity is only for UDP protocol pools."},
		{"UDP", &storepb.SessionPersistence{Type: "SOURCE_IP", PersistenceTimeout: &timeout}, true, ""},
		{"SCTP", sp("SOURCE_IP", "c"), true, "Validation failure: session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: " +
			"type, persistence_timeout, persistence_granularity."},
		{"UDP", sp("APP_COOKIE", "c"), true, "Validation failure: Cookie names are not supported for UDP/SCTP pools."},
		{"UDP", sp("HTTP_COOKIE", ""), true, "Validation failure: Session persistence of type HTTP_COOKIE is not supported for UDP/SCTP protocol pools."},
	} {
		if got := errText(CheckSessionPersistence(c.protocol, c.sp, c.create)); got != c.want {
			t.Errorf("%s %v create=%v: %q, want %q", c.protocol, c.sp, c.create, got, c.want)
		}
	}
}

func TestMonitorType(t *testing.T) {
	for _, c := range []struct {
		pool, monitor string
		delay         int32
		want          string
	}{
		{"HTTP", "HTTP", 1, ""},
		{"HTTP", "PING", 1, ""},
		{"TCP", "UDP-CONNECT", 5, "Validation failure: The UDP-CONNECT type is only supported for pools of type UDP/SCTP."},
		{"HTTPS", "SCTP", 5, "Validation failure: The SCTP type is only supported for pools of type UDP/SCTP."},
		{"UDP", "UDP-CONNECT", 3, ""},
		{"UDP", "UDP-CONNECT", 2, "Validation failure: The request delay value 2 should be larger than 3 for UDP-CONNECT health monitor type."},
		{"SCTP", "HTTP", 1, ""},
		{"SCTP", "PING", 1, "Validation failure: The associated pool protocol is SCTP, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."},
	} {
		err := CheckMonitorType(&storepb.Pool{Protocol: c.pool}, &storepb.HealthMonitor{Type: c.monitor, Delay: c.delay})
		if got := errText(err); got != c.want {
			t.Errorf("%s pool, %s monitor (delay %d): %q, want %q", c.pool, c.monitor, c.delay, got, c.want)
		}
	}
}

func TestListenerOptions(t *testing.T) {
	for _, c := range []struct {
		l    *storepb.Listener
		want string
	}{
		{&storepb.Listener{Protocol: "HTTP", InsertHeaders: map[string]string{"X-Forwarded-For": "true"}}, ""},
		{&storepb.Listener{Protocol: "TERMINATED_HTTPS", DefaultTlsContainerRef: "c",
			InsertHeaders: map[string]string{"X-SSL-Client-DN": "True"}}, ""},
		{&storepb.Listener{Protocol: "HTTP", DefaultTlsContainerRef: "c"},
			"Validation failure: Certificate container references are only allowed on TERMINATED_HTTPS protocol listeners."},
		{&storepb.Listener{Protocol: "TERMINATED_HTTPS"},
			"Validation failure: An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners."},
		{&storepb.Listener{Protocol: "TCP", ClientAuthentication: "OPTIONAL"},
			"Validation failure: Client authentication is only allowed on TERMINATED_HTTPS protocol listeners."},
		{&storepb.Listener{Protocol: "TERMINATED_HTTPS", SniContainerRefs: []string{"c"}, ClientAuthentication: "MANDATORY"},
			"Validation failure: Client authentication setting MANDATORY requires a client CA container reference."},
		{&storepb.Listener{Protocol: "TERMINATED_HTTPS", SniContainerRefs: []string{"c"}, ClientCrlContainerRef: "crl"},
			"Validation failure: A client authentication CA reference is required to specify a client authentication revocation list."},
		{&storepb.Listener{Protocol: "HTTPS", TlsVersions: []string{"TLSv1.3"}},
			"Validation failure: TLS ciphers, versions and ALPN protocols are only allowed on TERMINATED_HTTPS protocol listeners."},
		{&storepb.Listener{Protocol: "HTTP", InsertHeaders: map[string]string{"X-SSL-Client-DN": "true"}},
			"Validation failure: The HTTP protocol listener does not support the X-SSL-Client-DN insert header."},
		{&storepb.Listener{Protocol: "HTTP", InsertHeaders: map[string]string{"X-Forwarded-Port": "yes"}},
			"Validation failure: Insert header X-Forwarded-Port value must be 'true' or 'false'."},
		{&storepb.Listener{Protocol: "PROMETHEUS", DefaultPoolId: "p"}, "Protocol PROMETHEUS listeners cannot have child objects."},
	} {
		if got := errText(CheckListenerOptions(c.l)); got != c.want {
			t.Errorf("%v: %q, want %q", c.l, got, c.want)
		}
	}
}
