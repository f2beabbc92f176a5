package octaviarules

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"keel/actors/python"
	"keel/store/storepb"
)

// L7 rule types and compare types (Octavia's constants, in its order).
var (
	L7RuleTypes        = []string{"HOST_NAME", "PATH", "FILE_TYPE", "HEADER", "COOKIE", "SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD"}
	L7RuleCompareTypes = []string{"REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"}
)

// MaxRulesPerPolicy is Octavia's MAX_L7RULES_PER_L7POLICY.
const MaxRulesPerPolicy = 50

// CheckL7Rule checks a rule's data as a whole, as Octavia's l7rule_data does on
// create and on the rule an update would leave: what each type needs (a key for
// HEADER, COOKIE and SSL_DN_FIELD, none for the SSL_CONN_HAS_CERT and
// SSL_VERIFY_RESULT types), which compare types it takes, the characters a header
// name, header value or cookie value may hold, and that a REGEX compiles. The
// refusal is in Octavia's words: "Error parsing L7Rule: Invalid L7 Rule: L7 rule
// type requires a key".
func CheckL7Rule(r *storepb.L7Rule) error {
	if msg := l7RuleProblem(r); msg != "" {
		return Invalid("Error parsing L7Rule: " + msg)
	}
	return nil
}

func l7RuleProblem(r *storepb.L7Rule) string {
	if r.Value == "" {
		return "Invalid L7 Rule: L7 rule type requires a value"
	}
	comparison := r.CompareType == "STARTS_WITH" || r.CompareType == "ENDS_WITH" ||
		r.CompareType == "CONTAINS" || r.CompareType == "EQUAL_TO"
	switch r.Type {
	case "HEADER", "COOKIE":
		if r.Key == "" {
			return "Invalid L7 Rule: L7 rule type requires a key"
		}
		if !allIn(r.Key, headerNameChars) {
			return "Invalid characters in key"
		}
		switch {
		case r.CompareType == "REGEX":
			return regexProblem(r.Value)
		case comparison && r.Type == "HEADER" && !isHeaderValue(r.Value):
			return "Invalid characters in header value"
		case comparison && r.Type == "COOKIE" && !allIn(r.Value, cookieValueChars):
			return "Invalid characters in cookie value"
		case !comparison:
			return "Invalid L7 Rule: invalid comparison type for rule type"
		}
	case "HOST_NAME", "PATH":
		switch {
		case comparison && !isHeaderValue(r.Value):
			return "Invalid characters in comparison value"
		case r.CompareType == "REGEX":
			return regexProblem(r.Value)
		case !comparison:
			return "Invalid L7 Rule: invalid comparison type for rule type"
		}
	case "FILE_TYPE":
		switch r.CompareType {
		case "REGEX":
			return regexProblem(r.Value)
		case "EQUAL_TO":
			if !isHeaderValue(r.Value) {
				return "Invalid characters in comparison value"
			}
		default:
			return "Invalid L7 Rule: invalid comparison type for rule type"
		}
	case "SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD":
		return sslRuleProblem(r)
	default:
		return "Invalid L7 Rule: invalid rule type"
	}
	return ""
}

func sslRuleProblem(r *storepb.L7Rule) string {
	var msg string
	switch r.Type {
	case "SSL_CONN_HAS_CERT":
		switch {
		case r.Key != "":
			msg = fmt.Sprintf(`L7rule type %s does not use the "key" field.`, r.Type)
		case strings.ToLower(r.Value) != "true":
			msg = fmt.Sprintf("L7rule value %s is not a boolean True string.", r.Value)
		case r.CompareType != "EQUAL_TO":
			msg = fmt.Sprintf("L7rule type %s only supports the EQUAL_TO compare type.", r.Type)
		}
	case "SSL_VERIFY_RESULT":
		switch {
		case r.Key != "":
			msg = fmt.Sprintf(`L7rule type %s does not use the "key" field.`, r.Type)
		case !isDecimal(r.Value):
			msg = fmt.Sprintf("L7rule type %s needs a int value, which is >= 0", r.Type)
		case r.CompareType != "EQUAL_TO":
			msg = fmt.Sprintf("L7rule type %s only supports the EQUAL_TO compare type.", r.Type)
		}
	case "SSL_DN_FIELD":
		if r.CompareType == "REGEX" {
			if problem := regexProblem(r.Value); problem != "" {
				return problem
			}
		}
		switch {
		case r.Key == "" || r.Value == "":
			msg = fmt.Sprintf("L7rule type %s needs to specify a key and a value.", r.Type)
		case !dnField.MatchString(r.Key):
			msg = "Invalid L7rule distinguished name field."
		}
	}
	if msg != "" {
		return "Invalid L7 Rule: " + msg
	}
	return ""
}

// dnField is DISTINGUISHED_NAME_FIELD_REGEX. Python's "$" also matches before a
// final newline, so Octavia takes "CN\n"; keel does not (it would end a line of
// haproxy's configuration).
var dnField = regexp.MustCompile(`^[a-zA-Z][A-Za-z0-9-]*$`)

func regexProblem(value string) string {
	// A control character (a tab, a newline) would end the value in haproxy's
	// configuration, so keel refuses it here as well as in the renderer; Octavia
	// only checks that the expression compiles (a regex writes them as \t, \n).
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return "Invalid characters in comparison value"
		}
	}
	if err := python.CheckRegex(value); err != nil {
		return "Unable to parse regular expression: " + err.Error()
	}
	return ""
}

// Characters of HTTP header names and cookie values (RFCs 2616, 6265, 7230), as
// Octavia's HTTP_HEADER_NAME_REGEX and HTTP_COOKIE_VALUE_REGEX allow them.
const (
	headerNameChars  = "!#$%&'*+,-.^_`|~"
	cookieValueChars = "!#$%&'()*+,-./:<=>?@[]^_`{|}~"
)

// allIn reports whether s is non-empty and every character is an ASCII letter or
// digit or one of extra.
func allIn(s, extra string) bool {
	for _, r := range s {
		if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return s != ""
}

// isHeaderValue is Octavia's header value check: visible ASCII characters, or a
// double-quoted string that may also hold spaces and tabs.
func isHeaderValue(s string) bool {
	visible := func(r rune, alsoBlank bool) bool {
		return r >= 0x21 && r <= 0x7e || alsoBlank && (r == ' ' || r == '\t')
	}
	plain := s != ""
	for _, r := range s {
		plain = plain && visible(r, false)
	}
	if plain {
		return true
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for _, r := range s[1 : len(s)-1] {
		if !visible(r, true) {
			return false
		}
	}
	return true
}

// isDecimal is Python's str.isdigit for what int() then accepts.
func isDecimal(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}
