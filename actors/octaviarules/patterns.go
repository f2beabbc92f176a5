package octaviarules

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
)

// Octavia's checks of the values that reach an amphora's haproxy configuration
// (health monitor paths, codes and domain names, redirect URLs, L7 rule keys and
// values; ciphers are in tls.go, cookie names in sessionpersistence.go, L7 rule
// data in l7rule.go). The API applies them when it decodes a body; the renderer
// (actors/haproxyconfig) checks what it writes again, with its own alphabet.

// SingleLinePattern is the WSME pattern of an L7 rule's key and value.
const SingleLinePattern = `^[^\r\n]*$`

// SingleLine reports whether s matches SingleLinePattern with "$" as the end of
// the string. Python's "$" also matches before one final "\n", so Octavia lets a
// value ending in a newline through, which would end its line in haproxy's
// configuration: keel refuses it.
func SingleLine(s string) bool { return !strings.ContainsAny(s, "\r\n") }

// The WSME patterns of expected_codes and domain_name, as Octavia reports them.
const (
	ExpectedCodesPattern = `^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$`
	DomainNamePattern    = `^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$`
)

var expectedCodesRE = regexp.MustCompile(ExpectedCodesPattern)

// ExpectedCodesValid reports whether s matches ExpectedCodesPattern (Go's "$" is
// the end of the string: unlike Python's, it does not match before a final "\n").
func ExpectedCodesValid(s string) bool { return expectedCodesRE.MatchString(s) }

// DomainNameValid is DomainNamePattern without look-arounds: at most 253
// characters (a trailing dot aside) of dot-separated labels of 1..63 letters,
// digits, '-' and '_', no label starting or ending with '-', and '_' only as a
// label's first character.
func DomainNameValid(s string) bool {
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i, r := range label {
			ok := r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' && i == 0
			if !ok {
				return false
			}
		}
	}
	return true
}

// URLPathValid is Octavia's validate.url_path: a URL path (with an optional query
// and fragment) that starts with '/', has no authority and no whitespace, and
// whose path is made of RFC 3986 path characters.
func URLPathValid(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	path := s
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '%':
			if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
				return false
			}
			i += 2
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// RedirectURLValid is Octavia's URL check (rfc3986's is_valid_uri with a scheme
// required, and the scheme http or https): an absolute http(s) URI whose parts hold
// only the characters RFC 3986 allows them; keel also requires a host, which a
// redirect needs.
func RedirectURLValid(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return false
	}
	if !strings.HasPrefix(rest, "//") {
		return false
	}
	rest = rest[2:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if !uriPartValid(rest[i+1:], "/?:@") {
			return false
		}
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if !uriPartValid(rest[i+1:], "/?:@") {
			return false
		}
		rest = rest[:i]
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if !uriPartValid(path, "/:@") {
		return false
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if !uriPartValid(authority[:at], ":") {
			return false
		}
		authority = authority[at+1:]
	}
	host, port := authority, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		if addr, err := netip.ParseAddr(host[1:end]); err != nil || !addr.Is6() {
			return false
		}
		host, port = host[:end+1], host[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return false
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i+1:]
		if host == "" || !uriPartValid(host, "") {
			return false
		}
	} else if host == "" || !uriPartValid(host, "") {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// uriPartValid reports whether s holds only RFC 3986 unreserved characters,
// sub-delimiters, percent-encodings and the characters in extra.
func uriPartValid(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~!$&'()*+,;=", c) >= 0:
		case strings.IndexByte(extra, c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
