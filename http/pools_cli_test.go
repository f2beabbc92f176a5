package http_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// TestOpenstackCLIPools drives pools, members and health monitors through
// `openstack loadbalancer` (python-octaviaclient), which finds them by name
// through list filters and shows Octavia's errors.
func TestOpenstackCLIPools(t *testing.T) {
	n := startNode(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := openstack(t, n, args...)
		if err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}
	active := func() {
		t.Helper()
		systemtest.Eventually(t, 20*time.Second, "load balancer ACTIVE", func() bool {
			out, err := openstack(t, n, "loadbalancer", "show", "cli-pools", "-f", "value", "-c", "provisioning_status")
			return err == nil && strings.TrimSpace(out) == "ACTIVE"
		})
	}
	run("loadbalancer", "create", "--name", "cli-pools", "--vip-subnet-id", subnet)
	active()
	run("loadbalancer", "listener", "create", "--name", "web", "--protocol", "HTTP", "--protocol-port", "80", "cli-pools")
	active()
	run("loadbalancer", "pool", "create", "--name", "p1", "--listener", "web", "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN",
		"--session-persistence", "type=APP_COOKIE,cookie_name=sid")
	active()
	var pool struct {
		Listeners          string `json:"listeners"`
		SessionPersistence string `json:"session_persistence"`
		ProvisioningStatus string `json:"provisioning_status"`
	}
	if err := json.Unmarshal([]byte(run("loadbalancer", "pool", "show", "p1", "-f", "json")), &pool); err != nil ||
		pool.Listeners == "" || !strings.Contains(pool.SessionPersistence, "cookie_name=sid") || pool.ProvisioningStatus != "ACTIVE" {
		t.Fatalf("pool show: %+v %v", pool, err)
	}

	run("loadbalancer", "member", "create", "--name", "m1", "--address", "10.0.0.1", "--protocol-port", "8080", "--weight", "3", "p1")
	active()
	run("loadbalancer", "member", "set", "--weight", "9", "p1", "m1")
	active()
	if got := run("loadbalancer", "member", "list", "p1", "-f", "value", "-c", "name", "-c", "weight", "-c", "operating_status"); got != "m1 NO_MONITOR 9" {
		t.Fatalf("member list: %q", got)
	}
	if out, err := openstack(t, n, "loadbalancer", "member", "create", "--address", "10.0.0.1", "--protocol-port", "8080", "p1"); err == nil ||
		!strings.Contains(out, "Another member on this pool is already using ip 10.0.0.1 on protocol_port 8080 (HTTP 409)") {
		t.Fatalf("duplicate member: %v\n%s", err, out)
	}

	run("loadbalancer", "healthmonitor", "create", "--name", "hm1", "--delay", "5", "--timeout", "3", "--max-retries", "3", "--type", "HTTP",
		"--http-version", "1.1", "--domain-name", "example.com", "--url-path", "/health", "p1")
	active()
	var hm struct {
		HTTPVersion     float64 `json:"http_version"`
		URLPath         string  `json:"url_path"`
		OperatingStatus string  `json:"operating_status"`
	}
	if err := json.Unmarshal([]byte(run("loadbalancer", "healthmonitor", "show", "hm1", "-f", "json")), &hm); err != nil ||
		hm.HTTPVersion != 1.1 || hm.URLPath != "/health" || hm.OperatingStatus != "ONLINE" {
		t.Fatalf("monitor show: %+v %v", hm, err)
	}
	// Operating status is measured (the noop driver measures nothing): a monitor
	// leaves m1 NO_MONITOR, and a member created under it is OFFLINE, as Octavia.
	if got := run("loadbalancer", "member", "show", "p1", "m1", "-f", "value", "-c", "operating_status"); got != "NO_MONITOR" {
		t.Fatalf("member when a monitor was added: %q", got)
	}
	run("loadbalancer", "member", "create", "--name", "m2", "--address", "10.0.0.2", "--protocol-port", "8080", "p1")
	active()
	if got := run("loadbalancer", "member", "show", "p1", "m2", "-f", "value", "-c", "operating_status"); got != "OFFLINE" {
		t.Fatalf("monitored member: %q", got)
	}
	if out, err := openstack(t, n, "loadbalancer", "pool", "set", "--lb-algorithm", "SOURCE_IP_PORT", "p1"); err == nil ||
		!strings.Contains(out, "Amphora provider does not support SOURCE_IP_PORT algorithm. (HTTP 501)") {
		t.Fatalf("SOURCE_IP_PORT: %v\n%s", err, out)
	}

	run("loadbalancer", "healthmonitor", "delete", "hm1")
	active()
	if got := run("loadbalancer", "member", "show", "p1", "m2", "-f", "value", "-c", "operating_status"); got != "NO_MONITOR" {
		t.Fatalf("member after its monitor's delete: %q", got)
	}
	run("loadbalancer", "member", "delete", "p1", "m1")
	active()
	run("loadbalancer", "member", "delete", "p1", "m2")
	active()
	run("loadbalancer", "pool", "delete", "p1")
	active()
	if got := run("loadbalancer", "pool", "list", "-f", "value", "-c", "name"); got != "" {
		t.Fatalf("pools after delete: %q", got)
	}
}
