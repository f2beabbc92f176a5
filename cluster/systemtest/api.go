package systemtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Subnet is the VIP subnet id tests create load balancers on (keel records any
// UUID as given).
const Subnet = "08dce793-daef-411d-a896-d389cd45b1ea"

// Fault is Octavia's error body.
type Fault struct {
	FaultCode   string `json:"faultcode"`
	FaultString string `json:"faultstring"`
}

// ExpectFault checks an error response: its status, Octavia's exact faultstring,
// and the faultcode that goes with the status (Server for 5xx, Client otherwise).
func ExpectFault(t T, r *Response, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	var f Fault
	if err := json.Unmarshal(r.Body, &f); err != nil {
		t.Fatalf("error body is not Octavia's: %s", r.Body)
	}
	if f.FaultString != msg {
		t.Fatalf("faultstring %q, want %q", f.FaultString, msg)
	}
	if want := map[bool]string{true: "Server", false: "Client"}[status >= 500]; f.FaultCode != want {
		t.Fatalf("faultcode %q, want %q", f.FaultCode, want)
	}
}

// ProvisioningStatus is a load balancer's provisioning_status as the node shows it
// ("" when it cannot be read, "404" when it is gone).
func (n *Node) ProvisioningStatus(id string) string {
	r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+id, nil)
	if err != nil {
		return ""
	}
	if r.Status != 200 {
		return fmt.Sprint(r.Status)
	}
	var v struct {
		LoadBalancer struct {
			ProvisioningStatus string `json:"provisioning_status"`
		} `json:"loadbalancer"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.LoadBalancer.ProvisioningStatus
}

// WaitActive waits (bounded) until load balancer id is ACTIVE, failing the test
// at once if it goes ERROR.
func (n *Node) WaitActive(id string, timeout time.Duration) {
	n.t.Helper()
	Eventually(n.t, timeout, id+" ACTIVE", func() bool {
		s := n.ProvisioningStatus(id)
		if s == "ERROR" {
			n.t.Fatalf("load balancer %s went ERROR", id)
		}
		return s == "ACTIVE"
	})
}

// CreatedID is the id in a create's response body ({"<resource>": {"id": ...}}).
func CreatedID(t T, r *Response) string {
	t.Helper()
	var v map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || len(v) != 1 {
		t.Fatalf("no created object in %s", r.Body)
	}
	for _, o := range v {
		if o.ID == "" {
			t.Fatalf("no id in %s", r.Body)
		}
		return o.ID
	}
	return ""
}
