package haproxyconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"keel/store/storepb"
)

// Unsupported is a refusal: something the API accepts that the amphora driver cannot
// serve with haproxy, or a value that cannot be written into haproxy's configuration
// safely. The caller answers it as Octavia's amphora provider answers an option it
// does not support (UnsupportedOptionError: "Provider 'amphora' does not support a
// requested option: <message>").
type Unsupported struct {
	Object string // "load balancer", "listener", "pool", "member", "health monitor", "l7policy", "l7rule"
	ID     string // the object's id
	Field  string // the API attribute, e.g. "protocol", "tls_ciphers", "value"
	Reason string // why, in words meant for the API's user
}

func (e *Unsupported) Error() string {
	id := e.ID
	if !isUUID(id) {
		id = strconv.Quote(id) // an id refused for its characters must not break a log line
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Object, id, e.Field, e.Reason)
}

// ErrNotLive is Render's answer for a listener that is not live (View.Live): it or
// its load balancer is admin down or being deleted. Its haproxy must be stopped, not
// reconfigured (haproxy will not run a configuration without an enabled frontend).
var ErrNotLive = errors.New("haproxyconfig: the listener is not live (it or its load balancer is admin down or being deleted): stop its haproxy instead of configuring it")

// MaxRulesPerPolicy is Octavia's MAX_L7RULES_PER_L7POLICY. It also keeps a policy's
// line within haproxy's 64 words per line (the action's words and one per rule).
const MaxRulesPerPolicy = 50

// Check refuses, before a write is accepted, a load balancer tree (as the write would
// leave it) that the amphora driver could not serve: every row not being deleted is
// checked, rendered or not (a disabled pool may be enabled later; a pool no listener
// uses yet may get one), then what each listener does with its pools and policies.
// It returns the first refusal as an *Unsupported, or a plain error for a tree that
// is inconsistent (a listener naming a pool it does not hold).
func Check(t *storepb.Tree) error {
	if t == nil || t.LoadBalancer == nil {
		return errors.New("haproxyconfig: no load balancer")
	}
	if err := checkLoadBalancer(t.LoadBalancer, false); err != nil {
		return err
	}
	for _, x := range t.Listeners {
		if !gone(x.ProvisioningStatus) {
			if err := checkListener(x); err != nil {
				return err
			}
		}
	}
	for _, x := range t.Pools {
		if !gone(x.ProvisioningStatus) {
			if err := checkPool(x); err != nil {
				return err
			}
		}
	}
	for _, x := range t.Members {
		if !gone(x.ProvisioningStatus) {
			if err := checkMember(x); err != nil {
				return err
			}
		}
	}
	for _, x := range t.HealthMonitors {
		if !gone(x.ProvisioningStatus) {
			if err := checkMonitor(x); err != nil {
				return err
			}
		}
	}
	rules := map[string]int{}
	for _, x := range t.L7Rules {
		if !gone(x.ProvisioningStatus) {
			if err := checkRule(x); err != nil {
				return err
			}
			rules[x.L7PolicyId]++
		}
	}
	for _, x := range t.L7Policies {
		if !gone(x.ProvisioningStatus) {
			if err := checkPolicy(x, rules[x.Id]); err != nil {
				return err
			}
		}
	}
	for _, x := range t.Listeners {
		if gone(x.ProvisioningStatus) {
			continue
		}
		v, err := ViewOf(t, x.Id)
		if err != nil {
			return err
		}
		if err := checkRelations(v); err != nil {
			return err
		}
	}
	return nil
}

