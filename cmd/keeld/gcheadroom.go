package main

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// The collector's headroom during a burst of allocation.
//
// With GOGC at defaultGOGC the heap may grow by half the live tables between
// collections, and each collection marks all of them. At rest that is cheap; under
// a burst of writes (hundreds of creates a second) a node with a few hundred MB of
// tables collects several times a second, spends a fifth of its CPU marking, and
// the requests in flight during a mark phase pay for it in assists: on one node at
// c=64, every create slower than 50 ms overlapped a mark phase
// (docs/benchmarks.md). So while the node allocates fast, keeld lets the heap grow
// by at least gcHeadroom bytes between collections (GOGC raised to
// headroom/live), and returns to the default GOGC when allocation slows. The
// raised goal is bounded by gcHeadroom, not by the tables' size: at 1M load
// balancers half the tables is more than the headroom, and nothing changes.

// defaultGCHeadroom is -gc-headroom's default.
const defaultGCHeadroom = 128 << 20

// gcBurstWindow says what a burst is: a node allocating, between two
// collections, at a rate that would fill the default GOGC's room within this
// window.
const gcBurstWindow = 4 * time.Second

// gcPercentFor decides GOGC for the next cycle, from the last one: base is the
// configured GOGC, headroom the floor of the heap's growth during a burst, live
// the heap the last collection found live, allocated the bytes allocated since
// the collection before it, and since the time between the two.
func gcPercentFor(base int, headroom, live, allocated uint64, since time.Duration) int {
	if base <= 0 || headroom == 0 || since <= 0 {
		return base
	}
	live = max(live, 4<<20) // the runtime's smallest heap goal
	room := live * uint64(base) / 100
	if headroom <= room {
		return base // the tables are large: the default's room is more than the floor
	}
	// A burst: at this rate the default's room lasts less than the window.
	if float64(allocated)*float64(gcBurstWindow) < float64(room)*float64(since) {
		return base
	}
	return int(min(headroom*100/live, 1<<20))
}

// currentGOGC is the collector's GOGC (negative: off).
func currentGOGC() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int(int64(s[0].Value.Uint64()))
}

// gcSentinel is an object no one references: its finalizer runs after each
// collection, and sets itself again.
type gcSentinel struct{ _ [32]byte }

// keepGCHeadroom adjusts GOGC after every collection (gcPercentFor) from base,
// the GOGC applyMemory set, until stop is called. A negative base (collector
// off) or a zero headroom turns it off.
func keepGCHeadroom(base int, headroom uint64, logger *slog.Logger) (stop func()) {
	var stopped atomic.Bool
	stop = func() { stopped.Store(true) }
	if base <= 0 || headroom == 0 {
		return stop
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/gogc:percent"}}
	// read reports the live heap, the bytes allocated so far, and whether the
	// collector is on (a restore turns it off for a while: store.pauseGC).
	read := func() (live, allocs uint64, on, ok bool) {
		metrics.Read(samples)
		for _, s := range samples {
			if s.Value.Kind() != metrics.KindUint64 {
				return 0, 0, false, false
			}
		}
		return samples[0].Value.Uint64(), samples[1].Value.Uint64(), int64(samples[2].Value.Uint64()) > 0, true
	}
	_, lastAllocs, _, ok := read()
	if !ok {
		logger.Warn("runtime metrics for the collector's headroom are missing: GOGC stays fixed", "gogc", base)
		return stop
	}
	lastAt, current := time.Now(), base
	var rearm func(*gcSentinel)
	rearm = func(s *gcSentinel) {
		if stopped.Load() {
			return
		}
		now := time.Now()
		if live, allocs, on, ok := read(); ok {
			pct := gcPercentFor(base, headroom, live, allocs-lastAllocs, now.Sub(lastAt))
			if on && pct != current {
				debug.SetGCPercent(pct)
				logger.Debug("collector's GOGC changed", "gogc", pct, "live_bytes", live)
				current = pct
			}
			lastAllocs = allocs
		}
		lastAt = now
		runtime.SetFinalizer(s, rearm)
	}
	runtime.SetFinalizer(&gcSentinel{}, rearm)
	return stop
}
