// Package ident validates the identifiers a controller puts in agent API paths:
// amphora and listener UUIDs (canonical 36-character form only) and certificate file
// names (a plain name ending in .pem, so no path can escape its directory).
package ident

import "regexp"

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	certNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,250}\.pem$`)
)

// ValidUUID reports whether s is a UUID in canonical form (8-4-4-4-12 hex digits).
func ValidUUID(s string) bool { return uuidRE.MatchString(s) }

// ValidCertFilename reports whether name is acceptable as a stored certificate file
// name: letters, digits, '_', '.', '-' only, not starting with '.' or '-', no "..",
// ending in ".pem" (upstream: `(\w.)+pem`; WILDCARD.example.com.pem for *.example.com).
func ValidCertFilename(name string) bool {
	if !certNameRE.MatchString(name) {
		return false
	}
	for i := 0; i+1 < len(name); i++ {
		if name[i] == '.' && name[i+1] == '.' {
			return false
		}
	}
	return true
}
