package main

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 10000},       // nothing live yet: the cap
		{1 * mib, 6400},  // 64 MiB over 1 MiB
		{32 * mib, 200},  // still the floor's
		{64 * mib, 100},  // floor and base agree
		{170 * mib, 100}, // 100k load balancers: Go's default pace
		{1 << 40, 100},   // never below base
		{1024, 10000},    // tiny heaps are capped
	} {
		if got := gcPercentFor(c.live, 64*mib, 100); got != c.want {
			t.Errorf("gcPercentFor(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}
