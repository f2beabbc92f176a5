package octaviarules

import (
	"regexp"
	"slices"
	"strings"
)

// TLS versions and ALPN protocols a listener or pool may name (Octavia 11).
var (
	TLSVersions   = []string{"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	ALPNProtocols = []string{"http/1.0", "http/1.1", "h2"}
)

// Octavia's TLS defaults ([api_settings]) for TERMINATED_HTTPS listeners and for
// pools with TLS enabled (the pool defaults are the listener ones).
const DefaultTLSCiphers = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:" +
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" +
	"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" +
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"

var (
	DefaultTLSVersions   = []string{"TLSv1.2", "TLSv1.3"}
	DefaultALPNProtocols = []string{"h2", "http/1.1", "http/1.0"}
)

// CheckTLSVersions is Octavia's validate.check_tls_version_list (for a list that
// was given): not empty, and only versions it knows.
func CheckTLSVersions(versions []string) error {
	if len(versions) == 0 {
		return Invalid("Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default.")
	}
	var invalid []string
	for _, v := range versions {
		if !slices.Contains(TLSVersions, v) {
			invalid = append(invalid, v)
		}
	}
	if len(invalid) > 0 {
		return invalidf("Validation failure: Invalid TLS versions: %s", strings.Join(invalid, ", "))
	}
	return nil
}

// CheckALPNProtocols is Octavia's validate.check_alpn_protocols (for a list that
// was given): not empty.
func CheckALPNProtocols(protocols []string) error {
	if len(protocols) == 0 {
		return Invalid("Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default.")
	}
	return nil
}

// validCiphers is Octavia's VALID_CIPHER_RE (validate.py, since the fix of
// Launchpad bug 2162101): the characters of an OpenSSL cipher string. Anything
// else (a blank, a newline) would let the value add lines to haproxy's
// configuration, where it is written as it is.
var validCiphers = regexp.MustCompile(`^[A-Za-z0-9\-+!:@=_.]+$`)

// CheckCiphers is Octavia's validate.check_cipher_string, for a listener's or a
// pool's tls_ciphers when one is given (empty: the default applies).
func CheckCiphers(ciphers string) error {
	if ciphers != "" && !validCiphers.MatchString(ciphers) {
		return Invalid("Validation failure: Invalid characters in cipher string. " +
			"Only alphanumeric, -, +, !, :, @, =, _, and . are allowed.")
	}
	return nil
}
