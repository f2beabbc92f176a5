package octaviarules

import (
	"testing"

	"keel/store/storepb"
)

func TestCheckL7Rule(t *testing.T) {
	rule := func(typ, compare, key, value string) *storepb.L7Rule {
		return &storepb.L7Rule{Type: typ, CompareType: compare, Key: key, Value: value}
	}
	cases := []struct {
		rule *storepb.L7Rule
		want string // "" = valid
	}{
		{rule("PATH", "STARTS_WITH", "", "/api"), ""},
		{rule("HOST_NAME", "EQUAL_TO", "", "www.example.com"), ""},
		{rule("HOST_NAME", "EQUAL_TO", "", `"quoted value"`), ""},
		{rule("HOST_NAME", "EQUAL_TO", "", "two words"), "Invalid characters in comparison value"},
		{rule("PATH", "REGEX", "", "^/a(?=b)"), ""},
		{rule("PATH", "REGEX", "", "/a("), "Unable to parse regular expression: missing ), unterminated subpattern at position 2"},
		// keel refuses control characters in a REGEX (haproxy would split the value).
		{rule("PATH", "REGEX", "", "^/a\tb"), "Invalid characters in comparison value"},
		{rule("HEADER", "REGEX", "X-A", "a\nb"), "Invalid characters in comparison value"},
		{rule("PATH", "EQUAL_TO", "", ""), "Invalid L7 Rule: L7 rule type requires a value"},
		{rule("FILE_TYPE", "EQUAL_TO", "", "jpg"), ""},
		{rule("FILE_TYPE", "STARTS_WITH", "", "jpg"), "Invalid L7 Rule: invalid comparison type for rule type"},
		{rule("HEADER", "EQUAL_TO", "", "x"), "Invalid L7 Rule: L7 rule type requires a key"},
		{rule("HEADER", "EQUAL_TO", "X-Bad Name", "x"), "Invalid characters in key"},
		{rule("HEADER", "CONTAINS", "X-Forwarded-For", "a b"), "Invalid characters in header value"},
		{rule("HEADER", "CONTAINS", "X-Forwarded-For", "10.0.0.1"), ""},
		{rule("COOKIE", "EQUAL_TO", "session", "abc"), ""},
		{rule("COOKIE", "EQUAL_TO", "session", "a;b"), "Invalid characters in cookie value"},
		{rule("COOKIE", "REGEX", "session", "a[b"), "Unable to parse regular expression: unterminated character set at position 1"},
		{rule("SSL_CONN_HAS_CERT", "EQUAL_TO", "", "True"), ""},
		{rule("SSL_CONN_HAS_CERT", "EQUAL_TO", "k", "true"), `Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT does not use the "key" field.`},
		{rule("SSL_CONN_HAS_CERT", "EQUAL_TO", "", "yes"), "Invalid L7 Rule: L7rule value yes is not a boolean True string."},
		{rule("SSL_CONN_HAS_CERT", "REGEX", "", "true"), "Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT only supports the EQUAL_TO compare type."},
		{rule("SSL_VERIFY_RESULT", "EQUAL_TO", "", "0"), ""},
		{rule("SSL_VERIFY_RESULT", "EQUAL_TO", "", "-1"), "Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0"},
		{rule("SSL_VERIFY_RESULT", "CONTAINS", "", "1"), "Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT only supports the EQUAL_TO compare type."},
		{rule("SSL_DN_FIELD", "EQUAL_TO", "CN", "example"), ""},
		{rule("SSL_DN_FIELD", "EQUAL_TO", "", "example"), "Invalid L7 Rule: L7rule type SSL_DN_FIELD needs to specify a key and a value."},
		{rule("SSL_DN_FIELD", "EQUAL_TO", "1CN", "example"), "Invalid L7 Rule: Invalid L7rule distinguished name field."},
		{rule("SSL_DN_FIELD", "REGEX", "CN", "*"), "Unable to parse regular expression: nothing to repeat at position 0"},
		{rule("", "EQUAL_TO", "", "x"), "Invalid L7 Rule: invalid rule type"},
	}
	for _, c := range cases {
		err := CheckL7Rule(c.rule)
		got := ""
		if err != nil {
			e, ok := err.(Invalid)
			if !ok {
				t.Fatalf("%+v: error %v is not an Invalid", c.rule, err)
			}
			got = string(e)
		}
		want := c.want
		if want != "" {
			want = "Error parsing L7Rule: " + want
		}
		if got != want {
			t.Errorf("%s %s key=%q value=%q: got %q, want %q", c.rule.Type, c.rule.CompareType, c.rule.Key, c.rule.Value, got, want)
		}
	}
}