// checkView applies every check to the rows of a view, as Check does to a tree.
func checkView(v *View) error {
	if v == nil || v.LoadBalancer == nil || v.Listener == nil {
		return errors.New("haproxyconfig: a view needs a load balancer and a listener")
	}
	if err := checkLoadBalancer(v.LoadBalancer, true); err != nil {
		return err
	}
	if err := checkListener(v.Listener); err != nil {
		return err
	}
	for _, p := range v.Pools {
		if p.Pool == nil || gone(p.Pool.ProvisioningStatus) {
			continue
		}
		if err := checkPool(p.Pool); err != nil {
			return err
		}
		for _, m := range p.Members {
			if !gone(m.ProvisioningStatus) {
				if err := checkMember(m); err != nil {
					return err
				}
			}
		}
		if p.Monitor != nil && !gone(p.Monitor.ProvisioningStatus) {
			if err := checkMonitor(p.Monitor); err != nil {
				return err
			}
		}
	}
	for _, p := range v.Policies {
		if p.Policy == nil || gone(p.Policy.ProvisioningStatus) {
			continue
		}
		n := 0
		for _, r := range p.Rules {
			if !gone(r.ProvisioningStatus) {
				if err := checkRule(r); err != nil {
					return err
				}
				n++
			}
		}
		if err := checkPolicy(p.Policy, n); err != nil {
			return err
		}
	}
	return checkRelations(v)
}

