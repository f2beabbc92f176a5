package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// TestOpenstackCLIServesTraffic is the README's walk-through with real amphorae
// (the local driver): a load balancer built with the CLI (--wait) serves its VIP,
// and `status show`, `stats show` and `amphora list` show what happened.
func TestOpenstackCLIServesTraffic(t *testing.T) {
	n := systemtest.NewNode(t, "cli-amp")
	n.AmphoraDriver = "local"
	n.ExtraArgs = []string{"-heartbeat-interval", "1s", "-heartbeat-timeout", "3s", "-stats-interval", "1s"}
	n.StartHealthy(60 * time.Second)
	var ports []string
	for _, name := range []string{"A", "B"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		ports = append(ports, port)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := openstack(t, n, args...)
		if err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	vip := strings.TrimSpace(cli("loadbalancer", "create", "--name", "web", "--vip-subnet-id", subnet, "--wait",
		"-f", "value", "-c", "vip_address"))
	port := fmt.Sprint(systemtest.FreePortOn(t, "127.0.0.1"))
	cli("loadbalancer", "listener", "create", "--name", "http", "--protocol", "HTTP", "--protocol-port", port, "--wait", "web")
	cli("loadbalancer", "pool", "create", "--name", "pool", "--listener", "http", "--protocol", "HTTP",
		"--lb-algorithm", "ROUND_ROBIN", "--wait")
	for _, p := range ports {
		cli("loadbalancer", "member", "create", "--address", "127.0.0.1", "--protocol-port", p, "--wait", "pool")
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]int{}
	for i := 0; i < 200 && (seen["A"] == 0 || seen["B"] == 0); i++ {
		if resp, err := client.Get("http://" + net.JoinHostPort(vip, port) + "/"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen[string(b)]++
		}
		time.Sleep(50 * time.Millisecond)
	}
	if seen["A"] == 0 || seen["B"] == 0 {
		t.Fatalf("the VIP %s:%s did not alternate between both members: %v", vip, port, seen)
	}
	systemtest.Eventually(t, 15*time.Second, "status show: ONLINE", func() bool {
		out, err := openstack(t, n, "loadbalancer", "status", "show", "web")
		return err == nil && strings.Contains(out, `"operating_status": "ONLINE"`) && !strings.Contains(out, "OFFLINE")
	})
	served := seen["A"] + seen["B"]
	systemtest.Eventually(t, 15*time.Second, "stats show counting the requests", func() bool {
		var stats struct {
			TotalConnections int `json:"total_connections"`
		}
		out, err := openstack(t, n, "loadbalancer", "stats", "show", "web", "-f", "json")
		return err == nil && json.Unmarshal([]byte(out), &stats) == nil && stats.TotalConnections >= served
	})
	if out := cli("loadbalancer", "amphora", "list", "-f", "value", "-c", "status", "-c", "ha_ip"); !strings.Contains(out, "ALLOCATED "+vip) {
		t.Fatalf("amphora list: %s", out)
	}
	cli("loadbalancer", "delete", "--cascade", "--wait", "web")
}
