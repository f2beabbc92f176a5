package http

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// requestAs is a request from a project-scoped token of project with roles,
// under Octavia's default policy options.
func requestAs(project string, roles ...string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.SetUserValue(identityKey, newIdentity(&Identity{ProjectID: project, Roles: roles}, NewPolicy(PolicyOptions{})))
	return ctx
}

// Octavia's API rules, counted in octavia/policies/*.py (Zed): every one is in
// the table, and the table has no API rule Octavia lacks.
var octaviaAPIRules = map[string]int{
	rbacLoadBalancer: 9, rbacListener: 7, rbacPool: 6, rbacMember: 5, rbacHealthMonitor: 6, rbacL7Policy: 6,
	rbacL7Rule: 5, rbacQuota: 6, rbacAmphora: 6, rbacProvider: 1, rbacProviderFlavor: 1, rbacProviderZone: 1,
	rbacFlavor: 5, rbacFlavorProfile: 5, rbacAvailabilityZone: 5, rbacAvailabilityZoneProf: 5,
}

func TestPolicyTableHasOctaviasRules(t *testing.T) {
	got := map[string]int{}
	for _, r := range octaviaPolicy {
		if !strings.HasPrefix(r.name, "os_load-balancer_api:") {
			continue
		}
		object := r.name[:strings.LastIndex(r.name, ":")+1]
		got[object]++
	}
	for object, n := range octaviaAPIRules {
		if got[object] != n {
			t.Errorf("%s: %d rules, Octavia has %d", object, got[object], n)
		}
	}
	if len(got) != len(octaviaAPIRules) {
		t.Errorf("objects %v, want those of %v", got, octaviaAPIRules)
	}
}

// persona is a token's scope and roles (as Keystone puts them in a token: implied
// roles included where Keystone adds them).
type persona struct {
	name   string
	roles  []string
	system bool
}

// A verdict per rule category: for the caller's own project, then another's
// ("Y" allowed, "N" refused); global categories have no target project.
type verdicts map[string]string

var categories = []string{"read", "read-global", "write", "admin", "read-quota", "read-quota-global", "write-quota"}

// expectations under one set of options: persona → category → own/other.
type expectations map[string]verdicts

