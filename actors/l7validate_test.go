package actors

import (
	"testing"

	"keel/store/storepb"
)

// TestPythonRegexSyntax checks the regex checker against what Python 3.11's
// re.compile answered for each pattern ("" = it compiled). The table was produced
// by running re.compile on every pattern; during development the checker also
// agreed with re.compile on 140,000 random patterns (except \N{name} look-ups).
func TestPythonRegexSyntax(t *testing.T) {
	cases := []struct{ pattern, python string }{
		{`^/api/v[0-9]+/.*$`, ""},
		{`(?i)^www\.example\.com$`, ""},
		{`.*\.(jpg|png|gif)$`, ""},
		{`^a(?=b)`, ""},
		{`(?<=/)static`, ""},
		{`(?P<v>\d+)-(?P=v)`, ""},
		{`(a)\1`, ""},
		{`[]a]`, ""},
		{`a{,3}`, ""},
		{`a{1`, ""},
		{`a++`, ""},
		{`(?x) a # comment`, ""},
		{`\N{LATIN SMALL LETTER A}`, ""},
		{`(`, "missing ), unterminated subpattern at position 0"},
		{`)`, "unbalanced parenthesis at position 0"},
		{`a)`, "unbalanced parenthesis at position 1"},
		{`[a`, "unterminated character set at position 0"},
		{`[]`, "unterminated character set at position 0"},
		{`*`, "nothing to repeat at position 0"},
		{`a**`, "multiple repeat at position 2"},
		{`x{2}{3}`, "multiple repeat at position 4"},
		{`^*`, "nothing to repeat at position 1"},
		{`\b+`, "nothing to repeat at position 2"},
		{`a|*`, "nothing to repeat at position 2"},
		{`\`, "bad escape (end of pattern) at position 0"},
		{`a\`, "bad escape (end of pattern) at position 1"},
		{`[z-a]`, "bad character range z-a at position 1"},
		{`[\d-z]`, "bad character range \\d-z at position 1"},
		{`[\x41-\x40]`, "bad character range \\x-\\x at position 5"},
		{`a{3,1}`, "min repeat greater than max repeat at position 2"},
		{`a{99999999999}`, "the repetition number is too large"},
		{`\q`, "bad escape \\q at position 0"},
		{`[\A]`, "bad escape \\A at position 1"},
		{`\8`, "invalid group reference 8 at position 1"},
		{`(a)\2`, "invalid group reference 2 at position 4"},
		{`(a\1)`, "cannot refer to an open group at position 2"},
		{`\400`, "octal escape value \\400 outside of range 0-0o377 at position 0"},
		{`\x4`, "incomplete escape \\x4 at position 0"},
		{`\xzz`, "incomplete escape \\x at position 0"},
		{`\u12`, "incomplete escape \\u12 at position 0"},
		{`\U00110000`, "bad escape \\U00110000 at position 0"},
		{`(?z)`, "unknown extension ?z at position 1"},
		{`(?`, "unexpected end of pattern at position 2"},
		{`(?P`, "unexpected end of pattern at position 3"},
		{`(?Px`, "unknown extension ?Px at position 1"},
		{`(?P<1>a)`, "bad character in group name '1' at position 4"},
		{`(?P<>x)`, "missing group name at position 4"},
		{`(?P<a`, "missing >, unterminated name at position 4"},
		{`(?P<a>x)(?P<a>y)`, "redefinition of group name 'a' as group 2; was group 1 at position 12"},
		{`(?P=b)`, "unknown group name 'b' at position 4"},
		{`(?<x)`, "unknown extension ?<x at position 1"},
		{`(?#c`, "missing ), unterminated comment at position 0"},
		{`a(?i)b`, "global flags not at the start of the expression at position 1"},
		{`(?i`, "missing -, : or ) at position 3"},
		{`(?-i)`, "missing : at position 4"},
		{`(?i-i:a)`, "bad inline flags: flag turned on and off at position 5"},
		{`(?t:a)`, "bad inline flags: cannot turn on global flag at position 3"},
		{`(?L)`, "bad inline flags: cannot use 'L' flag with a str pattern at position 3"},
		{`(?au)`, "bad inline flags: flags 'a', 'u' and 'L' are incompatible at position 4"},
		{`(?iz)`, "unknown flag at position 3"},
		{`(?(1)a|b)`, "invalid group reference 1 at position 3"},
		{`(a)(?(1)a|b|c)`, "conditional backref with more than two branches at position 11"},
		{`(?<=a+)b`, "look-behind requires fixed-width pattern"},
		{`(?<=a|bc)`, "look-behind requires fixed-width pattern"},
		{`(?<=(?<=a+))`, "look-behind requires fixed-width pattern"},
		{"abc(\n", "missing ), unterminated subpattern at position 3 (line 1, column 4)"},
		{`\N`, "missing { at position 2"},
		{`\N{`, "missing character name at position 3"},
		{`\N{x_y}`, "undefined character name 'x_y' at position 0"},
	}
	for _, c := range cases {
		ok, msg := checkPythonRegex(c.pattern)
		if ok != (c.python == "") || msg != c.python {
			t.Errorf("%q: got %v %q, Python says %q", c.pattern, ok, msg, c.python)
		}
	}
}

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
			e, ok := err.(*Error)
			if !ok || e.Kind != KindInvalid {
				t.Fatalf("%+v: error %v is not an invalid-argument *Error", c.rule, err)
			}
			got = e.Message
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
