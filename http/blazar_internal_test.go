package http

import (
	"net/http/httptest"
	"testing"

	"github.com/valyala/fasthttp"

	"keel/actors/reservation"
)

// A token Keystone refuses gets keystonemiddleware's 401 from the Blazar
// listener (its body, not Blazar's error_code one, and WWW-Authenticate), on
// every path, the version document too (auth_token wraps all of Blazar).
func TestBlazarUnauthorized(t *testing.T) {
	f := &fakeKeystone{valid: map[string]string{}, serviceOK: true}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	auth, err := NewAuthenticator(AuthConfig{Strategy: AuthKeystone, Keystone: KeystoneConfig{URL: srv.URL,
		WWWAuthenticateURI: "http://keystone.example/v3", User: "keel", Password: "pw", Project: "service"}})
	if err != nil {
		t.Fatal(err)
	}
	h := NewBlazarServer(Config{Auth: auth}).Handler()
	for _, c := range []struct{ path, token string }{{"/", ""}, {"/v1/leases", ""}, {"/v1/os-hosts.json", "bogus"}} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("http://127.0.0.1:1234" + c.path)
		if c.token != "" {
			ctx.Request.Header.Set("X-Auth-Token", c.token)
		}
		h(&ctx)
		want := `{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}`
		if ctx.Response.StatusCode() != 401 || string(ctx.Response.Body()) != want ||
			string(ctx.Response.Header.Peek("WWW-Authenticate")) != `Keystone uri="http://keystone.example/v3"` ||
			len(ctx.Response.Header.Peek(requestIDHeader)) == 0 {
			t.Fatalf("%s: %d %s %s", c.path, ctx.Response.StatusCode(), ctx.Response.Body(), ctx.Response.Header.String())
		}
	}
}

// Blazar's rules in keel's engine: blazar:-prefixed, Blazar's administrator is
// the admin role (not Octavia's load-balancer_admin), a lease's rules allow
// its own project only.
func TestBlazarPolicy(t *testing.T) {
	p := NewPolicy(PolicyOptions{})
	id := func(project string, roles ...string) *Identity {
		return newIdentity(&Identity{ProjectID: project, Roles: roles}, p)
	}
	admin, lbAdmin, owner := id("p1", "admin"), id("p1", "load-balancer_admin"), id("p1", "member")
	for _, c := range []struct {
		who     *Identity
		rule    string
		project string
		want    bool
	}{
		{admin, reservation.RuleHostsGet, "p1", true},
		{admin, reservation.RuleLeasesGet, "p2", true},
		{admin, ruleBlazarAdmin, "p1", true},
		{lbAdmin, reservation.RuleHostsGet, "p1", false},
		{lbAdmin, ruleBlazarAdmin, "p1", false},
		{lbAdmin, reservation.RuleLeasesGet, "p2", false},
		{owner, reservation.RuleHostsPost, "p1", false},
		{owner, reservation.RuleLeasesGet, "p1", true},
		{owner, reservation.RuleLeasesDelete, "p1", true},
		{owner, reservation.RuleLeasesGet, "p2", false},
		{owner, "admin", "p1", false}, // Blazar's base rules are renamed, not shared
	} {
		if got := c.who.Allowed(c.rule, c.project); got != c.want {
			t.Errorf("%v on %s of %s: %v, want %v", c.who.Roles, c.rule, c.project, got, c.want)
		}
	}
	for _, r := range blazarPolicy() {
		if len(r.name) < 7 || r.name[:7] != "blazar:" {
			t.Errorf("rule %s is not blazar:-prefixed", r.name)
		}
	}
}
