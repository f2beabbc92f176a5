package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// failoverRun is one kill, every time measured from the SIGKILL.
type failoverRun struct {
	detected      time.Duration // the load balancer left ACTIVE (PENDING_UPDATE: failover started)
	pendingDelete time.Duration // the old amphora shown PENDING_DELETE
	opChanged     time.Duration // an operating_status of the status tree left ONLINE (0: never)
	opStatus      string        // the statuses then
	allocated     time.Duration // a new amphora shown ALLOCATED
	active        time.Duration // ACTIVE again, the old amphora gone from the records
	oldGone       time.Duration // no process of the old amphora left (its haproxy killed by the failover)
	traffic       time.Duration // first member answer on the VIP once the old amphora's processes are gone
	online        time.Duration // every operating_status of the status tree ONLINE after the failover
	outage        time.Duration // longest stretch without a successful VIP probe
	probes        int
	failed        int
	transitions   string // status changes seen (first run of a kind)
}

// failover is the failover scenario: kills of a load balancer's keel-agent
// (kill -9; its haproxy keeps serving, as a VM's would when only its agent
// dies), then kills of its haproxy alone (the agent keeps sending heartbeats,
// now without the listener). Heartbeat interval 1 s, timeout 3 s.
func failover(r *runner, kills int) string {
	n := amphoraNode(r, "fo", "-heartbeat-interval", "1s", "-heartbeat-timeout", "3s")
	c := newClient(n.HTTPAddr, 8)
	bs := startBackends(r, "A", "B")
	base := amphoraBase(n)
	p, err := provisionOne(r, c, "failover", bs)
	if err != nil {
		r.Fatalf("failover: %v", err)
	}
	lb := p.lb
	// A few heartbeats first, so the first kill finds an amphora in steady state.
	time.Sleep(2 * time.Second)
	results := map[string][]failoverRun{}
	var notes []string
	for _, kind := range []string{"agent", "haproxy"} {
		for i := 0; i < kills; i++ {
			run, err := failoverOnce(c, base, lb, kind, i == 0)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s kill %d: %v", kind, i+1, err))
				fmt.Printf("failover: %s kill %d: %v\n", kind, i+1, err)
				break
			}
			fmt.Printf("failover: %s kill %d: detected %v, traffic back %v, outage %v\n", kind, i+1,
				run.detected.Round(time.Millisecond), run.traffic.Round(time.Millisecond), run.outage.Round(time.Millisecond))
			results[kind] = append(results[kind], run)
			// Two heartbeats of the new amphora before the next kill: each kill
			// then finds an amphora past its grace period, as the first did.
			time.Sleep(2 * time.Second)
		}
	}
	// One amphora serves now: its grain is the only one that should stay (the
	// load balancer's passivates when idle; replaced amphorae's are poisoned by
	// their Destroy).
	time.Sleep(idleTimeout + 3*time.Second)
	if m, err := readMemory(c); err == nil {
		notes = append(notes, fmt.Sprintf("active grains after the kills and the grain idle timeout (%v) + 3 s: %d (one amphora serves)",
			idleTimeout, m.ActiveGrains))
	}
	n.Kill()

	var b strings.Builder
	fmt.Fprintf(&b, "## failover: kill -9 of an amphora's keel-agent, then of its haproxy\n\n")
	fmt.Fprintf(&b, "One node, `-amphora-driver local -heartbeat-interval 1s -heartbeat-timeout 3s`, one fully populated load balancer. "+
		"Times from the SIGKILL; the API is polled every 20 ms and the VIP probed every 20 ms (a new connection each). "+
		"The silence itself starts at the agent's last heartbeat, up to one interval before the kill, and the grain "+
		"checks for silence every interval/2: kill → detected is expected between 2.0 and 3.5 s.\n\n")
	for _, kind := range []string{"agent", "haproxy"} {
		runs := results[kind]
		what := map[string]string{"agent": "keel-agent killed (its haproxy keeps running)",
			"haproxy": "haproxy killed (master and workers; the agent keeps sending heartbeats)"}[kind]
		fmt.Fprintf(&b, "### %s: %d kills\n\n", what, len(runs))
		fmt.Fprint(&b, summaryHeader)
		col := func(name string, f func(failoverRun) time.Duration) {
			var ds []time.Duration
			for _, x := range runs {
				if d := f(x); d > 0 {
					ds = append(ds, d)
				}
			}
			b.WriteString(summarize(ds).row(name))
		}
		col("kill → detected (load balancer PENDING_UPDATE)", func(x failoverRun) time.Duration { return x.detected })
		col("kill → old amphora PENDING_DELETE", func(x failoverRun) time.Duration { return x.pendingDelete })
		col("kill → an operating_status not ONLINE (status tree)", func(x failoverRun) time.Duration { return x.opChanged })
		col("kill → new amphora ALLOCATED", func(x failoverRun) time.Duration { return x.allocated })
		col("kill → ACTIVE, old amphora gone from the records", func(x failoverRun) time.Duration { return x.active })
		col("kill → old amphora's processes gone", func(x failoverRun) time.Duration { return x.oldGone })
		col("kill → VIP answers, served by the new amphora", func(x failoverRun) time.Duration { return x.traffic })
		col("detected → VIP answers, served by the new amphora", func(x failoverRun) time.Duration {
			return x.traffic - x.detected
		})
		col("kill → all statuses ONLINE after the failover", func(x failoverRun) time.Duration { return x.online })
		col("longest VIP outage (no successful probe)", func(x failoverRun) time.Duration { return x.outage })
		probes, failed := 0, 0
		ops := map[string]int{}
		for _, x := range runs {
			probes += x.probes
			failed += x.failed
			if x.opStatus != "" {
				ops[x.opStatus]++
			}
		}
		fmt.Fprintf(&b, "\n- VIP probes: %d, failed %d.", probes, failed)
		if len(ops) > 0 {
			fmt.Fprintf(&b, " Operating statuses (load balancer/listener/pool) when one left ONLINE: %v (kills that showed it).", ops)
		} else {
			fmt.Fprintf(&b, " No operating_status of the status tree (load balancer, listener, pool) ever left ONLINE.")
		}
		if len(runs) > 0 {
			fmt.Fprintf(&b, "\n- First kill, what the API showed: %s", runs[0].transitions)
		}
		b.WriteString("\n\n")
	}
	for _, note := range notes {
		fmt.Fprintf(&b, "- %s\n", note)
	}
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at the end: %s.\n", loadAverage())
	return b.String()
}

