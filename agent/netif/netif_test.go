package netif_test

import (
	"errors"
	"strings"
	"testing"

	"keel/agent/agenttest"
	"keel/agent/netif"
)

func TestInterfaceLookupAndPlugInNamespace(t *testing.T) {
	ns := agenttest.NewNetNS(t)
	n := &netif.Net{NetNS: ns.Name}

	if name, err := n.InterfaceFor("127.0.0.1"); err != nil || name != "lo" {
		t.Fatalf("InterfaceFor(127.0.0.1) = %q, %v", name, err)
	}
	if _, err := n.InterfaceFor("10.6.0.1.1"); !errors.Is(err, netif.ErrBadIP) {
		t.Fatalf("bad ip: %v", err)
	}
	if _, err := n.InterfaceFor("10.5.0.1"); !errors.Is(err, netif.ErrInterfaceNotFound) {
		t.Fatalf("absent ip: %v", err)
	}

	var inv *netif.InvalidError
	bad := []netif.VIP{
		{IP: "nope", SubnetCIDR: "10.77.0.0/24", MACAddress: ns.MAC},
		{IP: "10.77.0.5", SubnetCIDR: "10.78.0.0/24", MACAddress: ns.MAC},
		{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", Gateway: "10.9.9.9", MACAddress: ns.MAC},
		{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", MACAddress: "zz"},
	}
	for _, v := range bad {
		if _, err := n.PlugVIP(v); !errors.As(err, &inv) {
			t.Errorf("PlugVIP(%+v) = %v", v, err)
		}
	}
	if _, err := n.PlugVIP(netif.VIP{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", MACAddress: "02:00:00:00:00:99"}); !errors.Is(err, netif.ErrNoSuitableInterface) {
		t.Fatalf("unknown mac: %v", err)
	}

	vip := netif.VIP{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", Gateway: "10.77.0.1", MACAddress: strings.ToUpper(ns.MAC)}
	for i := 0; i < 2; i++ { // idempotent
		name, err := n.PlugVIP(vip)
		if err != nil || name != ns.Link {
			t.Fatalf("PlugVIP #%d = %q, %v", i, name, err)
		}
	}
	if got := ns.In(t, "-br", "addr", "show", "dev", ns.Link); !strings.Contains(got, "10.77.0.5/24") || !strings.Contains(got, "UP") {
		t.Fatalf("after plug: %s", got)
	}
	if got := ns.In(t, "route", "show", "table", netif.VIPPolicyTable); !strings.Contains(got, "default via 10.77.0.1 dev "+ns.Link) {
		t.Fatalf("policy route: %s", got)
	}
	if got := ns.In(t, "rule", "show"); strings.Count(got, "from 10.77.0.5 lookup 1") != 1 {
		t.Fatalf("policy rule: %s", got)
	}
	if name, err := n.InterfaceFor("10.77.0.5"); err != nil || name != ns.Link {
		t.Fatalf("InterfaceFor(VIP) = %q, %v", name, err)
	}

	// Plug network: fixed IP added to the port.
	name, err := n.PlugNetwork(ns.MAC, []netif.FixedIP{{IPAddress: "10.88.0.7", SubnetCIDR: "10.88.0.0/16"}})
	if err != nil || name != ns.Link {
		t.Fatalf("PlugNetwork = %q, %v", name, err)
	}
	if got := ns.In(t, "-br", "addr", "show", "dev", ns.Link); !strings.Contains(got, "10.88.0.7/16") {
		t.Fatalf("after plug network: %s", got)
	}
	if _, err := n.PlugNetwork("02:00:00:00:00:99", nil); !errors.Is(err, netif.ErrNoSuitableInterface) {
		t.Fatalf("unknown mac: %v", err)
	}

	// A failing ip command is reported with its output.
	broken := &netif.Net{NetNS: ns.Name + "-missing"}
	var ce *netif.CommandError
	if _, err := broken.InterfaceFor("10.0.0.1"); !errors.As(err, &ce) || ce.Output == "" {
		t.Fatalf("missing namespace: %v", err)
	}
}
