package systemtest

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

const subnet = Subnet

func createBody(name string) string {
	return fmt.Sprintf(`{"loadbalancer":{"name":%q,"vip_subnet_id":%q}}`, name, subnet)
}

type lbSummary struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	ProvisioningStatus string `json:"provisioning_status"`
}

// listAll pages through every load balancer on a node.
func listAll(t testing.TB, n *Node) map[string]lbSummary {
	t.Helper()
	out := map[string]lbSummary{}
	marker := ""
	for pages := 0; pages < 1000; pages++ {
		path := "/v2/lbaas/loadbalancers?limit=500&fields=id&fields=name&fields=provisioning_status"
		if marker != "" {
			path += "&marker=" + marker
		}
		r := n.MustDo(200, "GET", path, nil)
		var v struct {
			LoadBalancers []lbSummary `json:"loadbalancers"`
		}
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatal(err)
		}
		for _, lb := range v.LoadBalancers {
			out[lb.ID] = lb
		}
		if len(v.LoadBalancers) < 500 {
			return out
		}
		marker = v.LoadBalancers[len(v.LoadBalancers)-1].ID
	}
	t.Fatal("listing did not end")
	return nil
}

// TestThreeNodeCluster walks a 3-node cluster through its life: it forms; writes
// through any node are readable from every node right after their 201; the leader
// is killed (SIGKILL) under write load and writes resume through the survivors with
// no acknowledged load balancer lost and none left PENDING; the killed node restarts
// on its data dir and catches up; a 4th node joins as a voter and leaves gracefully.
func TestThreeNodeCluster(t *testing.T) {
	nodes := StartCluster(t, 3)

	// Read-your-writes across nodes: a 201 on one node is visible on all at once.
	for i, n := range nodes {
		id := CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody(fmt.Sprint("first-", i))))
		for _, other := range nodes {
			other.MustDo(200, "GET", "/v2.0/lbaas/loadbalancers/"+id, nil)
			if _, ok := listAll(t, other)[id]; !ok {
				t.Fatalf("%s: created on %s, missing from the list right after", other.Name, n.Name)
			}
		}
	}

	// A new load balancer's grain is placed on the Raft leader's node, whichever
	// node took the create (actors.Client.NewLoadBalancerID: each of its 8 draws
	// lands there with probability 1/3, so ~4% of creates miss).
	if leader := ByName(nodes, nodes[0].Cluster().Leader); leader != nil {
		onLeader := 0
		for i := 0; i < 9; i++ {
			n := nodes[i%len(nodes)]
			id := CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody(fmt.Sprint("placed-", i))))
			var p struct{ Owner string }
			if err := json.Unmarshal(n.MustDo(200, "GET", "/debug/grains/LoadBalancer/"+id, nil, "X-Roles: admin").Body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Owner == leader.ActorAddr {
				onLeader++
			}
		}
		if onLeader < 6 {
			t.Fatalf("%d of 9 new load balancers' grains on the leader %s", onLeader, leader.Name)
		}
	}

	// Continuous writes from 6 clients, round-robin over the nodes.
	var (
		mu       sync.Mutex
		acked    = map[string]string{} // id -> name
		killedAt atomic.Int64          // unix nanos; 0 until the kill
		firstOK  atomic.Int64          // first 201 of a request started after the kill
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		down     atomic.Value // name of the killed node
	)
	down.Store("")
	for c := 0; c < 6; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				n := nodes[(c+seq)%len(nodes)]
				if n.Name == down.Load().(string) {
					continue
				}
				started := time.Now().UnixNano()
				name := fmt.Sprintf("c%d-%d", c, seq)
				r, err := n.Do("POST", "/v2/lbaas/loadbalancers", createBody(name))
				if err != nil || r.Status != 201 {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var v struct {
					LoadBalancer lbSummary `json:"loadbalancer"`
				}
				if json.Unmarshal(r.Body, &v) != nil {
					t.Errorf("undecodable 201: %s", r.Body)
					return
				}
				mu.Lock()
				acked[v.LoadBalancer.ID] = name
				mu.Unlock()
				if k := killedAt.Load(); k != 0 && started > k {
					firstOK.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		}(c)
	}

	time.Sleep(1500 * time.Millisecond)
	leader := ByName(nodes, nodes[0].Cluster().Leader)
	if leader == nil {
		t.Fatal("no leader")
	}
	down.Store(leader.Name)
	killedAt.Store(time.Now().UnixNano())
	leader.Kill()
	t.Logf("killed leader %s", leader.Name)
	Eventually(t, 15*time.Second, "a write acknowledged by a survivor after the kill", func() bool { return firstOK.Load() != 0 })
	t.Logf("writes resumed %v after the leader was killed", time.Duration(firstOK.Load()-killedAt.Load()))
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	var survivors []*Node
	for _, n := range nodes {
		if n != leader {
			survivors = append(survivors, n)
		}
	}
	mu.Lock()
	t.Logf("%d load balancers acknowledged under load", len(acked))
	mu.Unlock()

	// No acknowledged write lost, and the reconciler finishes every flow.
	for _, n := range survivors {
		Eventually(t, 30*time.Second, n.Name+" to show every acknowledged load balancer ACTIVE", func() bool {
			all := listAll(t, n)
			for id := range acked {
				if lb, ok := all[id]; !ok || lb.ProvisioningStatus != "ACTIVE" {
					if !ok {
						t.Fatalf("%s: acknowledged load balancer %s (%s) lost", n.Name, id, acked[id])
					}
					return false
				}
			}
			return true
		})
	}

	// The killed node restarts on its data dir and catches up.
	leader.Start()
	WaitConverged(t, nodes, 3, 30*time.Second)
	all := listAll(t, leader)
	for id := range acked {
		if _, ok := all[id]; !ok {
			t.Fatalf("restarted %s is missing %s", leader.Name, id)
		}
	}

	// A 4th node joins (default bootstrap-expect, -join) and becomes a voter.
	n4 := NewNode(t, "n4")
	for _, n := range nodes {
		n4.Join = append(n4.Join, n.GossipAddr)
	}
	n4.Start()
	nodes = append(nodes, n4)
	WaitConverged(t, nodes, 4, 30*time.Second)
	if len(listAll(t, n4)) < len(acked) {
		t.Fatal("the 4th node does not serve every load balancer")
	}
	id := CreatedID(t, n4.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("via-n4")))
	nodes[0].MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+id, nil)

	// It leaves gracefully: removed from Raft, shown as left, exit code 0.
	n4.Stop()
	if code := n4.ExitCode(); code != 0 {
		t.Fatalf("n4 exited with %d after SIGTERM", code)
	}
	// Shown left — or dead: the leave is announced over gossip and a direct
	// message, best effort. A CI run once saw n4 stay dead on n1 for 15 s; the
	// likely cause (the message handled after the death, Membership.noteLeaving)
	// is fixed and unit-tested, but the announcement can still be lost. Out of
	// Raft it must be either way.
	var lastRaft, lastStatus string
	defer func() {
		if t.Failed() {
			t.Logf("n1 last saw n4 as raft %q, gossip %q", lastRaft, lastStatus)
		}
	}()
	Eventually(t, 15*time.Second, "n4 to be shown left (or dead) and out of Raft", func() bool {
		v := nodes[0].Cluster()
		if v == nil {
			return false
		}
		lastRaft, lastStatus = v.Role("n4")
		return lastRaft == "none" && (lastStatus == "left" || lastStatus == "dead")
	})
	if lastStatus != "left" {
		t.Logf("n4's graceful leave is shown as %q, not left: its announcement did not reach n1", lastStatus)
	}
	WaitConverged(t, nodes[:3], 3, 15*time.Second)
}

