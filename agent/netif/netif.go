// Package netif owns the amphora's data-plane interfaces, through the real `ip`
// command: finding the interface that holds an address, and plugging a VIP or a network
// port onto the interface with a given MAC (addresses, link up, the VIP's policy
// route). With a network namespace name, every command runs there (ip -n NAME).
package netif

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
)

// InvalidError is a request the agent refuses (400); Message is the seed's text.
type InvalidError struct {
	Message string
	Details string
}

func (e *InvalidError) Error() string { return e.Message + ": " + e.Details }

// Lookup and plug failures.
var (
	// ErrBadIP: the interface lookup got something that is not an IP address.
	ErrBadIP = errors.New("Bad IP address version")
	// ErrInterfaceNotFound: no interface holds the address.
	ErrInterfaceNotFound = errors.New("Error interface not found for IP address")
	// ErrNoSuitableInterface: no interface has the MAC address to plug.
	ErrNoSuitableInterface = errors.New("No suitable network interface found")
)

// CommandError is a failed ip command while plugging What ("VIP" or "Port"; empty
// when only reading interfaces).
type CommandError struct {
	What    string
	Command string
	Output  string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("Error plugging %s: %s: %s", e.What, e.Command, e.Output)
}

// VIPPolicyTable is the routing table holding a VIP's default route (as upstream).
const VIPPolicyTable = "1"

// Net runs ip commands, in NetNS when set.
type Net struct {
	NetNS string
	IP    string // the ip binary; "ip" when empty
}

func (n *Net) run(what string, args ...string) ([]byte, error) {
	bin := n.IP
	if bin == "" {
		bin = "ip"
	}
	if n.NetNS != "" {
		args = append([]string{"-n", n.NetNS}, args...)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return out, &CommandError{What: what, Command: bin + " " + strings.Join(args, " "), Output: strings.TrimSpace(string(out)) + " (" + err.Error() + ")"}
	}
	return out, nil
}

// Link is an interface and its addresses.
type Link struct {
	Name  string
	MAC   string
	Up    bool
	Addrs []netip.Prefix
}

// Links lists the interfaces (ip -j addr show).
func (n *Net) Links() ([]Link, error) {
	out, err := n.run("", "-j", "addr", "show")
	if err != nil {
		return nil, err
	}
	var raw []struct {
		Name     string   `json:"ifname"`
		Address  string   `json:"address"`
		Flags    []string `json:"flags"`
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("parse ip -j addr: %w", err)
	}
	links := make([]Link, 0, len(raw))
	for _, r := range raw {
		l := Link{Name: r.Name, MAC: strings.ToLower(r.Address)}
		for _, f := range r.Flags {
			l.Up = l.Up || f == "UP"
		}
		for _, a := range r.AddrInfo {
			if ip, err := netip.ParseAddr(a.Local); err == nil {
				l.Addrs = append(l.Addrs, netip.PrefixFrom(ip.WithZone(""), a.PrefixLen))
			}
		}
		links = append(links, l)
	}
	return links, nil
}

// InterfaceFor returns the name of the interface holding ip.
func (n *Net) InterfaceFor(ip string) (string, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", ErrBadIP
	}
	addr = addr.Unmap().WithZone("")
	links, err := n.Links()
	if err != nil {
		return "", err
	}
	for _, l := range links {
		for _, a := range l.Addrs {
			if a.Addr() == addr {
				return l.Name, nil
			}
		}
	}
	return "", ErrInterfaceNotFound
}

func (n *Net) byMAC(mac string) (*Link, error) {
	links, err := n.Links()
	if err != nil {
		return nil, err
	}
	for i := range links {
		if links[i].MAC == mac {
			return &links[i], nil
		}
	}
	return nil, ErrNoSuitableInterface
}

func parseMAC(s string) (string, bool) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", false
	}
	return strings.ToLower(hw.String()), true
}

// VIP is the plug vip request.
type VIP struct {
	IP         string
	SubnetCIDR string `json:"subnet_cidr"`
	Gateway    string `json:"gateway"`
	MACAddress string `json:"mac_address"`
}

