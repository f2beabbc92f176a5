package http_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// The operator endpoints are an administrator's: goroutine stacks, profiles,
// the command line, cluster addresses and object counts are no project's.
func TestOperatorEndpointsAdminOnly(t *testing.T) {
	n := startNodeWith(t, "-noauth-admin=false")
	paths := []string{"/cluster", "/metrics", "/debug/memory", "/debug/heartbeats", "/debug/snapshot", "/debug/pprof/", "/debug/pprof/cmdline",
		"/debug/pprof/goroutine?debug=2", "/debug/pprof/heap", "/debug/grains/Instance/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11"}
	for _, p := range paths {
		for _, roles := range [][]string{nil, {"X-Roles: member"}, {"X-Roles: reader"},
			{"X-Roles: load-balancer_global_observer"}, {"X-Roles: load-balancer_quota_admin"}} {
			systemtest.ExpectFault(t, n.MustDo(403, "GET", p, nil, roles...), 403, "Policy does not allow this request to be performed.")
		}
		for _, roles := range []string{"admin", "Admin", "load-balancer_admin"} {
			n.MustDo(200, "GET", p, nil, "X-Roles: "+roles)
		}
	}
	systemtest.ExpectFault(t, n.MustDo(403, "POST", "/debug/snapshot", nil, "X-Roles: member"), 403,
		"Policy does not allow this request to be performed.")
	n.MustDo(200, "GET", "/healthz", nil) // public
	n.MustDo(200, "GET", "/", nil)

	// A grain's placement on a single node: this node owns it; asking
	// activates nothing.
	var p systemtest.GrainPlacement
	if err := json.Unmarshal(n.MustDo(200, "GET", "/debug/grains/Instance/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", nil, "X-Roles: admin").Body, &p); err != nil ||
		p.Kind != "Instance" || p.Owner == "" || p.Owner != p.Self || p.Hosted {
		t.Fatalf("placement: %+v %v", p, err)
	}
}

// A profile's duration is bounded, and a profile ends when its client leaves:
// the next one can start at once.
func TestPprofBoundedAndCancelled(t *testing.T) {
	n := startNode(t)
	for _, q := range []string{"seconds=61", "seconds=0", "seconds=x", "seconds=100000"} {
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/debug/pprof/profile?"+q, nil), 400, "seconds must be an integer from 1 to 60.")
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/debug/pprof/heap?"+q, nil), 400, "seconds must be an integer from 1 to 60.")
	}
	// A 60-second CPU profile whose client hangs up after half a second.
	c, err := net.Dial("tcp", n.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /debug/pprof/profile?seconds=60 HTTP/1.1\r\nHost: %s\r\n\r\n", n.HTTPAddr)
	time.Sleep(500 * time.Millisecond)
	c.Close()
	// Only one CPU profile can run: the next succeeds once the first stopped.
	start := time.Now()
	systemtest.Eventually(t, 10*time.Second, "a new CPU profile", func() bool {
		r, err := n.Do("GET", "/debug/pprof/profile?seconds=1", nil)
		return err == nil && r.Status == 200 && len(r.Body) > 0
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the abandoned profile held the profiler for %v", d)
	}
	// A profile served whole: its answer over the hijacked connection.
	c, err = net.Dial("tcp", n.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /debug/pprof/allocs?seconds=1 HTTP/1.1\r\nHost: %s\r\n\r\n", n.HTTPAddr)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("x-openstack-request-id") == "" || resp.ContentLength <= 0 {
		t.Fatalf("a delta profile: %v %+v", err, resp)
	}
}

// /debug/memory collects garbage at most once a second however many call it,
// and every caller gets a measurement taken after it asked.
func TestDebugMemoryRateLimited(t *testing.T) {
	n := startNode(t)
	const callers, calls = 8, 3
	var mu sync.Mutex
	gcs := map[float64]bool{}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < calls; j++ {
				r, err := n.Do("GET", "/debug/memory", nil)
				if err != nil || r.Status != 200 {
					t.Errorf("%v %v", err, r)
					return
				}
				var m map[string]float64
				_ = json.Unmarshal(r.Body, &m)
				mu.Lock()
				gcs[m["num_gc"]] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// callers*calls requests share collections: at most one a second (and one
	// at the start).
	if max := int(elapsed/time.Second) + 2; len(gcs) > max {
		t.Fatalf("%d distinct collections in %v for %d requests (at most %d)", len(gcs), elapsed, callers*calls, max)
	}
	if len(gcs) < calls {
		t.Fatalf("%d collections for callers who each asked %d times in a row: some got a stale measurement", len(gcs), calls)
	}
}

// POST /debug/snapshot takes a Raft snapshot and reports it, GET reports the
// last one; /debug/memory splits the resident set the way the benchmark does.
func TestDebugSnapshotAndMemory(t *testing.T) {
	n := startNode(t)
	n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", map[string]any{"loadbalancer": map[string]any{
		"vip_subnet_id": "08dce793-daef-411d-a896-d389cd45b1ea"}})
	var snap map[string]float64
	if err := json.Unmarshal(n.MustDo(200, "POST", "/debug/snapshot", nil).Body, &snap); err != nil {
		t.Fatal(err)
	}
	if snap["index"] <= 0 || snap["records"] < 1 || snap["bytes"] <= 0 {
		t.Fatalf("snapshot: %v", snap)
	}
	var last map[string]float64
	if err := json.Unmarshal(n.MustDo(200, "GET", "/debug/snapshot", nil).Body, &last); err != nil {
		t.Fatal(err)
	}
	if last["index"] != snap["index"] || last["records"] != snap["records"] {
		t.Fatalf("GET after POST: %v, POST said %v", last, snap)
	}
	var mem map[string]float64
	if err := json.Unmarshal(n.MustDo(200, "GET", "/debug/memory", nil).Body, &mem); err != nil {
		t.Fatal(err)
	}
	if mem["rss"] <= 0 || mem["rss_anon"] <= 0 || mem["rss_anon"]+mem["rss_file"] > mem["rss"]*1.01 || mem["heap_alloc"] <= 0 {
		t.Fatalf("memory: %v", mem)
	}
}