func unsupported(object, id, field, format string, args ...any) *Unsupported {
	return &Unsupported{Object: object, ID: id, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func checkID(object, id string) error {
	if !isUUID(id) {
		return unsupported(object, id, "id", "ids name haproxy's frontends, backends, servers and ACLs and must be UUIDs")
	}
	return nil
}

// checkLoadBalancer: the VIP and additional VIPs become bind addresses. A VIP may
// still be unallocated when a write is checked; rendering needs it.
func checkLoadBalancer(lb *storepb.LoadBalancer, needVIP bool) error {
	const o = "load balancer"
	if err := checkID(o, lb.Id); err != nil {
		return err
	}
	if lb.VipAddress != "" || needVIP {
		if _, ok := addr(lb.VipAddress); !ok {
			return unsupported(o, lb.Id, "vip_address", "%q is not an IP address haproxy can bind", lb.VipAddress)
		}
	}
	for _, av := range lb.AdditionalVips {
		if _, ok := addr(av.IpAddress); !ok {
			return unsupported(o, lb.Id, "additional_vips", "%q is not an IP address haproxy can bind", av.IpAddress)
		}
	}
	return nil
}

// Protocols and what they become.
var (
	listenerModes = map[string]string{"HTTP": "http", "HTTPS": "tcp", "TCP": "tcp"}
	// validPoolProtocols is Octavia's VALID_LISTENER_POOL_PROTOCOL_MAP for the
	// listener protocols the driver serves.
	validPoolProtocols = map[string][]string{
		"TCP":   {"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"},
		"HTTP":  {"HTTP", "PROXY", "PROXYV2"},
		"HTTPS": {"HTTPS", "PROXY", "PROXYV2", "TCP"},
	}
	lvsReason = "Octavia serves UDP and SCTP with keepalived's LVS, not haproxy; keel's amphora agent runs only haproxy"
)

// backendMode is the haproxy mode of a pool's backend on a listener: the pool's
// protocol, except PROXY and PROXYV2, which carry the listener's traffic.
func backendMode(listenerProtocol, poolProtocol string) string {
	switch poolProtocol {
	case "HTTP":
		return "http"
	case "PROXY", "PROXYV2":
		return listenerModes[listenerProtocol]
	default:
		return "tcp"
	}
}

var insertHeaders = []string{"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"}

func checkListener(l *storepb.Listener) error {
	const o = "listener"
	fail := func(field, format string, args ...any) error { return unsupported(o, l.Id, field, format, args...) }
	if err := checkID(o, l.Id); err != nil {
		return err
	}
	switch l.Protocol {
	case "HTTP", "HTTPS", "TCP":
	case "TERMINATED_HTTPS":
		return fail("protocol", "TERMINATED_HTTPS needs its certificates from a secret store (Barbican in Octavia); keel has none, so the amphora driver cannot terminate TLS (use HTTPS for TLS passthrough)")
	case "UDP", "SCTP":
		return fail("protocol", "%s: %s", l.Protocol, lvsReason)
	case "PROMETHEUS":
		return fail("protocol", "PROMETHEUS listeners expose the metrics of all listeners of an amphora through haproxy's built-in exporter; keel runs one haproxy per listener and has no such exporter")
	default:
		return fail("protocol", "unknown protocol %q", l.Protocol)
	}
	if l.ProtocolPort < 1 || l.ProtocolPort > 65535 {
		return fail("protocol_port", "%d is not a TCP port", l.ProtocolPort)
	}
	if l.ConnectionLimit < -1 {
		return fail("connection_limit", "%d is neither -1 (unlimited) nor a limit", l.ConnectionLimit)
	}
	for _, t := range []struct {
		name string
		v    int32
	}{{"timeout_client_data", l.TimeoutClientData}, {"timeout_member_connect", l.TimeoutMemberConnect},
		{"timeout_member_data", l.TimeoutMemberData}, {"timeout_tcp_inspect", l.TimeoutTcpInspect}} {
		if t.v < 0 {
			return fail(t.name, "%d is not a timeout in milliseconds", t.v)
		}
	}
	// TLS options belong to TERMINATED_HTTPS (refused above); the API refuses them
	// elsewhere, and they are refused here too rather than ignored.
	tlsOnly := "belongs to TERMINATED_HTTPS listeners and client certificate authentication, which the amphora driver cannot serve without a secret store"
	switch {
	case l.DefaultTlsContainerRef != "":
		return fail("default_tls_container_ref", "%s", tlsOnly)
	case len(l.SniContainerRefs) > 0:
		return fail("sni_container_refs", "%s", tlsOnly)
	case l.ClientCaTlsContainerRef != "":
		return fail("client_ca_tls_container_ref", "%s", tlsOnly)
	case l.ClientCrlContainerRef != "":
		return fail("client_crl_container_ref", "%s", tlsOnly)
	case l.ClientAuthentication != "" && l.ClientAuthentication != "NONE":
		return fail("client_authentication", "%s", tlsOnly)
	case l.TlsCiphers != "":
		return fail("tls_ciphers", "%s", tlsOnly)
	case len(l.TlsVersions) > 0:
		return fail("tls_versions", "%s", tlsOnly)
	case len(l.AlpnProtocols) > 0:
		return fail("alpn_protocols", "%s", tlsOnly)
	}
	for _, k := range sortedKeys(l.InsertHeaders) {
		val := l.InsertHeaders[k]
		switch {
		case strings.HasPrefix(k, "X-SSL-"):
			return fail("insert_headers", "%q reports a client certificate, which needs a TERMINATED_HTTPS listener: %s", k, tlsOnly)
		case !slices.Contains(insertHeaders, k):
			return fail("insert_headers", "unknown header %q (the driver inserts %s)", k, strings.Join(insertHeaders, ", "))
		case !strings.EqualFold(val, "true") && !strings.EqualFold(val, "false"):
			return fail("insert_headers", "the value of %s must be true or false, not %q", k, val)
		case l.Protocol != "HTTP" && strings.EqualFold(val, "true"):
			return fail("insert_headers", "%s needs an HTTP listener; a %s listener forwards bytes without reading HTTP", k, l.Protocol)
		}
	}
	for _, c := range l.AllowedCidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fail("allowed_cidrs", "%q is not a CIDR", c)
		}
	}
	return nil
}

var (
	tlsVersionFlags = []struct{ version, flag string }{
		{"SSLv3", "no-sslv3"}, {"TLSv1", "no-tlsv10"}, {"TLSv1.1", "no-tlsv11"}, {"TLSv1.2", "no-tlsv12"}, {"TLSv1.3", "no-tlsv13"}}
	alpnProtocols = []string{"http/1.0", "http/1.1", "h2"}
	balance       = map[string]string{"ROUND_ROBIN": "roundrobin", "LEAST_CONNECTIONS": "leastconn", "SOURCE_IP": "source"}
)

