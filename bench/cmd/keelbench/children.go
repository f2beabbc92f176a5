package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"keel/bench"
	"keel/cluster/systemtest"
)

// childTrees is how many load balancers the children scenario writes to: a
// load balancer takes one write at a time (PENDING_UPDATE until the provider
// step), so each worker cycles through its own share of them.
const childTrees = 256

// children measures writes on load balancers' trees (member and L7 policy
// updates, a member show for comparison) on one node and, round-robin, on a
// 3-node cluster, where the write's own reads cost most.
func children(r *runner, d time.Duration, add func(string, bench.Result)) []string {
	// The provider step runs 1 ms after a write, so a tree is ACTIVE again long
	// before its worker comes back to it.
	extra := []string{"-provision-delay", "1ms"}
	n := systemtest.NewNode(r, "bench1")
	n.ExtraArgs = extra
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	childWorkloads(r, "1 node", []*client{newClient(n.HTTPAddr, 64)}, d, add)
	n.Kill()

	nodes := make([]*systemtest.Node, 3)
	var gossip []string
	for i := range nodes {
		nodes[i] = systemtest.NewNode(r, fmt.Sprintf("n%d", i+1))
		nodes[i].Expect, nodes[i].ExtraArgs = 3, extra
		gossip = append(gossip, nodes[i].GossipAddr)
	}
	var clients []*client
	for _, n := range nodes {
		n.Join = gossip
		n.Start()
		clients = append(clients, newClient(n.HTTPAddr, 64))
	}
	systemtest.WaitConverged(r, nodes, 3, 30*time.Second)
	childWorkloads(r, "3 nodes", clients, d, add)
	for _, n := range nodes {
		n.Kill()
	}
	return nil
}

// childTree is one load balancer with a listener, an L7 policy, a pool and a member.
type childTree struct {
	lb, policy, pool, member string
}

func childWorkloads(r *runner, scenario string, clients []*client, d time.Duration, add func(string, bench.Result)) {
	trees := make([]childTree, childTrees)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < childTrees; i += 32 {
				t, err := buildChildTree(clients[0], i)
				mu.Lock()
				trees[i] = t
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		r.Fatalf("%s: building trees: %v", scenario, firstErr)
	}
	const workers = 16
	// Worker w writes to its own trees (w, w+workers, ...) in turn, so a tree is
	// written again only after the worker's other 15 writes.
	next := make([]int, workers)
	step := func(w int) childTree {
		k := next[w]
		next[w]++
		return trees[w+workers*(k%(childTrees/workers))]
	}
	add(scenario, bench.Run("member update (PUT weight)", workers, d, 0, func(w, i int) error {
		t := step(w)
		_, err := clients[i%len(clients)].do("PUT", "/v2/lbaas/pools/"+t.pool+"/members/"+t.member,
			[]byte(fmt.Sprintf(`{"member":{"weight":%d}}`, 1+i%200)), 200)
		return err
	}))
	time.Sleep(200 * time.Millisecond)
	add(scenario, bench.Run("L7 policy update (PUT name)", workers, d, 0, func(w, i int) error {
		t := step(w)
		_, err := clients[i%len(clients)].do("PUT", "/v2/lbaas/l7policies/"+t.policy,
			[]byte(fmt.Sprintf(`{"l7policy":{"name":"p%d"}}`, i)), 200)
		return err
	}))
	add(scenario, bench.Run("member show", workers, d, 0, func(w, i int) error {
		t := trees[i%childTrees]
		_, err := clients[i%len(clients)].do("GET", "/v2/lbaas/pools/"+t.pool+"/members/"+t.member, nil, 200)
		return err
	}))
}

// buildChildTree creates tree i (through c), waiting for the provider step after
// each write.
func buildChildTree(c *client, i int) (childTree, error) {
	var t childTree
	create := func(path, key, body string) (string, error) {
		out, err := c.do("POST", path, []byte(body), 201)
		if err != nil {
			return "", err
		}
		var v map[string]struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v[key].ID == "" {
			return "", fmt.Errorf("no %s id in %s", key, out)
		}
		return v[key].ID, nil
	}
	settle := func() error {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			out, err := c.do("GET", "/v2/lbaas/loadbalancers/"+t.lb+"?fields=provisioning_status", nil, 200)
			if err != nil {
				return err
			}
			if bytes.Contains(out, []byte(`"provisioning_status":"ACTIVE"`)) {
				return nil
			}
			time.Sleep(5 * time.Millisecond)
		}
		return fmt.Errorf("load balancer %s not ACTIVE", t.lb)
	}
	var err error
	if t.lb, err = create("/v2/lbaas/loadbalancers", "loadbalancer", string(createBody(i))); err != nil {
		return t, err
	}
	if err := settle(); err != nil {
		return t, err
	}
	listener, err := create("/v2/lbaas/listeners", "listener",
		fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"HTTP","protocol_port":80}}`, t.lb))
	if err != nil {
		return t, err
	}
	if err := settle(); err != nil {
		return t, err
	}
	if t.policy, err = create("/v2/lbaas/l7policies", "l7policy",
		fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, listener)); err != nil {
		return t, err
	}
	if err := settle(); err != nil {
		return t, err
	}
	if t.pool, err = create("/v2/lbaas/pools", "pool",
		fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, listener)); err != nil {
		return t, err
	}
	if err := settle(); err != nil {
		return t, err
	}
	if t.member, err = create("/v2/lbaas/pools/"+t.pool+"/members", "member",
		`{"member":{"address":"10.0.0.10","protocol_port":8080}}`); err != nil {
		return t, err
	}
	return t, settle()
}