// failoverOnce kills the serving amphora's agent or haproxy and follows the
// failover until the VIP answers from the new amphora (at most 60 s).
func failoverOnce(c *client, base string, lb createdLB, kind string, trace bool) (failoverRun, error) {
	var run failoverRun
	amps, err := amphoraeOf(c, lb.ID)
	if err != nil {
		return run, err
	}
	var old amphoraRow
	for _, a := range amps {
		if a.Status == "ALLOCATED" {
			old = a
		}
	}
	if old.ID == "" || len(amps) != 1 {
		return run, fmt.Errorf("want one ALLOCATED amphora, have %+v", amps)
	}
	oldDir := filepath.Join(base, old.ID)
	var victims []int
	switch kind {
	case "agent":
		if pid := agentPid(old.ID); pid != 0 {
			victims = append(victims, pid)
		}
	case "haproxy":
		for _, pid := range procsIn(oldDir) {
			if commOf(pid) == "haproxy" {
				victims = append(victims, pid)
			}
		}
	}
	if len(victims) == 0 {
		return run, fmt.Errorf("no %s process of amphora %s", kind, old.ID)
	}

	// The VIP prober.
	type probe struct {
		at time.Duration
		ok bool
	}
	var mu sync.Mutex
	var probes []probe
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, ok := vipGet(lb.url())
			mu.Lock()
			probes = append(probes, probe{at: time.Since(t0), ok: ok})
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	finish := func() {
		close(stop)
		wg.Wait()
		last := time.Duration(0) // the last successful probe
		for _, p := range probes {
			run.probes++
			if !p.ok {
				run.failed++
				continue
			}
			run.outage = max(run.outage, p.at-last)
			last = p.at
		}
		if len(probes) > 0 && !probes[len(probes)-1].ok {
			run.outage = max(run.outage, probes[len(probes)-1].at-last)
		}
		if run.failed == 0 {
			run.outage = 0
		}
	}

	for _, pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	var seen []string
	lastSeen := map[string]string{}
	note := func(at time.Duration, what, status string) {
		if trace && lastSeen[what] != status {
			lastSeen[what] = status
			seen = append(seen, fmt.Sprintf("%.2f s %s %s", at.Seconds(), what, status))
		}
	}
	deadline := t0.Add(60 * time.Second)
	for run.traffic == 0 {
		if time.Now().After(deadline) {
			finish()
			return run, fmt.Errorf("no traffic from a new amphora 60 s after the kill (detected %v, allocated %v, active %v, old processes gone %v)",
				run.detected, run.allocated, run.active, run.oldGone)
		}
		el := time.Since(t0)
		prov, op, err := lbState(c, lb.ID)
		if err == nil {
			note(el, "load balancer", prov+"/"+op)
			if run.detected == 0 && prov != "ACTIVE" {
				run.detected = el
			}
			st := operatingStatuses(c, lb.ID)
			note(el, "statuses (lb/listener/pool)", st)
			if run.opChanged == 0 && st != "" && st != allOnline {
				run.opChanged, run.opStatus = el, st
			}
			if prov == "ERROR" {
				finish()
				return run, fmt.Errorf("load balancer %s went ERROR", lb.ID)
			}
		}
		amps, err := amphoraeOf(c, lb.ID)
		oldListed := false
		if err == nil {
			if _, had := lastSeen["old amphora"]; had && !slicesContainsID(amps, old.ID) {
				note(el, "old amphora", "gone")
			}
			for _, a := range amps {
				if a.ID == old.ID {
					oldListed = true
					note(el, "old amphora", a.Status)
					if a.Status == "PENDING_DELETE" && run.pendingDelete == 0 {
						run.pendingDelete = el
					}
					continue
				}
				note(el, "new amphora", a.Status)
				if a.Status == "ALLOCATED" && run.allocated == 0 {
					run.allocated = el
				}
			}
		}
		if err == nil && run.detected > 0 && run.active == 0 && prov == "ACTIVE" && !oldListed && run.allocated > 0 {
			run.active = el
		}
		if run.oldGone == 0 && len(procsIn(oldDir)) == 0 {
			run.oldGone = el
		}
		if run.oldGone > 0 && run.allocated > 0 {
			if _, ok := vipGet(lb.url()); ok {
				run.traffic = time.Since(t0)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The records settle just after the traffic at the latest.
	for run.active == 0 && time.Now().Before(deadline) {
		prov, _, err := lbState(c, lb.ID)
		amps, aerr := amphoraeOf(c, lb.ID)
		if err == nil && aerr == nil && prov == "ACTIVE" && len(amps) == 1 && amps[0].ID != old.ID && amps[0].Status == "ALLOCATED" {
			run.active = time.Since(t0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	finish()
	if run.active == 0 {
		return run, fmt.Errorf("load balancer not ACTIVE with one new amphora 60 s after the kill")
	}
	// The new amphora's heartbeats bring every status back ONLINE.
	for time.Now().Before(deadline) {
		st := operatingStatuses(c, lb.ID)
		note(time.Since(t0), "statuses (lb/listener/pool)", st)
		if st == allOnline {
			run.online = time.Since(t0)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if run.online == 0 {
		return run, fmt.Errorf("operating statuses not all ONLINE again 60 s after the kill")
	}
	if trace {
		run.transitions = strings.Join(seen, "; ")
	}
	return run, nil
}

func slicesContainsID(amps []amphoraRow, id string) bool {
	for _, a := range amps {
		if a.ID == id {
			return true
		}
	}
	return false
}

const allOnline = "ONLINE/ONLINE/ONLINE"

// operatingStatuses is "load balancer/listener/pool" operating_status from the
// status tree (its first listener and pool), "" if unreadable.
func operatingStatuses(c *client, lbID string) string {
	body, err := c.do("GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil, 200)
	if err != nil {
		return ""
	}
	var v struct {
		Statuses struct {
			LoadBalancer struct {
				Op        string `json:"operating_status"`
				Listeners []struct {
					Op    string `json:"operating_status"`
					Pools []struct {
						Op string `json:"operating_status"`
					} `json:"pools"`
				} `json:"listeners"`
			} `json:"loadbalancer"`
		} `json:"statuses"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	lb := v.Statuses.LoadBalancer
	listener, pool := "-", "-"
	if len(lb.Listeners) > 0 {
		listener = lb.Listeners[0].Op
		if len(lb.Listeners[0].Pools) > 0 {
			pool = lb.Listeners[0].Pools[0].Op
		}
	}
	return lb.Op + "/" + listener + "/" + pool
}
