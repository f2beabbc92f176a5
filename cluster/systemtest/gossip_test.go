package systemtest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"keel/cluster"
	"keel/cluster/clusterpb"
)

// Tests of issue 8's membership findings: gossip heals, a node restarted without
// -join finds its cluster, strangers never join, /healthz tells the truth.

// sendSignal delivers sig to a running node without waiting for it to exit.
func sendSignal(t *testing.T, n *Node, sig syscall.Signal) {
	t.Helper()
	if pid := n.Pid(); pid != 0 {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("signal %v to %s: %v", sig, n.Name, err)
		}
	}
}

// allAlive reports whether every node answers /cluster and sees every other
// node alive.
func allAlive(nodes []*Node) bool {
	for _, n := range nodes {
		v := n.Cluster()
		if v == nil {
			return false
		}
		for _, other := range nodes {
			if _, status := v.Role(other.Name); status != "alive" {
				return false
			}
		}
	}
	return true
}

// clusterIDOf reads the cluster ID a node remembers in its peers file.
func clusterIDOf(n *Node) string {
	b, err := os.ReadFile(filepath.Join(n.DataDir, "peers.json"))
	if err != nil {
		return ""
	}
	var f struct {
		ClusterID string `json:"cluster_id"`
	}
	_ = json.Unmarshal(b, &f)
	return f.ClusterID
}

// logCount counts the occurrences of s in the node's log.
func logCount(t *testing.T, n *Node, s string) int {
	t.Helper()
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte(s))
}

// logContains reports whether the node's log holds s.
func logContains(t *testing.T, n *Node, s string) bool { return logCount(t, n, s) > 0 }

// activeGrains is the number of grains a node hosts (GET /debug/memory).
func activeGrains(n *Node) int {
	r, err := n.Do("GET", "/debug/memory", nil)
	if err != nil || r.Status != 200 {
		return -1
	}
	v, _ := r.JSON()["active_grains"].(float64)
	return int(v)
}

// unhealthyWithin waits until /healthz answers 503 and returns how long it took.
func unhealthyWithin(t *testing.T, n *Node, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	Eventually(t, timeout, n.Name+" /healthz to answer 503", func() bool {
		r, err := n.Do("GET", "/healthz", nil)
		return err == nil && r.Status == 503
	})
	return time.Since(start)
}

// (a) A cluster's first node — started alone, joined by the others — is killed
// while leading, stays down past memberlist's gossip-to-the-dead window, and is
// restarted with the same flags (no -join). It finds its cluster through its
// peers file and serves reads. With the majority gone, /healthz turns 503 and
// SIGTERM, which cannot get the node removed, is quick (bounded, not 5 s).
func TestFirstNodeRestartsWithoutJoin(t *testing.T) {
	n1 := NewNode(t, "n1")
	n1.StartHealthy(20 * time.Second)
	n2, n3 := NewNode(t, "n2"), NewNode(t, "n3")
	for _, n := range []*Node{n2, n3} {
		n.Join = []string{n1.GossipAddr}
		n.StartHealthy(30 * time.Second) // healthy once the leader added it; retried on a taken port
	}
	nodes := []*Node{n1, n2, n3}
	if leader := WaitConverged(t, nodes, 3, 30*time.Second); leader != "n1" {
		t.Logf("leader is %s, not n1", leader)
	}
	before := CreatedID(t, n2.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("before-kill")))
	// n1 made up the cluster's ID when it bootstrapped; n2 and n3 adopted it.
	Eventually(t, 5*time.Second, "every node to remember n1's cluster ID", func() bool {
		id := clusterIDOf(n1)
		return id != "" && clusterIDOf(n2) == id && clusterIDOf(n3) == id
	})
	// Without a key, a node started alone is quiet; one started with -join warns.
	if logContains(t, n1, "SECURITY:") || !logContains(t, n2, "SECURITY:") {
		t.Errorf("the no-key warning: n1 (alone) %v, n2 (-join) %v, want false, true",
			logContains(t, n1, "SECURITY:"), logContains(t, n2, "SECURITY:"))
	}

	n1.Kill()
	WaitConverged(t, []*Node{n2, n3}, 3, 20*time.Second)
	after := CreatedID(t, n3.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("after-kill")))
	// Down past memberlist's GossipToTheDeadTime (15 s): n2 and n3 no longer
	// gossip to n1's address, so only n1's own rejoin can bring it back.
	time.Sleep(16 * time.Second)

	restarted := time.Now()
	n1.Start() // same flags: no -join
	// Bound: process start (~1.2 s, protoactor sleeps 1 s) plus one rejoin round;
	// n2's and n3's own 3 s rejoin rounds must not be what brings n1 back.
	Eventually(t, 8*time.Second, "all nodes to see each other alive", func() bool { return allAlive(nodes) })
	t.Logf("all alive in gossip %v after n1's restart without -join", time.Since(restarted).Round(time.Millisecond))
	WaitConverged(t, nodes, 3, 20*time.Second)
	t.Logf("n1 healthy and converged %v after its restart", time.Since(restarted).Round(time.Millisecond))
	for _, id := range []string{before, after} {
		n1.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+id, nil)
	}
	id := CreatedID(t, n1.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("via-restarted-n1")))
	n2.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+id, nil)

	// Lose the majority: the survivor stops claiming to be healthy.
	const fenced = "fenced: cut off from the quorum"
	fencedBefore := logCount(t, n1, fenced) // n1 was fenced while it rejoined, too
	n2.Kill()
	n3.Kill()
	took := unhealthyWithin(t, n1, 10*time.Second)
	t.Logf("n1 /healthz turned 503 %v after the majority died", took.Round(time.Millisecond))
	// It fences itself: no grains stay on a node cut off from the quorum.
	Eventually(t, 10*time.Second, "n1 to fence itself and host no grains", func() bool {
		return logCount(t, n1, fenced) > fencedBefore && activeGrains(n1) == 0
	})

	// Its SIGTERM cannot get it removed (no quorum): it is bounded, not a retry storm.
	start := time.Now()
	n1.Stop()
	if d := time.Since(start); d > 4500*time.Millisecond {
		t.Errorf("SIGTERM without a quorum took %v", d)
	} else {
		t.Logf("SIGTERM without a quorum took %v", d.Round(time.Millisecond))
	}
}

