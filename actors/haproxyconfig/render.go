package haproxyconfig

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"keel/store/storepb"
)

// Defaults, as Octavia's [haproxy_amphora] options.
const (
	DefaultConnectionLimit      = 50000 // default_connection_limit, for connection_limit -1
	DefaultTimeoutClientData    = 50000 // ms, for 0
	DefaultTimeoutMemberConnect = 5000  // ms, for 0
	DefaultTimeoutMemberData    = 50000 // ms, for 0
	StickTableSize              = "10k" // haproxy_stick_size
)

// poolVar is the variable in which the first matching REDIRECT_TO_POOL policy
// records its pool, and decidedACL the ACL true once one did.
const (
	poolVar    = "txn.keel_pool"
	decidedACL = "keel_pool_chosen"
)

// Render writes the haproxy configuration of the view's listener, for keel-agent
// (PUT /listeners/{amphora}/{listener}/haproxy): a defaults section, one frontend
// named by the listener id and one backend per live pool the listener uses, named by
// the pool id, whose servers are named by member ids. The agent adds the global
// section with the stats socket and the pid file itself. Render first applies every
// check of Check to the view's rows (an *Unsupported when one fails), then answers
// ErrNotLive for a listener that is not live. The output depends only on the rows,
// not on their order in the view.
func Render(v *View) ([]byte, error) {
	if err := checkView(v); err != nil {
		return nil, err
	}
	if !v.Live() {
		return nil, ErrNotLive
	}
	w := &writer{}
	lb, l := v.LoadBalancer, v.Listener
	w.raw("# haproxy configuration of listener %s of load balancer %s, rendered by keel (actors/haproxyconfig).", l.Id, lb.Id)
	w.raw("# keel-agent runs it after its own global section (stats socket) with its pid file.")
	w.raw("defaults")
	w.line("retries 3")
	w.line("option redispatch")
	// No "option splice-request/response" (Octavia has them): haproxy sizes its
	// maxconn from the process's file descriptor limit, and the pipes splicing
	// reserves on top then exceed that limit, so haproxy refuses to start (seen with
	// a 20000 limit). Splicing only saves copies.
	w.line("option http-keep-alive")
	w.raw("")

	// The pools this listener sends to, in the order first used.
	var backends []*Pool
	use := func(id string) bool {
		p, _ := v.pool(id) // checkView made sure it exists
		if !livePool(p.Pool) {
			return false
		}
		if !slices.Contains(backends, p) {
			backends = append(backends, p)
		}
		return true
	}

	mode := listenerModes[l.Protocol]
	limit := int(l.ConnectionLimit)
	if limit <= 0 {
		limit = DefaultConnectionLimit
	}
	w.raw("frontend %s", l.Id)
	w.line("mode %s", mode)
	w.line("maxconn %d", limit)
	vip, _ := addr(lb.VipAddress)
	w.line("bind %s", hostPort(vip, l.ProtocolPort))
	for _, av := range lb.AdditionalVips {
		a, _ := addr(av.IpAddress)
		w.line("bind %s", hostPort(a, l.ProtocolPort))
	}
	w.line("timeout client %dms", or(l.TimeoutClientData, DefaultTimeoutClientData))
	if l.TimeoutTcpInspect > 0 {
		w.line("tcp-request inspect-delay %dms", l.TimeoutTcpInspect)
	}
	if len(l.AllowedCidrs) > 0 {
		for _, c := range l.AllowedCidrs {
			p, _ := netip.ParsePrefix(c)
			w.line("acl keel_allowed_cidr src %s", p.Masked())
		}
		w.line("tcp-request connection reject if !keel_allowed_cidr")
	}

	// The default pool's backend comes first, then those of redirects.
	defaultLive := l.DefaultPoolId != "" && use(l.DefaultPoolId)
	policies := livePolicies(v.Policies)
	chosen := false // a REDIRECT_TO_POOL policy came before
	var switches []string
	for _, p := range policies {
		pol := p.Policy
		var cond strings.Builder
		cond.WriteString("if")
		if chosen {
			cond.WriteString(" !" + decidedACL)
		}
		w.line("# l7policy %s, position %d: %s", pol.Id, pol.Position, pol.Action)
		for _, r := range p.Rules {
			w.line("acl %s %s", r.Id, ruleMatch(r))
			cond.WriteString(" ")
			if r.Invert {
				cond.WriteString("!")
			}
			cond.WriteString(r.Id)
		}
		// Every action is a request rule, so haproxy applies them in position order
		// (its redirect and use_backend keywords would run after every http-request
		// rule, whatever their order); the first to match decides, as in Octavia.
		prefix := "http-request"
		if mode == "tcp" {
			prefix = "tcp-request content"
		}
		code := pol.RedirectHttpCode
		if code == 0 {
			code = 302
		}
		switch pol.Action {
		case "REJECT":
			if mode == "http" {
				w.line("http-request deny %s", cond.String())
			} else {
				w.line("tcp-request content reject %s", cond.String())
			}
		case "REDIRECT_TO_URL":
			w.line("http-request redirect location %s code %d %s", quote(logFormat(pol.RedirectUrl)), code, cond.String())
		case "REDIRECT_PREFIX":
			w.line("http-request redirect prefix %s code %d %s", quote(logFormat(pol.RedirectPrefix)), code, cond.String())
		case "REDIRECT_TO_POOL":
			if !use(pol.RedirectPoolId) {
				// A disabled pool's policy does not take part (Octavia).
				w.line("# (skipped: pool %s is not live)", pol.RedirectPoolId)
				continue
			}
			if !chosen {
				w.line("acl %s var(%s) -m found", decidedACL, poolVar)
				chosen = true
			}
			w.line("%s set-var(%s) str(%s) %s", prefix, poolVar, pol.RedirectPoolId, cond.String())
			sw := fmt.Sprintf("use_backend %s if { var(%s) -m str %s }", pol.RedirectPoolId, poolVar, pol.RedirectPoolId)
			if !slices.Contains(switches, sw) {
				switches = append(switches, sw)
			}
		}
	}
	for _, sw := range switches {
		w.line("%s", sw)
	}
	if defaultLive {
		w.line("default_backend %s", l.DefaultPoolId)
	} else {
		w.line("# no live default pool: requests no policy sends elsewhere get 503 (HTTP) or are closed (TCP)")
	}

	for _, p := range backends {
		w.raw("")
		writeBackend(w, l, p, limit)
	}
	return []byte(w.b.String()), nil
}

