package storepb

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"

	"github.com/google/uuid"
)

// keel has no network service: a load balancer's VIP port id and (without an
// amphora driver that allocates addresses) its VIP address and its additional
// VIPs' addresses are made up from its id when the request names none. They are derived, not random, so that the
// store can tell them from the ones a client named: only named ones are claims
// another load balancer must not take (store.State.VipPortHolder,
// VipAddressHolder), and only those cost an index entry.

// RecordedVipAddress is the VIP address recorded for load balancer id when it
// names none and no amphora driver allocates one: an address in 10.0.0.0/8
// derived from the id (never connected to; two load balancers may share one).
func RecordedVipAddress(id string) string {
	return netip.AddrFrom4(recordedVipAddress(id)).String()
}

func recordedVipAddress(id string) [4]byte {
	// FNV-1a, 32 bits (hash/fnv's, without its allocation)
	n := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		n = (n ^ uint32(id[i])) * 16777619
	}
	n = n&0x00ffffff | 0x0a000000
	if n&0xff == 0 || n&0xff == 0xff {
		n ^= 0x01
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], n)
	return a
}

// isRecordedVipAddress reports whether addr is RecordedVipAddress(id), without
// making that string (the FSM asks on every load balancer write).
func isRecordedVipAddress(addr, id string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.Is4() && a.As4() == recordedVipAddress(id)
}

// RecordedAdditionalVipAddress is the address recorded for load balancer id's
// additional VIP in subnet when the request names none and no amphora driver
// allocates one: an address in 10.0.0.0/8 derived from both (a record only, as
// RecordedVipAddress's).
func RecordedAdditionalVipAddress(id, subnet string) string {
	h := fnv.New32a()
	h.Write([]byte(id + subnet))
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], h.Sum32()&0x00fffffe|0x0a000001)
	return netip.AddrFrom4(a).String()
}

// vipPortMask turns a load balancer id into its derived VIP port id and back
// (an involution on the UUID's node bytes, which keeps it a valid UUID).
var vipPortMask = [6]byte{0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a}

// DerivedVipPortID is the VIP port id recorded for load balancer id when the
// request names none ("" when id is not a UUID).
func DerivedVipPortID(id string) string {
	u, ok := derivedVipPort(id)
	if !ok {
		return ""
	}
	return u.String()
}

func derivedVipPort(id string) (uuid.UUID, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return u, false
	}
	for i, m := range vipPortMask {
		u[10+i] ^= m
	}
	return u, true
}

// isDerivedVipPortID reports whether port is DerivedVipPortID(id) (never for
// ""), without making that string.
func isDerivedVipPortID(port, id string) bool {
	u, ok := derivedVipPort(id)
	if !ok || len(port) != 36 {
		return false
	}
	var b [36]byte
	const hex = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(b[:]) == port
}

// DerivedVipPortOwner is the load balancer a VIP port id would have been derived
// for ("" when it is not a UUID): DerivedVipPortID's inverse.
func DerivedVipPortOwner(port string) string { return DerivedVipPortID(port) }

// NamedVipAddress reports whether lb's VIP address was named by its request (or
// allocated by an amphora driver): not the recorded one derived from its id.
func (x *LoadBalancer) NamedVipAddress() bool {
	return x.GetVipAddress() != "" && !isRecordedVipAddress(x.GetVipAddress(), x.GetId())
}

// VipAddressClaims returns the addresses lb holds as claims, each with its subnet
// (an AdditionalVip's fields): its VIP address if named (NamedVipAddress), then
// each additional VIP's address that is not the one recorded for it. Neutron
// gives an address of a subnet to one port, so no other load balancer may claim
// the same (store.State.VipAddressHolder).
func (x *LoadBalancer) VipAddressClaims() []*AdditionalVip {
	var out []*AdditionalVip
	if x.NamedVipAddress() {
		out = append(out, &AdditionalVip{SubnetId: x.GetVipSubnetId(), IpAddress: x.GetVipAddress()})
	}
	for _, av := range x.GetAdditionalVips() {
		if a := av.GetIpAddress(); a != "" && a != RecordedAdditionalVipAddress(x.GetId(), av.GetSubnetId()) {
			out = append(out, av)
		}
	}
	return out
}

// NamedVipPort reports whether lb's VIP port id was named by its request.
func (x *LoadBalancer) NamedVipPort() bool {
	return x.GetVipPortId() != "" && !isDerivedVipPortID(x.GetVipPortId(), x.GetId())
}
