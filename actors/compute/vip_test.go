package compute

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestVIPAllocatorRange(t *testing.T) {
	a, err := NewVIPAllocator(DefaultVIPCIDR)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size() != 254 || a.Prefix().String() != "127.0.100.0/24" {
		t.Fatalf("size %d prefix %s", a.Size(), a.Prefix())
	}
	for addr, want := range map[string]bool{
		"127.0.100.0": false, "127.0.100.255": false, "127.0.100.1": true, "127.0.100.254": true,
		"127.0.101.1": false, "10.0.0.1": false, "::1": false, "not-an-ip": false, "::ffff:127.0.100.7": true,
	} {
		if got := a.Assignable(addr); got != want {
			t.Errorf("Assignable(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"127.0.100.1/24", "127.0.0.0/31", "127.0.0.1/32", "nonsense", "10.0.0.0/6", "fd00::/64", "fd00::1/128"} {
		if _, err := NewVIPAllocator(bad); err == nil {
			t.Errorf("NewVIPAllocator(%s) accepted", bad)
		}
	}
	if a, err := NewVIPAllocator("127.0.100.0/30"); err != nil || a.Size() != 2 {
		t.Fatalf("/30: %v %v", a, err)
	}
	if a, err := NewVIPAllocator("fd00::/120"); err != nil || a.Size() != 255 || a.Assignable("fd00::") || !a.Assignable("fd00::ff") {
		t.Fatalf("fd00::/120: %v %v", a, err)
	}
}

func TestVIPAllocatorPreferred(t *testing.T) {
	a, _ := NewVIPAllocator(DefaultVIPCIDR)
	used := map[string]bool{"127.0.100.9": true, "127.0.100.10": false}
	if got, err := a.Allocate(used, "127.0.100.10", "lb"); err != nil || got != "127.0.100.10" {
		t.Fatalf("free preferred: %q %v", got, err)
	}
	cases := []struct {
		addr   string
		kind   VIPErrorKind
		status int
		msg    string
	}{
		{"10.0.0.5", VIPInvalid, 400, "IP address 10.0.0.5 is not a valid IP for the specified subnet. VIP addresses are allocated from 127.0.100.0/24."},
		{"127.0.100.0", VIPInvalid, 400, "IP address 127.0.100.0 is not a valid IP for the specified subnet."},
		{"127.0.100.255", VIPInvalid, 400, "IP address 127.0.100.255 is not a valid IP for the specified subnet."},
		{"::1", VIPInvalid, 400, "not a valid IP"},
		{"bogus", VIPInvalid, 400, "IP address bogus is not a valid IP"},
		{"127.0.100.9", VIPInUse, 409, "IP address 127.0.100.9 already allocated in subnet 127.0.100.0/24"},
	}
	for _, c := range cases {
		_, err := a.Allocate(used, c.addr, "lb")
		var ve *VIPError
		if !errors.As(err, &ve) || ve.Kind != c.kind || ve.Status() != c.status || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Allocate(%s) = %v, want %d %q", c.addr, err, c.status, c.msg)
		}
	}
}

func TestVIPAllocatorDeterministic(t *testing.T) {
	a, _ := NewVIPAllocator("127.0.100.0/29") // .1 … .6
	used := map[string]bool{}
	if got, _ := a.Allocate(used, "", ""); got != "127.0.100.1" {
		t.Fatalf("no seed: %s", got)
	}
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		seed := fmt.Sprintf("lb-%d", i)
		got, err := a.Allocate(used, "", seed)
		if err != nil {
			t.Fatal(err)
		}
		// Same inputs, same answer, on every node.
		again, _ := a.Allocate(map[string]bool{}, "", seed)
		if len(used) == 0 && again != got {
			t.Fatalf("not deterministic: %s then %s", got, again)
		}
		if !a.Assignable(got) || seen[got] {
			t.Fatalf("allocation %d: %s (seen %v)", i, got, seen)
		}
		seen[got] = true
		used[got] = true
	}
	_, err := a.Allocate(used, "", "lb-x")
	var ve *VIPError
	if !errors.As(err, &ve) || ve.Kind != VIPExhausted || ve.Status() != 409 {
		t.Fatalf("exhausted: %v", err)
	}
	// Seeds spread allocations: different load balancers rarely collide.
	b, _ := NewVIPAllocator(DefaultVIPCIDR)
	distinct := map[string]bool{}
	for i := 0; i < 20; i++ {
		got, _ := b.Allocate(nil, "", fmt.Sprintf("%08d-0000-4000-8000-000000000000", i))
		distinct[got] = true
	}
	if len(distinct) < 15 {
		t.Fatalf("20 seeds gave only %d addresses", len(distinct))
	}
}

func TestVIPAllocatorLargeRange(t *testing.T) {
	a, err := NewVIPAllocator("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for i := 0; i < 100; i++ {
		got, err := a.Allocate(used, "", "same-seed")
		if err != nil || used[got] || !a.Assignable(got) {
			t.Fatalf("allocation %d: %s %v", i, got, err)
		}
		used[got] = true
	}
}