func writeBackend(w *writer, l *storepb.Listener, p *Pool, limit int) {
	pool := p.Pool
	mode := backendMode(l.Protocol, pool.Protocol)
	w.raw("backend %s", pool.Id)
	w.line("mode %s", mode)
	w.line("balance %s", balance[pool.LbAlgorithm])
	if sp := pool.SessionPersistence; sp != nil {
		switch sp.Type {
		case "SOURCE_IP":
			w.line("stick-table type ipv6 size %s", StickTableSize)
			w.line("stick on src")
		case "APP_COOKIE":
			w.line("stick-table type string len 64 size %s", StickTableSize)
			w.line("stick store-response res.cook(%s)", sp.CookieName)
			w.line("stick match req.cook(%s)", sp.CookieName)
		case "HTTP_COOKIE":
			w.line("cookie SRV insert indirect nocache")
		}
	}
	hm := p.Monitor
	monitored := liveMonitor(hm)
	if monitored {
		if hm.Timeout > 0 {
			w.line("timeout check %ds", hm.Timeout)
		}
		if hm.Type == "HTTP" || hm.Type == "HTTPS" {
			method := or(hm.HttpMethod, "GET")
			path := or(hm.UrlPath, "/")
			if hm.HttpVersion != "" {
				w.line("option httpchk %s %s HTTP/%s", method, quote(path), hm.HttpVersion)
				if hm.HttpVersion == "1.1" && hm.DomainName != "" {
					w.line("http-check send hdr Host %s", hm.DomainName)
				}
			} else {
				w.line("option httpchk %s %s", method, quote(path))
			}
			codes, _ := expectedCodes(hm.ExpectedCodes)
			w.line("http-check expect status %s", codes)
		}
	}
	if mode == "http" {
		on := func(h string) bool { return strings.EqualFold(l.InsertHeaders[h], "true") }
		if on("X-Forwarded-For") {
			w.line("option forwardfor")
		}
		if on("X-Forwarded-Port") {
			w.line("http-request set-header X-Forwarded-Port %%[dst_port]")
		}
		if on("X-Forwarded-Proto") {
			w.line("http-request set-header X-Forwarded-Proto http")
		}
	}
	w.line("fullconn %d", limit)
	w.line("option allbackups")
	w.line("timeout connect %dms", or(l.TimeoutMemberConnect, DefaultTimeoutMemberConnect))
	w.line("timeout server %dms", or(l.TimeoutMemberData, DefaultTimeoutMemberData))
	for _, m := range sortedMembers(p.Members) {
		a, _ := addr(m.Address)
		s := []string{"server", m.Id, hostPort(a, m.ProtocolPort), "weight", strconv.Itoa(int(m.Weight))}
		if monitored {
			s = append(s, "check")
			switch hm.Type {
			case "HTTPS", "TLS-HELLO":
				// TLS-HELLO: the check is a TLS handshake and nothing more.
				s = append(s, "check-ssl", "verify", "none")
			}
			s = append(s, "inter", fmt.Sprintf("%ds", hm.Delay), "fall", strconv.Itoa(int(hm.MaxRetriesDown)),
				"rise", strconv.Itoa(int(hm.MaxRetries)))
			if m.MonitorAddress != "" {
				ma, _ := addr(m.MonitorAddress)
				s = append(s, "addr", ma.String())
			}
			if m.MonitorPort != nil {
				s = append(s, "port", strconv.Itoa(int(*m.MonitorPort)))
			}
		}
		if sp := pool.SessionPersistence; sp != nil && sp.Type == "HTTP_COOKIE" {
			s = append(s, "cookie", m.Id)
		}
		switch pool.Protocol {
		case "PROXY":
			s = append(s, "send-proxy")
		case "PROXYV2":
			s = append(s, "send-proxy-v2")
		}
		if m.Backup {
			s = append(s, "backup")
		}
		if !m.AdminStateUp {
			s = append(s, "disabled")
		}
		if pool.TlsEnabled {
			s = append(s, "ssl", "verify", "none")
			if pool.TlsCiphers != "" {
				s = append(s, "ciphers", pool.TlsCiphers)
			}
			if len(pool.TlsVersions) > 0 {
				for _, f := range tlsVersionFlags {
					if !slices.Contains(pool.TlsVersions, f.version) {
						s = append(s, f.flag)
					}
				}
			}
			if len(pool.AlpnProtocols) > 0 {
				s = append(s, "alpn", strings.Join(pool.AlpnProtocols, ","))
			}
		}
		w.line("%s", strings.Join(s, " "))
	}
}

