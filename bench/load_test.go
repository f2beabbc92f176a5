package bench

import (
	"errors"
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
