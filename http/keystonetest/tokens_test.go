package keystonetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

const needsAuth = "The request you have made requires authentication."

// unauthorized checks a 401 as keystonemiddleware answers it, in Octavia's error
// body: the WWW-Authenticate header names Keystone.
func unauthorized(t *testing.T, w *world, r *systemtest.Response, what string) {
	t.Helper()
	if r.Status != 401 {
		t.Fatalf("%s: %d, want 401: %s", what, r.Status, r.Body)
	}
	systemtest.ExpectFault(t, r, 401, needsAuth)
	if got, want := r.Header.Get("WWW-Authenticate"), `Keystone uri="`+w.ks.URL+`"`; got != want {
		t.Fatalf("%s: WWW-Authenticate %q, want %q", what, got, want)
	}
	if r.Header.Get("x-openstack-request-id") == "" {
		t.Fatalf("%s: no request id", what)
	}
}

func as(token string) string { return "X-Auth-Token: " + token }

const lbs = "/v2/lbaas/loadbalancers"

// TestKeystoneTokens: what keeld accepts as a token, and what it refuses with
// a 401, against a real Keystone.
func TestKeystoneTokens(t *testing.T) {
	w := keystone(t)
	n := w.keeld(t)
	do := func(path, token string, headers ...string) *systemtest.Response {
		t.Helper()
		if token != "" {
			headers = append(headers, as(token))
		}
		r, err := n.Do("GET", path, nil, headers...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// The version document and the health check are public.
	if r := do("/", ""); r.Status != 200 {
		t.Fatalf("GET /: %d", r.Status)
	}
	if r := do("/healthz", ""); r.Status != 200 {
		t.Fatalf("GET /healthz: %d", r.Status)
	}
	// Everything else needs a token Keystone vouches for.
	unauthorized(t, w, do(lbs, ""), "no token")
	unauthorized(t, w, do("/no/such/path", ""), "no token on an unknown path")
	unauthorized(t, w, do("/cluster", ""), "no token on an operator endpoint")
	unauthorized(t, w, do(lbs, "gAAAAABnot-a-token"), "a garbage token")
	unauthorized(t, w, do(lbs, strings.Repeat("A", 3000)), "a token longer than Keystone's max_token_size")
	// The identity headers of noauth mean nothing here.
	unauthorized(t, w, do(lbs, "", "X-Project-Id: "+w.projectAID, "X-Roles: admin"), "noauth headers")

	member := w.token(t, "lb-member", projectA)
	if r := do(lbs, member); r.Status != 200 {
		t.Fatalf("a member's token: %d %s", r.Status, r.Body)
	}
	lb := n.MustDo(201, "POST", lbs, fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, systemtest.Subnet), as(member)).JSON()
	lbID := lb["loadbalancer"].(map[string]any)["id"].(string)
	waitActive(t, n, lbID, member)
	// A member cannot make itself an administrator with noauth's headers.
	r, _ := n.Do("PUT", lbs+"/"+lbID+"/failover", nil, as(member), "X-Roles: admin", "X-Project-Id: other")
	systemtest.ExpectFault(t, r, 403, "Policy does not allow this request to be performed.")

	// A revoked token is refused.
	admin, err := w.ks.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	revoked := w.token(t, "lb-member", projectA)
	if err := w.ks.Revoke(admin, revoked); err != nil {
		t.Fatal(err)
	}
	unauthorized(t, w, do(lbs, revoked), "a revoked token")

	// A validation is cached (token_cache_time, 300 s here): a token revoked
	// after keeld validated it stays accepted until then, as with
	// keystonemiddleware.
	cached := w.token(t, "lb-member", projectA)
	if r := do(lbs, cached); r.Status != 200 {
		t.Fatalf("%d", r.Status)
	}
	if err := w.ks.Revoke(admin, cached); err != nil {
		t.Fatal(err)
	}
	if r := do(lbs, cached); r.Status != 200 {
		t.Fatalf("a cached validation: %d", r.Status)
	}

	// ...but never past the token's expiry.
	short, expires, err := w.ks.ShortLivedToken(userName("lb-member", projectA), password, projectA, 6*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(lbs, short); r.Status != 200 {
		t.Fatalf("a short-lived token before it expires (%v left): %d %s", time.Until(expires), r.Status, r.Body)
	}
	time.Sleep(time.Until(expires) + 500*time.Millisecond)
	unauthorized(t, w, do(lbs, short), "an expired token")

	// A system-scoped token has no project: creating a load balancer needs one.
	r, _ = n.Do("POST", lbs, fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, systemtest.Subnet), as(admin))
	systemtest.ExpectFault(t, r, 400, "Validation failure: Missing project ID in request where one is required. "+
		"An administrator should check the keystone settings in the Octavia configuration.")
	r, _ = n.Do("POST", lbs, fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"project_id":%q}}`, systemtest.Subnet, w.projectB), as(admin))
	if r.Status != 201 || !strings.Contains(string(r.Body), `"project_id":"`+w.projectB+`"`) {
		t.Fatalf("a system administrator creating for project B: %d %s", r.Status, r.Body)
	}
}

// TestKeystoneCacheTTL: with a short -keystone-cache-ttl a revoked token is
// refused once its cached validation expires.
func TestKeystoneCacheTTL(t *testing.T) {
	w := keystone(t)
	n := w.keeld(t, "-keystone-cache-ttl", "1s")
	admin, err := w.ks.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	tok := w.token(t, "observer", projectA)
	n.MustDo(200, "GET", lbs, nil, as(tok))
	if err := w.ks.Revoke(admin, tok); err != nil {
		t.Fatal(err)
	}
	systemtest.Eventually(t, 10*time.Second, "the revoked token refused", func() bool {
		r, err := n.Do("GET", lbs, nil, as(tok))
		return err == nil && r.Status == 401
	})
}

// TestKeystoneUnavailable: when Keystone cannot be asked (down, or refusing
// keel's service credentials), a request is a 503, not a 401: the token may be
// good.
func TestKeystoneUnavailable(t *testing.T) {
	w := keystone(t)
	down := systemtest.NewNode(t, "ks-down")
	down.ExtraArgs = []string{"-auth-strategy", "keystone", "-keystone-url", fmt.Sprintf("http://127.0.0.1:%d/v3", systemtest.FreePort(t)),
		"-keystone-user", "keel", "-keystone-password", password, "-keystone-timeout", "2s"}
	down.StartHealthy(60 * time.Second)
	wrong := systemtest.NewNode(t, "ks-wrong")
	wrong.ExtraArgs = append(w.keystoneArgs(), "-keystone-password", "not-the-password")
	wrong.StartHealthy(60 * time.Second)
	tok := w.token(t, "lb-member", projectA)
	for _, n := range []*systemtest.Node{down, wrong} {
		r, err := n.Do("GET", lbs, nil, as(tok))
		if err != nil {
			t.Fatal(err)
		}
		systemtest.ExpectFault(t, r, 503, "The Keystone service is temporarily unavailable.")
		n.MustDo(200, "GET", "/healthz", nil)
	}
}
