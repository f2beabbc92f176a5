package haproxyconfig_test

import (
	"errors"
	"strings"
	"testing"

	"keel/actors/haproxyconfig"
	"keel/store/storepb"
)

func isUnsupported(err error, object, field string) bool {
	var u *haproxyconfig.Unsupported
	return errors.As(err, &u) && u.Object == object && u.Field == field
}

// refused asserts that Check refuses the tree and Render the listener's view with
// the same *Unsupported, whose message holds the words given.
func refused(t *testing.T, tr *storepb.Tree, object, field string, words ...string) {
	t.Helper()
	err := haproxyconfig.Check(tr)
	if !isUnsupported(err, object, field) {
		t.Fatalf("Check: %v, want an *Unsupported for %s %s", err, object, field)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Check's message %q does not say %q", err, w)
		}
	}
	v, verr := haproxyconfig.ViewOf(tr, lisID)
	if verr != nil {
		t.Fatal(verr)
	}
	if cfg, rerr := haproxyconfig.Render(v); !isUnsupported(rerr, object, field) {
		t.Fatalf("Render: %v, want an *Unsupported for %s %s\n%s", rerr, object, field, cfg)
	}
}

// TestRefusals: what the amphora driver cannot serve is refused by Check (before the
// write) and by Render, with the field and a reason.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name          string
		mutate        func(*storepb.Tree)
		object, field string
		words         []string
	}{
		{"TERMINATED_HTTPS", func(tr *storepb.Tree) {
			listener(tr).Protocol, listener(tr).DefaultTlsContainerRef = "TERMINATED_HTTPS", "https://barbican/v1/containers/x"
		}, "listener", "protocol", []string{"TERMINATED_HTTPS", "secret store"}},
		{"UDP listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "UDP", "UDP"
		}, "listener", "protocol", []string{"LVS"}},
		{"SCTP listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "SCTP", "SCTP"
		}, "listener", "protocol", []string{"LVS"}},
		{"PROMETHEUS listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, listener(tr).DefaultPoolId = "PROMETHEUS", ""
		}, "listener", "protocol", []string{"exporter"}},
		{"UDP pool", func(tr *storepb.Tree) { pool(tr, poolA).Protocol = "UDP" }, "pool", "protocol", []string{"LVS"}},
		{"SOURCE_IP_PORT", func(tr *storepb.Tree) { pool(tr, poolA).LbAlgorithm = "SOURCE_IP_PORT" }, "pool", "lb_algorithm", []string{"SOURCE_IP_PORT"}},
		{"UDP-CONNECT monitor", func(tr *storepb.Tree) {
			hm := httpMonitor()
			hm.Type = "UDP-CONNECT"
			withMonitor(tr, hm)
		}, "health monitor", "type", []string{"UDP"}},
		{"SCTP monitor", func(tr *storepb.Tree) {
			hm := httpMonitor()
			hm.Type = "SCTP"
			withMonitor(tr, hm)
		}, "health monitor", "type", []string{"SCTP"}},
		{"monitor delay 0", func(tr *storepb.Tree) {
			hm := httpMonitor()
			hm.Delay = 0
			withMonitor(tr, hm)
		}, "health monitor", "delay", nil},
		{"domain name with HTTP/1.0", func(tr *storepb.Tree) {
			hm := httpMonitor()
			hm.DomainName, hm.HttpVersion = "example.com", "1.0"
			withMonitor(tr, hm)
		}, "health monitor", "domain_name", []string{"1.1"}},
		{"client CA", func(tr *storepb.Tree) { listener(tr).ClientCaTlsContainerRef = "ref" }, "listener", "client_ca_tls_container_ref", []string{"secret store"}},
		{"client CRL", func(tr *storepb.Tree) { listener(tr).ClientCrlContainerRef = "ref" }, "listener", "client_crl_container_ref", nil},
		{"client authentication", func(tr *storepb.Tree) { listener(tr).ClientAuthentication = "MANDATORY" }, "listener", "client_authentication", nil},
		{"listener certificate", func(tr *storepb.Tree) { listener(tr).DefaultTlsContainerRef = "ref" }, "listener", "default_tls_container_ref", nil},
		{"SNI certificates", func(tr *storepb.Tree) { listener(tr).SniContainerRefs = []string{"ref"} }, "listener", "sni_container_refs", nil},
		{"listener ciphers", func(tr *storepb.Tree) { listener(tr).TlsCiphers = "ECDHE" }, "listener", "tls_ciphers", nil},
		{"listener TLS versions", func(tr *storepb.Tree) { listener(tr).TlsVersions = []string{"TLSv1.2"} }, "listener", "tls_versions", nil},
		{"listener ALPN", func(tr *storepb.Tree) { listener(tr).AlpnProtocols = []string{"h2"} }, "listener", "alpn_protocols", nil},
		{"client certificate header", func(tr *storepb.Tree) {
			listener(tr).InsertHeaders = map[string]string{"X-SSL-Client-Verify": "true"}
		}, "listener", "insert_headers", []string{"client certificate"}},
		{"unknown header", func(tr *storepb.Tree) {
			listener(tr).InsertHeaders = map[string]string{"X-Evil": "true"}
		}, "listener", "insert_headers", nil},
		{"insert header on a TCP listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "TCP", "TCP"
			listener(tr).InsertHeaders = map[string]string{"X-Forwarded-For": "true"}
		}, "listener", "insert_headers", []string{"HTTP listener"}},
		{"member client certificate", func(tr *storepb.Tree) {
			pool(tr, poolA).TlsEnabled, pool(tr, poolA).TlsContainerRef = true, "ref"
		}, "pool", "tls_container_ref", []string{"secret store"}},
		{"member CA", func(tr *storepb.Tree) {
			pool(tr, poolA).TlsEnabled, pool(tr, poolA).CaTlsContainerRef = true, "ref"
		}, "pool", "ca_tls_container_ref", nil},
		{"member CRL", func(tr *storepb.Tree) { pool(tr, poolA).CrlContainerRef = "ref" }, "pool", "crl_container_ref", nil},
		{"UDP persistence options", func(tr *storepb.Tree) {
			pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "SOURCE_IP", PersistenceTimeout: i32(60)}
		}, "pool", "session_persistence", []string{"UDP"}},
		{"HTTP_COOKIE on TCP traffic", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "TCP", "TCP"
			pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "HTTP_COOKIE"}
		}, "pool", "session_persistence", []string{"TCP"}},
		{"APP_COOKIE on PROXY members of a TCP listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "TCP", "PROXY"
			pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "APP_COOKIE", CookieName: "sid"}
		}, "pool", "session_persistence", nil},
		{"HTTP pool on an HTTPS listener", func(tr *storepb.Tree) { listener(tr).Protocol = "HTTPS" }, "pool", "protocol", []string{"cannot serve"}},
		{"redirect on a TCP listener", func(tr *storepb.Tree) {
			listener(tr).Protocol = "TCP"
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_URL", RedirectUrl: "http://x/", Position: 1},
				pathRule(rule1, "STARTS_WITH", "/"))
		}, "l7policy", "action", []string{"HTTP listener"}},
		{"redirect prefix on an HTTPS listener", func(tr *storepb.Tree) {
			listener(tr).Protocol, pool(tr, poolA).Protocol = "HTTPS", "HTTPS"
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_PREFIX", RedirectPrefix: "http://x", Position: 1},
				pathRule(rule1, "STARTS_WITH", "/"))
		}, "l7policy", "action", nil},
		{"bad redirect code", func(tr *storepb.Tree) {
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_URL", RedirectUrl: "http://x/", RedirectHttpCode: 304, Position: 1},
				pathRule(rule1, "STARTS_WITH", "/"))
		}, "l7policy", "redirect_http_code", nil},
		{"too many rules", func(tr *storepb.Tree) {
			var rules []*storepb.L7Rule
			for i := 0; i <= haproxyconfig.MaxRulesPerPolicy; i++ {
				id := rule1[:len(rule1)-3] + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
				rules = append(rules, pathRule(id, "STARTS_WITH", "/"))
			}
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1}, rules...)
		}, "l7policy", "rules", []string{"64 words"}},
		{"FILE_TYPE STARTS_WITH", func(tr *storepb.Tree) {
			addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
				&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "FILE_TYPE", CompareType: "STARTS_WITH", Value: "jp"})
		}, "l7rule", "compare_type", nil},
		{"admin-down rows are checked too", func(tr *storepb.Tree) {
			pool(tr, poolA).AdminStateUp = false
			pool(tr, poolA).LbAlgorithm = "SOURCE_IP_PORT"
		}, "pool", "lb_algorithm", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := baseTree()
			c.mutate(tr)
			refused(t, tr, c.object, c.field, c.words...)
		})
	}
}

