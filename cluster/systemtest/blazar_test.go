package systemtest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Blazar leases on a 3-node cluster: events on time (within 1 s, seconds-format
// dates being keel's extension), updates moving events, back-to-back leases,
// no double booking under concurrent creates, and an event that survives its
// leader's kill -9.

type leaseView struct {
	ID, Name, Status string
	StartDate        string `json:"start_date"`
	EndDate          string `json:"end_date"`
	CreatedAt        string `json:"created_at"`
	Reservations     []struct {
		ID string `json:"id"`
	}
	Events []struct {
		ID, Status, Time string
		EventType        string `json:"event_type"`
		UpdatedAt        any    `json:"updated_at"`
	}
}

func decodeLeaseView(t *testing.T, body []byte) leaseView {
	t.Helper()
	var v struct{ Lease leaseView }
	if err := json.Unmarshal(body, &v); err != nil || v.Lease.ID == "" {
		t.Fatalf("no lease in %s", body)
	}
	return v.Lease
}

func getLease(t *testing.T, n *Node, id string) leaseView {
	t.Helper()
	return decodeLeaseView(t, n.BlazarMustDo(200, "GET", "/v1/leases/"+id, nil).Body)
}

// event returns the lease's event of type, failing when it has none.
func (l leaseView) event(t *testing.T, eventType string) (status string, at, fired time.Time) {
	t.Helper()
	for _, ev := range l.Events {
		if ev.EventType != eventType {
			continue
		}
		at, err := time.Parse("2006-01-02T15:04:05.000000", ev.Time)
		if err != nil {
			t.Fatalf("event time %q: %v", ev.Time, err)
		}
		if s, ok := ev.UpdatedAt.(string); ok {
			if fired, err = time.Parse("2006-01-02 15:04:05.999999", s); err != nil {
				t.Fatalf("event updated_at %q: %v", s, err)
			}
		}
		return ev.Status, at, fired
	}
	t.Fatalf("lease %s has no %s event", l.ID, eventType)
	return "", time.Time{}, time.Time{}
}

// secondsDate is t in keel's seconds extension of Blazar's date format.
func secondsDate(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// hostLease is a create body reserving the one host named hostname.
func hostLease(name, start, end, hostname string) map[string]any {
	return map[string]any{"name": name, "start_date": start, "end_date": end, "reservations": []any{map[string]any{
		"resource_type": "physical:host", "min": 1, "max": 1,
		"hypervisor_properties": fmt.Sprintf(`["==", "$hypervisor_hostname", %q]`, hostname), "resource_properties": ""}}}
}

// checkFiredOnTime checks a lease's event is DONE and ran within limit of its time.
func checkFiredOnTime(t *testing.T, l leaseView, eventType string, limit time.Duration) time.Duration {
	t.Helper()
	status, at, fired := l.event(t, eventType)
	if status != "DONE" {
		t.Fatalf("%s of %s is %s", eventType, l.ID, status)
	}
	late := fired.Sub(at)
	if late < 0 || late > limit {
		t.Fatalf("%s of %s due %v ran at %v: %v late (limit %v)", eventType, l.ID, at, fired, late, limit)
	}
	return late
}

func TestBlazarLeasesOnThreeNodes(t *testing.T) {
	nodes := StartCluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	for i := 1; i <= 4; i++ {
		a.BlazarMustDo(201, "POST", "/v1/os-hosts", map[string]any{"name": fmt.Sprintf("life-%d", i)})
	}

	t.Run("a lease starting now is ACTIVE within 1 s", func(t *testing.T) {
		r := b.BlazarMustDo(201, "POST", "/v1/leases", hostLease("now", "now", secondsDate(time.Now().Add(time.Hour)), "life-1"))
		id := decodeLeaseView(t, r.Body).ID
		if took := c.WaitLeaseStatus(id, "ACTIVE", 3*time.Second); took > time.Second {
			t.Fatalf("ACTIVE %v after the create answered", took)
		}
		// "now" is the current second: the event is due from the lease's creation.
		l := getLease(t, a, id)
		status, _, fired := l.event(t, "start_lease")
		created, err := time.Parse("2006-01-02 15:04:05.999999", l.CreatedAt)
		if err != nil || status != "DONE" || fired.Sub(created) > time.Second {
			t.Fatalf("start_lease %s at %v, lease created at %v (%v)", status, fired, created, err)
		}
		t.Logf("start_lease ran %v after the lease was created", fired.Sub(created))
	})

	t.Run("a lease ending in 5 s is TERMINATED on time", func(t *testing.T) {
		end := time.Now().Add(5 * time.Second)
		r := c.BlazarMustDo(201, "POST", "/v1/leases", hostLease("short", "now", secondsDate(end), "life-2"))
		id := decodeLeaseView(t, r.Body).ID
		a.WaitLeaseStatus(id, "TERMINATED", 10*time.Second)
		if time.Now().Before(end.Truncate(time.Second)) {
			t.Fatal("TERMINATED before its end")
		}
		late := checkFiredOnTime(t, getLease(t, b, id), "end_lease", time.Second)
		t.Logf("end_lease ran %v after its time", late)
	})

	t.Run("prolong and shorten while ACTIVE move the events", func(t *testing.T) {
		r := a.BlazarMustDo(201, "POST", "/v1/leases", hostLease("moving", "now", secondsDate(time.Now().Add(time.Hour)), "life-3"))
		id := decodeLeaseView(t, r.Body).ID
		a.WaitLeaseStatus(id, "ACTIVE", 3*time.Second)
		prolonged := time.Now().Add(2 * time.Hour).Truncate(time.Second)
		r = b.BlazarMustDo(200, "PUT", "/v1/leases/"+id, map[string]any{"end_date": secondsDate(prolonged)})
		l := decodeLeaseView(t, r.Body)
		if _, at, _ := l.event(t, "end_lease"); !at.Equal(prolonged) {
			t.Fatalf("prolong: end_lease at %v, want %v", at, prolonged)
		}
		if status, at, _ := l.event(t, "before_end_lease"); status != "UNDONE" || !at.Equal(prolonged.Add(-time.Hour)) {
			t.Fatalf("prolong: before_end_lease %s at %v, want UNDONE at %v", status, at, prolonged.Add(-time.Hour))
		}
		shortened := time.Now().Add(4 * time.Second).Truncate(time.Second)
		r = c.BlazarMustDo(200, "PUT", "/v1/leases/"+id, map[string]any{"end_date": secondsDate(shortened)})
		if _, at, _ := decodeLeaseView(t, r.Body).event(t, "end_lease"); !at.Equal(shortened) {
			t.Fatalf("shorten: end_lease at %v, want %v", at, shortened)
		}
		a.WaitLeaseStatus(id, "TERMINATED", 10*time.Second)
		checkFiredOnTime(t, getLease(t, a, id), "end_lease", time.Second)
	})

	t.Run("back-to-back leases on one host both succeed", func(t *testing.T) {
		t0 := time.Now().Add(3 * time.Second).Truncate(time.Second)
		t1, t2 := t0.Add(3*time.Second), t0.Add(6*time.Second)
		first := decodeLeaseView(t, a.BlazarMustDo(201, "POST", "/v1/leases", hostLease("first", secondsDate(t0), secondsDate(t1), "life-4")).Body).ID
		second := decodeLeaseView(t, b.BlazarMustDo(201, "POST", "/v1/leases", hostLease("second", secondsDate(t1), secondsDate(t2), "life-4")).Body).ID
		// An overlapping third one is refused.
		r, _ := c.BlazarDo("POST", "/v1/leases", hostLease("third", secondsDate(t0.Add(time.Second)), secondsDate(t2), "life-4"))
		ExpectBlazarError(t, r, 409, "Not enough hosts available")
		c.WaitLeaseStatus(second, "ACTIVE", 10*time.Second)
		c.WaitLeaseStatus(first, "TERMINATED", 2*time.Second)
		f, s := getLease(t, a, first), getLease(t, a, second)
		checkFiredOnTime(t, f, "start_lease", time.Second)
		checkFiredOnTime(t, f, "end_lease", time.Second)
		checkFiredOnTime(t, s, "start_lease", time.Second)
		_, _, ended := f.event(t, "end_lease")
		if _, _, started := s.event(t, "start_lease"); started.Before(ended) {
			t.Fatalf("the second lease started (%v) before the first ended (%v)", started, ended)
		}
		c.WaitLeaseStatus(second, "TERMINATED", 5*time.Second)
	})

	t.Run("50 concurrent creates for 10 hosts: exactly 10, no double booking", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			a.BlazarMustDo(201, "POST", "/v1/os-hosts", map[string]any{"name": fmt.Sprintf("pool-%d", i), "pool": "race"})
		}
		now := time.Now()
		start, end := secondsDate(now.Add(time.Hour)), secondsDate(now.Add(2*time.Hour))
		// Leases just before and just after the window on two hosts leave them
		// free for it (back to back) and give the pair check pairs to check.
		for i, w := range [][2]time.Time{{now.Add(30 * time.Minute), now.Add(time.Hour)}, {now.Add(2 * time.Hour), now.Add(3 * time.Hour)}} {
			a.BlazarMustDo(201, "POST", "/v1/leases", hostLease("edge", secondsDate(w[0]), secondsDate(w[1]), fmt.Sprintf("pool-%d", i)))
		}
		body := map[string]any{"name": "race", "start_date": start, "end_date": end, "reservations": []any{map[string]any{
			"resource_type": "physical:host", "min": 1, "max": 1, "hypervisor_properties": "",
			"resource_properties": `["==", "$pool", "race"]`}}}
		var wg sync.WaitGroup
		statuses := make([]int, 50)
		bodies := make([]string, 50)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, err := nodes[i%3].BlazarDo("POST", "/v1/leases", body)
				if err == nil {
					statuses[i], bodies[i] = r.Status, string(r.Body)
				}
			}(i)
		}
		wg.Wait()
		count := map[int]int{}
		for i, s := range statuses {
			count[s]++
			if s != 201 && s != 409 {
				t.Errorf("create %d: %d %s", i, s, bodies[i])
			}
			if s == 409 && !strings.Contains(bodies[i], `"error_message":"Not enough hosts available"`) {
				t.Errorf("create %d: %s", i, bodies[i])
			}
		}
		if count[201] != 10 || count[409] != 40 {
			t.Fatalf("statuses %v, want 10 created and 40 refused", count)
		}
		perHost := checkNoDoubleBooking(t, b)
		for i := 0; i < 10; i++ {
			want := 1
			if i < 2 {
				want = 2 // and its edge lease
			}
			if got := perHost[fmt.Sprintf("pool-%d", i)]; got != want {
				t.Errorf("pool-%d has %d allocations, want %d", i, got, want)
			}
		}
	})
}

