package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const MiB = 1 << 20
	for _, c := range []struct {
		name                   string
		base                   int
		headroom, live, allocd uint64
		since                  time.Duration
		want                   int
	}{
		// 100 MiB live, 50%: 50 MiB of room. 500 MiB in a second fills it in a tenth.
		{"burst, small tables", 50, 128 * MiB, 100 * MiB, 500 * MiB, time.Second, 128},
		{"burst, tables beyond the floor", 50, 128 * MiB, 1000 * MiB, 5000 * MiB, time.Second, 50},
		// 10 MiB in a second: the 50 MiB of room last 5 s, longer than the window.
		{"slow allocation", 50, 128 * MiB, 100 * MiB, 10 * MiB, time.Second, 50},
		{"at the window's edge", 50, 128 * MiB, 100 * MiB, 50 * MiB, gcBurstWindow, 128},
		{"a tiny heap counts as the runtime's least", 50, 128 * MiB, 1 * MiB, 64 * MiB, time.Second, 3200},
		{"collector off", -1, 128 * MiB, 100 * MiB, 500 * MiB, time.Second, -1},
		{"no headroom", 50, 0, 100 * MiB, 500 * MiB, time.Second, 50},
		{"first cycle", 100, 128 * MiB, 10 * MiB, 500 * MiB, 0, 100},
	} {
		if got := gcPercentFor(c.base, c.headroom, c.live, c.allocd, c.since); got != c.want {
			t.Errorf("%s: gcPercentFor(%d, %d, %d, %d, %v) = %d, want %d",
				c.name, c.base, c.headroom, c.live, c.allocd, c.since, got, c.want)
		}
	}
}

var gcHeadroomSink []byte

// A burst of allocation raises GOGC above the base; once allocation stops, the
// next collection puts it back.
func TestGCHeadroomFollowsABurst(t *testing.T) {
	const base = 50
	defer debug.SetGCPercent(debug.SetGCPercent(base))
	stop := keepGCHeadroom(base, 64<<20, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer stop()

	deadline := time.Now().Add(20 * time.Second)
	for currentGOGC() == base {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s of allocating: GOGC still %d", currentGOGC())
		}
		for i := 0; i < 1024; i++ {
			gcHeadroomSink = make([]byte, 64<<10)
		}
	}
	if got := currentGOGC(); got <= base {
		t.Fatalf("during the burst GOGC is %d, want above %d", got, base)
	}
	gcHeadroomSink = nil

	for i := 0; currentGOGC() != base; i++ {
		if i == 40 {
			t.Fatalf("20 s after the burst: GOGC still %d, want %d", currentGOGC(), base)
		}
		time.Sleep(500 * time.Millisecond)
		runtime.GC()
	}
}
