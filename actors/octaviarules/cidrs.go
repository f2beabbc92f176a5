package octaviarules

import "net/netip"

// CheckAllowedCIDRs refuses a listener's allowed CIDRs of another IP version
// than its load balancer's VIP (a VIP that is not an address checks nothing).
func CheckAllowedCIDRs(cidrs []string, vip string) error {
	addr, err := netip.ParseAddr(vip)
	if err != nil {
		return nil
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return invalidf("Invalid input for field/attribute allowed_cidrs. Value: '%s'. Value should be a valid CIDR", c)
		}
		if p.Addr().Is4() != addr.Is4() {
			return invalidf("Validation failure: CIDR %s IP version incompatible with VIP %s IP version.", c, vip)
		}
	}
	return nil
}