// ruleMatch is the ACL criterion of a rule (everything after "acl <id>"). Patterns
// follow "--" so a value starting with '-' is not read as a flag.
func ruleMatch(r *storepb.L7Rule) string {
	m := "-m " + compareMatch[r.CompareType]
	value := r.Value
	if r.CompareType != "REGEX" && len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		// Octavia's quoted header value (the only way the API lets a value hold
		// blanks): haproxy reads Octavia's output without the quotes.
		value = value[1 : len(value)-1]
	}
	pattern := "-- " + quote(value)
	switch r.Type {
	case "HOST_NAME":
		return "req.hdr(host) -i " + m + " " + pattern
	case "PATH":
		return "path " + m + " " + pattern
	case "FILE_TYPE":
		if r.CompareType == "EQUAL_TO" {
			// path_end already compares the end; "-m str" would compare it all
			// (haproxy issue 2567, as Octavia renders it).
			return "path_end " + pattern
		}
		return "path_end " + m + " " + pattern
	case "HEADER":
		return "req.hdr(" + r.Key + ") " + m + " " + pattern
	case "COOKIE":
		return "req.cook(" + r.Key + ") " + m + " " + pattern
	case "SSL_CONN_HAS_CERT":
		return "ssl_c_used"
	case "SSL_VERIFY_RESULT":
		return "ssl_c_verify eq " + r.Value
	case "SSL_DN_FIELD":
		return "ssl_c_s_dn(" + r.Key + ") " + m + " " + pattern
	}
	panic("haproxyconfig: unchecked rule type " + r.Type)
}

type writer struct{ b strings.Builder }

func (w *writer) raw(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *writer) line(format string, args ...any) {
	w.b.WriteString("    ")
	w.raw(format, args...)
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
