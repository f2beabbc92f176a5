package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"keel/agent/agentclient"
	"keel/agent/agenttest"
)

// TestPlugAndVRRPInNamespace runs an agent whose data plane is a network namespace the
// test creates: plug vip / network configure its veth with real ip commands, and a real
// keepalived takes the VRRP master role there and adds its VIP.
func TestPlugAndVRRPInNamespace(t *testing.T) {
	ns := agenttest.NewNetNS(t)
	a := agenttest.StartAgent(t, agentBin, agenttest.AgentOptions{NetNS: ns.Name})
	c := a.Client

	_, err := c.PlugVIP(ctx(t), "10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "10.99.0.0/24", Gateway: "10.99.0.1", MACAddress: "02:00:00:00:99:99"})
	apiErr(t, err, 404, "No suitable network interface found")
	_, err = c.PlugVIP(ctx(t), "10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "10.98.0.0/24", MACAddress: ns.MAC})
	apiErr(t, err, 400, "Invalid subnet information")
	_, err = c.PlugVIP(ctx(t), "10.99.0.300", agentclient.PlugVIPRequest{SubnetCIDR: "10.99.0.0/24", MACAddress: ns.MAC})
	apiErr(t, err, 400, "Invalid VIP")
	// Refused before anything changes: a loopback VIP (used to answer 500 and leave
	// 127.0.0.1/8 on the port), a subnet covering everything, the all-zero MAC (which
	// picked lo).
	before := ns.In(t, "-br", "addr", "show") + ns.In(t, "rule", "show")
	for _, r := range []struct {
		vip string
		req agentclient.PlugVIPRequest
		msg string
	}{
		{"127.0.0.1", agentclient.PlugVIPRequest{SubnetCIDR: "127.0.0.0/8", Gateway: "127.0.0.2", MACAddress: ns.MAC}, "Invalid VIP"},
		{"10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "0.0.0.0/0", MACAddress: ns.MAC}, "Invalid subnet information"},
		{"10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "10.99.0.0/24", MACAddress: "00:00:00:00:00:00"}, "Invalid subnet information"},
		{"10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "10.99.0.0/24", Gateway: "10.99.0.2", MACAddress: ns.MAC}, "Invalid subnet information"},
	} {
		_, err = c.PlugVIP(ctx(t), r.vip, r.req)
		apiErr(t, err, 400, r.msg)
	}
	_, err = c.PlugNetwork(ctx(t), "00:00:00:00:00:00", nil)
	apiErr(t, err, 400, "Invalid network port")
	if after := ns.In(t, "-br", "addr", "show") + ns.In(t, "rule", "show"); after != before {
		t.Fatalf("refused plugs changed the namespace:\n%s\n%s", before, after)
	}

	details, err := c.PlugVIP(ctx(t), "10.99.0.2", agentclient.PlugVIPRequest{SubnetCIDR: "10.99.0.0/24", Gateway: "10.99.0.1", MACAddress: ns.MAC})
	if err != nil || details != "VIP 10.99.0.2 plugged on interface "+ns.Link {
		t.Fatalf("plug vip: %q %v", details, err)
	}
	if out := ns.In(t, "-br", "addr", "show", "dev", ns.Link); !strings.Contains(out, "10.99.0.2/24") || !strings.Contains(out, "UP") {
		t.Fatalf("interface after plug vip: %s", out)
	}
	if name, err := c.Interface(ctx(t), "10.99.0.2"); err != nil || name != ns.Link {
		t.Fatalf("interface lookup in the namespace: %q %v", name, err)
	}
	details, err = c.PlugNetwork(ctx(t), ns.MAC, []agentclient.FixedIP{{IPAddress: "10.97.0.5", SubnetCIDR: "10.97.0.0/24"}})
	if err != nil || details != "Plugged interface "+ns.Link {
		t.Fatalf("plug network: %q %v", details, err)
	}
	_, err = c.PlugNetwork(ctx(t), "02:00:00:00:99:99", nil)
	apiErr(t, err, 404, "No suitable network interface found")

	// haproxy runs inside the namespace: its port is on the namespace's loopback.
	listener, pool := agenttest.NewUUID(), agenttest.NewUUID()
	port := agenttest.FreePort(t)
	cfg := agenttest.HTTPConfig(listener, pool, port, map[string]string{agenttest.NewUUID(): fmt.Sprintf("127.0.0.1:%d", port+1)})
	if _, err := c.UploadConfig(ctx(t), a.ID, listener, []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListenerAction(ctx(t), listener, "start"); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Listener(ctx(t), listener); err != nil || st.Status != "ACTIVE" {
		t.Fatalf("listener in namespace: %+v %v", st, err)
	}
	if !agenttest.PortClosed(fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatal("haproxy bound the host's loopback instead of the namespace's")
	}

	// VRRP.
	_, err = c.VRRPAction(ctx(t), "BAD_TEST_DATA")
	if e := apiErr(t, err, 400, "Invalid Request"); e.Details != "Unknown action: BAD_TEST_DATA" {
		t.Fatalf("details %q", e.Details)
	}
	_, err = c.VRRPAction(ctx(t), "start")
	apiErr(t, err, 500, "Failed to start keepalived service: no keepalived configuration uploaded")
	err = c.UploadVRRP(ctx(t), []byte("vrrp_instance VI_1 {\n interface "+ns.Link+"\n virtual_router_id 999\n}\n"))
	if e := apiErr(t, err, 400, "Invalid request"); !strings.Contains(e.Details, "999") {
		t.Fatalf("details %q", e.Details)
	}
	conf := fmt.Sprintf(`global_defs {
    router_id keeltest
}
vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.99.0.10/32
    }
}
`, ns.Link)
	if err := c.UploadVRRP(ctx(t), []byte(conf)); err != nil {
		t.Fatal(err)
	}
	details, err = c.VRRPAction(ctx(t), "start")
	if err != nil || details != "keepalived started" {
		t.Fatalf("vrrp start: %q %v", details, err)
	}
	agenttest.Eventually(t, 20*time.Second, "keepalived MASTER adding its VIP", func() bool {
		return strings.Contains(ns.In(t, "-br", "addr", "show", "dev", ns.Link), "10.99.0.10/32")
	})
	if d, err := c.Details(ctx(t)); err != nil || !d.KeepalivedUp {
		t.Fatalf("details keepalived_running: %v %v", d.KeepalivedUp, err)
	}
	if details, err = c.VRRPAction(ctx(t), "reload"); err != nil || details != "keepalived reloaded" {
		t.Fatalf("vrrp reload: %q %v", details, err)
	}
	if details, err = c.VRRPAction(ctx(t), "stop"); err != nil || details != "keepalived stopped" {
		t.Fatalf("vrrp stop: %q %v", details, err)
	}
	agenttest.Eventually(t, 10*time.Second, "VIP released", func() bool {
		return !strings.Contains(ns.In(t, "-br", "addr", "show", "dev", ns.Link), "10.99.0.10")
	})
	if d, _ := c.Details(ctx(t)); d.KeepalivedUp {
		t.Fatal("keepalived still reported running")
	}
}
