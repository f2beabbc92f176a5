package http_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// openstack runs the Debian openstack CLI (python3-octaviaclient) against node n
// the way the README says: no Keystone, a token keel ignores, the node as endpoint.
func openstack(t *testing.T, n *systemtest.Node, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openstack")
	if err != nil {
		t.Fatal("the openstack CLI is not installed (make deps installs python3-openstackclient and python3-octaviaclient)")
	}
	full := append([]string{"--os-auth-type", "admin_token", "--os-token", "unused", "--os-endpoint", n.URL("")}, args...)
	cmd := exec.Command(path, full...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOpenstackCLI drives keel through `openstack loadbalancer`: create, list,
// show, a listener, and a cascade delete.
func TestOpenstackCLI(t *testing.T) {
	n := startNode(t)
	out, err := openstack(t, n, "loadbalancer", "create", "--name", "cli-lb", "--vip-subnet-id", subnet, "-f", "json")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	var lb struct {
		ID                 string `json:"id"`
		ProvisioningStatus string `json:"provisioning_status"`
		VipSubnetID        string `json:"vip_subnet_id"`
	}
	if err := json.Unmarshal([]byte(out), &lb); err != nil || lb.ID == "" || lb.VipSubnetID != subnet {
		t.Fatalf("create output: %v\n%s", err, out)
	}
	systemtest.Eventually(t, 20*time.Second, "load balancer ACTIVE via the CLI", func() bool {
		out, err := openstack(t, n, "loadbalancer", "show", "cli-lb", "-f", "value", "-c", "provisioning_status")
		return err == nil && strings.TrimSpace(out) == "ACTIVE"
	})
	out, err = openstack(t, n, "loadbalancer", "list", "-f", "value", "-c", "id", "-c", "name")
	if err != nil || !strings.Contains(out, lb.ID+" cli-lb") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = openstack(t, n, "loadbalancer", "listener", "create", "--name", "web", "--protocol", "HTTP", "--protocol-port", "80", "cli-lb", "-f", "value", "-c", "protocol_port")
	if err != nil || strings.TrimSpace(out) != "80" {
		t.Fatalf("listener create: %v\n%s", err, out)
	}
	systemtest.Eventually(t, 20*time.Second, "load balancer ACTIVE after the listener", func() bool {
		out, err := openstack(t, n, "loadbalancer", "show", lb.ID, "-f", "value", "-c", "provisioning_status")
		return err == nil && strings.TrimSpace(out) == "ACTIVE"
	})
	if out, err := openstack(t, n, "loadbalancer", "delete", "--cascade", "cli-lb"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	systemtest.Eventually(t, 20*time.Second, "load balancer gone", func() bool {
		out, err := openstack(t, n, "loadbalancer", "list", "-f", "value", "-c", "id")
		return err == nil && !strings.Contains(out, lb.ID)
	})
	// An error comes back as the CLI shows Octavia's errors.
	out, err = openstack(t, n, "loadbalancer", "show", "does-not-exist")
	if err == nil || !strings.Contains(out, "Unable to locate does-not-exist in loadbalancers") {
		t.Fatalf("show of a missing load balancer: %v\n%s", err, out)
	}
}
