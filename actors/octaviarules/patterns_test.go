package octaviarules

import (
	"testing"

	"keel/store/storepb"
)

// TestConfigValuesRefuseInjection feeds every check of a value that reaches
// haproxy's configuration the classic injection: a newline followed by a
// directive (issue 11, item 5). Each must refuse it, and accept its plain form.
func TestConfigValuesRefuseInjection(t *testing.T) {
	const inject = "\nprogram x\n command /bin/sh -c id"
	checks := []struct {
		name  string
		good  string
		valid func(string) bool
	}{
		{"tls_ciphers", "ECDHE-RSA-AES128-GCM-SHA256:!aNULL", func(s string) bool { return CheckCiphers(s) == nil }},
		{"l7rule key/value", "^/api", SingleLine},
		{"expected_codes", "200-204", ExpectedCodesValid},
		{"domain_name", "www.example.com", DomainNameValid},
		{"url_path", "/health?x=1", URLPathValid},
		{"redirect_url", "https://example.com/a", RedirectURLValid},
		{"cookie_name", "JSESSIONID", CookieNameValid},
		{"cookie_name pattern", "JSESSIONID", CookieNameMatches},
	}
	for _, c := range checks {
		if !c.valid(c.good) {
			t.Errorf("%s: %q refused", c.name, c.good)
		}
		for _, bad := range []string{c.good + inject, c.good + "\n", c.good + "\r", c.good + " x"} {
			if c.valid(bad) && !(c.name == "l7rule key/value" && bad == c.good+" x") {
				t.Errorf("%s: %q accepted", c.name, bad)
			}
		}
	}
	if err := CheckCiphers("AES" + inject); err == nil || err.Error() != "Validation failure: Invalid characters in cipher string. "+
		"Only alphanumeric, -, +, !, :, @, =, _, and . are allowed." {
		t.Errorf("ciphers: %v", err)
	}
	if CheckCiphers("") != nil {
		t.Error("no ciphers (the default) refused")
	}
	// An SSL_DN_FIELD key ending in a newline passes Python's pattern; not keel's.
	if err := CheckL7Rule(&storepb.L7Rule{Type: "SSL_DN_FIELD", CompareType: "EQUAL_TO", Key: "CN\n", Value: "x"}); err == nil {
		t.Error("SSL_DN_FIELD key CN\\n accepted")
	}
	for _, r := range []*storepb.L7Rule{
		{Type: "HEADER", CompareType: "EQUAL_TO", Key: "X-A\nb", Value: "v"},
		{Type: "HEADER", CompareType: "EQUAL_TO", Key: "X-A", Value: "v\nw"},
		{Type: "COOKIE", CompareType: "EQUAL_TO", Key: "c", Value: "v\nw"},
		{Type: "PATH", CompareType: "STARTS_WITH", Value: "/a\nb"},
		{Type: "HOST_NAME", CompareType: "EQUAL_TO", Value: "a b"},
	} {
		if CheckL7Rule(r) == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}
