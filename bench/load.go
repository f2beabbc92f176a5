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

// tally is the latencies and errors of one worker, or merged, of a whole run.
type tally struct {
	lat     []time.Duration
	errs    int
	skipped int // operations never sent (RunAtRate), counted in errs
	first   string
}

// record adds one operation's outcome.
func (t *tally) record(took time.Duration, err error) {
	t.lat = append(t.lat, took)
	if err != nil {
		t.fail(err.Error())
	}
}

func (t *tally) fail(msg string) {
	t.errs++
	if t.first == "" {
		t.first = msg
	}
}

// merge adds a worker's tally to the run's under mu.
func (t *tally) merge(mu *sync.Mutex, w *tally) {
	mu.Lock()
	defer mu.Unlock()
	t.lat = append(t.lat, w.lat...)
	t.errs += w.errs
	t.skipped += w.skipped
	if t.first == "" {
		t.first = w.first
	}
}

// result makes the Result of a run from its tally.
func (t *tally) result(name string, concurrency int, elapsed time.Duration) Result {
	all := t.lat
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	r := Result{Name: name, Concurrency: concurrency, Requests: len(all) + t.skipped, Errors: t.errs, Elapsed: elapsed,
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), FirstError: t.first}
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	return r
}

// Run drives op from concurrency workers (closed loop) for d, or until total
// operations ran when total > 0, and measures each call.
func Run(name string, concurrency int, d time.Duration, total int, op func(worker, i int) error) Result {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		run  tally
		next atomic.Int64
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := tally{lat: make([]time.Duration, 0, 4096)}
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
				mine.record(time.Since(t0), err)
			}
			run.merge(&mu, &mine)
		}()
	}
	wg.Wait()
	return run.result(name, concurrency, time.Since(start))
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
		wg  sync.WaitGroup
		mu  sync.Mutex
		run tally
	)
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := tally{lat: make([]time.Duration, 0, total/concurrency+1)}
			for i := range due {
				if time.Now().After(cutoff) {
					mine.skipped++
					mine.fail(fmt.Sprintf("not sent: still waiting for a worker %v after the run", rateDrain))
					continue
				}
				err := op(w, i)
				mine.record(time.Since(dueAt(start, i)), err)
			}
			run.merge(&mu, &mine)
		}()
	}
	wg.Wait()
	return run.result(name, concurrency, time.Since(start))
}
