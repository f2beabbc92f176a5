package systemtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keel/agent/heartbeat"
)

// backend is a test HTTP server on loopback that answers its own name.
type backend struct {
	name string
	srv  *httptest.Server
	port int
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	}))
	t.Cleanup(b.srv.Close)
	_, port, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	b.port, _ = strconv.Atoi(port)
	return b
}

// stop closes the backend's listener (connections refused from now on); start
// serves again on the same port.
func (b *backend) stop() { b.srv.Close() }

func (b *backend) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	Eventually(t, 5*time.Second, b.name+" listening again", func() bool {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", b.port))
		return err == nil
	})
	b.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: b.srv.Config.Handler}}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
}

// vipClient opens a connection per request, so a TCP listener balances requests too.
var vipClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get fetches url and returns the body ("" on any failure).
func get(url string) string {
	resp, err := vipClient.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	return string(body)
}

type amphoraView struct {
	ID          string `json:"id"`
	ComputeID   string `json:"compute_id"`
	Status      string `json:"status"`
	LBNetworkIP string `json:"lb_network_ip"`
	CertExpires string `json:"cert_expiration"`
	HaIP        string `json:"ha_ip"`
}

func amphoraeOf(t *testing.T, n *Node, lbID string) []amphoraView {
	t.Helper()
	r := n.MustDo(200, "GET", "/v2/octavia/amphorae?loadbalancer_id="+lbID, nil)
	var v struct {
		Amphorae []amphoraView `json:"amphorae"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Amphorae
}

// statusTree returns "kind id" → operating_status from the status tree.
func statusTree(t *testing.T, n *Node, lbID string) map[string]string {
	t.Helper()
	r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil)
	if err != nil || r.Status != 200 {
		return nil
	}
	var v struct {
		Statuses struct {
			LoadBalancer struct {
				OperatingStatus string `json:"operating_status"`
				Listeners       []struct {
					ID              string `json:"id"`
					OperatingStatus string `json:"operating_status"`
					Pools           []struct {
						ID              string `json:"id"`
						OperatingStatus string `json:"operating_status"`
						Members         []struct {
							ProtocolPort    int    `json:"protocol_port"`
							OperatingStatus string `json:"operating_status"`
						} `json:"members"`
					} `json:"pools"`
				} `json:"listeners"`
			} `json:"loadbalancer"`
		} `json:"statuses"`
	}
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	out := map[string]string{"loadbalancer": v.Statuses.LoadBalancer.OperatingStatus}
	for _, l := range v.Statuses.LoadBalancer.Listeners {
		out["listener"] = l.OperatingStatus
		for _, p := range l.Pools {
			out["pool"] = p.OperatingStatus
			for _, m := range p.Members {
				out[fmt.Sprintf("member %d", m.ProtocolPort)] = m.OperatingStatus
			}
		}
	}
	return out
}

// sees polls url until every one of names answered (bounded).
func sees(t *testing.T, url string, timeout time.Duration, names ...string) {
	t.Helper()
	seen := map[string]int{}
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		seen[get(url)]++
		all := true
		for _, n := range names {
			all = all && seen[n] > 0
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s to answer from %v; answers: %v", timeout, url, names, seen)
		}
	}
}

// TestAmphoraServesTraffic is issue 10's walk-through on one node with the local
// amphora driver: a fully populated load balancer serves its VIP through a real
// keel-agent and haproxy; heartbeats drive operating statuses; changes go live;
// killing the agent fails the amphora over on the same VIP; a cascade delete
// leaves nothing behind.
func TestAmphoraServesTraffic(t *testing.T) {
	n := NewNode(t, "amp")
	n.AmphoraDriver = "local"
	n.ExtraArgs = []string{"-heartbeat-interval", "1s", "-heartbeat-timeout", "3s"}
	n.StartHealthy(60 * time.Second)

	a, b, c := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C")
	port := FreePortOn(t, "127.0.0.1") // any port: the VIP is this load balancer's own address
	body := fmt.Sprintf(`{"loadbalancer":{"name":"web","vip_subnet_id":%q,"listeners":[{"name":"http",
		"protocol":"HTTP","protocol_port":%d,"default_pool":{"name":"pool","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
		"members":[{"address":"127.0.0.1","protocol_port":%d},{"address":"127.0.0.1","protocol_port":%d}],
		"healthmonitor":{"type":"HTTP","delay":1,"timeout":1,"max_retries":1,"url_path":"/"}}}]}}`, subnet, port, a.port, b.port)
	created := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body)
	lbID := CreatedID(t, created)
	var lb struct {
		LoadBalancer struct {
			VipAddress string `json:"vip_address"`
			Listeners  []struct {
				ID string `json:"id"`
			} `json:"listeners"`
			Pools []struct {
				ID string `json:"id"`
			} `json:"pools"`
		} `json:"loadbalancer"`
	}
	if err := json.Unmarshal(created.Body, &lb); err != nil {
		t.Fatal(err)
	}
	vip := lb.LoadBalancer.VipAddress
	if !strings.HasPrefix(vip, "127.0.100.") {
		t.Fatalf("VIP %s is not in the default loopback range", vip)
	}
	url := fmt.Sprintf("http://%s:%d/", vip, port)
	n.WaitActive(lbID, 30*time.Second)

	// 1. Round robin over both members.
	sees(t, url, 10*time.Second, "A", "B")
	amps := amphoraeOf(t, n, lbID)
	if len(amps) != 1 || amps[0].Status != "ALLOCATED" || !strings.HasPrefix(amps[0].ComputeID, "local:") ||
		amps[0].LBNetworkIP != "127.0.0.1" || amps[0].CertExpires == "" || amps[0].HaIP != vip {
		t.Fatalf("amphora records: %+v", amps)
	}
	first := amps[0]
	Eventually(t, 10*time.Second, "everything ONLINE", func() bool {
		st := statusTree(t, n, lbID)
		return st["loadbalancer"] == "ONLINE" && st["listener"] == "ONLINE" && st["pool"] == "ONLINE" &&
			st[fmt.Sprintf("member %d", a.port)] == "ONLINE" && st[fmt.Sprintf("member %d", b.port)] == "ONLINE"
	})

	// 2. A stopped backend: its member ERROR, pool and load balancer DEGRADED, all
	// traffic to the other; back again: ONLINE.
	b.stop()
	Eventually(t, 10*time.Second, "member B ERROR, pool and load balancer DEGRADED", func() bool {
		st := statusTree(t, n, lbID)
		return st[fmt.Sprintf("member %d", b.port)] == "ERROR" && st["pool"] == "DEGRADED" && st["loadbalancer"] == "DEGRADED"
	})
	for i := 0; i < 6; i++ {
		if got := get(url); got != "A" {
			t.Fatalf("with B down, request %d answered %q", i, got)
		}
	}
	b.start(t)
	Eventually(t, 10*time.Second, "member B ONLINE again", func() bool {
		st := statusTree(t, n, lbID)
		return st[fmt.Sprintf("member %d", b.port)] == "ONLINE" && st["loadbalancer"] == "ONLINE"
	})

	// 4. Changes go live: a third member, then an L7 REJECT policy.
	poolID, listenerID := lb.LoadBalancer.Pools[0].ID, lb.LoadBalancer.Listeners[0].ID
	n.MustDo(201, "POST", "/v2/lbaas/pools/"+poolID+"/members",
		fmt.Sprintf(`{"member":{"address":"127.0.0.1","protocol_port":%d}}`, c.port))
	n.WaitActive(lbID, 30*time.Second)
	sees(t, url, 10*time.Second, "A", "B", "C")
	pol := n.MustDo(201, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, listenerID))
	var pv struct {
		L7Policy struct {
			ID string `json:"id"`
		} `json:"l7policy"`
	}
	_ = json.Unmarshal(pol.Body, &pv)
	n.WaitActive(lbID, 30*time.Second)
	n.MustDo(201, "POST", "/v2/lbaas/l7policies/"+pv.L7Policy.ID+"/rules",
		`{"rule":{"type":"PATH","compare_type":"STARTS_WITH","value":"/private"}}`)
	n.WaitActive(lbID, 30*time.Second)
	if got := get(url + "private/x"); got != "status 403" {
		t.Fatalf("GET /private/x through the REJECT policy: %q, want status 403", got)
	}
	if got := get(url); got == "" || strings.HasPrefix(got, "status") {
		t.Fatalf("GET / beside the REJECT policy: %q", got)
	}

	// 5. kill -9 the agent: failover on the same VIP.
	agentPid := agentPidOf(t, n, first.ID)
	killed := time.Now()
	if err := syscall.Kill(agentPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var second amphoraView
	Eventually(t, 15*time.Second, "a new amphora", func() bool {
		for _, x := range amphoraeOf(t, n, lbID) {
			if x.ID != first.ID && x.Status == "ALLOCATED" {
				second = x
				return true
			}
		}
		return false
	})
	n.WaitActive(lbID, 30*time.Second)
	sees(t, url, 10*time.Second, "A", "B", "C")
	t.Logf("agent killed → new amphora serving in %v", time.Since(killed).Round(time.Millisecond))
	if amps := amphoraeOf(t, n, lbID); len(amps) != 1 || amps[0].ID != second.ID || amps[0].HaIP != vip {
		t.Fatalf("after failover: %+v", amps)
	}

	// 5, separately: kill -9 haproxy (the agent lives on and reports no listener,
	// so its heartbeats no longer count as alive): failover again.
	pids := haproxyPidsOf(second.ID)
	if len(pids) == 0 {
		t.Fatalf("no haproxy process of amphora %s", second.ID)
	}
	killed = time.Now()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	var third amphoraView
	Eventually(t, 15*time.Second, "a new amphora after haproxy died", func() bool {
		for _, x := range amphoraeOf(t, n, lbID) {
			if x.ID != second.ID && x.Status == "ALLOCATED" {
				third = x
				return true
			}
		}
		return false
	})
	n.WaitActive(lbID, 30*time.Second)
	sees(t, url, 10*time.Second, "A", "B", "C")
	t.Logf("haproxy killed → new amphora serving in %v", time.Since(killed).Round(time.Millisecond))
	second = third

	// 7. Cascade delete: agent gone, VIP closed, no file left.
	n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lbID+"?cascade=true", nil)
	Eventually(t, 20*time.Second, "load balancer gone", func() bool {
		r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+lbID, nil)
		return err == nil && r.Status == 404
	})
	Eventually(t, 10*time.Second, "VIP closed", func() bool {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", vip, port), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	entries, _ := os.ReadDir(filepath.Join(n.DataDir, "amphorae"))
	if len(entries) != 0 {
		t.Fatalf("amphora directories left: %v", entries)
	}
	if pid := agentPidOrZero(n, second.ID); pid != 0 {
		t.Fatalf("agent %d of amphora %s still running", pid, second.ID)
	}
}

// agentPidOf finds the keel-agent process of an amphora (its -amphora-id flag).
func agentPidOf(t *testing.T, n *Node, amphoraID string) int {
	t.Helper()
	pid := agentPidOrZero(n, amphoraID)
	if pid == 0 {
		t.Fatalf("no keel-agent process for amphora %s", amphoraID)
	}
	return pid
}

func agentPidOrZero(n *Node, amphoraID string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || filepath.Base(args[0]) != "keel-agent" {
			continue
		}
		for i, a := range args {
			if a == "-amphora-id" && i+1 < len(args) && args[i+1] == amphoraID {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid
			}
		}
	}
	return 0
}

// TestAmphoraSupervisionSurvivesNodes is issue 10's item 6: in a 3-node cluster,
// kill -9 the node whose grain supervises the amphora: traffic on the VIP is not
// interrupted (the agent and haproxy outlive keeld), the grain comes back on a
// live node, and a later kill of the agent is still failed over.
func TestAmphoraSupervisionSurvivesNodes(t *testing.T) {
	nodes := StartClusterWith(t, 3, func(n *Node) {
		n.AmphoraDriver = "local"
		n.ExtraArgs = []string{"-heartbeat-interval", "1s", "-heartbeat-timeout", "3s"}
	})
	a, b := startBackend(t, "A"), startBackend(t, "B")
	port := FreePortOn(t, "127.0.0.1")
	body := fmt.Sprintf(`{"loadbalancer":{"name":"ha","vip_subnet_id":%q,"listeners":[{"protocol":"TCP","protocol_port":%d,
		"default_pool":{"name":"pool","protocol":"TCP","lb_algorithm":"ROUND_ROBIN",
		"members":[{"address":"127.0.0.1","protocol_port":%d},{"address":"127.0.0.1","protocol_port":%d}]}}]}}`,
		subnet, port, a.port, b.port)
	lbID := CreatedID(t, nodes[0].MustDo(201, "POST", "/v2/lbaas/loadbalancers", body))
	nodes[0].WaitActive(lbID, 30*time.Second)
	vip := ""
	var v struct {
		LoadBalancer struct {
			VipAddress string `json:"vip_address"`
		} `json:"loadbalancer"`
	}
	_ = json.Unmarshal(nodes[0].MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID, nil).Body, &v)
	vip = v.LoadBalancer.VipAddress
	url := fmt.Sprintf("http://%s:%d/", vip, port)
	sees(t, url, 10*time.Second, "A", "B")

	// The node that built the amphora hosts its grain (placement is stable while
	// membership is): its data dir holds the amphora.
	first := amphoraeOf(t, nodes[0], lbID)[0]
	var host *Node
	var live []*Node
	for _, n := range nodes {
		if _, err := os.Stat(filepath.Join(n.DataDir, "amphorae", first.ID)); err == nil {
			host = n
		} else {
			live = append(live, n)
		}
	}
	if host == nil {
		t.Fatalf("no node holds amphora %s", first.ID)
	}
	host.Kill()
	failures := 0
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got := get(url); got != "A" && got != "B" {
			failures++
		}
	}
	if failures > 0 {
		t.Fatalf("%d requests failed on the VIP after the supervising node %s died", failures, host.Name)
	}
	WaitConverged(t, live, 3, 30*time.Second) // the dead node stays a voter until removed

	// The grain lives on a live node now: a killed agent is still failed over.
	if err := syscall.Kill(agentPidOf(t, live[0], first.ID), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, "a new amphora serving", func() bool {
		amps := amphoraeOf(t, live[0], lbID)
		return len(amps) == 1 && amps[0].ID != first.ID && amps[0].Status == "ALLOCATED" &&
			live[0].ProvisioningStatus(lbID) == "ACTIVE"
	})
	sees(t, url, 10*time.Second, "A", "B")
	if pid := agentPidOrZero(live[0], first.ID); pid != 0 {
		t.Fatalf("the failed amphora's agent %d still runs", pid)
	}
}

// TestAmphoraCertRotationAndConfig: an amphora's certificate is rotated before it
// expires (cert_expiration moves on, the agent keeps answering over mutual TLS),
// and PUT /v2/octavia/amphorae/{id}/config pushes the configuration again.
func TestAmphoraCertRotationAndConfig(t *testing.T) {
	n := NewNode(t, "rot")
	n.AmphoraDriver = "local"
	const key = "6b65656c2d746573742d6865617274626561742d6b65792d6f662d333262797465"
	n.ExtraArgs = []string{"-heartbeat-interval", "1s", "-heartbeat-timeout", "3s", "-amphora-cert-validity", "40s",
		"-heartbeat-key", key}
	n.StartHealthy(60 * time.Second)
	a := startBackend(t, "A")
	port := FreePortOn(t, "127.0.0.1")
	body := fmt.Sprintf(`{"loadbalancer":{"name":"rot","vip_subnet_id":%q,"listeners":[{"protocol":"HTTP","protocol_port":%d,
		"default_pool":{"name":"pool","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
		"members":[{"address":"127.0.0.1","protocol_port":%d}]}}]}}`, Subnet, port, a.port)
	created := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body)
	lbID := CreatedID(t, created)
	n.WaitActive(lbID, 30*time.Second)
	first := amphoraeOf(t, n, lbID)[0]
	var v struct {
		LoadBalancer struct {
			VipAddress string `json:"vip_address"`
		} `json:"loadbalancer"`
	}
	_ = json.Unmarshal(created.Body, &v)
	url := fmt.Sprintf("http://%s:%d/", v.LoadBalancer.VipAddress, port)
	sees(t, url, 10*time.Second, "A")

	// Half the validity left: rotated (the reconciler's Watch checks every pass).
	Eventually(t, 40*time.Second, "the amphora certificate rotated", func() bool {
		amps := amphoraeOf(t, n, lbID)
		return len(amps) == 1 && amps[0].CertExpires > first.CertExpires
	})
	if amps := amphoraeOf(t, n, lbID); amps[0].ID != first.ID {
		t.Fatalf("rotation replaced the amphora: %+v", amps)
	}
	// The agent answers with its new certificate: the config push goes through.
	n.MustDo(202, "PUT", "/v2/octavia/amphorae/"+first.ID+"/config", nil)
	sees(t, url, 10*time.Second, "A")
	if st := n.ProvisioningStatus(lbID); st != "ACTIVE" {
		t.Fatalf("load balancer %s after rotation and config: %s", lbID, st)
	}

	// Item 8: forged, replayed and malformed heartbeats that claim every member
	// is down change nothing, and each is named in the log.
	var before map[string]string
	Eventually(t, 10*time.Second, "load balancer ONLINE", func() bool {
		before = statusTree(t, n, lbID)
		return before["loadbalancer"] == "ONLINE" && before[fmt.Sprintf("member %d", a.port)] != ""
	})
	down := func(boot int64) *heartbeat.Message {
		listeners := map[string]heartbeat.Listener{}
		pools := map[string]heartbeat.Pool{}
		st := statusIDs(t, n, lbID)
		listeners[st.listener] = heartbeat.Listener{Status: "OPEN"}
		pools[st.pool+":"+st.listener] = heartbeat.Pool{Status: "DOWN", Members: map[string]string{st.member: "DOWN"}}
		return &heartbeat.Message{ID: first.ID, Seq: 1 << 40, Ver: heartbeat.Version, Boot: boot, Time: time.Now().UnixMilli(),
			Listeners: listeners, Pools: pools}
	}
	forged, err := heartbeat.Encode(down(time.Now().UnixNano()), []byte("not the cluster's key"))
	if err != nil {
		t.Fatal(err)
	}
	replayed, err := heartbeat.Encode(down(1), []byte(key)) // an older agent process than the running one
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", n.HealthAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range [][]byte{forged, replayed, []byte("not a heartbeat")} {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	Eventually(t, 10*time.Second, "forged, replayed and malformed heartbeats in the log", func() bool {
		log, _ := os.ReadFile(n.LogPath)
		return strings.Contains(string(log), "reason=forged") && strings.Contains(string(log), "reason=replayed") &&
			strings.Contains(string(log), "reason=malformed")
	})
	time.Sleep(2 * time.Second) // two genuine heartbeats later
	if st := statusTree(t, n, lbID); fmt.Sprint(st) != fmt.Sprint(before) {
		t.Fatalf("statuses after rejected heartbeats: %v, before: %v", st, before)
	}
}

type treeIDs struct{ listener, pool, member string }

// statusIDs returns the ids of the (single) listener, pool and member of a tree.
func statusIDs(t *testing.T, n *Node, lbID string) treeIDs {
	t.Helper()
	r := n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil)
	var v struct {
		Statuses struct {
			LoadBalancer struct {
				Listeners []struct {
					ID    string `json:"id"`
					Pools []struct {
						ID      string `json:"id"`
						Members []struct {
							ID string `json:"id"`
						} `json:"members"`
					} `json:"pools"`
				} `json:"listeners"`
			} `json:"loadbalancer"`
		} `json:"statuses"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || len(v.Statuses.LoadBalancer.Listeners) == 0 {
		t.Fatalf("status tree: %s", r.Body)
	}
	l := v.Statuses.LoadBalancer.Listeners[0]
	return treeIDs{listener: l.ID, pool: l.Pools[0].ID, member: l.Pools[0].Members[0].ID}
}

// TestAmphoraMissingAgent: without keel-agent the amphora and its load balancer
// go ERROR with a reason that says what to install, and keeld keeps serving.
func TestAmphoraMissingAgent(t *testing.T) {
	n := NewNode(t, "noagent")
	n.AmphoraDriver = "local"
	n.ExtraArgs = []string{"-keel-agent", filepath.Join(t.TempDir(), "keel-agent")}
	n.StartHealthy(60 * time.Second)
	lbID := CreatedID(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", createBody("no-agent")))
	Eventually(t, 30*time.Second, lbID+" ERROR", func() bool { return n.ProvisioningStatus(lbID) == "ERROR" })
	if amps := amphoraeOf(t, n, lbID); len(amps) != 1 || amps[0].Status != "ERROR" {
		t.Fatalf("amphorae: %+v", amps)
	}
	log, _ := os.ReadFile(n.LogPath)
	if !strings.Contains(string(log), "keel-agent not found") || !strings.Contains(string(log), "make build") {
		t.Fatalf("keeld's log does not say what to install:\n%s", tail(log, 3000))
	}
	n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbID, nil) // still serving
	n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lbID, nil)
	Eventually(t, 20*time.Second, lbID+" deleted", func() bool { return n.ProvisioningStatus(lbID) == "404" })
}

