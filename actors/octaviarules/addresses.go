package octaviarules

import (
	"net/netip"
	"strings"
)

// Addresses are kept as the client wrote them: Octavia's IPAddressType validates
// an address and returns it unchanged, so "2001:db8:0:0:0:0:0:1" is stored and
// rendered as sent, not as "2001:db8::1". Where two spellings of one address must
// count as the same one, compare AddressKey.

// ParseAddress validates an IPv4 or IPv6 address as the API accepts it (no zone).
func ParseAddress(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}

// AddressKey is the form under which two spellings of one address are equal
// (RFC 5952's: lower case, zeros compressed); a string that is not an address
// is its own key. An IPv4-mapped IPv6 address stays distinct from the IPv4 one,
// as in Octavia (ipaddress compares them unequal).
func AddressKey(s string) string {
	if a, ok := ParseAddress(s); ok {
		return a.String()
	}
	return s
}

// ExplodedAddress is Python's ipaddress exploded form upper-cased, the spelling
// Octavia compares [networking] reserved_ips in (and names in its refusal):
// dotted quad for IPv4, eight 4-digit groups for IPv6.
func ExplodedAddress(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return strings.ToUpper(a.StringExpanded())
}

// CanonicalCIDR is Octavia's CidrType: ipaddress.ip_network(value,
// strict=False).with_prefixlen, so host bits are cleared, IPv6 is compressed and
// a bare address is its host network ("10.0.0.1" is "10.0.0.1/32").
func CanonicalCIDR(s string) (string, bool) {
	if !strings.Contains(s, "/") {
		a, ok := ParseAddress(s)
		if !ok {
			return "", false
		}
		return netip.PrefixFrom(a, a.BitLen()).String(), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", false
	}
	return p.Masked().String(), true
}

// CanonicalCIDRs canonicalises a listener's allowed CIDRs and drops repeats, as
// Octavia stores them (a set of CidrType values); the first occurrence keeps its
// place. ok is false, with the offending value, if one is not a CIDR.
func CanonicalCIDRs(cidrs []string) (out []string, bad string, ok bool) {
	out = make([]string, 0, len(cidrs))
	seen := map[string]bool{}
	for _, c := range cidrs {
		v, valid := CanonicalCIDR(c)
		if !valid {
			return nil, c, false
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, "", true
}
