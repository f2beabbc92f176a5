package octaviarules

import (
	"strings"
	"unicode"

	"keel/store/storepb"
)

// PersistenceTypes are the session persistence types (Octavia 11).
var PersistenceTypes = []string{"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"}

// CookieNamePattern is the session persistence cookie_name's WSME pattern.
const CookieNamePattern = `^[^\s,;\\]+$`

// CookieNameMatches reports whether s matches CookieNamePattern.
func CookieNameMatches(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == ';' || r == '\\'
	})
}

// CookieNameValid is Octavia's check_session_persistence test: no control
// character, space or RFC 6265 separator, and at least one Latin-1 character.
func CookieNameValid(s string) bool {
	latin1 := false
	for _, r := range s {
		if r <= 0x20 || r == 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
		latin1 = latin1 || r <= 0xff
	}
	return latin1
}

// CheckSessionPersistence applies Octavia's rules to a pool's session
// persistence: the UDP/SCTP restrictions (or, for other protocols, that timeout
// and granularity are UDP/SCTP options; POST (create) and PUT word that
// differently), then check_session_persistence.
func CheckSessionPersistence(protocol string, sp *storepb.SessionPersistence, create bool) error {
	if sp == nil {
		return nil
	}
	if IsLVS(protocol) {
		switch {
		case sp.Type == "SOURCE_IP" && sp.CookieName != "":
			return Invalid("Validation failure: session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: " +
				"type, persistence_timeout, persistence_granularity.")
		case sp.CookieName != "":
			return Invalid("Validation failure: Cookie names are not supported for UDP/SCTP pools.")
		case sp.Type == "HTTP_COOKIE" || sp.Type == "APP_COOKIE":
			return invalidf("Validation failure: Session persistence of type %s is not supported for UDP/SCTP protocol pools.", sp.Type)
		}
	} else if sp.GetPersistenceTimeout() != 0 || sp.PersistenceGranularity != "" {
		if create {
			return Invalid("Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools.")
		}
		return Invalid("Validation failure: persistence_timeout and persistence_granularity is only for UDP protocol pools.")
	}
	switch {
	case sp.Type == "":
		return Invalid("Validation failure: Invalid session_persistence provided.")
	case sp.CookieName != "" && sp.Type != "APP_COOKIE":
		return Invalid(`Validation failure: Field "cookie_name" can only be specified with session persistence of type "APP_COOKIE".`)
	case sp.CookieName != "" && !CookieNameValid(sp.CookieName):
		return Invalid(`Validation failure: Supplied "cookie_name" is invalid.`)
	case sp.Type == "APP_COOKIE" && sp.CookieName == "":
		return Invalid(`Validation failure: Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.`)
	}
	return nil
}
