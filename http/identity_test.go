package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// The roles of Octavia's default policy, through noauth's X-Roles (the issue's
// findings: readers, observers and quota administrators wrote; any member
// failed over; load-balancer_admin, load-balancer_global_observer and a
// capitalised Admin were not recognised; an administrator of another project got
// 403 for a listener but 201 for a pool on the same tree).
func TestNoauthRolesThroughTheAPI(t *testing.T) {
	n := startNodeWith(t, "-noauth-admin=false")
	as := func(project, roles string) []string {
		h := []string{"X-Project-Id: " + project}
		if roles != "" {
			h = append(h, "X-Roles: "+roles)
		}
		return h
	}
	deny := "Policy does not allow this request to be performed."
	waitActive := func(id string) {
		t.Helper()
		systemtest.Eventually(t, 10*time.Second, id+" ACTIVE", func() bool {
			r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+id, nil, as("a", "")...)
			return err == nil && strings.Contains(string(r.Body), `"provisioning_status":"ACTIVE"`)
		})
	}
	lbBody := fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet)
	// Without X-Roles: a member of its project.
	lb := systemtest.CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", lbBody, as("a", "")...))
	waitActive(lb)
	systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/lbaas/loadbalancers/"+lb+"/failover", nil, as("a", "")...), 403, deny)
	systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/octavia/amphorae", nil, as("a", "")...), 403, deny)
	// Read-only roles read, and write nothing.
	for _, roles := range []string{"reader", "load-balancer_observer", "load-balancer_quota_admin,reader"} {
		n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lb, nil, as("a", roles)...)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/loadbalancers", lbBody, as("a", roles)...), 403, deny)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/lbaas/loadbalancers/"+lb, `{"loadbalancer":{"name":"x"}}`, as("a", roles)...), 403, deny)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/listeners",
			fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"TCP","protocol_port":80}}`, lb), as("a", roles)...), 403, deny)
	}
	// The quota administrator writes any project's quotas, and only quotas.
	n.MustDo(202, "PUT", "/v2/lbaas/quotas/b", `{"quota":{"pool":7}}`, as("a", "load-balancer_quota_admin")...)
	n.MustDo(200, "GET", "/v2/lbaas/quotas/b", nil, as("a", "load-balancer_quota_admin")...)
	// The global observer reads every project's objects and writes none.
	n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lb, nil, as("b", "load-balancer_global_observer")...)
	if r := n.MustDo(200, "GET", "/v2/lbaas/loadbalancers", nil, as("b", "load-balancer_global_observer")...); !strings.Contains(string(r.Body), lb) {
		t.Fatalf("the global observer's list: %s", r.Body)
	}
	systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/lbaas/loadbalancers/"+lb, `{"loadbalancer":{"name":"x"}}`,
		as("b", "load-balancer_global_observer")...), 403, deny)
	// Administrators, however spelled, act on another project's tree, the same
	// way for every object of it.
	for _, roles := range []string{"Admin", "load-balancer_admin", "ADMIN,reader"} {
		n.MustDo(200, "GET", "/v2/octavia/amphorae", nil, as("b", roles)...)
		l := systemtest.CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/listeners",
			fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"TCP","protocol_port":%d}}`, lb, 1000+len(roles)), as("b", roles)...))
		waitActive(lb)
		p := systemtest.CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/pools",
			fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}}`, l), as("b", roles)...))
		waitActive(lb)
		for _, path := range []string{"/v2/lbaas/listeners/" + l, "/v2/lbaas/pools/" + p} {
			if r := n.MustDo(200, "GET", path, nil, as("b", roles)...); !strings.Contains(string(r.Body), `"project_id":"a"`) {
				t.Fatalf("%s belongs to the load balancer's project: %s", path, r.Body)
			}
		}
		n.MustDo(202, "PUT", "/v2/lbaas/loadbalancers/"+lb+"/failover", nil, as("b", roles)...)
		waitActive(lb)
	}
}

// Identity headers that are not short printable UTF-8 are refused at once (they
// used to reach a grain's protobuf encoding and fail after 12 s of retries).
func TestIdentityHeadersRefusedPromptly(t *testing.T) {
	n := startNode(t)
	for _, h := range []string{"X-Project-Id: \xff\xfe", "X-Project-Id: " + strings.Repeat("p", 65), "X-Roles: admin,\xff"} {
		start := time.Now()
		r := n.MustDo(400, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet), h)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%q answered after %v", h, d)
		}
		// Not UTF-8 is guard.go's (every header); too long is identity.go's.
		if name, _, _ := strings.Cut(h, ":"); !strings.Contains(string(r.Body), "Invalid") || !strings.Contains(string(r.Body), name) {
			t.Fatalf("%q: %s", h, r.Body)
		}
	}
}
