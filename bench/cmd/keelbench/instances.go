package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"keel/bench"
	"keel/cluster/systemtest"
)

const (
	benchImage = "5a4e1c3b-7f6d-4e2a-9b8c-0d1e2f3a4b5c"
	benchNet   = "c1a3e1a2-3b4c-4d5e-8f60-718293a4b5c6"
)

// instanceBody is POST /v1/instances's body.
func instanceBody(name, typeID string) []byte {
	b, _ := json.Marshal(map[string]any{"name": name, "image_uuid": benchImage, "instance_type_uuid": typeID,
		"networks": []any{map[string]any{"net_id": benchNet}}})
	return b
}

// instances measures the Mogan API through real keeld processes: instance
// creates until every instance is active and power actions until each is
// done, with the fake power driver, on 1 and 3 nodes; then the time from a
// power request to the BMC reporting it, with real ipmi_sim BMCs.
func instances(r *runner, count int, bmcs int, commitTimeout time.Duration) string {
	var extra []string
	if commitTimeout > 0 {
		extra = []string{"-raft-commit-timeout", commitTimeout.String()}
	}
	var b strings.Builder
	b.WriteString("## Instances (fake power driver)\n\nPOST /v1/instances for as many instances as hosts (noauth administrator, " +
		"concurrency 16), then until every one is `active` (scheduled onto a host by the FSM's claim, powered on through the " +
		"driver, COMPLETE_BUILD); power actions: PUT states/power (off, then on) and until `target_power_state` is null.\n\n" +
		commitNote(commitTimeout) +
		"| nodes | workload | count | per second | p50 | p99 | max | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	run := func(nodes string, clients []*client, moganClients []*client) {
		hosts := bench.Run("hosts", 16, time.Hour, count, func(w, i int) error {
			_, err := clients[i%len(clients)].do("POST", "/v1/os-hosts", []byte(fmt.Sprintf(`{"name":"bm-%05d"}`, i)), 201)
			return err
		})
		if hosts.Errors > 0 {
			r.Fatalf("hosts: %s", hosts.FirstError)
		}
		body, err := moganClients[0].do("POST", "/v1/types", []byte(`{"name":"bench","description":"bare metal"}`), 201)
		if err != nil {
			r.Fatalf("type: %v", err)
		}
		var ty struct {
			UUID string `json:"uuid"`
		}
		if err := json.Unmarshal(body, &ty); err != nil || ty.UUID == "" {
			r.Fatalf("type: %v %s", err, body)
		}
		ids := make([]string, count)
		start := time.Now()
		res := bench.Run("create (201)", 16, time.Hour, count, func(w, i int) error {
			body, err := moganClients[i%len(moganClients)].do("POST", "/v1/instances", instanceBody(fmt.Sprintf("bm-%d", i), ty.UUID), 201)
			if err != nil {
				return err
			}
			var v struct {
				UUID string `json:"uuid"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				return err
			}
			ids[i] = v.UUID
			return nil
		})
		row(&b, nodes, res, count)
		active := func() int {
			body, err := moganClients[0].do("GET", "/v1/instances?fields=status", nil, 200)
			if err != nil {
				return 0
			}
			return strings.Count(string(body), `"status":"active"`)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for active() < count && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		took := time.Since(start)
		n := active()
		fmt.Fprintf(&b, "| %s | create → all active | %d | %.0f | | | %v | %d not active |\n", nodes, count,
			float64(n)/took.Seconds(), took.Round(time.Millisecond), count-n)

		// Power actions: each worker owns instances (one action at a time each).
		powerRes := bench.Run("power action (202 → done)", 16, time.Hour, count*2, func(w, i int) error {
			id := ids[i%count]
			target := "off"
			if i >= count {
				target = "on"
			}
			c := moganClients[i%len(moganClients)]
			if _, err := c.do("PUT", "/v1/instances/"+id+"/states/power", []byte(`{"target":"`+target+`"}`), 202); err != nil {
				return err
			}
			for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
				body, err := c.do("GET", "/v1/instances/"+id+"/states", nil, 200)
				if err != nil {
					return err
				}
				if strings.Contains(string(body), `"target_power_state":null`) {
					return nil
				}
				time.Sleep(5 * time.Millisecond)
			}
			return fmt.Errorf("power %s of %s not done in 30 s", target, id)
		})
		row(&b, nodes, powerRes, count*2)
	}
	n := systemtest.NewNode(r, "bench1")
	n.ExtraArgs = extra
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	run("1 node", []*client{newClient(n.BlazarAddr, 64)}, []*client{newClient(n.MoganAddr, 64)})
	n.Kill()

	nodes := systemtest.StartClusterWith(r, 3, func(n *systemtest.Node) { n.ExtraArgs = extra })
	var bc, mc []*client
	for _, n := range nodes {
		bc, mc = append(bc, newClient(n.BlazarAddr, 64)), append(mc, newClient(n.MoganAddr, 64))
	}
	run("3 nodes", bc, mc)
	for _, n := range nodes {
		n.Kill()
	}

	// Real BMCs: the time from the API's 202 to ipmi_sim reporting the state.
	n = systemtest.NewNode(r, "bmc1")
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	blazar, mogan := newClient(n.BlazarAddr, 8), newClient(n.MoganAddr, 8)
	var sims []*systemtest.BMC
	for i := 0; i < bmcs; i++ {
		s := systemtest.StartBMC(r)
		sims = append(sims, s)
		body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("ipmi-%d", i), "bmc_address": s.Address, "bmc_port": s.Port,
			"bmc_username": s.Username, "bmc_password": s.Password, "power_driver": "ipmi"})
		if _, err := blazar.do("POST", "/v1/os-hosts", body, 201); err != nil {
			r.Fatalf("ipmi host: %v", err)
		}
	}
	body, err := mogan.do("POST", "/v1/types", []byte(`{"name":"ipmi","description":"bare metal"}`), 201)
	if err != nil {
		r.Fatalf("type: %v", err)
	}
	var ty struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(body, &ty)
	var ids []string
	for i := 0; i < bmcs; i++ {
		body, err := mogan.do("POST", "/v1/instances", instanceBody(fmt.Sprintf("ipmi-%d", i), ty.UUID), 201)
		if err != nil {
			r.Fatalf("instance: %v", err)
		}
		var v struct {
			UUID string `json:"uuid"`
		}
		_ = json.Unmarshal(body, &v)
		ids = append(ids, v.UUID)
	}
	for _, s := range sims {
		s.WaitPower(r, true, 60*time.Second)
	}
	// Which BMC serves which instance: the scheduler picks hosts at random, so
	// the first power-off of each instance finds it (the BMC that goes off).
	simOf := map[string]*systemtest.BMC{}
	var offs, ons []time.Duration
	waitDone := func(id string) {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			body, err := mogan.do("GET", "/v1/instances/"+id+"/states", nil, 200)
			if err == nil && strings.Contains(string(body), `"target_power_state":null`) {
				return
			}
		}
	}
	for round := 0; round < 5; round++ {
		for _, id := range ids {
			for _, on := range []bool{false, true} {
				target := map[bool]string{false: "off", true: "on"}[on]
				t0 := time.Now()
				if _, err := mogan.do("PUT", "/v1/instances/"+id+"/states/power", []byte(`{"target":"`+target+`"}`), 202); err != nil {
					r.Fatalf("power %s: %v", target, err)
				}
				if sim := simOf[id]; sim != nil {
					sim.WaitPower(r, on, 30*time.Second)
				} else {
					systemtest.Eventually(r, 30*time.Second, "a BMC powered off", func() bool {
						for _, s := range sims {
							if !s.PowerOn(r) {
								simOf[id] = s
								return true
							}
						}
						return false
					})
				}
				d := time.Since(t0)
				if on {
					ons = append(ons, d)
				} else {
					offs = append(offs, d)
				}
				waitDone(id) // the action's end is recorded before the next one is asked
			}
		}
	}
	n.Kill()
	so, sn := summarize(offs), summarize(ons)
	fmt.Fprintf(&b, "\n## Power through real BMCs\n\n%d `ipmi_sim` BMCs on loopback (driver `ipmi`: ipmitool lanplus), "+
		"%d actions each way: from PUT states/power to the BMC reporting the new state (ipmitool `power status`, polled every 50 ms: the resolution).\n\n"+
		"| action | p50 | p90 | max |\n|---|---:|---:|---:|\n| off | %s | %s | %s |\n| on | %s | %s | %s |\n",
		bmcs, len(offs), ms(so.p50), ms(so.p90), ms(so.max), ms(sn.p50), ms(sn.p90), ms(sn.max))
	return b.String()
}

func row(b *strings.Builder, nodes string, res bench.Result, count int) {
	fmt.Fprintf(b, "| %s | %s | %d | %.0f | %s | %s | %s | %d |\n", nodes, res.Name, count, res.RPS(),
		ms(res.P50), ms(res.P99), ms(res.Max), res.Errors)
}

// commitNote says which Raft commit timeout the fake-driver nodes ran with:
// it bounds how late a follower learns of a write (docs/mogan.md).
func commitNote(d time.Duration) string {
	if d <= 0 {
		return "keeld's default Raft commit timeout (50 ms).\n\n"
	}
	return fmt.Sprintf("keeld -raft-commit-timeout %v.\n\n", d)
}
