package storepb

import (
	"hash/fnv"
	"math/rand"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The checks the FSM makes on every write compare without making the derived
// strings; they must answer as comparing with them does.
func TestDerivedVipChecksMatchTheStrings(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ids := []string{"", "not-a-uuid", "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}"}
	for i := 0; i < 2000; i++ {
		u := uuid.Must(uuid.NewRandomFromReader(rng))
		ids = append(ids, u.String(), strings.ToUpper(u.String()))
	}
	oldAddress := func(id string) string { // the implementation before, with hash/fnv
		h := fnv.New32a()
		h.Write([]byte(id))
		n := h.Sum32()&0x00ffffff | 0x0a000000
		if n&0xff == 0 || n&0xff == 0xff {
			n ^= 0x01
		}
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
	}
	for i, id := range ids {
		other := ids[(i+1)%len(ids)]
		addr := RecordedVipAddress(id)
		if addr != oldAddress(id) {
			t.Fatalf("RecordedVipAddress(%q) = %s, was %s", id, addr, oldAddress(id))
		}
		port := DerivedVipPortID(id)
		for _, a := range []string{addr, "", "10.1.2.3", "::ffff:" + addr, "0" + addr, strings.Replace(addr, "10.", "010.", 1), RecordedVipAddress(other), "fd00::1"} {
			if got, want := isRecordedVipAddress(a, id), a == addr; got != want {
				t.Errorf("isRecordedVipAddress(%q, %q) = %v, want %v", a, id, got, want)
			}
		}
		for _, p := range []string{port, "", strings.ToUpper(port), DerivedVipPortID(other), id, "urn:uuid:" + port} {
			if got, want := isDerivedVipPortID(p, id), p != "" && p == port; got != want {
				t.Errorf("isDerivedVipPortID(%q, %q) = %v, want %v", p, id, got, want)
			}
		}
	}
	lb := &LoadBalancer{Id: ids[5], VipAddress: RecordedVipAddress(ids[5]), VipPortId: DerivedVipPortID(ids[5])}
	if n := testing.AllocsPerRun(100, func() {
		if lb.NamedVipAddress() || lb.NamedVipPort() {
			t.Fatal("derived VIP taken for a named one")
		}
	}); n != 0 {
		t.Errorf("%v allocations per check, want none", n)
	}
}
