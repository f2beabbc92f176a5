package http_test

import (
	"fmt"
	"keel/cluster/systemtest"
	"testing"
	"time"
)

// TestL7RedirectToPool covers what needs pools, members and health monitors:
// REDIRECT_TO_POOL policies and the pools, monitors and members of the status
// tree. Those objects are created through their own API (/pools,
// /pools/{id}/members, /healthmonitors), which the pools branch provides: this
// test passes once that branch is merged.
func TestL7RedirectToPool(t *testing.T) {
	n := startNode(t)
	lbID := newLoadBalancer(t, n, "pools")
	web := newListener(t, n, lbID, "HTTP", 80)
	newPool := func(body string) string {
		t.Helper()
		id := object(t, n.MustDo(201, "POST", "/v2/lbaas/pools", `{"pool":{`+body+`}}`), "pool")["id"].(string)
		n.WaitActive(lbID, 10*time.Second)
		return id
	}
	defaultPool := newPool(fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","name":"default"`, web))
	images := newPool(fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","name":"images"`, lbID))
	tcpPool := newPool(fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"`, lbID))
	memberID := object(t, n.MustDo(201, "POST", "/v2/lbaas/pools/"+images+"/members",
		`{"member":{"address":"10.0.0.5","protocol_port":8080,"name":"m1"}}`), "member")["id"].(string)
	n.WaitActive(lbID, 10*time.Second)
	monitorID := object(t, n.MustDo(201, "POST", "/v2/lbaas/healthmonitors",
		fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"HTTP","delay":5,"timeout":3,"max_retries":3,"name":"hm"}}`, images)), "healthmonitor")["id"].(string)
	n.WaitActive(lbID, 10*time.Second)

	p := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REDIRECT_TO_POOL","redirect_pool_id":%q,"redirect_http_code":301`, web, images))
	if p["action"] != "REDIRECT_TO_POOL" || p["redirect_pool_id"] != images || p["redirect_http_code"] != nil || p["redirect_url"] != nil {
		t.Fatalf("pool redirect: %v", p)
	}
	policyPath := "/v2/lbaas/l7policies/" + p["id"].(string)
	if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?redirect_pool_id="+images, nil), "l7policies"); len(got) != 1 {
		t.Fatalf("filter by redirect_pool_id: %v", got)
	}

	poolIDs := func() []string {
		t.Helper()
		tree := getStatusTree(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil).Body)
		var out []string
		for _, pool := range tree.Statuses.LoadBalancer.Listeners[0].Pools {
			out = append(out, pool.ID)
		}
		return out
	}
	// A policy uses its pool once it has a rule (Octavia's Listener.pools).
	if got := poolIDs(); len(got) != 1 || got[0] != defaultPool {
		t.Fatalf("pools of the listener before the policy has rules: %v", got)
	}
	n.MustDo(201, "POST", policyPath+"/rules", `{"rule":{"type":"PATH","compare_type":"STARTS_WITH","value":"/img"}}`)
	n.WaitActive(lbID, 10*time.Second)
	tree := getStatusTree(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil).Body)
	pools := tree.Statuses.LoadBalancer.Listeners[0].Pools
	if len(pools) != 2 || pools[0].ID != defaultPool || pools[0].HealthMonitor != nil || len(pools[0].Members) != 0 || pools[1].ID != images {
		t.Fatalf("pools of the listener: %+v", pools)
	}
	img := pools[1]
	if *img.Name != "images" || img.HealthMonitor == nil || img.HealthMonitor.ID != monitorID || img.HealthMonitor.Type != "HTTP" ||
		img.HealthMonitor.Name != "hm" || len(img.Members) != 1 || img.Members[0].ID != memberID || img.Members[0].Address != "10.0.0.5" ||
		img.Members[0].ProtocolPort != 8080 || *img.Members[0].Name != "m1" {
		t.Fatalf("the redirect pool in the tree: %+v", img)
	}
	// A disabled policy does not use its pool.
	n.MustDo(200, "PUT", policyPath, `{"l7policy":{"admin_state_up":false}}`)
	n.WaitActive(lbID, 10*time.Second)
	if got := poolIDs(); len(got) != 1 {
		t.Fatalf("pools with the policy disabled: %v", got)
	}

	systemtest.ExpectFault(t, n.MustDo(400, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REDIRECT_TO_POOL","redirect_pool_id":%q}}`, web, tcpPool)), 400,
		"Validation failure: The pool protocol 'TCP' is invalid while the listener protocol is 'HTTP'.")
	systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/pools/"+images, nil), 409, "Pool "+images+" is in use by L7 policy "+p["id"].(string))
	up := object(t, n.MustDo(200, "PUT", policyPath, `{"l7policy":{"redirect_url":"http://img.example.com"}}`), "l7policy")
	if up["action"] != "REDIRECT_TO_URL" || up["redirect_pool_id"] != nil || up["redirect_http_code"] != 302.0 {
		t.Fatalf("a URL replaces the pool: %v", up)
	}
	n.WaitActive(lbID, 10*time.Second)
	up = object(t, n.MustDo(200, "PUT", policyPath, fmt.Sprintf(`{"l7policy":{"redirect_pool_id":%q}}`, defaultPool)), "l7policy")
	if up["action"] != "REDIRECT_TO_POOL" || up["redirect_url"] != nil || up["redirect_http_code"] != nil {
		t.Fatalf("a pool replaces the URL: %v", up)
	}
	n.WaitActive(lbID, 10*time.Second)
	n.MustDo(204, "DELETE", "/v2/lbaas/pools/"+images, nil)
	n.WaitActive(lbID, 10*time.Second)
}
