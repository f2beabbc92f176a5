package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"keel/bench"
	"keel/cluster/systemtest"
)

// leaseDate is keel's seconds form of a Blazar date (Blazar's own is minutes).
func leaseDate(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func leaseBody(name string, start, end time.Time, hosts int) []byte {
	res := []map[string]any{}
	if hosts > 0 {
		res = append(res, map[string]any{"resource_type": "physical:host", "min": hosts, "max": hosts,
			"hypervisor_properties": "", "resource_properties": ""})
	}
	b, _ := json.Marshal(map[string]any{"name": name, "start_date": leaseDate(start), "end_date": leaseDate(end),
		"reservations": res})
	return b
}

// leases measures the Blazar API through real keeld processes: lease creates
// on 1 and 3 nodes (without a reservation, and reserving one host of an
// inventory of inventory hosts), then, on the 3 nodes, how late events fire
// with pending leases whose start_lease events are due across one minute.
func leases(r *runner, d time.Duration, inventory, pending int, add func(string, bench.Result)) string {
	var b strings.Builder
	b.WriteString("## Lease creates\n\nPOST /v1/leases through the Blazar listener (noauth administrator), closed loop. " +
		"\"1 host\" reserves one host of the inventory over its own one-second window (keel's seconds form), so every " +
		"create searches the inventory and allocates; \"no reservation\" is the lease, its events and one Raft write.\n\n" +
		"| nodes | workload | concurrency | creates/s | p50 | p99 | max | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(nodes string, res bench.Result) {
		add(nodes, res)
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %s | %d |\n", nodes, res.Name, res.Concurrency, res.RPS(),
			ms(res.P50), ms(res.P99), ms(res.Max), res.Errors)
	}
	workloads := func(nodes string, clients []*client) {
		// Hosts first (admin-only writes through the host inventory grain).
		hostRes := bench.Run(fmt.Sprintf("create %d hosts", inventory), 16, time.Hour, inventory, func(w, i int) error {
			_, err := clients[i%len(clients)].do("POST", "/v1/os-hosts",
				[]byte(fmt.Sprintf(`{"name":"host-%05d","vcpus":%d,"rack":"r%02d"}`, i, 8<<(i%3), i/20)), 201)
			return err
		})
		row(nodes, hostRes)
		far := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Hour)
		for _, c := range []int{16, 64} {
			row(nodes, bench.Run("lease, no reservation", c, d, 0, func(w, i int) error {
				_, err := clients[i%len(clients)].do("POST", "/v1/leases", leaseBody("bench", far, far.Add(24*time.Hour), 0), 201)
				return err
			}))
		}
		// Distinct one-second windows per create, far from the others above.
		base := far.Add(10 * 24 * time.Hour)
		var next atomic.Int64
		window := func() time.Time { return base.Add(time.Duration(next.Add(1)) * time.Second) }
		for _, c := range []int{16, 64} {
			row(nodes, bench.Run(fmt.Sprintf("lease, 1 host of %d", inventory), c, d, 0, func(w, i int) error {
				s := window()
				_, err := clients[i%len(clients)].do("POST", "/v1/leases", leaseBody("bench", s, s.Add(time.Second), 1), 201)
				return err
			}))
		}
	}

	n := systemtest.NewNode(r, "bench1")
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	workloads("1 node", []*client{newClient(n.BlazarAddr, 128)})
	n.Kill()

	nodes := systemtest.StartCluster(r, 3)
	var clients []*client
	for _, n := range nodes {
		clients = append(clients, newClient(n.BlazarAddr, 128))
	}
	workloads("3 nodes", clients)

	// Event lateness: pending leases whose start events fall across one
	// minute, after every create has returned; lateness = when the event went
	// DONE (its updated_at, stamped by the lease grain as it decides) minus its
	// time.
	created := time.Now()
	first := created.Add(time.Duration(pending/400+10) * time.Second).Truncate(time.Second)
	res := bench.Run(fmt.Sprintf("create %d pending leases", pending), 64, time.Hour, pending, func(w, i int) error {
		s := first.Add(time.Duration(i%60) * time.Second)
		_, err := clients[i%len(clients)].do("POST", "/v1/leases", leaseBody(fmt.Sprintf("due-%d", i), s, s.Add(time.Hour), 0), 201)
		return err
	})
	add("3 nodes", res)
	createdBy := time.Since(created)
	if time.Now().After(first) {
		fmt.Fprintf(&b, "\nThe %d pending leases took %v to create, past the first event's time: lateness below includes load.\n",
			pending, createdBy.Round(time.Millisecond))
	}
	time.Sleep(time.Until(first.Add(65 * time.Second)))
	var late []time.Duration
	var notFired int
	deadline := time.Now().Add(60 * time.Second)
	for {
		late, notFired = late[:0], 0
		body, err := clients[0].do("GET", "/v1/leases", nil, 200)
		if err != nil {
			r.Fatalf("list leases: %v", err)
		}
		var list struct {
			Leases []struct {
				Name   string `json:"name"`
				Events []struct {
					Type    string `json:"event_type"`
					Time    string `json:"time"`
					Status  string `json:"status"`
					Updated string `json:"updated_at"`
				} `json:"events"`
			} `json:"leases"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			r.Fatalf("list leases: %v", err)
		}
		for _, l := range list.Leases {
			if !strings.HasPrefix(l.Name, "due-") {
				continue
			}
			for _, ev := range l.Events {
				if ev.Type != "start_lease" {
					continue
				}
				at, err1 := time.Parse("2006-01-02T15:04:05.000000", ev.Time)
				done, err2 := time.Parse("2006-01-02 15:04:05.999999", ev.Updated)
				if ev.Status != "DONE" || err1 != nil || err2 != nil {
					notFired++
					continue
				}
				late = append(late, done.Sub(at))
			}
		}
		if notFired == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, n := range nodes {
		n.Kill()
	}
	slices.Sort(late)
	q := func(p float64) time.Duration {
		if len(late) == 0 {
			return 0
		}
		return late[min(len(late)-1, int(p*float64(len(late))))]
	}
	fmt.Fprintf(&b, "\n## Event lateness\n\n3 nodes; %d leases created in %v (%.0f/s), their start_lease events due across one minute "+
		"(%d per second), each fired by the leader's scheduler through its lease grain. Lateness: the event's updated_at "+
		"(the grain's decision) minus its time.\n\n| events | fired | not fired | p50 | p99 | max |\n|---:|---:|---:|---:|---:|---:|\n"+
		"| %d | %d | %d | %s | %s | %s |\n", pending, createdBy.Round(time.Millisecond), float64(pending)/createdBy.Seconds(),
		pending/60, pending, len(late), notFired, ms(q(0.5)), ms(q(0.99)), ms(q(1)))
	return b.String()
}