// checkNoDoubleBooking reads every allocation and checks every pair on one host
// for an overlap; it returns how many allocations each host (by name) has.
func checkNoDoubleBooking(t *testing.T, n *Node) map[string]int {
	t.Helper()
	r := n.BlazarMustDo(200, "GET", "/v1/os-hosts/allocations", nil)
	var v struct {
		Allocations []struct {
			ResourceID   string `json:"resource_id"`
			Reservations []struct {
				ID        string `json:"id"`
				StartDate string `json:"start_date"`
				EndDate   string `json:"end_date"`
			}
		}
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("allocations: %s", r.Body)
	}
	names := map[string]string{}
	var hosts struct {
		Hosts []struct {
			ID                 string `json:"id"`
			HypervisorHostname string `json:"hypervisor_hostname"`
		}
	}
	if err := json.Unmarshal(n.BlazarMustDo(200, "GET", "/v1/os-hosts", nil).Body, &hosts); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts.Hosts {
		names[h.ID] = h.HypervisorHostname
	}
	perHost := map[string]int{}
	pairs := 0
	for _, h := range v.Allocations {
		perHost[names[h.ResourceID]] = len(h.Reservations)
		for i, x := range h.Reservations {
			for _, y := range h.Reservations[i+1:] {
				pairs++
				// The dates are fixed-width UTC: compared as text, in time order.
				if x.StartDate < y.EndDate && y.StartDate < x.EndDate {
					t.Errorf("host %s double-booked: %s [%s, %s) and %s [%s, %s)", h.ResourceID, x.ID, x.StartDate, x.EndDate,
						y.ID, y.StartDate, y.EndDate)
				}
			}
		}
	}
	t.Logf("%d hosts, %d pairs of allocations checked", len(v.Allocations), pairs)
	return perHost
}