func TestPolicyRuleByRuleByRole(t *testing.T) {
	personas := []persona{
		{name: "admin", roles: []string{"admin", "member", "reader"}},
		{name: "Admin (capitalised)", roles: []string{"Admin"}},
		{name: "member", roles: []string{"member", "reader"}},
		{name: "reader", roles: []string{"reader"}},
		{name: "lb_member", roles: []string{"load-balancer_member", "member", "reader"}},
		{name: "lb_member only", roles: []string{"load-balancer_member"}},
		{name: "lb_observer", roles: []string{"load-balancer_observer", "reader"}},
		{name: "lb_observer only", roles: []string{"load-balancer_observer"}},
		{name: "lb_global_observer", roles: []string{"Load-Balancer_Global_Observer"}},
		{name: "lb_quota_admin", roles: []string{"load-balancer_quota_admin"}},
		{name: "lb_admin", roles: []string{"load-balancer_admin"}},
		{name: "system admin", roles: []string{"admin", "member", "reader"}, system: true},
		{name: "system reader", roles: []string{"reader"}, system: true},
		{name: "none", roles: nil},
	}
	// Columns: read, read-global, write, admin, read-quota, read-quota-global,
	// write-quota. Two letters where the target's project matters (own, other).
	all := verdicts{"read": "YY", "read-global": "Y", "write": "YY", "admin": "Y", "read-quota": "YY", "read-quota-global": "Y", "write-quota": "YY"}
	nothing := verdicts{"read": "NN", "read-global": "N", "write": "NN", "admin": "N", "read-quota": "NN", "read-quota-global": "N", "write-quota": "NN"}
	owner := verdicts{"read": "YN", "read-global": "N", "write": "YN", "admin": "N", "read-quota": "YN", "read-quota-global": "N", "write-quota": "NN"}
	observer := verdicts{"read": "YN", "read-global": "N", "write": "NN", "admin": "N", "read-quota": "YN", "read-quota-global": "N", "write-quota": "NN"}
	global := verdicts{"read": "YY", "read-global": "Y", "write": "NN", "admin": "N", "read-quota": "YY", "read-quota-global": "Y", "write-quota": "NN"}
	quota := verdicts{"read": "NN", "read-global": "N", "write": "NN", "admin": "N", "read-quota": "YY", "read-quota-global": "Y", "write-quota": "YY"}

	for _, tc := range []struct {
		opts PolicyOptions
		want expectations
	}{
		// Zed's defaults: deprecated rules ORed in, so a project's admin is an
		// administrator and the load-balancer roles need no Keystone role.
		{PolicyOptions{}, expectations{"admin": all, "Admin (capitalised)": all, "member": nothing, "reader": nothing,
			"lb_member": owner, "lb_member only": owner, "lb_observer": observer, "lb_observer only": observer,
			"lb_global_observer": global, "lb_quota_admin": quota, "lb_admin": all, "system admin": all,
			"system reader": global, "none": nothing}},
		// New defaults: a project admin is nobody special; member / reader are
		// needed beside the load-balancer roles.
		{PolicyOptions{EnforceNewDefaults: true}, expectations{"admin": nothing, "Admin (capitalised)": nothing,
			"member": nothing, "reader": nothing, "lb_member": owner, "lb_member only": nothing, "lb_observer": observer,
			"lb_observer only": nothing, "lb_global_observer": global, "lb_quota_admin": quota, "lb_admin": all,
			"system admin": all, "system reader": global, "none": nothing}},
		// Scope enforced: context_is_admin only for system-scoped tokens, so a
		// project's admin is no administrator; load-balancer_admin still is.
		{PolicyOptions{EnforceScope: true}, expectations{"admin": nothing, "Admin (capitalised)": nothing,
			"member": nothing, "reader": nothing, "lb_member": owner, "lb_member only": owner, "lb_observer": observer,
			"lb_observer only": observer, "lb_global_observer": global, "lb_quota_admin": quota, "lb_admin": all,
			"system admin": all, "system reader": global, "none": nothing}},
	} {
		p := NewPolicy(tc.opts)
		for _, who := range personas {
			id := &Identity{ProjectID: "own", Roles: who.roles}
			if who.system {
				id.ProjectID, id.SystemScope = "", "all"
			}
			id = newIdentity(id, p)
			want := tc.want[who.name]
			for _, r := range octaviaPolicy {
				cat, ok := strings.CutPrefix(r.check, "rule:load-balancer:")
				if !ok || strings.Contains(cat, " ") {
					continue // a base rule, checked through the API rules
				}
				v := want[cat]
				targets := []string{"own", "other"}
				if who.system {
					targets = []string{"", "other"} // the system's "own" project is none
				}
				for i, target := range targets[:len(v)] {
					if got := id.Allowed(r.name, target); got != (v[i] == 'Y') {
						t.Errorf("%+v %s: %s on %q project: allowed=%v, want %c", tc.opts, who.name, r.name, target, got, v[i])
					}
				}
			}
			if want := want["admin"] == "Y"; id.Admin() != want {
				t.Errorf("%+v %s: Admin()=%v, want %v", tc.opts, who.name, id.Admin(), want)
			}
			// keel's operator endpoints are an administrator's.
			if got := id.Allowed(ruleOperator, id.ProjectID); got != (want["admin"] == "Y") {
				t.Errorf("%+v %s: keel:operator=%v", tc.opts, who.name, got)
			}
		}
	}
}

// The categories the test reads are every category the table uses.
func TestPolicyCategoriesCovered(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range octaviaPolicy {
		if cat, ok := strings.CutPrefix(r.check, "rule:load-balancer:"); ok && !strings.Contains(cat, " ") {
			seen[cat] = true
		}
	}
	for _, c := range categories {
		if !seen[c] {
			t.Errorf("category %s unused", c)
		}
		delete(seen, c)
	}
	if len(seen) > 0 {
		t.Errorf("categories not tested: %v", seen)
	}
}

