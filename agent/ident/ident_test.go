package ident

import (
	"strings"
	"testing"
)

func TestValidUUID(t *testing.T) {
	good := []string{"6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce", "6E2BC8A0-2548-4FB7-A5F0-FB1EF4A696CE"}
	bad := []string{"", "6e2bc8a02548-4fb7-a5f0-fb1ef4a696ce", "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696cg",
		"../../etc/passwd", "{6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce}", "6e2bc8a025484fb7a5f0fb1ef4a696ce",
		"6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce/..", "urn:uuid:6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"}
	for _, s := range good {
		if !ValidUUID(s) {
			t.Errorf("ValidUUID(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidUUID(s) {
			t.Errorf("ValidUUID(%q) = true", s)
		}
	}
}

func TestValidCertFilename(t *testing.T) {
	good := []string{"www.example.com.pem", "WILDCARD.example.com.pem", "a.pem", "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce.pem", "x_y-z.pem"}
	bad := []string{"", ".pem", "a.crt", "../a.pem", "a/b.pem", "..pem", "a..pem", ".hidden.pem", "-x.pem",
		"a.pem/", "a\x00.pem", "a b.pem", "/etc/a.pem", "a.pem.bak", "caf\u00e9.pem", "a.pem\n",
		strings.Repeat("a", MaxCertFilename-3) + ".pem", strings.Repeat("a", 251) + ".pem"}
	good = append(good, strings.Repeat("a", MaxCertFilename-4)+".pem")
	for _, s := range good {
		if !ValidCertFilename(s) {
			t.Errorf("ValidCertFilename(%q) = false", s)
		}
	}
	for _, s := range bad {
		if ValidCertFilename(s) {
			t.Errorf("ValidCertFilename(%q) = true", s)
		}
	}
}