// TestBlazarEventSurvivesLeaderKill kills the Raft leader (the node whose
// scheduler fires events) just before a lease's start_lease is due: the event
// still fires, once, within 2 s of its time.
func TestBlazarEventSurvivesLeaderKill(t *testing.T) {
	nodes := StartCluster(t, 3)
	leaderName := WaitConverged(t, nodes, 3, 30*time.Second)
	leader := ByName(nodes, leaderName)
	var others []*Node
	for _, n := range nodes {
		if n != leader {
			others = append(others, n)
		}
	}
	others[0].BlazarMustDo(201, "POST", "/v1/os-hosts", map[string]any{"name": "kill-1"})
	due := time.Now().Add(3 * time.Second).Truncate(time.Second)
	id := decodeLeaseView(t, others[0].BlazarMustDo(201, "POST", "/v1/leases",
		hostLease("survivor", secondsDate(due), secondsDate(due.Add(time.Hour)), "kill-1")).Body).ID
	time.Sleep(time.Until(due.Add(-300 * time.Millisecond)))
	leader.Kill()
	t.Logf("killed leader %s %v before the event", leaderName, time.Until(due))
	others[1].WaitLeaseStatus(id, "ACTIVE", 10*time.Second)
	l := getLease(t, others[0], id)
	late := checkFiredOnTime(t, l, "start_lease", 2*time.Second)
	t.Logf("start_lease ran %v after its time", late)
	// Once: one start_lease notification for the lease in all the logs.
	fired := 0
	for _, n := range nodes {
		log, _ := os.ReadFile(n.LogPath)
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "event_type=lease.event.start_lease") && strings.Contains(line, "lease_id="+id) {
				fired++
			}
		}
	}
	if fired != 1 {
		t.Fatalf("start_lease notified %d times, want once", fired)
	}
}
