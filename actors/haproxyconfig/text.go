package haproxyconfig

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// How strings reach the file. haproxy splits a line into words at blanks, ends it at
// a newline, starts a comment at '#', and interprets quotes ('...' literal, "..."
// with escapes and environment variables) and backslashes. Every user string is
// therefore either
//   - checked against a small alphabet that holds none of those characters (ids,
//     addresses, CIDRs, header and cookie names, domain names, ciphers, enums), or
//   - written as one single-quoted word (quote), haproxy's literal form, after
//     refusing what no quoting can carry: control characters (a newline ends the
//     line whatever the quotes), invalid UTF-8 and empty strings.
// Strings haproxy reads as log-format (redirect locations and prefixes) also have
// '%' doubled, so "%20" stays "%20" instead of starting a format directive.

// textProblem says why s cannot be written into the file even quoted ("" if it can).
func textProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for _, r := range s {
		// C0, DEL and C1 controls (Octavia refuses the same set in URLs).
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("holds the control character %U, which would break haproxy's configuration", r)
		}
	}
	return ""
}

// quote writes s as one haproxy word, literally: single quotes, and a single quote
// inside is closed, written escaped and reopened (haproxy joins the pieces of a
// word). s must have passed textProblem.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// logFormat escapes s for a log-format argument ('%' starts a directive there).
func logFormat(s string) string { return strings.ReplaceAll(s, "%", "%%") }

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isUUID: ids name frontends, backends, servers and ACLs, so they must be UUIDs.
func isUUID(s string) bool { return uuidRE.MatchString(s) }

// tokenChars are what a header name, cookie name or cookie key may hold in the file:
// RFC 7230 token characters without those haproxy reads specially inside a sample
// fetch argument or a line (# $ ' " ` \ , ( ) and blanks).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!%&*+-.^_|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// cipherRE is Octavia's VALID_CIPHER_RE: OpenSSL cipher strings.
var cipherRE = regexp.MustCompile(`^[A-Za-z0-9\-+!:@=_.]+$`)

// dnFieldRE is Octavia's DISTINGUISHED_NAME_FIELD_REGEX.
var dnFieldRE = regexp.MustCompile(`^[a-zA-Z][A-Za-z0-9-]*$`)

// domainRE: letters, digits, '-', '_' and dots (the API's domain_name pattern is
// stricter; this is what is safe in the file).
var domainRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$`)

// addr parses an IP address that can be written into the file: no zone (a '%' zone
// is not an Octavia address and haproxy would read it as an interface).
func addr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// hostPort writes address:port as haproxy reads it (IPv6 too: haproxy splits at the
// last colon).
func hostPort(a netip.Addr, port int32) string {
	return a.String() + ":" + strconv.Itoa(int(port))
}

// urlProblem checks a redirect URL or prefix as Octavia's validate.url does: no
// control character or blank, an http or https scheme and a host.
func urlProblem(s string) string {
	if p := textProblem(s); p != "" {
		return p
	}
	for _, r := range s {
		if r == ' ' || r == '\t' || r >= 0x7f && r <= 0x9f {
			return "must not hold blanks or control characters"
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	return ""
}

// urlPathProblem checks a health monitor's url_path: a path starting with '/' with
// no blank or control character (the API checks RFC 3986 characters).
func urlPathProblem(s string) string {
	if p := textProblem(s); p != "" {
		return p
	}
	if !strings.HasPrefix(s, "/") {
		return "must start with '/'"
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return "must not hold blanks"
	}
	return ""
}

// expectedCodes turns Octavia's expected_codes ("200", "200, 202", "200-204") into
// the argument of haproxy's "http-check expect status" ("200,202", "200-204"),
// which takes lists and ranges itself (Octavia expands ranges into a regex, which a
// wide range makes longer than haproxy's line limit). Combinations of both forms
// are accepted too.
func expectedCodes(s string) (string, error) {
	if s == "" {
		return "200", nil
	}
	var parts []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		lo, hi, isRange := strings.Cut(p, "-")
		a, errA := statusCode(lo)
		b := a
		var errB error
		if isRange {
			b, errB = statusCode(hi)
		}
		if errA != nil || errB != nil || b < a {
			return "", fmt.Errorf("%q is not a list of HTTP status codes or ranges (e.g. 200, 200-204, 200,202)", s)
		}
		if isRange {
			parts = append(parts, fmt.Sprintf("%d-%d", a, b))
		} else {
			parts = append(parts, strconv.Itoa(a))
		}
	}
	return strings.Join(parts, ","), nil
}

func statusCode(s string) (int, error) {
	if len(s) != 3 {
		return 0, fmt.Errorf("not a status code")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("not a status code")
	}
	return n, nil
}
