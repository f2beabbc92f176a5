package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"keel/cluster/systemtest"
)

// provisioned is one load balancer's create, timed from the moment its POST was
// sent.
type provisioned struct {
	lb        createdLB
	post      time.Duration // the 201
	firstByte time.Duration // the first 200 from a member through the VIP
	active    time.Duration // provisioning_status ACTIVE read back
}

// provisionOne creates a fully populated load balancer and waits (at most 90 s)
// until its VIP serves a member's answer and the API shows it ACTIVE.
func provisionOne(r *runner, c *client, name string, bs []*backend) (provisioned, error) {
	port := systemtest.FreePort(r)
	var p provisioned
	t0 := time.Now()
	body, err := c.do("POST", "/v2/lbaas/loadbalancers", fullLB(name, port, bs), 201)
	if err != nil {
		return p, err
	}
	p.post = time.Since(t0)
	if p.lb, err = parseCreated(body, port); err != nil {
		return p, err
	}
	url := p.lb.url()
	deadline := t0.Add(90 * time.Second)
	for p.firstByte == 0 || p.active == 0 {
		if time.Now().After(deadline) {
			return p, fmt.Errorf("load balancer %s: not serving and ACTIVE 90 s after its POST (first byte %v, ACTIVE %v)",
				p.lb.ID, p.firstByte, p.active)
		}
		if p.firstByte == 0 {
			if got, ok := vipGet(url); ok {
				for _, b := range bs {
					if got == b.name {
						p.firstByte = time.Since(t0)
					}
				}
			}
		}
		if p.active == 0 {
			prov, _, err := lbState(c, p.lb.ID)
			if err == nil && prov == "ACTIVE" {
				p.active = time.Since(t0)
			}
			if prov == "ERROR" {
				return p, fmt.Errorf("load balancer %s went ERROR (see the node's log)", p.lb.ID)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p, nil
}

// deleteOne cascade-deletes a load balancer and waits (at most 60 s) until the
// API answers 404, its VIP refuses connections and no process of its amphorae
// is left; it returns the time from the DELETE to the last of these.
func deleteOne(c *client, base string, lb createdLB, amphorae []string) (time.Duration, error) {
	t0 := time.Now()
	if _, err := c.do("DELETE", "/v2/lbaas/loadbalancers/"+lb.ID+"?cascade=true", nil, 204); err != nil {
		return 0, err
	}
	for deadline := t0.Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("load balancer %s: not gone 60 s after its DELETE", lb.ID)
		}
		if prov, _, err := lbState(c, lb.ID); err != nil || prov != "DELETED" {
			continue
		}
		if conn, err := dialVIP(lb); err == nil {
			conn.Close()
			continue
		}
		left := false
		for _, a := range amphorae {
			if len(procsIn(base+"/"+a)) > 0 {
				left = true
			}
		}
		if !left {
			return time.Since(t0), nil
		}
	}
}

// amphoraProvision is the amphora-provision scenario: fully populated load
// balancers created one after another, then rounds of `parallel` at once, each
// timed from POST to the first byte a member serves through its VIP; then every
// one is deleted.
func amphoraProvision(r *runner, sequential, rounds, parallel int) string {
	n := amphoraNode(r, "prov")
	c := newClient(n.HTTPAddr, 32)
	bs := startBackends(r, "A", "B")
	base := amphoraBase(n)
	before, err := readMemory(c)
	if err != nil {
		r.Fatalf("memory: %v", err)
	}
	var seq, par []provisioned
	for i := 0; i < sequential; i++ {
		p, err := provisionOne(r, c, fmt.Sprintf("prov-%d", i), bs)
		if err != nil {
			r.Fatalf("amphora-provision: %v", err)
		}
		seq = append(seq, p)
	}
	var wallPar []time.Duration
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		t0 := time.Now()
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p, err := provisionOne(r, c, fmt.Sprintf("prov-par-%d-%d", round, i), bs)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					par = append(par, p)
				}
			}(i)
		}
		wg.Wait()
		if firstErr != nil {
			r.Fatalf("amphora-provision: %v", firstErr)
		}
		wallPar = append(wallPar, time.Since(t0))
	}
	fmt.Println("amphora-provision: created", len(seq)+len(par), "load balancers; deleting them")

	var dels []time.Duration
	for _, p := range append(append([]provisioned{}, seq...), par...) {
		amps, err := amphoraeOf(c, p.lb.ID)
		if err != nil {
			r.Fatalf("amphora-provision: %v", err)
		}
		var ids []string
		for _, a := range amps {
			ids = append(ids, a.ID)
		}
		d, err := deleteOne(c, base, p.lb, ids)
		if err != nil {
			r.Fatalf("amphora-provision: %v", err)
		}
		dels = append(dels, d)
	}
	left, _ := os.ReadDir(base)
	afterDelete, _ := readMemory(c)
	// Grains that only served the deleted load balancers should be gone once
	// the idle timeout passed (amphora grains are poisoned by their Destroy).
	time.Sleep(idleTimeout + 3*time.Second)
	idle, _ := readMemory(c)
	n.Kill()

	pick := func(ps []provisioned, f func(provisioned) time.Duration) summary {
		var ds []time.Duration
		for _, p := range ps {
			ds = append(ds, f(p))
		}
		return summarize(ds)
	}
	post := func(p provisioned) time.Duration { return p.post }
	first := func(p provisioned) time.Duration { return p.firstByte }
	active := func(p provisioned) time.Duration { return p.active }
	var b strings.Builder
	fmt.Fprintf(&b, "## amphora-provision: POST of a fully populated load balancer → first byte on its VIP\n\n")
	fmt.Fprintf(&b, "One node, `-amphora-driver local`: every load balancer is a real keel-agent running haproxy. "+
		"Body (one call): HTTP listener on a free port, ROUND_ROBIN pool with 2 members (loopback HTTP servers), HTTP health monitor. "+
		"Times from the moment the POST is sent; the VIP and the API are polled every 5 ms (a new connection per VIP probe).\n\n")
	fmt.Fprint(&b, summaryHeader)
	b.WriteString(pick(seq, post).row("sequential: POST → 201"))
	b.WriteString(pick(seq, first).row("sequential: POST → first byte on the VIP"))
	b.WriteString(pick(seq, active).row("sequential: POST → ACTIVE"))
	b.WriteString(pick(par, post).row(fmt.Sprintf("%d at once: POST → 201", parallel)))
	b.WriteString(pick(par, first).row(fmt.Sprintf("%d at once: POST → first byte on the VIP", parallel)))
	b.WriteString(pick(par, active).row(fmt.Sprintf("%d at once: POST → ACTIVE", parallel)))
	b.WriteString(summarize(wallPar).row(fmt.Sprintf("%d at once: round, first POST → last one serving", parallel)))
	b.WriteString(summarize(dels).row("DELETE ?cascade=true → 404, VIP closed, agent and haproxy gone"))
	fmt.Fprintf(&b, "\n- %d load balancers created (%d one after another, %d rounds of %d at once) and deleted.\n",
		len(seq)+len(par), len(seq), rounds, parallel)
	fmt.Fprintf(&b, "- After the deletes: %d amphora directories left; active grains %d before the creates, %d right after the deletes, %d after the grain idle timeout (%v) + 3 s.\n",
		len(left), before.ActiveGrains, afterDelete.ActiveGrains, idle.ActiveGrains, idleTimeout)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at the end: %s.\n", loadAverage())
	return b.String()
}

// dialVIP connects to a load balancer's listener on its VIP.
func dialVIP(lb createdLB) (net.Conn, error) {
	return net.DialTimeout("tcp", net.JoinHostPort(lb.VIP, strconv.Itoa(lb.Port)), time.Second)
}
