package http_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// TestVipOwnership: one project cannot take another's VIP address (in its
// subnet) or VIP port (issue 11, item 6), with the answers Octavia passes on
// from Neutron; an address is free again once its load balancer is gone.
func TestVipOwnership(t *testing.T) {
	n := startNode(t)
	a := []string{"X-Project-Id: project-a", "X-Roles: member"}
	b := []string{"X-Project-Id: project-b", "X-Roles: member"}
	const addr = "10.20.30.40"
	create := func(want int, body string, headers []string) *systemtest.Response {
		return n.MustDo(want, "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":{`+body+`}}`, headers...)
	}
	lbA := decodeLB(t, create(201, fmt.Sprintf(`"vip_subnet_id":%q,"vip_address":%q`, subnet, addr), a))
	n.WaitActive(lbA.ID, 10*time.Second)
	var show struct {
		LoadBalancer struct {
			VipPortID string `json:"vip_port_id"`
		} `json:"loadbalancer"`
	}
	showA := n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbA.ID, nil, a...)
	if err := json.Unmarshal(showA.Body, &show); err != nil || show.LoadBalancer.VipPortID == "" {
		t.Fatalf("no VIP port: %s", showA.Body)
	}
	portA := show.LoadBalancer.VipPortID

	msg := fmt.Sprintf("IP address %s already allocated in subnet %s", addr, subnet)
	systemtest.ExpectFault(t, create(409, fmt.Sprintf(`"vip_subnet_id":%q,"vip_address":%q`, subnet, addr), b), 409, msg)
	systemtest.ExpectFault(t, create(409, fmt.Sprintf(`"vip_subnet_id":%q,"vip_address":%q`, subnet, addr), a), 409, msg)
	systemtest.ExpectFault(t, create(400, fmt.Sprintf(`"vip_port_id":%q`, portA), b), 400, "Port "+portA+" not found.")
	systemtest.ExpectFault(t, create(400, fmt.Sprintf(`"vip_port_id":%q`, portA), a), 400,
		"Validation failure: Port "+portA+" is already used by device lb-"+lbA.ID+" ")
	if got := len(list(t, n, "/v2/lbaas/loadbalancers", b...).LoadBalancers); got != 0 {
		t.Fatalf("project b has %d load balancers", got)
	}
	// Another subnet may use the address; a port B names is B's.
	other := "5f0e9c2a-1b3d-4e6f-8a7b-9c0d1e2f3a4b"
	lbB := decodeLB(t, create(201, fmt.Sprintf(`"vip_subnet_id":%q,"vip_address":%q`, other, addr), b))
	const portB = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7"
	lbB2 := decodeLB(t, create(201, fmt.Sprintf(`"vip_port_id":%q`, portB), b))
	systemtest.ExpectFault(t, create(400, fmt.Sprintf(`"vip_port_id":%q`, portB), a), 400, "Port "+portB+" not found.")
	for _, id := range []string{lbB.ID, lbB2.ID} {
		n.WaitActive(id, 10*time.Second)
	}

	// Deleted, A's address and port are free again.
	n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lbA.ID, nil, a...)
	systemtest.Eventually(t, 10*time.Second, "load balancer a gone", func() bool { return n.ProvisioningStatus(lbA.ID) == "404" })
	n.WaitActive(decodeLB(t, create(201, fmt.Sprintf(`"vip_subnet_id":%q,"vip_address":%q`, subnet, addr), b)).ID, 10*time.Second)
	n.WaitActive(decodeLB(t, create(201, fmt.Sprintf(`"vip_port_id":%q`, portA), b)).ID, 10*time.Second)
}
