// Package netif owns the amphora's data-plane interfaces, through the real `ip`
// command: finding the interface that holds an address, and plugging a VIP or a network
// port onto the interface with a given MAC (addresses, link up, the VIP's policy
// route). With a network namespace name, every command runs there (ip -n NAME).
//
// A plug is all or nothing: the request is validated completely before the first
// change (an address that cannot be a VIP or port address, a subnet covering
// everything, a MAC no real port has are refused), the interface's state is read,
// only what is missing is changed, and when a command fails every change already
// made is undone.
package netif

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
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
	Name     string
	MAC      string
	Up       bool
	Loopback bool
	Addrs    []netip.Prefix
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
			l.Loopback = l.Loopback || f == "LOOPBACK"
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

// byMAC finds the interface with the MAC among links. A loopback interface (whose
// MAC is all zeroes) is never a port to plug.
func byMAC(links []Link, mac string) (*Link, error) {
	for i := range links {
		if links[i].MAC == mac && !links[i].Loopback {
			return &links[i], nil
		}
	}
	return nil, ErrNoSuitableInterface
}

// hasAddr reports whether any interface holds addr.
func hasAddr(links []Link, addr netip.Addr) (string, bool) {
	for _, l := range links {
		for _, a := range l.Addrs {
			if a.Addr() == addr {
				return l.Name, true
			}
		}
	}
	return "", false
}

// parseMAC accepts the MAC of a real port: 6 bytes, unicast (the group bit of the
// first byte clear) and not all zeroes (the loopback interface's "MAC").
func parseMAC(s string) (string, string) {
	hw, err := net.ParseMAC(s)
	switch {
	case err != nil || len(hw) != 6:
		return "", "is not a MAC address"
	case hw[0]&1 == 1:
		return "", "is a multicast or broadcast address"
	case bytes.Equal(hw, make([]byte, 6)):
		return "", "is all zeroes"
	}
	return strings.ToLower(hw.String()), ""
}

// hostAddr parses an address that can be put on an amphora's port (a VIP, a fixed IP)
// or be its gateway: a unicast address that is not unspecified, loopback, link-local
// or the IPv4 limited broadcast, with no zone. It returns why not otherwise.
func hostAddr(s string) (netip.Addr, string) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, "is not an IP address"
	}
	a = a.Unmap()
	switch {
	case a.Zone() != "":
		return a, "has a zone"
	case a.IsUnspecified():
		return a, "is the unspecified address"
	case a.IsLoopback():
		return a, "is a loopback address"
	case a.IsMulticast():
		return a, "is a multicast address"
	case a.IsLinkLocalUnicast():
		return a, "is a link-local address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, "is the broadcast address"
	}
	return a, ""
}

// subnetOf parses a subnet in CIDR notation as Octavia does (ipaddress.ip_network,
// strict: no host bits set) and refuses one that covers every address (/0).
func subnetOf(s string) (netip.Prefix, string) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || p.Addr().Zone() != "":
		return p, "is not a subnet in CIDR notation"
	case p.Addr().Is4In6():
		return p, "is an IPv4-mapped IPv6 subnet"
	case p.Bits() == 0:
		return p, "covers every address"
	case p.Masked() != p:
		return p, "has host bits set (the network is " + p.Masked().String() + ")"
	}
	return p, ""
}

// inSubnet checks that a (a host address) belongs to subnet and is neither its network
// address nor, for IPv4, its broadcast address (on subnets that have them).
func inSubnet(a netip.Addr, subnet netip.Prefix) string {
	if !subnet.Contains(a) {
		return "is not in " + subnet.String()
	}
	if a.BitLen()-subnet.Bits() < 2 {
		return "" // /31, /32, /127, /128: every address is a host
	}
	if a == subnet.Addr() {
		return "is the network address of " + subnet.String()
	}
	if a.Is4() {
		b := a.As4()
		n := subnet.Addr().As4()
		for i := 0; i < 4; i++ {
			n[i] |= ^mask4(subnet.Bits())[i]
		}
		if b == n {
			return "is the broadcast address of " + subnet.String()
		}
	}
	return ""
}