// TestSingleNodeRestart checks that a node keeps every object across a graceful
// restart and loses nothing acknowledged when it is killed right after a 201.
func TestSingleNodeRestart(t *testing.T) {
	n := NewNode(t, "solo")
	n.Start()
	Eventually(t, 20*time.Second, "the node to be healthy", n.Healthy)

	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody(fmt.Sprint("lb-", i)))))
	}
	Eventually(t, 10*time.Second, "the first load balancer to be ACTIVE", func() bool {
		return listAll(t, n)[ids[0]].ProvisioningStatus == "ACTIVE"
	})
	n.MustDo(200, "PUT", "/v2/lbaas/loadbalancers/"+ids[0], `{"loadbalancer":{"name":"renamed"}}`)
	before := listAll(t, n)

	n.Stop()
	if code := n.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	n.Start()
	Eventually(t, 20*time.Second, "the restarted node to be healthy", n.Healthy)
	after := listAll(t, n)
	if len(after) != len(before) {
		t.Fatalf("%d load balancers after restart, %d before", len(after), len(before))
	}
	if after[ids[0]].Name != "renamed" {
		t.Fatalf("update lost across restart: %+v", after[ids[0]])
	}

	// SIGKILL right after the 201: the write was fsync'd before it was acknowledged.
	last := CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("acked-then-killed")))
	n.Kill()
	n.Start()
	Eventually(t, 20*time.Second, "the node to be healthy after SIGKILL", n.Healthy)
	n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+last, nil)
	// Its flow was interrupted in PENDING_CREATE: the reconciler finishes it.
	Eventually(t, 15*time.Second, "the interrupted load balancer to become ACTIVE", func() bool {
		return listAll(t, n)[last].ProvisioningStatus == "ACTIVE"
	})
}