// (b) Strangers on the gossip port — without the key, or with another key —
// advertising a Raft address never become members, let alone voters, and the
// cluster keeps serving.
func TestStrangerNeverBecomesVoter(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("keel-test-key-0123456789abcdef!!"))
	nodes := make([]*Node, 3)
	var gossip []string
	for i := range nodes {
		nodes[i] = NewNode(t, fmt.Sprintf("n%d", i+1))
		nodes[i].Expect = 3
		nodes[i].ExtraArgs = []string{"-gossip-key", key}
		gossip = append(gossip, nodes[i].GossipAddr)
	}
	for _, n := range nodes {
		n.Join = gossip
		n.Start()
	}
	leader := WaitConverged(t, nodes, 3, 30*time.Second)
	term := nodes[0].Cluster().Raft.Term
	for _, n := range nodes {
		if logContains(t, n, "SECURITY:") {
			t.Errorf("%s warns about a missing key although it has one", n.Name)
		}
	}

	// A fake Raft endpoint that accepts connections and says nothing.
	raftLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raftLn.Close()
	go func() {
		for {
			c, err := raftLn.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	strangers := map[string][]byte{
		"stranger": nil,                                        // no key
		"impostor": []byte("0123456789abcdef0123456789abcdef"), // another key
	}
	for name, k := range strangers {
		m, err := cluster.StartMembership(cluster.MembershipConfig{
			NodeName: name, GossipAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)), Join: gossip, SecretKey: k,
			Meta: &clusterpb.NodeMeta{Name: name, RaftAddr: raftLn.Addr().String(), HttpAddr: "127.0.0.1:1",
				BootstrapExpect: 1, RaftInitialized: true},
			RejoinInterval: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Shutdown()
	}

	// Over several rejoin rounds, writes keep working and nobody learns of them.
	for i := 0; i < 10; i++ {
		n := nodes[i%3]
		n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody(fmt.Sprint("with-strangers-", i)))
		time.Sleep(500 * time.Millisecond)
	}
	for _, n := range nodes {
		v := n.Cluster()
		if v == nil {
			t.Fatalf("%s does not answer /cluster", n.Name)
		}
		for name := range strangers {
			if raft, status := v.Role(name); raft != "" || status != "" {
				t.Errorf("%s lists %s: raft %q, gossip %q", n.Name, name, raft, status)
			}
		}
		if v.Leader != leader || v.Raft.Term != term {
			t.Errorf("%s: leader %s term %d, was %s term %d", n.Name, v.Leader, v.Raft.Term, leader, term)
		}
	}
	WaitConverged(t, nodes, 3, 5*time.Second)

	// The actor remote (grain calls, forwarded proposals, removal requests)
	// speaks TLS only to holders of the key.
	rawKey, _ := base64.StdEncoding.DecodeString(key)
	handshake := func(k []byte) error {
		cfg, err := cluster.NodeTLS(k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", nodes[0].ActorAddr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if err := c.Handshake(); err != nil {
			return err
		}
		// TLS 1.3: the server checks the client's certificate after the
		// client's handshake returns; a refused client learns it on first read.
		_, err = c.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
		if err == nil {
			_, err = c.Read(make([]byte, 1))
		}
		return err
	}
	if err := handshake(rawKey); err != nil {
		t.Fatalf("a key holder cannot reach the actor port: %v", err)
	}
	if err := handshake(strangers["impostor"]); err == nil {
		t.Fatal("the actor port accepted TLS from another key")
	}
}