func mask4(bits int) [4]byte {
	var m [4]byte
	for i := 0; i < bits; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// change is one applied change and the ip command that undoes it.
type change struct {
	what string
	undo []string
}

// changes undoes, in reverse order, what a failed plug did before failing.
type changes []change

func (cs changes) rollback(n *Net, err error) error {
	var failed []string
	for i := len(cs) - 1; i >= 0; i-- {
		if _, uerr := n.run(cs[i].what, cs[i].undo...); uerr != nil {
			var ce *CommandError
			if errors.As(uerr, &ce) {
				failed = append(failed, ce.Command+": "+ce.Output)
			} else {
				failed = append(failed, uerr.Error())
			}
		}
	}
	var ce *CommandError
	if len(failed) > 0 && errors.As(err, &ce) {
		ce.Output += "; undoing the plug failed too: " + strings.Join(failed, "; ")
	}
	return err
}

// VIP is the plug vip request.
type VIP struct {
	IP         string
	SubnetCIDR string `json:"subnet_cidr"`
	Gateway    string `json:"gateway"`
	MACAddress string `json:"mac_address"`
}

// vipPlan is a validated plug vip request.
type vipPlan struct {
	vip    netip.Addr
	subnet netip.Prefix
	gw     netip.Addr // invalid without a gateway
	mac    string
}

func checkVIP(v VIP) (*vipPlan, error) {
	vip, why := hostAddr(v.IP)
	if why != "" {
		return nil, &InvalidError{Message: "Invalid VIP", Details: fmt.Sprintf("%q %s", v.IP, why)}
	}
	subnet, why := subnetOf(v.SubnetCIDR)
	if why != "" {
		return nil, &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("subnet_cidr %q %s", v.SubnetCIDR, why)}
	}
	if why := inSubnet(vip, subnet); why != "" {
		return nil, &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("the VIP %s %s", vip, why)}
	}
	p := &vipPlan{vip: vip, subnet: subnet}
	if v.Gateway != "" {
		gw, why := hostAddr(v.Gateway)
		if why == "" {
			why = inSubnet(gw, subnet)
		}
		if why == "" && gw == vip {
			why = "is the VIP itself"
		}
		if why != "" {
			return nil, &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("gateway %q %s", v.Gateway, why)}
		}
		p.gw = gw
	}
	mac, why := parseMAC(v.MACAddress)
	if why != "" {
		return nil, &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("mac_address %q %s", v.MACAddress, why)}
	}
	p.mac = mac
	return p, nil
}

// PlugVIP puts the VIP (with the subnet's prefix length) on the interface with the
// MAC, brings it up and, with a gateway, routes traffic from the VIP through it
// (policy rule "from VIP" to table 1, default route via the gateway there). It is
// idempotent, changes only what is missing, and undoes its changes when one fails.
// It returns the interface name.
func (n *Net) PlugVIP(v VIP) (string, error) {
	p, err := checkVIP(v)
	if err != nil {
		return "", err
	}
	links, err := n.Links()
	if err != nil {
		return "", err
	}
	link, err := byMAC(links, p.mac)
	if err != nil {
		return "", err
	}
	if p.gw.IsValid() {
		if on, local := hasAddr(links, p.gw); local {
			return "", &InvalidError{Message: "Invalid subnet information", Details: fmt.Sprintf("gateway %s is an address of this amphora (%s)", p.gw, on)}
		}
	}
	if on, ok := hasAddr(links, p.vip); ok && on != link.Name {
		return "", &InvalidError{Message: "Invalid VIP", Details: fmt.Sprintf("%s is already on interface %s", p.vip, on)}
	}
	family := "-4"
	if p.vip.Is6() {
		family = "-6"
	}
	var done changes
	fail := func(err error) (string, error) { return "", done.rollback(n, err) }

	prefix := netip.PrefixFrom(p.vip, p.subnet.Bits())
	if !slices.Contains(link.Addrs, prefix) {
		if _, err := n.run("VIP", "addr", "replace", prefix.String(), "dev", link.Name); err != nil {
			return fail(err)
		}
		done = append(done, change{"VIP", []string{"addr", "del", prefix.String(), "dev", link.Name}})
	}
	if !link.Up {
		if _, err := n.run("VIP", "link", "set", "dev", link.Name, "up"); err != nil {
			return fail(err)
		}
		done = append(done, change{"VIP", []string{"link", "set", "dev", link.Name, "down"}})
	}
	if p.gw.IsValid() {
		prev, err := n.defaultRoute(family, VIPPolicyTable)
		if err != nil {
			return fail(err)
		}
		if prev == nil || prev.Gateway != p.gw.String() || prev.Dev != link.Name || !slices.Contains(prev.Flags, "onlink") {
			if _, err := n.run("VIP", family, "route", "replace", "default", "via", p.gw.String(), "dev", link.Name, "onlink", "table", VIPPolicyTable); err != nil {
				return fail(err)
			}
			undo := []string{family, "route", "del", "default", "table", VIPPolicyTable}
			if prev != nil {
				undo = []string{family, "route", "replace", "default", "via", prev.Gateway, "dev", prev.Dev, "table", VIPPolicyTable}
				if slices.Contains(prev.Flags, "onlink") {
					undo = append(undo, "onlink")
				}
			}
			done = append(done, change{"VIP", undo})
		}
		host := netip.PrefixFrom(p.vip, p.vip.BitLen())
		exists, err := n.vipRule(family, p.vip)
		if err != nil {
			return fail(err)
		}
		if !exists {
			if _, err := n.run("VIP", family, "rule", "add", "from", host.String(), "table", VIPPolicyTable, "priority", vipRulePriority); err != nil {
				return fail(err)
			}
			done = append(done, change{"VIP", []string{family, "rule", "del", "from", host.String(), "table", VIPPolicyTable, "priority", vipRulePriority}})
		}
	}
	return link.Name, nil
}

