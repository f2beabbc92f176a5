package http_test

import (
	"encoding/json"
	"fmt"
	"keel/cluster/systemtest"
	"testing"
	"time"
)

// statusTree is GET /loadbalancers/{id}/status, decoded strictly enough to see
// the shape.
type statusTree struct {
	Statuses struct {
		LoadBalancer struct {
			ID                 string           `json:"id"`
			Name               *string          `json:"name"`
			OperatingStatus    string           `json:"operating_status"`
			ProvisioningStatus string           `json:"provisioning_status"`
			Listeners          []listenerStatus `json:"listeners"`
		} `json:"loadbalancer"`
	} `json:"statuses"`
}

type listenerStatus struct {
	ID                 string       `json:"id"`
	Name               *string      `json:"name"`
	OperatingStatus    string       `json:"operating_status"`
	ProvisioningStatus string       `json:"provisioning_status"`
	Pools              []poolStatus `json:"pools"`
}

type poolStatus struct {
	ID                 string  `json:"id"`
	Name               *string `json:"name"`
	ProvisioningStatus string  `json:"provisioning_status"`
	OperatingStatus    string  `json:"operating_status"`
	HealthMonitor      *struct {
		ID, Name, Type, ProvisioningStatus, OperatingStatus string
	} `json:"health_monitor"`
	Members []struct {
		ID                 string  `json:"id"`
		Name               *string `json:"name"`
		OperatingStatus    string  `json:"operating_status"`
		ProvisioningStatus string  `json:"provisioning_status"`
		Address            string  `json:"address"`
		ProtocolPort       int     `json:"protocol_port"`
	} `json:"members"`
}

func getStatusTree(t *testing.T, body []byte) statusTree {
	t.Helper()
	var v statusTree
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

func TestStatusTreeAndStats(t *testing.T) {
	n := startNodeWith(t, "-provision-delay", "1s") // long enough to see PENDING_CREATE
	lbID := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet))).ID

	// While provisioning, and without listeners.
	r := n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil)
	want := fmt.Sprintf(`{"statuses":{"loadbalancer":{"id":%q,"name":"","operating_status":"OFFLINE","provisioning_status":"PENDING_CREATE","listeners":[]}}}`, lbID)
	if string(r.Body) != want {
		t.Fatalf("status of a new load balancer:\n%s\nwant\n%s", r.Body, want)
	}
	n.WaitActive(lbID, 10*time.Second)
	web := newListener(t, n, lbID, "HTTP", 80)
	n.MustDo(200, "PUT", "/v2/lbaas/listeners/"+web, `{"listener":{"name":"web"}}`)
	n.WaitActive(lbID, 10*time.Second)
	tcp := newListener(t, n, lbID, "TCP", 22)

	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		for _, leaf := range []string{"/status", "/statuses", "/status.json"} {
			tree := getStatusTree(t, n.MustDo(200, "GET", prefix+"/loadbalancers/"+lbID+leaf, nil).Body)
			lb := tree.Statuses.LoadBalancer
			// Operating statuses are measured: the noop driver leaves them OFFLINE.
			if lb.ID != lbID || lb.Name == nil || *lb.Name != "" || lb.OperatingStatus != "OFFLINE" || lb.ProvisioningStatus != "ACTIVE" ||
				len(lb.Listeners) != 2 {
				t.Fatalf("%s%s: %+v", prefix, leaf, lb)
			}
			first, second := lb.Listeners[0], lb.Listeners[1]
			if first.ID != web || *first.Name != "web" || first.OperatingStatus != "OFFLINE" || first.ProvisioningStatus != "ACTIVE" ||
				first.Pools == nil || len(first.Pools) != 0 || second.ID != tcp || second.Name == nil || *second.Name != "" {
				t.Fatalf("%s%s listeners: %+v", prefix, leaf, lb.Listeners)
			}
		}
	}
	// An L7 policy without a pool adds no pool to the tree.
	newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","rules":[{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}]`, web))
	if tree := getStatusTree(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil).Body); len(tree.Statuses.LoadBalancer.Listeners[0].Pools) != 0 {
		t.Fatalf("pools of a listener with a REJECT policy: %+v", tree.Statuses.LoadBalancer.Listeners[0])
	}

	// Statistics: every counter is 0 until amphorae report traffic, the same for
	// the load balancer and its listeners.
	zero := `{"stats":{"bytes_in":0,"bytes_out":0,"active_connections":0,"total_connections":0,"request_errors":0}}`
	for _, path := range []string{"/v2/lbaas/loadbalancers/" + lbID + "/stats", "/v2.0/loadbalancers/" + lbID + "/stats.json", "/v2/lbaas/listeners/" + web + "/stats"} {
		if r := n.MustDo(200, "GET", path, nil); string(r.Body) != zero {
			t.Fatalf("%s: %s", path, r.Body)
		}
	}

	missing := "0b7e0c8c-6e77-4e53-a7e1-0bb2c0a1d0f9"
	for _, leaf := range []string{"/status", "/statuses", "/stats"} {
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/loadbalancers/"+missing+leaf, nil), 404, "Load Balancer "+missing+" not found.")
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/loadbalancers/"+lbID+leaf, nil, "X-Project-Id: other", "X-Roles: member"), 403,
			"Policy does not allow this request to be performed.")
	}
	n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil, "X-Project-Id: default", "X-Roles: member")
}
