package octaviarules

import (
	"net/netip"
	"slices"
	"testing"
)

func TestAddressKey(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"2001:db8:0:0:0:0:0:1", "2001:db8::1"},
		{"2001:DB8::1", "2001:db8::1"},
		{"2001:db8:0::0:1", "2001:db8::1"},
		{"10.0.0.1", "10.0.0.1"},
	} {
		if AddressKey(c.a) != AddressKey(c.b) {
			t.Errorf("%s and %s are one address: keys %s, %s", c.a, c.b, AddressKey(c.a), AddressKey(c.b))
		}
	}
	for _, c := range []struct{ a, b string }{
		{"::ffff:10.0.0.1", "10.0.0.1"}, // Octavia's ipaddress tells them apart
		{"2001:db8::1", "2001:db8::2"},
		{"not-an-address", "2001:db8::1"},
	} {
		if AddressKey(c.a) == AddressKey(c.b) {
			t.Errorf("%s and %s are different addresses: both %s", c.a, c.b, AddressKey(c.a))
		}
	}
	if _, ok := ParseAddress("fe80::1%eth0"); ok {
		t.Error("an address with a zone is not an Octavia address")
	}
}

func TestExplodedAddress(t *testing.T) {
	for in, want := range map[string]string{
		"169.254.169.254": "169.254.169.254",
		"2001:db8::1":     "2001:0DB8:0000:0000:0000:0000:0000:0001",
		"fe80::a:b":       "FE80:0000:0000:0000:0000:0000:000A:000B",
	} {
		if got := ExplodedAddress(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// TestCanonicalCIDRs: Octavia's CidrType, ip_network(value, strict=False).with_prefixlen,
// stored as a set.
func TestCanonicalCIDRs(t *testing.T) {
	got, _, ok := CanonicalCIDRs([]string{"192.0.2.5/24", "10.0.0.1", "192.0.2.0/24", "2001:db8:a0b:12f0:0:0:0:0/64",
		"2001:DB8::1", "0.0.0.0/0", "::/0"})
	want := []string{"192.0.2.0/24", "10.0.0.1/32", "2001:db8:a0b:12f0::/64", "2001:db8::1/128", "0.0.0.0/0", "::/0"}
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("%v (%v), want %v", got, ok, want)
	}
	for _, bad := range []string{"192.0.2.0/33", "nonsense", "fe80::/64%eth0", "10.0.0.1/", ""} {
		if _, v, ok := CanonicalCIDRs([]string{"10.0.0.0/8", bad}); ok || v != bad {
			t.Errorf("%q: accepted (%q)", bad, v)
		}
	}
}
