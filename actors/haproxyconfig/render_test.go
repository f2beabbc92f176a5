package haproxyconfig_test

import (
	"fmt"
	"strings"
	"testing"

	"keel/actors/haproxyconfig"
	"keel/store/storepb"
)

func i32(v int32) *int32 { return &v }

// TestRenderFeatures renders one feature per case, checks the lines that map it, and
// has haproxy -c validate every rendering (as keel-agent does on upload), with no
// warning allowed.
func TestRenderFeatures(t *testing.T) {
	needHaproxy(t)
	A1, A2 := "server "+memberA1+" 127.0.0.1:9001", "server "+memberA2+" 127.0.0.1:9002"
	cases := []struct {
		name   string
		mutate func(*storepb.Tree)
		want   []string // lines (trimmed) or, ending in "…", line prefixes
		absent []string // substrings that must not appear
		order  []string // substrings that must appear in this order
	}{
		{name: "HTTP listener, round robin",
			want: []string{"frontend " + lisID, "mode http", "bind 127.0.0.1:8080", "maxconn 50000", "timeout client 50000ms",
				"default_backend " + poolA, "backend " + poolA, "balance roundrobin", "fullconn 50000", "option allbackups",
				"timeout connect 5000ms", "timeout server 50000ms", A1 + " weight 1", A2 + " weight 1"},
			absent: []string{"backend " + poolB, "\nglobal", "    stats socket", "check", "tcp-request"},
			order:  []string{A1, A2}},
		{name: "HTTPS passthrough listener",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "HTTPS"
				pool(tr, poolA).Protocol = "HTTPS"
			},
			want: []string{"mode tcp", "backend " + poolA}, absent: []string{"mode http", "ssl"}},
		{name: "TCP listener, TCP pool",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "TCP"
				pool(tr, poolA).Protocol = "TCP"
			},
			want: []string{"mode tcp"}, absent: []string{"mode http"}},
		{name: "TCP listener, HTTP pool",
			mutate: func(tr *storepb.Tree) { listener(tr).Protocol = "TCP" },
			order:  []string{"frontend", "mode tcp", "backend", "mode http"}},
		{name: "HTTPS listener, TCP pool",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "HTTPS"
				pool(tr, poolA).Protocol = "TCP"
			},
			want: []string{"mode tcp"}, absent: []string{"mode http"}},
		{name: "PROXY members on an HTTP listener",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).Protocol = "PROXY" },
			want:   []string{"mode http", A1 + " weight 1 send-proxy"}},
		{name: "PROXYV2 members on a TCP listener",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "TCP"
				pool(tr, poolA).Protocol = "PROXYV2"
			},
			want: []string{A1 + " weight 1 send-proxy-v2"}, absent: []string{"mode http"}},
		{name: "PROXYV2 on an HTTPS listener",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "HTTPS"
				pool(tr, poolA).Protocol = "PROXYV2"
			},
			want: []string{A1 + " weight 1 send-proxy-v2"}, absent: []string{"mode http"}},
		{name: "LEAST_CONNECTIONS",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).LbAlgorithm = "LEAST_CONNECTIONS" },
			want:   []string{"balance leastconn"}},
		{name: "SOURCE_IP",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).LbAlgorithm = "SOURCE_IP" },
			want:   []string{"balance source"}},
		{name: "SOURCE_IP persistence",
			mutate: func(tr *storepb.Tree) {
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "SOURCE_IP"}
			},
			want: []string{"stick-table type ipv6 size 10k", "stick on src"}},
		{name: "SOURCE_IP persistence on a TCP listener",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "TCP"
				pool(tr, poolA).Protocol = "TCP"
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "SOURCE_IP"}
			},
			want: []string{"stick-table type ipv6 size 10k", "stick on src"}},
		{name: "HTTP_COOKIE persistence",
			mutate: func(tr *storepb.Tree) {
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "HTTP_COOKIE"}
			},
			want: []string{"cookie SRV insert indirect nocache", A1 + " weight 1 cookie " + memberA1}},
		{name: "APP_COOKIE persistence",
			mutate: func(tr *storepb.Tree) {
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "APP_COOKIE", CookieName: "JSESSIONID"}
			},
			want: []string{"stick-table type string len 64 size 10k", "stick store-response res.cook(JSESSIONID)",
				"stick match req.cook(JSESSIONID)"}},
		{name: "HTTP monitor",
			mutate: func(tr *storepb.Tree) { withMonitor(tr, httpMonitor()) },
			want: []string{"timeout check 3s", "option httpchk GET '/'", "http-check expect status 200",
				A1 + " weight 1 check inter 5s fall 3 rise 2"}},
		{name: "HTTP monitor, HEAD, path, HTTP/1.0, code list",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.HttpMethod, hm.UrlPath, hm.HttpVersion, hm.ExpectedCodes = "HEAD", "/health?full=1&x='y'", "1.0", "200, 202,204"
				withMonitor(tr, hm)
			},
			want:   []string{`option httpchk HEAD '/health?full=1&x='\''y'\''' HTTP/1.0`, "http-check expect status 200,202,204"},
			absent: []string{"http-check send"}},
		{name: "HTTP monitor, HTTP/1.1 with a domain, code range",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.HttpVersion, hm.DomainName, hm.ExpectedCodes = "1.1", "www.example.com", "200-299"
				withMonitor(tr, hm)
			},
			want: []string{"option httpchk GET '/' HTTP/1.1", "http-check send hdr Host www.example.com",
				"http-check expect status 200-299"}},
		{name: "HTTP monitor defaults when fields are empty",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.HttpMethod, hm.UrlPath, hm.ExpectedCodes, hm.Timeout = "", "", "", 0
				withMonitor(tr, hm)
			},
			want: []string{"option httpchk GET '/'", "http-check expect status 200"}, absent: []string{"timeout check"}},
		{name: "HTTPS monitor",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.Type = "HTTPS"
				withMonitor(tr, hm)
			},
			want: []string{"option httpchk GET '/'", A1 + " weight 1 check check-ssl verify none inter 5s fall 3 rise 2"}},
		{name: "TCP monitor",
			mutate: func(tr *storepb.Tree) {
				withMonitor(tr, &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, Type: "TCP",
					Delay: 2, Timeout: 1, MaxRetries: 3, MaxRetriesDown: 4})
			},
			want:   []string{"timeout check 1s", A1 + " weight 1 check inter 2s fall 4 rise 3"},
			absent: []string{"httpchk", "http-check", "check-ssl"}},
		{name: "PING monitor is a TCP connect check",
			mutate: func(tr *storepb.Tree) {
				withMonitor(tr, &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, Type: "PING",
					Delay: 2, Timeout: 1, MaxRetries: 3, MaxRetriesDown: 4})
			},
			want:   []string{A1 + " weight 1 check inter 2s fall 4 rise 3"},
			absent: []string{"external-check", "httpchk", "check-ssl", "insecure-fork"}},
		{name: "TLS-HELLO monitor is a TLS handshake",
			mutate: func(tr *storepb.Tree) {
				listener(tr).Protocol = "HTTPS"
				pool(tr, poolA).Protocol = "HTTPS"
				withMonitor(tr, &storepb.HealthMonitor{Id: monitorA, PoolId: poolA, AdminStateUp: true, Type: "TLS-HELLO",
					Delay: 2, Timeout: 1, MaxRetries: 3, MaxRetriesDown: 4})
			},
			want:   []string{A1 + " weight 1 check check-ssl verify none inter 2s fall 4 rise 3"},
			absent: []string{"httpchk", "ssl-hello-chk"}},
		{name: "disabled monitor: no checks",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.AdminStateUp = false
				withMonitor(tr, hm)
			},
			absent: []string{"check", "httpchk"}},
		{name: "monitor being deleted: no checks",
			mutate: func(tr *storepb.Tree) {
				hm := httpMonitor()
				hm.ProvisioningStatus = "PENDING_DELETE"
				withMonitor(tr, hm)
			},
			absent: []string{"check", "httpchk"}},
		{name: "member weight, backup, disabled, monitor address and port",
			mutate: func(tr *storepb.Tree) {
				withMonitor(tr, httpMonitor())
				a1, a2 := member(tr, memberA1), member(tr, memberA2)
				a1.Weight, a1.MonitorAddress, a1.MonitorPort = 7, "127.0.0.2", i32(9100)
				a2.Weight, a2.Backup, a2.AdminStateUp = 0, true, false
			},
			want: []string{A1 + " weight 7 check inter 5s fall 3 rise 2 addr 127.0.0.2 port 9100",
				A2 + " weight 0 check inter 5s fall 3 rise 2 backup disabled"}},
		{name: "monitor address without a monitor is not rendered",
			mutate: func(tr *storepb.Tree) {
				member(tr, memberA1).MonitorAddress, member(tr, memberA1).MonitorPort = "127.0.0.2", i32(9100)
			},
			want: []string{A1 + " weight 1"}, absent: []string{"addr", "port 9100"}},
		{name: "member being deleted is left out",
			mutate: func(tr *storepb.Tree) { member(tr, memberA2).ProvisioningStatus = "PENDING_DELETE" },
			want:   []string{A1 + " weight 1"}, absent: []string{memberA2}},
		{name: "IPv6 member and additional VIPs",
			mutate: func(tr *storepb.Tree) {
				member(tr, memberA1).Address = "::1"
				tr.LoadBalancer.AdditionalVips = []*storepb.AdditionalVip{{IpAddress: "127.0.0.2"}, {IpAddress: "::1"}}
			},
			want: []string{"server " + memberA1 + " ::1:9001 weight 1", "bind 127.0.0.1:8080", "bind 127.0.0.2:8080", "bind ::1:8080"}},
		{name: "connection limit",
			mutate: func(tr *storepb.Tree) { listener(tr).ConnectionLimit = 100 },
			want:   []string{"maxconn 100", "fullconn 100"}, absent: []string{"maxconn 50000"}},
		{name: "timeouts",
			mutate: func(tr *storepb.Tree) {
				l := listener(tr)
				l.TimeoutClientData, l.TimeoutMemberConnect, l.TimeoutMemberData, l.TimeoutTcpInspect = 1000, 2000, 3000, 4000
			},
			want: []string{"timeout client 1000ms", "timeout connect 2000ms", "timeout server 3000ms", "tcp-request inspect-delay 4000ms"}},
		{name: "zero timeouts take Octavia's defaults",
			mutate: func(tr *storepb.Tree) {
				l := listener(tr)
				l.TimeoutClientData, l.TimeoutMemberConnect, l.TimeoutMemberData = 0, 0, 0
			},
			want: []string{"timeout client 50000ms", "timeout connect 5000ms", "timeout server 50000ms"}, absent: []string{"inspect-delay"}},
		{name: "allowed CIDRs",
			mutate: func(tr *storepb.Tree) { listener(tr).AllowedCidrs = []string{"10.1.2.3/8", "192.168.0.0/24"} },
			want: []string{"acl keel_allowed_cidr src 10.0.0.0/8", "acl keel_allowed_cidr src 192.168.0.0/24",
				"tcp-request connection reject if !keel_allowed_cidr"}},
		{name: "insert headers",
			mutate: func(tr *storepb.Tree) {
				listener(tr).InsertHeaders = map[string]string{"X-Forwarded-For": "true", "X-Forwarded-Port": "True", "X-Forwarded-Proto": "true"}
			},
			want: []string{"option forwardfor", "http-request set-header X-Forwarded-Port %[dst_port]",
				"http-request set-header X-Forwarded-Proto http"}},
		{name: "insert headers set to false",
			mutate: func(tr *storepb.Tree) {
				listener(tr).InsertHeaders = map[string]string{"X-Forwarded-For": "False", "X-Forwarded-Proto": "false"}
			},
			absent: []string{"forwardfor", "set-header"}},
		{name: "insert headers on PROXY members of an HTTP listener",
			mutate: func(tr *storepb.Tree) {
				pool(tr, poolA).Protocol = "PROXY"
				listener(tr).InsertHeaders = map[string]string{"X-Forwarded-For": "true"}
			},
			want: []string{"option forwardfor"}},
		{name: "pool TLS to members without certificates",
			mutate: func(tr *storepb.Tree) {
				p := pool(tr, poolA)
				p.TlsEnabled, p.TlsCiphers, p.TlsVersions, p.AlpnProtocols = true, "ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256",
					[]string{"TLSv1.2", "TLSv1.3"}, []string{"h2", "http/1.1"}
			},
			want: []string{A1 + " weight 1 ssl verify none ciphers ECDHE-RSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256 no-sslv3 no-tlsv10 no-tlsv11 alpn h2,http/1.1"}},
		{name: "pool TLS without options",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).TlsEnabled = true },
			want:   []string{A1 + " weight 1 ssl verify none"}, absent: []string{"ciphers", "no-tls", "alpn"}},
		{name: "no default pool: no backend, 503",
			mutate: func(tr *storepb.Tree) { listener(tr).DefaultPoolId = "" },
			absent: []string{"default_backend", "backend "}},
		{name: "disabled default pool: no backend, 503",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).AdminStateUp = false },
			absent: []string{"default_backend", "backend "}},
		{name: "default pool being deleted: no backend",
			mutate: func(tr *storepb.Tree) { pool(tr, poolA).ProvisioningStatus = "PENDING_DELETE" },
			absent: []string{"default_backend", "backend "}},
		{name: "L7 policies in position order",
			mutate: func(tr *storepb.Tree) {
				// Created in another order than their positions.
				addPolicy(tr, &storepb.L7Policy{Id: policy3, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 3},
					pathRule(rule3, "STARTS_WITH", "/b"))
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					pathRule(rule1, "EQUAL_TO", "/forbidden"))
				addPolicy(tr, &storepb.L7Policy{Id: policy4, AdminStateUp: true, Action: "REDIRECT_PREFIX", RedirectPrefix: "https://example.com", Position: 4},
					pathRule(rule4, "ENDS_WITH", ".php"))
				addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REDIRECT_TO_URL",
					RedirectUrl: "http://example.com/a%20b?c='d'", RedirectHttpCode: 301, Position: 2},
					pathRule(rule2, "CONTAINS", "old"))
			},
			want: []string{
				"acl " + rule1 + " path -m str -- '/forbidden'",
				"http-request deny if " + rule1,
				"acl " + rule2 + " path -m sub -- 'old'",
				`http-request redirect location 'http://example.com/a%%20b?c='\''d'\''' code 301 if ` + rule2,
				"acl " + rule3 + " path -m beg -- '/b'",
				"acl keel_pool_chosen var(txn.keel_pool) -m found",
				"http-request set-var(txn.keel_pool) str(" + poolB + ") if " + rule3,
				"acl " + rule4 + " path -m end -- '.php'",
				"http-request redirect prefix 'https://example.com' code 302 if !keel_pool_chosen " + rule4,
				"use_backend " + poolB + " if { var(txn.keel_pool) -m str " + poolB + " }",
				"backend " + poolB,
				"server " + memberB1 + " 127.0.0.1:9003 weight 1",
			},
			order: []string{policy1, policy2, policy3, policy4, "use_backend", "default_backend", "backend " + poolA, "backend " + poolB}},
		{name: "every policy after a pool redirect is guarded",
			mutate: func(tr *storepb.Tree) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 1},
					pathRule(rule1, "STARTS_WITH", "/b"))
				addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolA, Position: 2},
					pathRule(rule2, "STARTS_WITH", "/a"))
				addPolicy(tr, &storepb.L7Policy{Id: policy3, AdminStateUp: true, Action: "REJECT", Position: 3},
					pathRule(rule3, "STARTS_WITH", "/"))
			},
			want: []string{
				"http-request set-var(txn.keel_pool) str(" + poolB + ") if " + rule1,
				"http-request set-var(txn.keel_pool) str(" + poolA + ") if !keel_pool_chosen " + rule2,
				"http-request deny if !keel_pool_chosen " + rule3,
				"use_backend " + poolB + " if { var(txn.keel_pool) -m str " + poolB + " }",
				"use_backend " + poolA + " if { var(txn.keel_pool) -m str " + poolA + " }",
			}},
		{name: "rules of a policy are ANDed, inverted ones negated",
			mutate: func(tr *storepb.Tree) {
				r2 := pathRule(rule2, "STARTS_WITH", "/admin/public")
				r2.Invert = true
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					pathRule(rule1, "STARTS_WITH", "/admin"), r2)
			},
			want: []string{"http-request deny if " + rule1 + " !" + rule2}},
		{name: "disabled rules, disabled and rule-less policies take no part",
			mutate: func(tr *storepb.Tree) {
				r2 := pathRule(rule2, "STARTS_WITH", "/x")
				r2.AdminStateUp = false
				r3 := pathRule(rule3, "STARTS_WITH", "/y")
				r3.ProvisioningStatus = "PENDING_DELETE"
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					pathRule(rule1, "STARTS_WITH", "/admin"), r2, r3)
				addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: false, Action: "REJECT", Position: 2},
					pathRule(rule4, "STARTS_WITH", "/z"))
				addPolicy(tr, &storepb.L7Policy{Id: policy3, AdminStateUp: true, Action: "REJECT", Position: 3})
				r5 := pathRule(rule5, "STARTS_WITH", "/w")
				addPolicy(tr, &storepb.L7Policy{Id: policy4, AdminStateUp: true, Action: "REJECT", Position: 4,
					ProvisioningStatus: "PENDING_DELETE"}, r5)
			},
			want:   []string{"http-request deny if " + rule1},
			absent: []string{rule2, rule3, rule4, rule5, policy2, policy3, policy4}},
		{name: "redirect to a disabled pool takes no part",
			mutate: func(tr *storepb.Tree) {
				pool(tr, poolB).AdminStateUp = false
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 1},
					pathRule(rule1, "STARTS_WITH", "/b"))
				addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REJECT", Position: 2},
					pathRule(rule2, "STARTS_WITH", "/c"))
			},
			want:   []string{"http-request deny if " + rule2},
			absent: []string{"backend " + poolB, "use_backend", "set-var", "keel_pool_chosen"}},
		{name: "L7 policies on a TCP listener inspect the stream",
			mutate: func(tr *storepb.Tree) {
				l := listener(tr)
				l.Protocol, l.TimeoutTcpInspect = "TCP", 2000
				pool(tr, poolA).Protocol, pool(tr, poolB).Protocol = "TCP", "TCP"
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HOST_NAME", CompareType: "EQUAL_TO", Value: "bad.example.com"})
				addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 2},
					&storepb.L7Rule{Id: rule2, AdminStateUp: true, Type: "HOST_NAME", CompareType: "EQUAL_TO", Value: "b.example.com"})
			},
			want: []string{"tcp-request inspect-delay 2000ms", "tcp-request content reject if " + rule1,
				"tcp-request content set-var(txn.keel_pool) str(" + poolB + ") if " + rule2}},
		{name: "a quoted header value matches without its quotes",
			mutate: func(tr *storepb.Tree) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HEADER", Key: "X-Agent", CompareType: "EQUAL_TO", Value: `"bad agent"`})
			},
			want: []string{"acl " + rule1 + " req.hdr(X-Agent) -m str -- 'bad agent'"}},
		{name: "a value that looks like a flag stays a pattern",
			mutate: func(tr *storepb.Tree) {
				addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
					&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: "HEADER", Key: "X-A", CompareType: "EQUAL_TO", Value: "-i"})
			},
			want: []string{"acl " + rule1 + " req.hdr(X-A) -m str -- '-i'"}},
		{name: "an ACTIVE_STANDBY load balancer renders as SINGLE",
			mutate: func(tr *storepb.Tree) {
				tr.LoadBalancer.Topology = "ACTIVE_STANDBY"
				pool(tr, poolA).SessionPersistence = &storepb.SessionPersistence{Type: "SOURCE_IP"}
			},
			want: []string{"stick-table type ipv6 size 10k"}, absent: []string{"peers"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := baseTree()
			if c.mutate != nil {
				c.mutate(tr)
			}
			if err := haproxyconfig.Check(tr); err != nil {
				t.Fatalf("Check: %v", err)
			}
			cfg, err := render(t, tr)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			text := string(cfg)
			lines := map[string]bool{}
			for _, l := range strings.Split(text, "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, w := range c.want {
				if !lines[w] {
					t.Errorf("missing line %q", w)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(text, a) {
					t.Errorf("unexpected %q", a)
				}
			}
			at := 0
			for _, o := range c.order {
				i := strings.Index(text[at:], o)
				if i < 0 {
					t.Errorf("%q missing or out of order", o)
					break
				}
				at += i + len(o)
			}
			if t.Failed() {
				t.Logf("configuration:\n%s", numbered(cfg))
			}
			mustValidate(t, cfg)
		})
	}
}

