package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// paceGC keeps at least minHeadroom bytes of heap growth between collections: it
// raises GOGC while the live heap is small and lets it fall back to base as the
// heap grows. keeld's live heap is mostly its tables (1.7 KB per load balancer), so
// a fresh or small node collected at GOGC=100 every few MiB of garbage: the 3-node
// create profile spent 14% of all CPU marking a heap of a few tens of MiB. With a
// floor of 64 MiB the pace at 100k load balancers (170 MiB live) is base's, and a
// small node collects a few times a second under load instead of dozens.
//
// It only runs when GOGC is not set in the environment (an operator's GOGC is
// theirs), and it reads the runtime's own metrics after each cycle (polling: the
// runtime has no GC callback), so it costs a few microseconds per poll.
func paceGC(minHeadroom uint64, base int, stop <-chan struct{}) {
	if minHeadroom == 0 || base < 0 || os.Getenv("GOGC") != "" {
		return
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	debug.SetGCPercent(gcPercentFor(0, minHeadroom, base))
	var lastCycle uint64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		metrics.Read(samples)
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
			return // a runtime without these metrics: leave GOGC as it is
		}
		if cycle := samples[1].Value.Uint64(); cycle != lastCycle {
			lastCycle = cycle
			debug.SetGCPercent(gcPercentFor(samples[0].Value.Uint64(), minHeadroom, base))
		}
	}
}

// currentGCPercent is the GOGC in force (-gogc's, the environment's or Go's).
func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// gcPercentFor is the GOGC that lets the heap grow by at least minHeadroom over
// live before the next collection, and never less than base percent (capped at
// 10,000%, so an empty heap still collects).
func gcPercentFor(live, minHeadroom uint64, base int) int {
	const maxPercent = 10000
	if live == 0 {
		return maxPercent
	}
	pct := minHeadroom * 100 / live
	if pct > maxPercent {
		return maxPercent
	}
	return max(int(pct), base)
}
