package metrics

import (
	"fmt"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestHTTPRequestsResolvesChildrenOnce checks a request lands on its route
// template's series, unknown routes on one label, and that a recorded
// (route, method, code) allocates nothing afterwards.
func TestHTTPRequestsResolvesChildrenOnce(t *testing.T) {
	h := NewHTTPRequests("test")
	h.Observe("/v2/lbaas/loadbalancers/{id}", []byte("GET"), 200, time.Millisecond)
	h.Observe("/v2/lbaas/loadbalancers/{id}", []byte("GET"), 200, time.Millisecond)
	h.Observe("", []byte("BREW"), 404, time.Millisecond)
	if got := counterValue(t, "keel_http_requests_total", map[string]string{"listener": "test",
		"route": "/v2/lbaas/loadbalancers/{id}", "method": "GET", "code": "200"}); got != 2 {
		t.Fatalf("show counter = %v, want 2", got)
	}
	if got := counterValue(t, "keel_http_requests_total", map[string]string{"listener": "test",
		"route": UnmatchedRoute, "method": "other", "code": "404"}); got != 1 {
		t.Fatalf("unmatched counter = %v, want 1", got)
	}
	method := []byte("GET")
	if a := testing.AllocsPerRun(100, func() {
		h.Observe("/v2/lbaas/loadbalancers/{id}", method, 200, time.Millisecond)
	}); a != 0 {
		t.Fatalf("Observe allocates %v times per request", a)
	}
}

func counterValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func BenchmarkHTTPRequestsObserve(b *testing.B) {
	h := NewHTTPRequests("bench")
	method := []byte("GET")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe("/v2/lbaas/loadbalancers/{id}", method, 200, 20*time.Microsecond)
		}
	})
}

// TestHTTPRequestsFirstRequestsAtOnce records the first requests of a route from
// many goroutines at once: one of them stores the route before any has resolved
// its series, and the others must resolve them, not count on a zero value (a
// keeld panic seen in the chaos test).
func TestHTTPRequestsFirstRequestsAtOnce(t *testing.T) {
	for round := 0; round < 50; round++ {
		h := NewHTTPRequests("race")
		route := fmt.Sprintf("/race/%d", round)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				h.Observe(route, []byte("POST"), 201, time.Millisecond)
			}()
		}
		close(start)
		wg.Wait()
		if got := counterValue(t, "keel_http_requests_total", map[string]string{"listener": "race",
			"route": route, "method": "POST", "code": "201"}); got != 16 {
			t.Fatalf("round %d: counter = %v, want 16", round, got)
		}
	}
	// The state that panicked, made directly: a known route whose series are not
	// resolved yet.
	h := NewHTTPRequests("race")
	h.routes.Store("/known", &routeRequests{route: "/known"})
	h.Observe("/known", []byte("GET"), 200, time.Millisecond)
}
