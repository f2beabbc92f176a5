// Package bench owns keel's load generation: closed-loop and fixed-rate load
// generators with latency percentiles (this file) and the scenarios keelbench runs against real
// keeld processes (cmd/keelbench), writing markdown tables to bench/results/; the
// results tables' rows, read back for the comparison with an earlier run
// (table.go, compare.go), and their charts (charts.go).
package bench

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measured workload.
type Result struct {
	Name        string
	Concurrency int
	Requests    int
	Errors      int
	Elapsed     time.Duration
	P50, P90    time.Duration
	P99, Max    time.Duration
	FirstError  string
}

// RPS is successful requests per second.
func (r Result) RPS() float64 { return float64(r.Requests-r.Errors) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%-34s c=%-4d %9.0f req/s  p50 %-8v p90 %-8v p99 %-8v max %-8v errors %d",
		r.Name, r.Concurrency, r.RPS(), r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond),
		r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond), r.Errors)
}

// Run drives op from concurrency workers (closed loop) for d, or until total
// operations ran when total > 0, and measures each call.
func Run(name string, concurrency int, d time.Duration, total int, op func(worker, i int) error) Result {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		firstErr string
		next     atomic.Int64
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var werrs int
			var wfirst string
			for {
				i := int(next.Add(1) - 1)
				if total > 0 && i >= total {
					break
				}
				if total == 0 && time.Now().After(deadline) {
					break
				}
				t0 := time.Now()
				err := op(w, i)
				lat = append(lat, time.Since(t0))
				if err != nil {
					werrs++
					if wfirst == "" {
						wfirst = err.Error()
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errs += werrs
			if firstErr == "" {
				firstErr = wfirst
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return summarize(name, concurrency, all, errs, firstErr, time.Since(start))
}

// summarize makes the Result of a run from its latencies (any order).
func summarize(name string, concurrency int, all []time.Duration, errs int, firstErr string, elapsed time.Duration) Result {
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	r := Result{Name: name, Concurrency: concurrency, Requests: len(all), Errors: errs, Elapsed: elapsed,
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), FirstError: firstErr}
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	return r
}

// rateDrain is how long after its d RunAtRate still sends operations that
// waited for a worker (a test shortens it).
var rateDrain = 30 * time.Second

// RunAtRate drives op at a fixed rate for d (open loop, as wrk2 does), from at
// most concurrency workers: operation i is due i/rate after the start, and its
// latency counts from when it was due. A closed loop (Run) measures the latency
// of a server kept saturated, where the generator slows down with the server;
// here time an operation waited for a free worker, because the server fell
// behind the rate, is part of its latency (no coordinated omission), so the
// percentiles answer "at this rate, how long does a request take". Operations
// still waiting rateDrain after d are not sent; they count as errors.
func RunAtRate(name string, rate float64, concurrency int, d time.Duration, op func(worker, i int) error) Result {
	total := int(rate * d.Seconds())
	dueAt := func(start time.Time, i int) time.Time {
		return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
	}
	due := make(chan int, total)
	start := time.Now()
	go func() {
		defer close(due)
		for i := range total {
			if wait := time.Until(dueAt(start, i)); wait > 0 {
				time.Sleep(wait)
			}
			due <- i
		}
	}()
	cutoff := start.Add(d + rateDrain)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		skipped  int
		firstErr string
	)
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, total/concurrency+1)
			var werrs, wskipped int
			var wfirst string
			for i := range due {
				if time.Now().After(cutoff) {
					werrs++
					wskipped++
					if wfirst == "" {
						wfirst = fmt.Sprintf("not sent: still waiting for a worker %v after the run", rateDrain)
					}
					continue
				}
				err := op(w, i)
				lat = append(lat, time.Since(dueAt(start, i)))
				if err != nil {
					werrs++
					if wfirst == "" {
						wfirst = err.Error()
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errs += werrs
			skipped += wskipped
			if firstErr == "" {
				firstErr = wfirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := summarize(name, concurrency, all, errs, firstErr, time.Since(start))
	r.Requests += skipped // errors, without a latency
	return r
}
