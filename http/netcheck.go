package http

import (
	"net/netip"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func netipPrefix(s string) (netip.Prefix, error) { return netip.ParsePrefix(s) }

// checkAllowedCIDRs refuses CIDRs of another IP version than the VIP's.
func checkAllowedCIDRs(cidrs []string, vip string) error {
	addr, err := netip.ParseAddr(vip)
	if err != nil {
		return nil
	}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return badRequest("Invalid input for field/attribute allowed_cidrs. Value: '%s'. Value should be a valid CIDR", c)
		}
		if p.Addr().Is4() != addr.Is4() {
			return badRequest("Validation failure: CIDR %s IP version incompatible with VIP %s IP version.", c, vip)
		}
	}
	return nil
}

func cloneListener(v *storepb.Listener) *storepb.Listener { return proto.Clone(v).(*storepb.Listener) }

// applyMask merges an update's values onto a copy of the current row (to check the
// result before asking the grain, which applies the same mask authoritatively).
func applyMask(dst, src proto.Message, fields []string) {
	_ = storepb.ApplyFields(dst, src, fields)
}