// TestRenderEveryRule renders each rule type with each compare type it takes, plain
// and inverted, and has haproxy validate them.
func TestRenderEveryRule(t *testing.T) {
	needHaproxy(t)
	type rc struct {
		typ, key, value string
		compares        []string
		want            string // the criterion, with %s for the match method
	}
	all := []string{"REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"}
	match := map[string]string{"REGEX": "reg", "STARTS_WITH": "beg", "ENDS_WITH": "end", "CONTAINS": "sub", "EQUAL_TO": "str"}
	rules := []rc{
		{"HOST_NAME", "", "www.example.com", all, "req.hdr(host) -i -m %s -- '%s'"},
		{"PATH", "", "/api/v1", all, "path -m %s -- '%s'"},
		{"HEADER", "X-Tenant", "blue", all, "req.hdr(X-Tenant) -m %s -- '%s'"},
		{"COOKIE", "session", "abc", all, "req.cook(session) -m %s -- '%s'"},
		{"SSL_DN_FIELD", "CN", "client", all, "ssl_c_s_dn(CN) -m %s -- '%s'"},
		{"FILE_TYPE", "", "jpg", []string{"REGEX"}, "path_end -m %s -- '%s'"},
		{"FILE_TYPE", "", "jpg", []string{"EQUAL_TO"}, "path_end -- '%[2]s'"},
		{"SSL_CONN_HAS_CERT", "", "True", []string{"EQUAL_TO"}, "ssl_c_used"},
		{"SSL_VERIFY_RESULT", "", "0", []string{"EQUAL_TO"}, "ssl_c_verify eq 0"},
	}
	for _, r := range rules {
		for _, cmpType := range r.compares {
			for _, invert := range []bool{false, true} {
				value := r.value
				if cmpType == "REGEX" {
					value = "^" + value + `(\.[a-z]+)?$`
				}
				name := fmt.Sprintf("%s/%s/invert=%v", r.typ, cmpType, invert)
				t.Run(name, func(t *testing.T) {
					tr := baseTree()
					addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REDIRECT_TO_POOL", RedirectPoolId: poolB, Position: 1},
						&storepb.L7Rule{Id: rule1, AdminStateUp: true, Type: r.typ, Key: r.key, Value: value, CompareType: cmpType, Invert: invert})
					if err := haproxyconfig.Check(tr); err != nil {
						t.Fatalf("Check: %v", err)
					}
					cfg, err := render(t, tr)
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					want := "acl " + rule1 + " " + strings.ReplaceAll(r.want, "%[2]s", value)
					if strings.Contains(r.want, "%s") {
						want = "acl " + rule1 + " " + fmt.Sprintf(r.want, match[cmpType], value)
					}
					cond := rule1
					if invert {
						cond = "!" + rule1
					}
					for _, w := range []string{want, "http-request set-var(txn.keel_pool) str(" + poolB + ") if " + cond} {
						if !strings.Contains(string(cfg), "    "+w+"\n") {
							t.Errorf("missing line %q in\n%s", w, numbered(cfg))
						}
					}
					mustValidate(t, cfg)
				})
			}
		}
	}
}