// noauth reads Keystone's default roles as Octavia's personas, case-insensitively.
func TestNoauthRoles(t *testing.T) {
	p := NewPolicy(PolicyOptions{})
	for _, tc := range []struct {
		header      string // "" for none
		noauthAdmin bool
		read, write bool // own project
		admin       bool
	}{
		{header: "", read: true, write: true},
		{header: "", noauthAdmin: true, read: true, write: true, admin: true},
		{header: "member", read: true, write: true},
		{header: "reader", read: true},
		{header: "load-balancer_observer", read: true},
		{header: "load-balancer_quota_admin"},
		{header: "Admin", read: true, write: true, admin: true},
		{header: " reader , ADMIN ", read: true, write: true, admin: true},
		{header: "load-balancer_global_observer", read: true},
		{header: "load-balancer_admin", read: true, write: true, admin: true},
		{header: "somebody", read: false},
	} {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.Set("X-Project-Id", "p")
		if tc.header != "" {
			ctx.Request.Header.Set("X-Roles", tc.header)
		}
		id, err := noauthIdentity(ctx, &AuthConfig{NoauthAdmin: tc.noauthAdmin}, p)
		if err != nil {
			t.Fatal(err)
		}
		if id.Allowed(rbacLoadBalancer+actGetOne, "p") != tc.read || id.Allowed(rbacLoadBalancer+actPut, "p") != tc.write ||
			id.Admin() != tc.admin || id.Allowed(rbacLoadBalancer+actPutFailover, "p") != tc.admin {
			t.Errorf("X-Roles %q (noauth-admin %v): %v", tc.header, tc.noauthAdmin, id.Roles)
		}
	}
}

// Identity headers are bounded and must be printable UTF-8: a prompt 400.
func TestNoauthHeadersValidated(t *testing.T) {
	p := NewPolicy(PolicyOptions{})
	for _, tc := range []struct{ name, value string }{
		{"X-Project-Id", "\xff\xfe"},
		{"X-Project-Id", "a\x01b"},
		{"X-Project-Id", strings.Repeat("p", 65)},
		{"X-Roles", "member,\xff"},
		{"X-Roles", strings.Repeat("r", 256)},
		{"X-Roles", strings.Repeat("member,", 600)},
	} {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.Set(tc.name, tc.value)
		if _, err := noauthIdentity(ctx, &AuthConfig{}, p); err == nil {
			t.Errorf("%s %q accepted", tc.name, tc.value)
		} else if status, _ := statusOf(err); status != 400 {
			t.Errorf("%s %q: %d", tc.name, tc.value, status)
		}
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.Set("X-Project-Id", strings.Repeat("p", 64))
	if _, err := noauthIdentity(ctx, &AuthConfig{}, p); err != nil {
		t.Errorf("a 64-character project: %v", err)
	}
}

// The check-string parser is oslo's: precedence, parentheses, not.
func TestCheckStrings(t *testing.T) {
	p := &Policy{rules: map[string]check{"yes": mustParseCheck("@"), "no": mustParseCheck("!")}}
	c := &credentials{roles: map[string]bool{"a": true}, project: "p"}
	for s, want := range map[string]bool{
		"role:a":                          true,
		"role:A":                          true,
		"role:b or role:a and rule:no":    false,
		"(role:b or role:a) and rule:yes": true,
		"not role:b":                      true,
		"not (role:a and rule:yes)":       false,
		"project_id:%(project_id)s":       true,
		"rule:missing or role:b":          false,
		"is_admin:True":                   false,
		"is_admin:False and role:a":       true,
		"system_scope:all":                false,
	} {
		if got := mustParseCheck(s)(p, c, "p", 0); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}

// The noauth identity cache tells apart what the headers tell apart.
func TestNoauthIdentityCache(t *testing.T) {
	a, err := NewAuthenticator(AuthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	identify := func(headers ...string) *Identity {
		ctx := &fasthttp.RequestCtx{}
		for _, h := range headers {
			name, value, _ := strings.Cut(h, ": ")
			ctx.Request.Header.Set(name, value)
		}
		id, err := a.noauth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	for i := 0; i < 2; i++ { // the second round comes from the cache
		if id := identify(); id.ProjectID != DefaultProject || !id.Allowed(rbacLoadBalancer+actPost, DefaultProject) || id.Admin() {
			t.Fatalf("no headers: %+v", id)
		}
		if id := identify("X-Project-Id: p", "X-Roles: admin"); id.ProjectID != "p" || !id.Admin() {
			t.Fatalf("admin of p: %+v", id)
		}
		if id := identify("X-Project-Id: q", "X-Roles: admin"); id.ProjectID != "q" {
			t.Fatalf("admin of q: %+v", id)
		}
		if id := identify("X-Project-Id: p", "X-Roles: reader"); id.Admin() || id.Allowed(rbacLoadBalancer+actPost, "p") {
			t.Fatalf("reader of p: %+v", id)
		}
	}
	if len(a.noauthCache) != 4 {
		t.Fatalf("%d cached identities", len(a.noauthCache))
	}
}
