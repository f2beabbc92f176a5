package haproxyconfig_test

import (
	"fmt"
	"strings"
	"testing"

	"keel/actors/haproxyconfig"
	"keel/store/storepb"
)

// A field that reaches the file, how to set it on the fixture, the object and API
// field an *Unsupported must name, and values that must be refused.
type injectField struct {
	name          string
	set           func(tr *storepb.Tree, value string)
	object, field string
	hostile       []string
	tricky        []string // legal values full of haproxy syntax: must render as one word
}

// Values no field may let through: each would end the line and add a directive.
var lineBreaks = []string{
	"x\nserver evil 192.0.2.1:80",
	"x\r\nbackend evil",
	"x\rfrontend evil",
	"x\x00y",
	"x\u0085y", // NEL
	"x\u2028y",
	"x\xffy", // not UTF-8
}

func injectionFields() []injectField {
	withRule := func(r *storepb.L7Rule) func(*storepb.Tree, string) {
		return func(tr *storepb.Tree, v string) {
			r := clone(r)
			switch r.Type {
			case "HEADER", "COOKIE", "SSL_DN_FIELD":
				if r.Key == "" {
					r.Key = v
				} else {
					r.Value = v
				}
			default:
				r.Value = v
			}
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1}, r)
		}
	}
	monitor := func(f func(*storepb.HealthMonitor, string)) func(*storepb.Tree, string) {
		return func(tr *storepb.Tree, v string) {
			hm := httpMonitor()
			hm.HttpVersion = "1.1"
			f(hm, v)
			withMonitor(tr, hm)
		}
	}
	ruleTricky := []string{`a'b`, `''`, `a#b`, `a"b`, `"`, `a\b`, `\`, `${HOME}`, `$HOME`, `%[src]`, `%%`, `-i`, `--`, `{`, `}`, `!x`, `é✓`, `"quoted value"`}
	return []injectField{
		{name: "vip_address", object: "load balancer", field: "vip_address",
			set:     func(tr *storepb.Tree, v string) { tr.LoadBalancer.VipAddress = v },
			hostile: []string{"127.0.0.1 ssl", "127.0.0.1:80", "fe80::1%eth0", "localhost", "127.0.0.1#"}},
		{name: "additional_vips", object: "load balancer", field: "additional_vips",
			set: func(tr *storepb.Tree, v string) {
				tr.LoadBalancer.AdditionalVips = []*storepb.AdditionalVip{{IpAddress: v}}
			},
			hostile: []string{"127.0.0.2 ssl", ""}},
		{name: "allowed_cidrs", object: "listener", field: "allowed_cidrs",
			set:     func(tr *storepb.Tree, v string) { listener(tr).AllowedCidrs = []string{v} },
			hostile: []string{"10.0.0.0/8 0.0.0.0/0", "10.0.0.0", "10.0.0.0/8#", "any"}},
		{name: "insert_headers value", object: "listener", field: "insert_headers",
			set: func(tr *storepb.Tree, v string) {
				listener(tr).InsertHeaders = map[string]string{"X-Forwarded-For": v}
			},
			hostile: []string{"true x", "yes"}},
		{name: "insert_headers key", object: "listener", field: "insert_headers",
			set: func(tr *storepb.Tree, v string) {
				listener(tr).InsertHeaders = map[string]string{v: "true"}
			},
			hostile: []string{"X-Forwarded-For x"}},
		{name: "tls_ciphers", object: "pool", field: "tls_ciphers",
			set: func(tr *storepb.Tree, v string) {
				pool(tr, poolA).TlsEnabled, pool(tr, poolA).TlsCiphers = true, v
			},
			hostile: []string{"ALL verify required", "ALL#x", "ALL'x", `ALL"x`, "ALL,x", "ALL$x", "ALL\tx"},
			tricky:  []string{"HIGH:!aNULL:+RSA:-MD5:@STRENGTH:@SECLEVEL=1:ECDHE-RSA-AES128-GCM-SHA256"}},
		{name: "tls_versions", object: "pool", field: "tls_versions",
			set: func(tr *storepb.Tree, v string) {
				pool(tr, poolA).TlsEnabled, pool(tr, poolA).TlsVersions = true, []string{v}
			},
			hostile: []string{"TLSv1.2 x", "no-tlsv12"}},
		{name: "alpn_protocols", object: "pool", field: "alpn_protocols",
			set: func(tr *storepb.Tree, v string) {
				pool(tr, poolA).TlsEnabled, pool(tr, poolA).AlpnProtocols = true, []string{v}
			},
			hostile: []string{"h2 x", "h2,x"}},
		{name: "cookie_name", object: "pool", field: "session_persistence",
			set: func(tr *storepb.Tree, v string) {
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "APP_COOKIE", CookieName: v}
			},
			hostile: []string{"a b", "a#b", "a'b", `a"b`, "a)b", "a(b", "a,b", "a$b", `a\b`, "a`b", ""},
			tricky:  []string{"a.b-c_d!%&*+^|~"}},
		{name: "url_path", object: "health monitor", field: "url_path",
			set:     monitor(func(hm *storepb.HealthMonitor, v string) { hm.UrlPath = v }),
			hostile: []string{"/a b", "/a\tb", "health"},
			tricky:  []string{`/a'b#c$d%41?x="y"&z=\`, "/${HOME}", "/%[src]"}},
		{name: "http_method", object: "health monitor", field: "http_method",
			set:     monitor(func(hm *storepb.HealthMonitor, v string) { hm.HttpMethod = v }),
			hostile: []string{"GET /x", "get", "GET#"}},
		{name: "domain_name", object: "health monitor", field: "domain_name",
			set:     monitor(func(hm *storepb.HealthMonitor, v string) { hm.DomainName = v }),
			hostile: []string{"a b", "a#b", "a'b", "a/b", "a:80", "a..b"},
			tricky:  []string{"www.example.com.", "_srv.a-b.example"}},
		{name: "expected_codes", object: "health monitor", field: "expected_codes",
			set:     monitor(func(hm *storepb.HealthMonitor, v string) { hm.ExpectedCodes = v }),
			hostile: []string{"200 x", "2000", "abc", "200-", "204-200", "099", "600", "200;201", "+20"},
			tricky:  []string{"200 , 201", "100-599", "200-204,301,302"}},
		{name: "http_version", object: "health monitor", field: "http_version",
			set:     monitor(func(hm *storepb.HealthMonitor, v string) { hm.HttpVersion = v }),
			hostile: []string{"1.1 x", "2"}},
		{name: "member address", object: "member", field: "address",
			set:     func(tr *storepb.Tree, v string) { member(tr, memberA1).Address = v },
			hostile: []string{"127.0.0.1 backup", "127.0.0.1:1", "fe80::1%eth0", "example.com", "127.0.0.1#"}},
		{name: "monitor_address", object: "member", field: "monitor_address",
			set: func(tr *storepb.Tree, v string) {
				withMonitor(tr, httpMonitor())
				member(tr, memberA1).MonitorAddress = v
			},
			hostile: []string{"127.0.0.2 backup", "127.0.0.2:1"}},
		{name: "member id", object: "member", field: "id",
			set:     func(tr *storepb.Tree, v string) { member(tr, memberA1).Id = v },
			hostile: []string{"a b", "member-1", memberA1 + " backup"}},
		{name: "redirect_url", object: "l7policy", field: "redirect_url",
			set: func(tr *storepb.Tree, v string) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_URL", RedirectUrl: v, Position: 1},
					pathRule(rule1, "STARTS_WITH", "/"))
			},
			hostile: []string{"http://x/ a", "http://x/\ta", "javascript:alert(1)", "/relative", "http://", "ftp://x/"},
			tricky:  []string{`http://x/a'b#c%20${HOME}"q"\`, `http://x/%25%5B`, "https://user@x:8443/p?q=1&r=%25"}},
		{name: "redirect_prefix", object: "l7policy", field: "redirect_prefix",
			set: func(tr *storepb.Tree, v string) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_PREFIX", RedirectPrefix: v, Position: 1},
					pathRule(rule1, "STARTS_WITH", "/"))
			},
			hostile: []string{"http://x a", "x"},
			tricky:  []string{`https://x/'#%41`}},
		{name: "PATH value", object: "l7rule", field: "value",
			set:     withRule(pathRule(rule1, "EQUAL_TO", "")),
			hostile: []string{""},
			tricky:  ruleTricky},
		{name: "PATH regex", object: "l7rule", field: "value",
			set:    withRule(pathRule(rule1, "REGEX", "")),
			tricky: []string{`^/a'b\d+#$`, `"x"`, `\s+`}},
		{name: "HOST_NAME value", object: "l7rule", field: "value",
			set:    withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HOST_NAME", CompareType: "EQUAL_TO"}),
			tricky: ruleTricky},
		{name: "HEADER value", object: "l7rule", field: "value",
			set:    withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HEADER", Key: "X-A", CompareType: "CONTAINS"}),
			tricky: ruleTricky},
		{name: "COOKIE value", object: "l7rule", field: "value",
			set:    withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "COOKIE", Key: "c", CompareType: "STARTS_WITH"}),
			tricky: ruleTricky},
		{name: "FILE_TYPE value", object: "l7rule", field: "value",
			set:    withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "FILE_TYPE", CompareType: "EQUAL_TO"}),
			tricky: ruleTricky},
		{name: "SSL_DN_FIELD value", object: "l7rule", field: "value",
			set:    withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "SSL_DN_FIELD", Key: "CN", CompareType: "ENDS_WITH"}),
			tricky: ruleTricky},
		{name: "HEADER key", object: "l7rule", field: "key",
			set:     withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HEADER", CompareType: "EQUAL_TO", Value: "v"}),
			hostile: []string{"X A", "X#", "X'", `X"`, "X,1", "X)", "X(", `X\`, "X$", ""},
			tricky:  []string{"X-A.b_c!%&*+^|~"}},
		{name: "COOKIE key", object: "l7rule", field: "key",
			set:     withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "COOKIE", CompareType: "EQUAL_TO", Value: "v"}),
			hostile: []string{"c d", "c)", "c,d", "c#"}},
		{name: "SSL_DN_FIELD key", object: "l7rule", field: "key",
			set:     withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "SSL_DN_FIELD", CompareType: "EQUAL_TO", Value: "v"}),
			hostile: []string{"CN)", "CN,1", "C N", "1CN"}},
		{name: "SSL_VERIFY_RESULT value", object: "l7rule", field: "value",
			set:     withRule(&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "SSL_VERIFY_RESULT", CompareType: "EQUAL_TO"}),
			hostile: []string{"0 or 1", "-1", "0x1", "1234567890"}},
		{name: "l7rule id", object: "l7rule", field: "id",
			set: func(tr *storepb.Tree, v string) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1}, pathRule(v, "EQUAL_TO", "/"))
			},
			hostile: []string{"r 1", "keel_pool_chosen", "or"}},
	}
}

// TestInjection: for every string that reaches the file, values that would break a
// line or a word are refused by Check and Render, each with the field named; legal
// values full of haproxy syntax render as one word that haproxy accepts, without
// adding a line.
func TestInjection(t *testing.T) {
	needHaproxy(t)
	for _, f := range injectionFields() {
		t.Run(f.name, func(t *testing.T) {
			for _, v := range append(append([]string{}, lineBreaks...), f.hostile...) {
				tr := baseTree()
				f.set(tr, v)
				err := haproxyconfig.Check(tr)
				if !isUnsupported(err, f.object, f.field) {
					t.Errorf("Check accepted %q (or refused it for another field): %v", v, err)
					continue
				}
				if strings.ContainsAny(err.Error(), "\r\n\x00") {
					t.Errorf("the refusal of %q carries a line break: %q", v, err)
				}
				vw, verr := haproxyconfig.ViewOf(tr, lisID)
				if verr != nil {
					t.Fatal(verr)
				}
				if cfg, err := haproxyconfig.Render(vw); !isUnsupported(err, f.object, f.field) {
					t.Errorf("Render accepted %q: %v\n%s", v, err, cfg)
				}
			}
			if len(f.tricky) == 0 {
				return
			}
			// The baseline: the first tricky value replaced by a plain one.
			plain := baseTree()
			f.set(plain, plainLike(f.tricky[0]))
			base, err := render(t, plain)
			if err != nil {
				t.Fatalf("plain value: %v", err)
			}
			for _, v := range f.tricky {
				tr := baseTree()
				f.set(tr, v)
				if err := haproxyconfig.Check(tr); err != nil {
					t.Errorf("Check refused the legal %q: %v", v, err)
					continue
				}
				cfg, err := render(t, tr)
				if err != nil {
					t.Errorf("Render refused the legal %q: %v", v, err)
					continue
				}
				if got, want := strings.Count(string(cfg), "\n"), strings.Count(string(base), "\n"); got != want {
					t.Errorf("%q changed the number of lines (%d, want %d):\n%s", v, got, want, numbered(cfg))
				}
				mustValidate(t, cfg)
			}
		})
	}
}

// plainLike is a harmless value of the same kind as v.
func plainLike(v string) string {
	switch {
	case strings.HasPrefix(v, "http"):
		return "http://example.com/"
	case strings.HasPrefix(v, "/"):
		return "/plain"
	case strings.Contains(v, "example"):
		return "example.com"
	case v != "" && v[0] >= '0' && v[0] <= '9':
		return "200"
	}
	return fmt.Sprintf("plain%d", len(v))
}
