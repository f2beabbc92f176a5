package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Memory settings. keeld holds every stored object in memory (its tables), and
// the garbage it makes is short-lived (requests, Raft entries, grain replies),
// so the Go runtime's defaults cost it twice: GOGC=100 lets the heap grow to
// twice the live tables before a collection, and the scavenger keeps what a
// bulk load freed, up to that goal, mapped. Measured at 100k load balancers
// (bench/results/scale-latest.md): the live tables are ~1.7 KB per load
// balancer, the resident set after a preload through the API was ~4–5 KB.

// memoryOptions are -gogc, -gc-headroom and -memory-limit.
type memoryOptions struct {
	gogc     int    // GOGC; 0: the default (defaultGOGC), unless GOGC is set
	headroom string // the heap's growth between collections during a burst (keepGCHeadroom); "0": none
	limit    string // GOMEMLIMIT-style size; "": none, unless GOMEMLIMIT is set
}

// defaultGOGC trades collector CPU for memory: with the tables live, a
// collection at 1.5× of them instead of 2× keeps the heap a quarter smaller,
// and the garbage between collections is small next to the tables.
const defaultGOGC = 50

// parseSize reads a GOMEMLIMIT-style size: a number of bytes with an optional
// B, KiB, MiB, GiB or TiB suffix.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB, GiB or TiB)", s)
	}
	return n * mult, nil
}

// applyMemory sets the collector's target, its headroom during bursts and the
// soft memory limit. The environment's GOGC and GOMEMLIMIT win over the
// defaults, the flags over the environment.
func applyMemory(o memoryOptions, logger *slog.Logger) error {
	var headroom uint64 = defaultGCHeadroom
	if h := strings.TrimSpace(o.headroom); h == "0" {
		headroom = 0
	} else if h != "" {
		n, err := parseSize(h)
		if err != nil {
			return fmt.Errorf("-gc-headroom: %w", err)
		}
		headroom = uint64(n)
	}
	switch {
	case o.gogc != 0:
		debug.SetGCPercent(o.gogc)
	case os.Getenv("GOGC") == "":
		debug.SetGCPercent(defaultGOGC)
	}
	keepGCHeadroom(currentGOGC(), headroom, logger)
	if o.limit != "" {
		n, err := parseSize(o.limit)
		if err != nil {
			return fmt.Errorf("-memory-limit: %w", err)
		}
		debug.SetMemoryLimit(n)
		logger.Info("memory limit set", "bytes", n)
	}
	return nil
}

// releaseAfterBulk returns the memory a burst of writes freed to the OS once
// the burst is over. After a bulk load the heap holds spans the load's garbage
// used, and garbage no collection has found yet (up to GOGC% of the live heap,
// which at rest nothing triggers); the scavenger would keep the freed spans (up
// to the heap goal) until the heap grows into them again, which for a control
// plane at rest is never. So when the tables have been quiet for a tick
// (applied() did not move) after moving by at least minBulk entries, and the
// runtime holds more than minIdle bytes of free heap it has not returned, or of
// garbage (heapReclaimable), keeld collects and returns them
// (debug.FreeOSMemory: one full collection; at most once per burst).
func releaseAfterBulk(applied func() uint64, tick time.Duration, stop <-chan struct{}, logger *slog.Logger) {
	const (
		minBulk = 1000     // Raft entries applied since the last release
		minIdle = 32 << 20 // free heap not yet returned to the OS
	)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := applied()
	// A restore at start is a bulk load too (the tables jumped to the
	// snapshot's index, with the collector off), so count from nothing.
	var released uint64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := applied()
		quiet := now == last
		last = now
		if !quiet || now-released < minBulk {
			continue
		}
		if idle, garbage := heapReclaimable(); idle >= minIdle || garbage >= minIdle {
			start := time.Now()
			debug.FreeOSMemory()
			logger.Info("returned memory to the OS after a burst of writes", "entries", now-released,
				"free_heap_bytes", idle, "garbage_bytes", garbage, "took", time.Since(start).Round(time.Millisecond))
		}
		released = now
	}
}

// heapReclaimable is the free heap the runtime holds and has not returned, and
// the heap its objects take beyond what the last collection found live (garbage
// made since, which the next collection frees).
func heapReclaimable() (idle, garbage uint64) {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
	}
	idle = s[0].Value.Uint64()
	if objects, live := s[1].Value.Uint64(), s[2].Value.Uint64(); objects > live {
		garbage = objects - live
	}
	return idle, garbage
}