// trafficStats is the body of GET …/stats.
type trafficStats struct {
	BytesIn           int64 `json:"bytes_in"`
	BytesOut          int64 `json:"bytes_out"`
	ActiveConnections int64 `json:"active_connections"`
	TotalConnections  int64 `json:"total_connections"`
	RequestErrors     int64 `json:"request_errors"`
}

func statsOf(t *testing.T, n *Node, path string) trafficStats {
	t.Helper()
	var v struct {
		Stats trafficStats `json:"stats"`
	}
	if err := json.Unmarshal(n.MustDo(200, "GET", path, nil).Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Stats
}

// oneShot makes every request a connection of its own, so haproxy counts one
// connection per request.
var oneShot = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// requests sends n requests to url, each on a new connection; all must succeed.
func requests(t *testing.T, url string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		resp, err := oneShot.Get(url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
}

// raftWritesPerSecond is how fast the node's Raft commit index moves over d.
func raftWritesPerSecond(t *testing.T, n *Node, d time.Duration) float64 {
	t.Helper()
	before := n.Cluster()
	start := time.Now()
	time.Sleep(d)
	after := n.Cluster()
	if before == nil || after == nil {
		t.Fatal("GET /cluster failed")
	}
	return float64(after.Raft.CommitIndex-before.Raft.CommitIndex) / time.Since(start).Seconds()
}

// settled waits until path's statistics stop moving (the same over two
// heartbeats and flushes) and returns them.
func settled(t *testing.T, n *Node, path string) trafficStats {
	t.Helper()
	var s trafficStats
	Eventually(t, 15*time.Second, "statistics settled", func() bool {
		s = statsOf(t, n, path)
		time.Sleep(2500 * time.Millisecond)
		next := statsOf(t, n, path)
		if next != s {
			t.Logf("statistics still moving: %+v → %+v", s, next)
		}
		return next == s
	})
	return s
}

// TestAmphoraStats is issue 10's item 3 on one node with the local amphora
// driver: requests through the VIP show in the load balancer's, the listener's
// and the amphora's statistics (from heartbeats, written every -stats-interval);
// Raft sees no statistics writes without traffic; and the statistics survive
// keeld's kill -9 (what was written stays, counting goes on from it).
func TestAmphoraStats(t *testing.T) {
	n := NewNode(t, "stats")
	n.AmphoraDriver = "local"
	n.ExtraArgs = []string{"-heartbeat-interval", "1s", "-heartbeat-timeout", "3s", "-stats-interval", "1s"}
	n.StartHealthy(60 * time.Second)

	a, b := startBackend(t, "A"), startBackend(t, "B")
	port := FreePortOn(t, "127.0.0.1")
	body := fmt.Sprintf(`{"loadbalancer":{"name":"web","vip_subnet_id":%q,"listeners":[{"name":"http",
		"protocol":"HTTP","protocol_port":%d,"default_pool":{"name":"pool","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
		"members":[{"address":"127.0.0.1","protocol_port":%d},{"address":"127.0.0.1","protocol_port":%d}]}}]}}`,
		subnet, port, a.port, b.port)
	created := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body)
	lbID := CreatedID(t, created)
	var lb struct {
		LoadBalancer struct {
			VipAddress string `json:"vip_address"`
			Listeners  []struct {
				ID string `json:"id"`
			} `json:"listeners"`
		} `json:"loadbalancer"`
	}
	if err := json.Unmarshal(created.Body, &lb); err != nil {
		t.Fatal(err)
	}
	listenerID := lb.LoadBalancer.Listeners[0].ID
	url := fmt.Sprintf("http://%s:%d/", lb.LoadBalancer.VipAddress, port)
	n.WaitActive(lbID, 30*time.Second)
	sees(t, url, 10*time.Second, "A", "B")
	amps := amphoraeOf(t, n, lbID)
	if len(amps) != 1 {
		t.Fatalf("amphorae: %+v", amps)
	}
	ampID := amps[0].ID
	lbPath, listenerPath := "/v2/lbaas/loadbalancers/"+lbID+"/stats", "/v2/lbaas/listeners/"+listenerID+"/stats"

	// N requests: the load balancer and the listener count them.
	const N = 40
	base := statsOf(t, n, lbPath) // sees() sent some already
	requests(t, url, N)
	var lbStats, lStats trafficStats
	Eventually(t, 10*time.Second, fmt.Sprintf("%d more connections in the load balancer's and listener's stats", N), func() bool {
		lbStats, lStats = statsOf(t, n, lbPath), statsOf(t, n, listenerPath)
		return lbStats.TotalConnections >= base.TotalConnections+N && lStats.TotalConnections >= base.TotalConnections+N
	})
	if lbStats.BytesIn <= 0 || lbStats.BytesOut <= 0 || lStats.BytesIn <= 0 || lStats.BytesOut <= 0 {
		t.Fatalf("stats: load balancer %+v, listener %+v", lbStats, lStats)
	}
	// The amphora's statistics show the listener.
	var ampStats struct {
		AmphoraStats []struct {
			ID               string `json:"id"`
			ListenerID       string `json:"listener_id"`
			LoadBalancerID   string `json:"loadbalancer_id"`
			TotalConnections int64  `json:"total_connections"`
			BytesIn          int64  `json:"bytes_in"`
		} `json:"amphora_stats"`
	}
	if err := json.Unmarshal(n.MustDo(200, "GET", "/v2/octavia/amphorae/"+ampID+"/stats", nil).Body, &ampStats); err != nil {
		t.Fatal(err)
	}
	if s := ampStats.AmphoraStats; len(s) != 1 || s[0].ID != ampID || s[0].ListenerID != listenerID || s[0].LoadBalancerID != lbID ||
		s[0].TotalConnections < base.TotalConnections+N || s[0].BytesIn <= 0 {
		t.Fatalf("amphora stats: %+v", s)
	}

	// Raft writes: none for statistics while nothing moves (heartbeats keep
	// coming, statuses are settled); about one per interval under traffic.
	vipClient.CloseIdleConnections() // sees() kept connections open
	settled(t, n, lbPath)
	idle := raftWritesPerSecond(t, n, 5*time.Second)
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if resp, err := oneShot.Get(url); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
	}()
	time.Sleep(2 * time.Second) // the first heartbeats with traffic
	busy := raftWritesPerSecond(t, n, 5*time.Second)
	close(stop)
	<-loaded
	t.Logf("Raft writes/s with -stats-interval 1s, heartbeats every 1s: %.2f without traffic, %.2f with 20 requests/s", idle, busy)
	if idle > 0.1 {
		t.Fatalf("%.2f Raft writes/s without traffic", idle)
	}
	if busy > 2 {
		t.Fatalf("%.2f Raft writes/s under traffic with a 1 s interval", busy)
	}

	// kill -9 keeld: what was written survives; the amphora keeps serving, and
	// counting goes on from the stored totals after the restart.
	written := settled(t, n, lbPath)
	n.Kill()
	n.Start()
	Eventually(t, 30*time.Second, "keeld back", n.Healthy)
	if s := statsOf(t, n, lbPath); s.TotalConnections < written.TotalConnections || s.BytesIn < written.BytesIn {
		t.Fatalf("after kill -9: %+v, written before: %+v", s, written)
	}
	requests(t, url, N)
	Eventually(t, 15*time.Second, "counting goes on after the restart", func() bool {
		return statsOf(t, n, lbPath).TotalConnections >= written.TotalConnections+N
	})
	t.Logf("stats before kill -9 %+v, after restart and %d more requests %+v", written, N, statsOf(t, n, lbPath))
}

// haproxyPidsOf lists the haproxy processes (master and workers) of an amphora:
// they work in its directory.
func haproxyPidsOf(amphoraID string) []int {
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasSuffix(strings.Split(string(b), "\x00")[0], "haproxy") {
			continue
		}
		cwd, err := os.Readlink(filepath.Join(filepath.Dir(p), "cwd"))
		if err != nil || filepath.Base(cwd) != amphoraID {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		out = append(out, pid)
	}
	return out
}