func checkPool(p *storepb.Pool) error {
	const o = "pool"
	fail := func(field, format string, args ...any) error { return unsupported(o, p.Id, field, format, args...) }
	if err := checkID(o, p.Id); err != nil {
		return err
	}
	switch p.Protocol {
	case "HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2":
	case "UDP", "SCTP":
		return fail("protocol", "%s: %s", p.Protocol, lvsReason)
	default:
		return fail("protocol", "unknown protocol %q", p.Protocol)
	}
	if _, ok := balance[p.LbAlgorithm]; !ok {
		if p.LbAlgorithm == "SOURCE_IP_PORT" {
			return fail("lb_algorithm", "SOURCE_IP_PORT is not implemented by the amphora driver (Octavia's amphora provider refuses it too; only OVN offers it): use SOURCE_IP")
		}
		return fail("lb_algorithm", "unknown algorithm %q", p.LbAlgorithm)
	}
	if sp := p.SessionPersistence; sp != nil {
		switch sp.Type {
		case "SOURCE_IP", "HTTP_COOKIE":
			if sp.CookieName != "" {
				return fail("session_persistence", "cookie_name applies to APP_COOKIE persistence only")
			}
		case "APP_COOKIE":
			if !isToken(sp.CookieName) {
				return fail("session_persistence", "cookie_name %q must be made of letters, digits and !%%&*+-.^_|~ to be written into haproxy's configuration", sp.CookieName)
			}
		default:
			return fail("session_persistence", "unknown type %q", sp.Type)
		}
		if sp.GetPersistenceTimeout() != 0 || sp.PersistenceGranularity != "" {
			return fail("session_persistence", "persistence_timeout and persistence_granularity are options of UDP/SCTP pools (%s)", lvsReason)
		}
	}
	secret := "needs certificates from a secret store (Barbican in Octavia), which keel does not have; only tls_enabled without certificates (no verification) is served"
	switch {
	case p.TlsContainerRef != "":
		return fail("tls_container_ref", "a client certificate for the members %s", secret)
	case p.CaTlsContainerRef != "":
		return fail("ca_tls_container_ref", "verifying the members %s", secret)
	case p.CrlContainerRef != "":
		return fail("crl_container_ref", "a revocation list %s", secret)
	}
	if p.TlsCiphers != "" && !cipherRE.MatchString(p.TlsCiphers) {
		return fail("tls_ciphers", "an OpenSSL cipher string holds only letters, digits and -+!:@=_. (Octavia's rule)")
	}
	for _, tv := range p.TlsVersions {
		if !slices.ContainsFunc(tlsVersionFlags, func(f struct{ version, flag string }) bool { return f.version == tv }) {
			return fail("tls_versions", "unknown TLS version %q", tv)
		}
	}
	for _, a := range p.AlpnProtocols {
		if !slices.Contains(alpnProtocols, a) {
			return fail("alpn_protocols", "unknown ALPN protocol %q", a)
		}
	}
	return nil
}

