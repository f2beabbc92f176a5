package netif_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"keel/agent/agenttest"
	"keel/agent/netif"
)

// state is everything a plug may change in the namespace: the addresses and link
// state of the port and of lo, table 1's routes and the policy rules. IPv6 link-local
// addresses are left out: the kernel adds and removes them as links go up and down.
func state(t *testing.T, ns *agenttest.NetNS) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{{"-br", "addr", "show", "dev", ns.Link}, {"-br", "addr", "show", "dev", "lo"},
		{"-4", "route", "show", "table", "1"}, {"-6", "route", "show", "table", "1"}, {"-4", "rule", "show"}, {"-6", "rule", "show"}} {
		// An empty table and one that does not exist are the same state (stdout only).
		out, _ := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).Output()
		for _, f := range strings.Fields(string(out)) {
			if !strings.HasPrefix(f, "fe80::") {
				b.WriteString(f + " ")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Requests that cannot be plugged are refused (400) before anything changes: an
// address that is no host address (127.0.0.1 used to fail with 500 after putting
// 127.0.0.1/8 on the interface), a subnet covering everything, the all-zero MAC (which
// picked lo), a gateway that is the VIP or already local.
func TestPlugRefusesBeforeChanging(t *testing.T) {
	ns := agenttest.NewNetNS(t)
	n := &netif.Net{NetNS: ns.Name}
	// A fixed IP already on the port, so a gateway can be "an address of this amphora".
	if _, err := n.PlugNetwork(ns.MAC, []netif.FixedIP{{IPAddress: "10.77.0.9", SubnetCIDR: "10.77.0.0/24"}}); err != nil {
		t.Fatal(err)
	}
	ns.In(t, "link", "set", "dev", ns.Link, "down") // a plug would bring it up
	before := state(t, ns)

	vip := func(ip, subnet, gw, mac string) netif.VIP {
		return netif.VIP{IP: ip, SubnetCIDR: subnet, Gateway: gw, MACAddress: mac}
	}
	for _, c := range []struct {
		name string
		req  netif.VIP
		msg  string
	}{
		{"loopback VIP", vip("127.0.0.1", "127.0.0.0/8", "", ns.MAC), "Invalid VIP"},
		{"loopback VIP with gateway", vip("127.0.0.1", "127.0.0.0/8", "127.0.0.2", ns.MAC), "Invalid VIP"},
		{"IPv6 loopback VIP", vip("::1", "::/64", "", ns.MAC), "Invalid VIP"},
		{"unspecified VIP", vip("0.0.0.0", "0.0.0.0/8", "", ns.MAC), "Invalid VIP"},
		{"multicast VIP", vip("224.0.0.5", "224.0.0.0/24", "", ns.MAC), "Invalid VIP"},
		{"link-local VIP", vip("169.254.1.1", "169.254.0.0/16", "", ns.MAC), "Invalid VIP"},
		{"broadcast VIP", vip("255.255.255.255", "255.255.255.0/24", "", ns.MAC), "Invalid VIP"},
		{"zoned VIP", vip("fe80::1%eth1", "fe80::/64", "", ns.MAC), "Invalid VIP"},
		{"not an address", vip("10.77.0.300", "10.77.0.0/24", "", ns.MAC), "Invalid VIP"},
		{"subnet 0.0.0.0/0", vip("10.77.0.5", "0.0.0.0/0", "", ns.MAC), "Invalid subnet information"},
		{"subnet ::/0", vip("2001:db8::5", "::/0", "", ns.MAC), "Invalid subnet information"},
		{"subnet with host bits", vip("10.77.0.5", "10.77.0.5/24", "", ns.MAC), "Invalid subnet information"},
		{"VIP outside subnet", vip("10.77.0.5", "10.78.0.0/24", "", ns.MAC), "Invalid subnet information"},
		{"VIP is the network address", vip("10.77.0.0", "10.77.0.0/24", "", ns.MAC), "Invalid subnet information"},
		{"VIP is the broadcast address", vip("10.77.0.255", "10.77.0.0/24", "", ns.MAC), "Invalid subnet information"},
		{"gateway outside subnet", vip("10.77.0.5", "10.77.0.0/24", "10.9.9.9", ns.MAC), "Invalid subnet information"},
		{"gateway is the VIP", vip("10.77.0.5", "10.77.0.0/24", "10.77.0.5", ns.MAC), "Invalid subnet information"},
		{"gateway is local", vip("10.77.0.5", "10.77.0.0/24", "10.77.0.9", ns.MAC), "Invalid subnet information"},
		{"gateway loopback", vip("10.77.0.5", "10.77.0.0/24", "127.0.0.1", ns.MAC), "Invalid subnet information"},
		{"all-zero MAC", vip("10.77.0.5", "10.77.0.0/24", "", "00:00:00:00:00:00"), "Invalid subnet information"},
		{"broadcast MAC", vip("10.77.0.5", "10.77.0.0/24", "", "ff:ff:ff:ff:ff:ff"), "Invalid subnet information"},
		{"multicast MAC", vip("10.77.0.5", "10.77.0.0/24", "", "01:00:5e:00:00:01"), "Invalid subnet information"},
		{"not a MAC", vip("10.77.0.5", "10.77.0.0/24", "", "zz"), "Invalid subnet information"},
		{"EUI-64", vip("10.77.0.5", "10.77.0.0/24", "", "02:00:5e:10:00:00:00:01"), "Invalid subnet information"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := n.PlugVIP(c.req)
			var inv *netif.InvalidError
			if !errors.As(err, &inv) || inv.Message != c.msg {
				t.Fatalf("PlugVIP(%+v) = %v, want %q", c.req, err, c.msg)
			}
			if after := state(t, ns); after != before {
				t.Fatalf("refused plug changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	for _, c := range []struct {
		name  string
		mac   string
		fixed []netif.FixedIP
	}{
		{"all-zero MAC", "00:00:00:00:00:00", nil},
		{"broadcast MAC", "ff:ff:ff:ff:ff:ff", nil},
		{"loopback fixed IP", ns.MAC, []netif.FixedIP{{IPAddress: "127.0.0.2", SubnetCIDR: "127.0.0.0/8"}}},
		{"subnet 0.0.0.0/0", ns.MAC, []netif.FixedIP{{IPAddress: "10.88.0.7", SubnetCIDR: "0.0.0.0/0"}}},
		{"second fixed IP bad", ns.MAC, []netif.FixedIP{{IPAddress: "10.88.0.7", SubnetCIDR: "10.88.0.0/16"}, {IPAddress: "0.0.0.0", SubnetCIDR: "0.0.0.0/8"}}},
	} {
		t.Run("network "+c.name, func(t *testing.T) {
			_, err := n.PlugNetwork(c.mac, c.fixed)
			var inv *netif.InvalidError
			if !errors.As(err, &inv) || inv.Message != "Invalid network port" {
				t.Fatalf("PlugNetwork(%q, %+v) = %v", c.mac, c.fixed, err)
			}
			if after := state(t, ns); after != before {
				t.Fatalf("refused plug changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// failingIP is an ip wrapper that runs the real ip except for commands containing
// fail, which exit 2 as a refused netlink request would.
func failingIP(t *testing.T, fail string) string {
	p := filepath.Join(t.TempDir(), "ip")
	script := "#!/bin/sh\ncase \"$*\" in *'" + fail + "'*) echo 'RTNETLINK answers: injected failure' >&2; exit 2;; esac\nexec ip \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// When a command fails halfway, every change the plug made is undone, and what was
// there before stays: nothing is left half-done.
func TestPlugRollsBackOnFailure(t *testing.T) {
	ns := agenttest.NewNetNS(t)
	good := &netif.Net{NetNS: ns.Name}
	for _, c := range []struct {
		name  string
		fail  string
		setup func(t *testing.T) // what is there before the failing plug
		plug  func(n *netif.Net) error
	}{
		{"vip: route fails on a fresh port", "route replace", nil, func(n *netif.Net) error {
			_, err := n.PlugVIP(netif.VIP{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", Gateway: "10.77.0.1", MACAddress: ns.MAC})
			return err
		}},
		{"vip: rule fails on a fresh port", "rule add", nil, func(n *netif.Net) error {
			_, err := n.PlugVIP(netif.VIP{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", Gateway: "10.77.0.1", MACAddress: ns.MAC})
			return err
		}},
		{"vip: link up fails", "link set", nil, func(n *netif.Net) error {
			_, err := n.PlugVIP(netif.VIP{IP: "2001:db8::5", SubnetCIDR: "2001:db8::/64", MACAddress: ns.MAC})
			return err
		}},
		{"vip: second VIP's rule fails, the first VIP's route comes back", "rule add", func(t *testing.T) {
			if _, err := good.PlugVIP(netif.VIP{IP: "10.66.0.5", SubnetCIDR: "10.66.0.0/24", Gateway: "10.66.0.1", MACAddress: ns.MAC}); err != nil {
				t.Fatal(err)
			}
		}, func(n *netif.Net) error {
			_, err := n.PlugVIP(netif.VIP{IP: "10.77.0.5", SubnetCIDR: "10.77.0.0/24", Gateway: "10.77.0.1", MACAddress: ns.MAC})
			return err
		}},
		{"network: link up fails", "link set", nil, func(n *netif.Net) error {
			_, err := n.PlugNetwork(ns.MAC, []netif.FixedIP{{IPAddress: "10.88.0.7", SubnetCIDR: "10.88.0.0/16"}, {IPAddress: "2001:db8:1::7", SubnetCIDR: "2001:db8:1::/64"}})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Start from a clean port.
			ns.In(t, "addr", "flush", "dev", ns.Link)
			ns.In(t, "link", "set", "dev", ns.Link, "down")
			exec.Command("ip", "-n", ns.Name, "-4", "route", "flush", "table", "1").Run()
			for exec.Command("ip", "-n", ns.Name, "-4", "rule", "del", "table", "1").Run() == nil {
			}
			if c.setup != nil {
				c.setup(t)
			}
			before := state(t, ns)
			err := c.plug(&netif.Net{NetNS: ns.Name, IP: failingIP(t, c.fail)})
			var ce *netif.CommandError
			if !errors.As(err, &ce) || !strings.Contains(ce.Output, "injected failure") {
				t.Fatalf("plug = %v, want the injected failure", err)
			}
			if after := state(t, ns); after != before {
				t.Fatalf("failed plug left changes:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if err := c.plug(good); err != nil {
				t.Fatalf("the same plug without the failure: %v", err)
			}
		})
	}
}