// TestRenderIsDeterministic: the caller's row order does not change the bytes (the
// agent compares md5s to decide whether to reload).
func TestRenderIsDeterministic(t *testing.T) {
	tr := baseTree()
	withMonitor(tr, httpMonitor())
	addPolicy(tr, &storepb.L7Policy{Id: policy1, AdminStateUp: true, Action: "REJECT", Position: 1},
		pathRule(rule1, "STARTS_WITH", "/a"), pathRule(rule2, "STARTS_WITH", "/b"))
	addPolicy(tr, &storepb.L7Policy{Id: policy2, AdminStateUp: true, Action: "REJECT", Position: 2},
		pathRule(rule3, "STARTS_WITH", "/c"))
	first, err := render(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	rev := func(n int, swap func(i, j int)) {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			swap(i, j)
		}
	}
	rev(len(tr.Members), func(i, j int) { tr.Members[i], tr.Members[j] = tr.Members[j], tr.Members[i] })
	rev(len(tr.L7Policies), func(i, j int) { tr.L7Policies[i], tr.L7Policies[j] = tr.L7Policies[j], tr.L7Policies[i] })
	rev(len(tr.L7Rules), func(i, j int) { tr.L7Rules[i], tr.L7Rules[j] = tr.L7Rules[j], tr.L7Rules[i] })
	second, err := render(t, tr)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("order changed the rendering:\n%s\n---\n%s", first, second)
	}
}

