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

// TestAdditionalVipOwnership: an additional VIP's address is a claim in its
// subnet as the VIP's is (issue 11): one project cannot name another's VIP
// address as an additional VIP, nor another's additional VIP address as its VIP
// or an additional VIP (409, Neutron's words); a request naming one subnet twice
// is Octavia's 400, also when the VIP's subnet comes from its network; deleted,
// the holder's addresses are free again.
func TestAdditionalVipOwnership(t *testing.T) {
	n := startNode(t)
	a := []string{"X-Project-Id: project-a", "X-Roles: member"}
	b := []string{"X-Project-Id: project-b", "X-Roles: member"}
	const (
		addr, extra = "10.20.31.40", "10.20.31.41"
		other       = "5f0e9c2a-1b3d-4e6f-8a7b-9c0d1e2f3a4b"
		third       = "6a1f0d3b-2c4e-4f70-9b8c-0d1e2f3a4b5c"
		network     = "7b2a1e4c-3d5f-4081-ac9d-1e2f3a4b5c6d"
	)
	create := func(want int, headers []string, format string, args ...any) *systemtest.Response {
		return n.MustDo(want, "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":{`+fmt.Sprintf(format, args...)+`}}`, headers...)
	}
	additional := func(s, ip string) string {
		return fmt.Sprintf(`"additional_vips":[{"subnet_id":%q,"ip_address":%q}]`, s, ip)
	}

	lbA := decodeLB(t, create(201, a, `"vip_subnet_id":%q,"vip_address":%q,%s`, subnet, addr, additional(other, extra)))
	n.WaitActive(lbA.ID, 10*time.Second)

	taken := func(ip, s string) string { return fmt.Sprintf("IP address %s already allocated in subnet %s", ip, s) }
	// A's VIP as B's additional VIP; A's additional VIP as B's VIP, or as B's
	// additional VIP; A itself may not name them twice either.
	systemtest.ExpectFault(t, create(409, b, `"vip_subnet_id":%q,%s`, third, additional(subnet, addr)), 409, taken(addr, subnet))
	systemtest.ExpectFault(t, create(409, b, `"vip_subnet_id":%q,"vip_address":%q`, other, extra), 409, taken(extra, other))
	systemtest.ExpectFault(t, create(409, b, `"vip_subnet_id":%q,%s`, third, additional(other, extra)), 409, taken(extra, other))
	systemtest.ExpectFault(t, create(409, a, `"vip_subnet_id":%q,%s`, third, additional(other, extra)), 409, taken(extra, other))
	if got := len(list(t, n, "/v2/lbaas/loadbalancers", b...).LoadBalancers); got != 0 {
		t.Fatalf("project b has %d load balancers", got)
	}

	// Within one request: an additional VIP repeating another, or the VIP.
	const dup = "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet."
	systemtest.ExpectFault(t, create(400, b, `"vip_subnet_id":%q,"additional_vips":[{"subnet_id":%q,"ip_address":"10.20.32.1"},
		{"subnet_id":%q,"ip_address":"10.20.32.1"}]`, subnet, third, third), 400, dup)
	systemtest.ExpectFault(t, create(400, b, `"vip_subnet_id":%q,"vip_address":"10.20.32.2",%s`, third, additional(third, "10.20.32.2")), 400, dup)
	// The VIP's subnet keel derives from the network named is the same each time.
	onNet := decodeLB(t, create(201, b, `"vip_network_id":%q`, network))
	systemtest.ExpectFault(t, create(400, b, `"vip_network_id":%q,%s`, network, additional(onNet.VipSubnetID, "10.20.32.3")), 400, dup)
	n.WaitActive(onNet.ID, 10*time.Second)

	// Deleted, A's addresses are free again, either way round.
	n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lbA.ID, nil, a...)
	systemtest.Eventually(t, 10*time.Second, "load balancer a gone", func() bool { return n.ProvisioningStatus(lbA.ID) == "404" })
	n.WaitActive(decodeLB(t, create(201, b, `"vip_subnet_id":%q,%s`, third, additional(subnet, addr))).ID, 10*time.Second)
	n.WaitActive(decodeLB(t, create(201, b, `"vip_subnet_id":%q,"vip_address":%q`, other, extra)).ID, 10*time.Second)
	systemtest.ExpectFault(t, create(409, a, `"vip_subnet_id":%q,"vip_address":%q`, subnet, addr), 409, taken(addr, subnet))
}