// (c) A node paused (SIGSTOP) well past the suspicion timeout and memberlist's
// gossip-to-the-dead window is declared dead; after SIGCONT every node sees every
// other alive again within 10 s, and the others place grains on it again
// (protoactor blocked its old member ID; it comes back under a new generation).
func TestGossipHealsAfterPause(t *testing.T) {
	nodes := StartCluster(t, 3)
	n3 := nodes[2]
	sendSignal(t, n3, syscall.SIGSTOP)
	t.Cleanup(func() { _ = syscall.Kill(n3.Pid(), syscall.SIGCONT) })
	Eventually(t, 10*time.Second, "n1 to declare n3 dead", func() bool {
		v := nodes[0].Cluster()
		if v == nil {
			return false
		}
		_, status := v.Role("n3")
		return status == "dead"
	})
	// Writes go on without n3 (its grains re-activate on n1 and n2). A new load
	// balancer's id is drawn so that its grain is on the Raft leader's node (see
	// actors.Client.NewLoadBalancerID), so creates after the resume would rarely
	// reach n3; these, placed over two members, are about a third n3's once it is
	// back ((2/3)^30 that none is).
	var ids []string
	for i := 0; i < 30; i++ {
		r := nodes[i%2].MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody(fmt.Sprint("during-pause-", i)))
		lb, _ := r.JSON()["loadbalancer"].(map[string]any)
		id, _ := lb["id"].(string)
		ids = append(ids, id)
	}
	time.Sleep(16 * time.Second) // past memberlist's GossipToTheDeadTime (15 s)

	resumed := time.Now()
	sendSignal(t, n3, syscall.SIGCONT)
	Eventually(t, 10*time.Second, "every node to see every other alive after SIGCONT", func() bool { return allAlive(nodes) })
	t.Logf("all alive %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	WaitConverged(t, nodes, 3, 10*time.Second)

	// Updates through n1 and n2 of the load balancers they now place on n3 must
	// activate those grains there. n3's activation counter says so, not its
	// active grains: a settled load balancer grain passivates after a second.
	activated := func() float64 { return n3.Metrics().Value("keel_grain_activations_total", "kind=LoadBalancer") }
	before := activated()
	var last string
	defer func() { t.Logf("%s", last) }() // also when Eventually fails
	updates := 0
	Eventually(t, 15*time.Second, "n3 to host grains placed by n1 and n2", func() bool {
		placedOnN3 := 0
		for i, id := range ids {
			via := nodes[i%2]
			var p struct{ Owner string }
			r, err := via.Do("GET", "/debug/grains/LoadBalancer/"+id, nil, "X-Roles: admin")
			if err != nil || r.Status != 200 || json.Unmarshal(r.Body, &p) != nil || p.Owner != n3.ActorAddr {
				continue
			}
			placedOnN3++
			r, err = via.Do("PUT", "/v2/lbaas/loadbalancers/"+id, fmt.Sprintf(`{"loadbalancer":{"description":"after-resume-%d"}}`, updates))
			updates++
			if err != nil {
				last = err.Error()
			} else if r.Status != 200 {
				last = fmt.Sprintf("update through %s: %d %s", via.Name, r.Status, r.Body)
			}
		}
		n := activated()
		last = fmt.Sprintf("%v after SIGCONT: %d of %d load balancers placed on n3, %d updates, n3's load balancer activations %v -> %v",
			time.Since(resumed).Round(time.Millisecond), placedOnN3, len(ids), updates, before, n)
		return n > before
	})
}