// TestCheckSkipsRowsBeingDeleted: a row on its way out does not block a write.
func TestCheckSkipsRowsBeingDeleted(t *testing.T) {
	tr := baseTree()
	pool(tr, poolB).LbAlgorithm, pool(tr, poolB).ProvisioningStatus = "SOURCE_IP_PORT", "PENDING_DELETE"
	member(tr, memberA2).Address, member(tr, memberA2).ProvisioningStatus = "bad", "PENDING_DELETE"
	if err := haproxyconfig.Check(tr); err != nil {
		t.Fatal(err)
	}
	// An unused pool is checked all the same.
	pool(tr, poolB).ProvisioningStatus = "ACTIVE"
	if err := haproxyconfig.Check(tr); !isUnsupported(err, "pool", "lb_algorithm") {
		t.Fatalf("unused pool: %v", err)
	}
}

// TestCheckAcceptsUnallocatedVIP: a load balancer is checked before its VIP exists;
// rendering needs one.
func TestCheckAcceptsUnallocatedVIP(t *testing.T) {
	tr := baseTree()
	tr.LoadBalancer.VipAddress = ""
	if err := haproxyconfig.Check(tr); err != nil {
		t.Fatal(err)
	}
	if _, err := render(t, tr); !isUnsupported(err, "load balancer", "vip_address") {
		t.Fatalf("Render without a VIP: %v", err)
	}
}

// TestInconsistentView: a listener naming a pool the view lacks is the caller's
// error, not an Unsupported.
func TestInconsistentView(t *testing.T) {
	tr := baseTree()
	if _, err := haproxyconfig.ViewOf(tr, "99999999-0000-4000-8000-000000000000"); err == nil {
		t.Fatal("ViewOf an unknown listener")
	}
	v, err := haproxyconfig.ViewOf(tr, lisID)
	if err != nil {
		t.Fatal(err)
	}
	v.Pools = nil
	var u *haproxyconfig.Unsupported
	if _, err := haproxyconfig.Render(v); err == nil || errors.As(err, &u) {
		t.Fatalf("Render with the default pool missing: %v", err)
	}
	tr.Pools = tr.Pools[1:]
	if err := haproxyconfig.Check(tr); err == nil || errors.As(err, &u) {
		t.Fatalf("Check with the default pool missing: %v", err)
	}
}
