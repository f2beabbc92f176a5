package compute

import (
	"fmt"
	"hash/fnv"
	"net/netip"
)

// DefaultVIPCIDR is the loopback range the local driver's VIPs come from (keeld's
// -vip-cidr). Linux routes all of 127.0.0.0/8 to lo, so haproxy binds any of these
// addresses without anything being plugged and without root.
const DefaultVIPCIDR = "127.0.100.0/24"

// VIPAllocator chooses VIP addresses inside one range, as Neutron would on the VIP
// subnet. It holds no state: the caller passes the addresses in use (read from
// replicated state), so every node given the same state makes the same choice.
type VIPAllocator struct {
	prefix netip.Prefix
	// first and n describe the assignable addresses: first, first+1, …, first+n-1.
	first netip.Addr
	n     uint64
}

// maxHostBits bounds the range (2^32 addresses) so offsets fit in uint64 arithmetic.
const maxHostBits = 32

// NewVIPAllocator parses cidr (e.g. DefaultVIPCIDR). The range must leave at least one
// address besides an IPv4 network's network and broadcast addresses (or an IPv6
// subnet's subnet-router anycast address), which are never handed out.
func NewVIPAllocator(cidr string) (*VIPAllocator, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("compute: VIP range %q: %w", cidr, err)
	}
	if p != p.Masked() {
		return nil, fmt.Errorf("compute: VIP range %q has host bits set (did you mean %s?)", cidr, p.Masked())
	}
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits > maxHostBits {
		return nil, fmt.Errorf("compute: VIP range %s is too large (at most 2^%d addresses)", p, maxHostBits)
	}
	a := &VIPAllocator{prefix: p, first: p.Addr().Next()}
	size := uint64(1) << hostBits
	if p.Addr().Is4() {
		a.n = size - 2 // network and broadcast
	} else {
		a.n = size - 1 // subnet-router anycast
	}
	if size < 4 && p.Addr().Is4() || a.n == 0 {
		return nil, fmt.Errorf("compute: VIP range %s holds no assignable address", p)
	}
	return a, nil
}

// Prefix is the range.
func (a *VIPAllocator) Prefix() netip.Prefix { return a.prefix }

// Size is how many addresses the allocator can hand out.
func (a *VIPAllocator) Size() uint64 { return a.n }

// Assignable reports whether addr is an address the allocator may hand out: inside
// the range and neither its network nor its broadcast address.
func (a *VIPAllocator) Assignable(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	_, ok := a.offset(ip.Unmap())
	return ok
}

// VIPErrorKind says why an address was refused.
type VIPErrorKind int

const (
	// VIPInvalid: the requested address is not in the range, or is its network or
	// broadcast address (Neutron: 400 InvalidIpForSubnet).
	VIPInvalid VIPErrorKind = iota + 1
	// VIPInUse: the requested address belongs to another load balancer (Neutron: 409
	// IpAddressAlreadyAllocated).
	VIPInUse
	// VIPExhausted: no address is left (Neutron: 409 IpAddressGenerationFailure).
	VIPExhausted
)

// VIPError is a refused allocation; Status is the HTTP status the API answers and
// Error() the fault string, worded as Octavia relays Neutron's refusals.
type VIPError struct {
	Kind    VIPErrorKind
	Address string
	Range   netip.Prefix
}

// Status is the HTTP status of the refusal: 400 for an invalid address, 409 otherwise.
func (e *VIPError) Status() int {
	if e.Kind == VIPInvalid {
		return 400
	}
	return 409
}

func (e *VIPError) Error() string {
	switch e.Kind {
	case VIPInvalid:
		return fmt.Sprintf("IP address %s is not a valid IP for the specified subnet. VIP addresses are allocated from %s.", e.Address, e.Range)
	case VIPInUse:
		return fmt.Sprintf("IP address %s already allocated in subnet %s", e.Address, e.Range)
	default:
		return fmt.Sprintf("No more IP addresses available for VIPs in %s.", e.Range)
	}
}

// Allocate chooses a VIP. A preferred address (the request's vip_address) is honoured
// if it is assignable and not in used, refused with a *VIPError otherwise. Without one,
// the first free address is taken, searching from a point derived from seed (the load
// balancer's id; empty: the start of the range) and wrapping around: the result
// depends only on (used, preferred, seed), so every node computes the same address,
// and two load balancers created at once from the same used set rarely pick the same
// one. Replicated state must still refuse a duplicate: the allocator only proposes.
func (a *VIPAllocator) Allocate(used map[string]bool, preferred, seed string) (string, error) {
	taken := make(map[netip.Addr]bool, len(used))
	for s, in := range used {
		if ip, err := netip.ParseAddr(s); in && err == nil {
			taken[ip.Unmap()] = true
		}
	}
	if preferred != "" {
		ip, err := netip.ParseAddr(preferred)
		if err != nil {
			return "", &VIPError{Kind: VIPInvalid, Address: preferred, Range: a.prefix}
		}
		ip = ip.Unmap()
		if _, ok := a.offset(ip); !ok {
			return "", &VIPError{Kind: VIPInvalid, Address: preferred, Range: a.prefix}
		}
		if taken[ip] {
			return "", &VIPError{Kind: VIPInUse, Address: ip.String(), Range: a.prefix}
		}
		return ip.String(), nil
	}
	var start uint64
	if seed != "" {
		h := fnv.New64a()
		h.Write([]byte(seed))
		start = h.Sum64() % a.n
	}
	// At most len(taken)+1 probes: every probe that fails hits a distinct taken address.
	for i := uint64(0); i < a.n && i <= uint64(len(taken)); i++ {
		ip := a.at((start + i) % a.n)
		if !taken[ip] {
			return ip.String(), nil
		}
	}
	return "", &VIPError{Kind: VIPExhausted, Range: a.prefix}
}

// offset is ip's index among the assignable addresses.
func (a *VIPAllocator) offset(ip netip.Addr) (uint64, bool) {
	if !a.prefix.Contains(ip) {
		return 0, false
	}
	off := low64(ip) - low64(a.first) // the range never spans more than 2^32 addresses
	if ip.Less(a.first) || off >= a.n {
		return 0, false
	}
	return off, true
}

// at is the assignable address with index off (< n).
func (a *VIPAllocator) at(off uint64) netip.Addr {
	b := a.first.As16()
	lo := uint64(0)
	for _, x := range b[8:] {
		lo = lo<<8 | uint64(x)
	}
	lo += off // no carry out of the low 64 bits: the range lies within one /64
	for i := 15; i >= 8; i-- {
		b[i] = byte(lo)
		lo >>= 8
	}
	ip := netip.AddrFrom16(b)
	if a.first.Is4() {
		return ip.Unmap()
	}
	return ip
}

func low64(ip netip.Addr) uint64 {
	b := ip.As16()
	var lo uint64
	for _, x := range b[8:] {
		lo = lo<<8 | uint64(x)
	}
	return lo
}
