package octaviarules

import (
	"slices"

	"keel/store/storepb"
)

// The insert headers a listener may ask for: on HTTP and TERMINATED_HTTPS
// listeners, and the client certificate ones on TERMINATED_HTTPS only (Octavia 11).
var (
	httpHeaders = []string{"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"}
	tlsHeaders  = []string{"X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN", "X-SSL-Client-CN",
		"X-SSL-Issuer", "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After"}
)

// CheckListenerOptions applies the protocol's rules to a listener as it will be
// (after a create's defaults, or an update merged into the listener): what
// needs TERMINATED_HTTPS (certificates, client authentication, TLS options),
// the references client authentication needs, which insert headers the
// protocol supports and their values, and no default pool on PROMETHEUS.
func CheckListenerOptions(v *storepb.Listener) error {
	tls := v.Protocol == "TERMINATED_HTTPS"
	if !tls && (v.DefaultTlsContainerRef != "" || len(v.SniContainerRefs) > 0) {
		return Invalid("Validation failure: Certificate container references are only allowed on TERMINATED_HTTPS protocol listeners.")
	}
	if tls && v.DefaultTlsContainerRef == "" && len(v.SniContainerRefs) == 0 {
		return Invalid("Validation failure: An SNI or default certificate container reference must be provided for TERMINATED_HTTPS listeners.")
	}
	if !tls && (v.ClientCaTlsContainerRef != "" || v.ClientCrlContainerRef != "" || (v.ClientAuthentication != "" && v.ClientAuthentication != "NONE")) {
		return Invalid("Validation failure: Client authentication is only allowed on TERMINATED_HTTPS protocol listeners.")
	}
	if v.ClientAuthentication != "" && v.ClientAuthentication != "NONE" && v.ClientCaTlsContainerRef == "" {
		return invalidf("Validation failure: Client authentication setting %s requires a client CA container reference.", v.ClientAuthentication)
	}
	if v.ClientCrlContainerRef != "" && v.ClientCaTlsContainerRef == "" {
		return Invalid("Validation failure: A client authentication CA reference is required to specify a client authentication revocation list.")
	}
	if !tls && (v.TlsCiphers != "" || len(v.TlsVersions) > 0 || len(v.AlpnProtocols) > 0) {
		return Invalid("Validation failure: TLS ciphers, versions and ALPN protocols are only allowed on TERMINATED_HTTPS protocol listeners.")
	}
	for k, val := range v.InsertHeaders {
		allowed := (v.Protocol == "HTTP" || tls) && slices.Contains(httpHeaders, k) || tls && slices.Contains(tlsHeaders, k)
		if !allowed {
			return invalidf("Validation failure: The %s protocol listener does not support the %s insert header.", v.Protocol, k)
		}
		if val != "true" && val != "false" && val != "True" && val != "False" {
			return invalidf("Validation failure: Insert header %s value must be 'true' or 'false'.", k)
		}
	}
	if v.Protocol == "PROMETHEUS" && v.DefaultPoolId != "" {
		return ErrPrometheusChildren
	}
	return nil
}