// PlugVIP puts the VIP (with the subnet's prefix length) on the interface with the
// MAC, brings it up and, with a gateway, routes traffic from the VIP through it
// (policy rule "from VIP" to table 1, default route via the gateway there). It is
// idempotent. It returns the interface name.
func (n *Net) PlugVIP(v VIP) (string, error) {
	vip, err := netip.ParseAddr(v.IP)
	if err != nil || vip.Zone() != "" {
		return "", &InvalidError{Message: "Invalid VIP", Details: fmt.Sprintf("%q is not an IP address", v.IP)}
	}
	vip = vip.Unmap()
	subnet, err := netip.ParsePrefix(v.SubnetCIDR)
	if err != nil || !subnet.Contains(vip) {
		return "", &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("subnet_cidr %q does not contain the VIP %s", v.SubnetCIDR, vip)}
	}
	var gw netip.Addr
	if v.Gateway != "" {
		gw, err = netip.ParseAddr(v.Gateway)
		if err != nil || !subnet.Contains(gw.Unmap()) {
			return "", &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("gateway %q is not in %s", v.Gateway, subnet)}
		}
		gw = gw.Unmap()
	}
	mac, ok := parseMAC(v.MACAddress)
	if !ok {
		return "", &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("mac_address %q is not a MAC address", v.MACAddress)}
	}
	link, err := n.byMAC(mac)
	if err != nil {
		return "", err
	}
	family := "-4"
	if vip.Is6() {
		family = "-6"
	}
	if _, err := n.run("VIP", "addr", "replace", netip.PrefixFrom(vip, subnet.Bits()).String(), "dev", link.Name); err != nil {
		return "", err
	}
	if _, err := n.run("VIP", "link", "set", "dev", link.Name, "up"); err != nil {
		return "", err
	}
	if gw.IsValid() {
		if _, err := n.run("VIP", family, "route", "replace", "default", "via", gw.String(), "dev", link.Name, "onlink", "table", VIPPolicyTable); err != nil {
			return "", err
		}
		host := netip.PrefixFrom(vip, vip.BitLen()).String()
		// Replace, not duplicate, the rule when plugging again.
		n.run("VIP", family, "rule", "del", "from", host, "table", VIPPolicyTable, "priority", "100")
		if _, err := n.run("VIP", family, "rule", "add", "from", host, "table", VIPPolicyTable, "priority", "100"); err != nil {
			return "", err
		}
	}
	return link.Name, nil
}

// FixedIP is an address to put on a plugged network port.
type FixedIP struct {
	IPAddress  string `json:"ip_address"`
	SubnetCIDR string `json:"subnet_cidr"`
}

// PlugNetwork brings up the interface with the MAC and puts the fixed IPs (if any) on
// it. It returns the interface name.
func (n *Net) PlugNetwork(macAddress string, fixed []FixedIP) (string, error) {
	mac, ok := parseMAC(macAddress)
	if !ok {
		return "", &InvalidError{Message: "Invalid network port", Details: fmt.Sprintf("mac_address %q is not a MAC address", macAddress)}
	}
	var prefixes []netip.Prefix
	for _, f := range fixed {
		ip, err1 := netip.ParseAddr(f.IPAddress)
		subnet, err2 := netip.ParsePrefix(f.SubnetCIDR)
		if err1 != nil || err2 != nil || !subnet.Contains(ip.Unmap()) {
			return "", &InvalidError{Message: "Invalid network port", Details: fmt.Sprintf("fixed IP %q in %q", f.IPAddress, f.SubnetCIDR)}
		}
		prefixes = append(prefixes, netip.PrefixFrom(ip.Unmap(), subnet.Bits()))
	}
	link, err := n.byMAC(mac)
	if err != nil {
		return "", err
	}
	for _, p := range prefixes {
		if _, err := n.run("Port", "addr", "replace", p.String(), "dev", link.Name); err != nil {
			return "", err
		}
	}
	if _, err := n.run("Port", "link", "set", "dev", link.Name, "up"); err != nil {
		return "", err
	}
	return link.Name, nil
}
