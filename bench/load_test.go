package bench

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndPercentiles(t *testing.T) {
	r := Run("fixed", 4, 0, 400, func(w, i int) error {
		if i%100 == 0 {
			return errors.New("boom")
		}
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	})
	if r.Requests != 400 || r.Errors != 4 || r.FirstError != "boom" {
		t.Fatalf("counts: %+v", r)
	}
	if r.P50 >= time.Millisecond || r.P99 < 2*time.Millisecond || r.Max < r.P99 {
		t.Fatalf("percentiles: %+v", r)
	}
}

// TestRunAtRateCountsFromWhenDue: a fixed-rate run sends rate × d operations,
// and an operation that waited for the one worker counts that wait: at 1,000/s
// with 10 ms operations, operation i cannot start before 10i ms while it was due
// at i ms, so the slowest waited ~0.9 s whatever the machine's speed.
func TestRunAtRateCountsFromWhenDue(t *testing.T) {
	r := RunAtRate("slow", 1000, 1, 100*time.Millisecond, func(w, i int) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	if r.Requests != 100 || r.Errors != 0 {
		t.Fatalf("counts: %+v", r)
	}
	if r.Max < 850*time.Millisecond || r.P50 < 400*time.Millisecond {
		t.Fatalf("latencies do not count the wait for a worker: %+v", r)
	}
}

// TestRunAtRateGivesUpAfterTheDrain: operations still waiting for a worker
// rateDrain after the run are not sent and count as errors.
func TestRunAtRateGivesUpAfterTheDrain(t *testing.T) {
	defer func(d time.Duration) { rateDrain = d }(rateDrain)
	rateDrain = 0
	var sent atomic.Int64
	r := RunAtRate("stuck", 1000, 1, 50*time.Millisecond, func(w, i int) error {
		sent.Add(1)
		time.Sleep(100 * time.Millisecond) // past the run's end: the rest are not sent
		return nil
	})
	if r.Requests != 50 || r.Errors != r.Requests-int(sent.Load()) || r.Errors == 0 || !strings.HasPrefix(r.FirstError, "not sent") {
		t.Fatalf("%d sent: %+v", sent.Load(), r)
	}
}