func checkMember(m *storepb.Member) error {
	const o = "member"
	fail := func(field, format string, args ...any) error { return unsupported(o, m.Id, field, format, args...) }
	if err := checkID(o, m.Id); err != nil {
		return err
	}
	if _, ok := addr(m.Address); !ok {
		return fail("address", "%q is not an IP address", m.Address)
	}
	if m.ProtocolPort < 1 || m.ProtocolPort > 65535 {
		return fail("protocol_port", "%d is not a TCP port", m.ProtocolPort)
	}
	if m.Weight < 0 || m.Weight > 256 {
		return fail("weight", "%d is not a weight haproxy accepts (0 to 256)", m.Weight)
	}
	if m.MonitorAddress != "" {
		if _, ok := addr(m.MonitorAddress); !ok {
			return fail("monitor_address", "%q is not an IP address", m.MonitorAddress)
		}
	}
	if m.MonitorPort != nil && (*m.MonitorPort < 1 || *m.MonitorPort > 65535) {
		return fail("monitor_port", "%d is not a TCP port", *m.MonitorPort)
	}
	return nil
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"}

func checkMonitor(hm *storepb.HealthMonitor) error {
	const o = "health monitor"
	fail := func(field, format string, args ...any) error { return unsupported(o, hm.Id, field, format, args...) }
	switch hm.Type {
	case "HTTP", "HTTPS", "TCP", "TLS-HELLO", "PING":
	case "UDP-CONNECT", "SCTP":
		return fail("type", "%s monitors check UDP/SCTP pools (%s)", hm.Type, lvsReason)
	default:
		return fail("type", "unknown type %q", hm.Type)
	}
	if hm.Delay < 1 {
		return fail("delay", "haproxy checks at most once a second (inter %ds is refused by haproxy)", hm.Delay)
	}
	if hm.Timeout < 0 {
		return fail("timeout", "%d is not a timeout in seconds", hm.Timeout)
	}
	if hm.MaxRetries < 1 || hm.MaxRetries > 10 {
		return fail("max_retries", "%d is not between 1 and 10", hm.MaxRetries)
	}
	if hm.MaxRetriesDown < 1 || hm.MaxRetriesDown > 10 {
		return fail("max_retries_down", "%d is not between 1 and 10", hm.MaxRetriesDown)
	}
	if hm.Type != "HTTP" && hm.Type != "HTTPS" {
		return nil
	}
	if hm.HttpMethod != "" && !slices.Contains(httpMethods, hm.HttpMethod) {
		return fail("http_method", "unknown HTTP method %q", hm.HttpMethod)
	}
	if hm.UrlPath != "" {
		if p := urlPathProblem(hm.UrlPath); p != "" {
			return fail("url_path", "%q %s", hm.UrlPath, p)
		}
	}
	if _, err := expectedCodes(hm.ExpectedCodes); err != nil {
		return fail("expected_codes", "%v", err)
	}
	switch hm.HttpVersion {
	case "", "1.0", "1.1":
	default:
		return fail("http_version", "%q is neither 1.0 nor 1.1", hm.HttpVersion)
	}
	if hm.DomainName != "" {
		if !domainRE.MatchString(hm.DomainName) {
			return fail("domain_name", "%q is not a domain name", hm.DomainName)
		}
		if hm.HttpVersion != "1.1" {
			return fail("domain_name", "a domain name is sent as the Host header of HTTP/1.1 checks: http_version must be 1.1")
		}
	}
	return nil
}

var redirectCodes = []int32{301, 302, 303, 307, 308}

func checkPolicy(p *storepb.L7Policy, rules int) error {
	const o = "l7policy"
	fail := func(field, format string, args ...any) error { return unsupported(o, p.Id, field, format, args...) }
	if err := checkID(o, p.Id); err != nil {
		return err
	}
	switch p.Action {
	case "REJECT":
	case "REDIRECT_TO_POOL":
		if !isUUID(p.RedirectPoolId) {
			return fail("redirect_pool_id", "%q is not a pool id", p.RedirectPoolId)
		}
	case "REDIRECT_TO_URL":
		if prob := urlProblem(p.RedirectUrl); prob != "" {
			return fail("redirect_url", "%q %s", p.RedirectUrl, prob)
		}
	case "REDIRECT_PREFIX":
		if prob := urlProblem(p.RedirectPrefix); prob != "" {
			return fail("redirect_prefix", "%q %s", p.RedirectPrefix, prob)
		}
	default:
		return fail("action", "unknown action %q", p.Action)
	}
	if p.RedirectHttpCode != 0 && !slices.Contains(redirectCodes, p.RedirectHttpCode) {
		return fail("redirect_http_code", "%d is not one of 301, 302, 303, 307, 308", p.RedirectHttpCode)
	}
	if rules > MaxRulesPerPolicy {
		return fail("rules", "%d rules: a policy holds at most %d (Octavia's limit; haproxy also reads at most 64 words per line)", rules, MaxRulesPerPolicy)
	}
	return nil
}

var compareMatch = map[string]string{"REGEX": "reg", "STARTS_WITH": "beg", "ENDS_WITH": "end", "CONTAINS": "sub", "EQUAL_TO": "str"}

func checkRule(r *storepb.L7Rule) error {
	const o = "l7rule"
	fail := func(field, format string, args ...any) error { return unsupported(o, r.Id, field, format, args...) }
	if err := checkID(o, r.Id); err != nil {
		return err
	}
	if _, ok := compareMatch[r.CompareType]; !ok {
		return fail("compare_type", "unknown compare type %q", r.CompareType)
	}
	switch r.Type {
	case "HOST_NAME", "PATH":
	case "FILE_TYPE":
		if r.CompareType != "EQUAL_TO" && r.CompareType != "REGEX" {
			return fail("compare_type", "FILE_TYPE rules compare with EQUAL_TO or REGEX")
		}
	case "HEADER", "COOKIE":
		if !isToken(r.Key) {
			return fail("key", "%q must be a header or cookie name made of letters, digits and !%%&*+-.^_|~ to be written into haproxy's configuration", r.Key)
		}
	case "SSL_CONN_HAS_CERT":
		if r.CompareType != "EQUAL_TO" || !strings.EqualFold(r.Value, "true") {
			return fail("value", "SSL_CONN_HAS_CERT rules compare EQUAL_TO the value true")
		}
		return nil
	case "SSL_VERIFY_RESULT":
		if r.CompareType != "EQUAL_TO" || !isDecimal(r.Value) {
			return fail("value", "SSL_VERIFY_RESULT rules compare EQUAL_TO a verify result, a number >= 0")
		}
		return nil
	case "SSL_DN_FIELD":
		if !dnFieldRE.MatchString(r.Key) {
			return fail("key", "%q is not a distinguished name field", r.Key)
		}
	default:
		return fail("type", "unknown type %q", r.Type)
	}
	if p := textProblem(r.Value); p != "" {
		return fail("value", "%q %s", r.Value, p)
	}
	return nil
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkRelations checks what a listener does with its pools and policies.
func checkRelations(v *View) error {
	l := v.Listener
	for _, p := range v.Pools {
		if p.Pool == nil || gone(p.Pool.ProvisioningStatus) {
			continue
		}
		if !slices.Contains(validPoolProtocols[l.Protocol], p.Pool.Protocol) {
			return unsupported("pool", p.Pool.Id, "protocol", "a %s pool cannot serve a %s listener", p.Pool.Protocol, l.Protocol)
		}
		sp := p.Pool.SessionPersistence
		if sp != nil && (sp.Type == "HTTP_COOKIE" || sp.Type == "APP_COOKIE") && backendMode(l.Protocol, p.Pool.Protocol) != "http" {
			return unsupported("pool", p.Pool.Id, "session_persistence",
				"%s persistence reads HTTP cookies, but on %s listener %s this %s pool carries TCP (haproxy would ignore it)",
				sp.Type, l.Protocol, l.Id, p.Pool.Protocol)
		}
	}
	for _, p := range v.Policies {
		if p.Policy == nil || gone(p.Policy.ProvisioningStatus) {
			continue
		}
		switch p.Policy.Action {
		case "REDIRECT_TO_URL", "REDIRECT_PREFIX":
			if l.Protocol != "HTTP" {
				return unsupported("l7policy", p.Policy.Id, "action",
					"%s answers with an HTTP redirect, which needs an HTTP listener; %s listener %s forwards bytes",
					p.Policy.Action, l.Protocol, l.Id)
			}
		case "REDIRECT_TO_POOL":
			if _, ok := v.pool(p.Policy.RedirectPoolId); !ok {
				return fmt.Errorf("haproxyconfig: l7policy %s redirects to pool %s, which the view does not hold", p.Policy.Id, p.Policy.RedirectPoolId)
			}
		}
	}
	if l.DefaultPoolId != "" {
		if _, ok := v.pool(l.DefaultPoolId); !ok {
			return fmt.Errorf("haproxyconfig: listener %s has default pool %s, which the view does not hold", l.Id, l.DefaultPoolId)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