const vipRulePriority = "100"

type route struct {
	Dst     string   `json:"dst"`
	Gateway string   `json:"gateway"`
	Dev     string   `json:"dev"`
	Flags   []string `json:"flags"`
}

// defaultRoute returns the default route of a routing table (nil if none, also when
// the table does not exist yet).
func (n *Net) defaultRoute(family, table string) (*route, error) {
	out, err := n.run("VIP", "-j", family, "route", "show", "table", table)
	if err != nil {
		if strings.Contains(string(out), "table does not exist") {
			return nil, nil
		}
		return nil, err
	}
	var routes []route
	if err := json.Unmarshal(out, &routes); err != nil {
		return nil, fmt.Errorf("parse ip -j route: %w", err)
	}
	for i := range routes {
		if routes[i].Dst == "default" {
			return &routes[i], nil
		}
	}
	return nil, nil
}

// vipRule reports whether the VIP's policy rule (from VIP, table 1, priority 100)
// exists.
func (n *Net) vipRule(family string, vip netip.Addr) (bool, error) {
	out, err := n.run("VIP", "-j", family, "rule", "show")
	if err != nil {
		return false, err
	}
	var rules []struct {
		Priority int    `json:"priority"`
		Src      string `json:"src"`
		SrcLen   int    `json:"srclen"`
		Table    string `json:"table"`
	}
	if err := json.Unmarshal(out, &rules); err != nil {
		return false, fmt.Errorf("parse ip -j rule: %w", err)
	}
	for _, r := range rules {
		src, err := netip.ParseAddr(r.Src)
		if err == nil && src.Unmap() == vip && (r.SrcLen == 0 || r.SrcLen == vip.BitLen()) &&
			r.Table == VIPPolicyTable && fmt.Sprint(r.Priority) == vipRulePriority {
			return true, nil
		}
	}
	return false, nil
}

// FixedIP is an address to put on a plugged network port.
type FixedIP struct {
	IPAddress  string `json:"ip_address"`
	SubnetCIDR string `json:"subnet_cidr"`
}

// PlugNetwork brings up the interface with the MAC and puts the fixed IPs (if any) on
// it, all or nothing. It returns the interface name.
func (n *Net) PlugNetwork(macAddress string, fixed []FixedIP) (string, error) {
	mac, why := parseMAC(macAddress)
	if why != "" {
		return "", &InvalidError{Message: "Invalid network port", Details: fmt.Sprintf("mac_address %q %s", macAddress, why)}
	}
	var prefixes []netip.Prefix
	for _, f := range fixed {
		ip, why := hostAddr(f.IPAddress)
		if why == "" {
			var subnet netip.Prefix
			if subnet, why = subnetOf(f.SubnetCIDR); why == "" {
				why = inSubnet(ip, subnet)
				if p := netip.PrefixFrom(ip, subnet.Bits()); !slices.Contains(prefixes, p) {
					prefixes = append(prefixes, p)
				}
			} else {
				why = fmt.Sprintf("subnet %q %s", f.SubnetCIDR, why)
			}
		}
		if why != "" {
			return "", &InvalidError{Message: "Invalid network port", Details: fmt.Sprintf("fixed IP %q in %q: %s", f.IPAddress, f.SubnetCIDR, why)}
		}
	}
	links, err := n.Links()
	if err != nil {
		return "", err
	}
	link, err := byMAC(links, mac)
	if err != nil {
		return "", err
	}
	for _, p := range prefixes {
		if on, ok := hasAddr(links, p.Addr()); ok && on != link.Name {
			return "", &InvalidError{Message: "Invalid network port", Details: fmt.Sprintf("fixed IP %s is already on interface %s", p.Addr(), on)}
		}
	}
	var done changes
	for _, p := range prefixes {
		if slices.Contains(link.Addrs, p) {
			continue
		}
		if _, err := n.run("Port", "addr", "replace", p.String(), "dev", link.Name); err != nil {
			return "", done.rollback(n, err)
		}
		done = append(done, change{"Port", []string{"addr", "del", p.String(), "dev", link.Name}})
	}
	if !link.Up {
		if _, err := n.run("Port", "link", "set", "dev", link.Name, "up"); err != nil {
			return "", done.rollback(n, err)
		}
	}
	return link.Name, nil
}
