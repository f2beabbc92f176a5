// Package ident validates the identifiers a controller puts in agent API paths:
// amphora and listener UUIDs (canonical 36-character form only) and certificate file
// names (a plain name ending in .pem, so no path can escape its directory).
package ident

import "regexp"

// MaxCertFilename is the longest certificate file name accepted, ".pem" included.
// The seed names a file after the certificate's primary CN (at most 64 characters in
// X.509, "WILDCARD" for "*") and Octavia after a certificate id (a UUID or a hash), so
// 200 covers every name a controller sends; what matters is that every name that
// passes can be stored: the agent writes it through a temporary sibling
// ("." + name + ".new-" + up to 10 digits), which must stay under the file system's
// 255-byte NAME_MAX.
const MaxCertFilename = 200

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	certNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\.pem$`)
)

// ValidUUID reports whether s is a UUID in canonical form (8-4-4-4-12 hex digits).
func ValidUUID(s string) bool { return uuidRE.MatchString(s) }

// ValidCertFilename reports whether name is acceptable as a stored certificate file
// name: at most MaxCertFilename bytes of ASCII letters, digits, '_', '.', '-', not
// starting with '.' or '-', no "..", ending in ".pem" (upstream: `(\w.)+pem`, a prefix match
// that bounds neither the length nor where the name ends; WILDCARD.example.com.pem
// for *.example.com).
func ValidCertFilename(name string) bool {
	if len(name) > MaxCertFilename || !certNameRE.MatchString(name) {
		return false
	}
	for i := 0; i+1 < len(name); i++ {
		if name[i] == '.' && name[i+1] == '.' {
			return false
		}
	}
	return true
}