// TestNotLive: a listener or load balancer admin down or being deleted is not
// rendered (its haproxy is stopped instead), but still checked.
func TestNotLive(t *testing.T) {
	for name, mutate := range map[string]func(*storepb.Tree){
		"listener admin down":         func(tr *storepb.Tree) { listener(tr).AdminStateUp = false },
		"listener being deleted":      func(tr *storepb.Tree) { listener(tr).ProvisioningStatus = "PENDING_DELETE" },
		"load balancer admin down":    func(tr *storepb.Tree) { tr.LoadBalancer.AdminStateUp = false },
		"load balancer being deleted": func(tr *storepb.Tree) { tr.LoadBalancer.ProvisioningStatus = "PENDING_DELETE" },
	} {
		t.Run(name, func(t *testing.T) {
			tr := baseTree()
			mutate(tr)
			v, err := haproxyconfig.ViewOf(tr, lisID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Live() {
				t.Fatal("Live() = true")
			}
			if _, err := haproxyconfig.Render(v); err != haproxyconfig.ErrNotLive {
				t.Fatalf("Render: %v, want ErrNotLive", err)
			}
			pool(tr, poolA).LbAlgorithm = "SOURCE_IP_PORT"
			if _, err := haproxyconfig.Render(v); !isUnsupported(err, "pool", "lb_algorithm") {
				t.Fatalf("a listener that is not live is still checked: %v", err)
			}
		})
	}
}
