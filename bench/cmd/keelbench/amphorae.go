package main

// What the amphora scenarios share: real keeld nodes on the local amphora driver
// (every amphora a keel-agent running haproxy), loopback backends, a VIP prober,
// /proc look-ups of an amphora's processes, and latency summaries.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"keel/cluster/systemtest"
)

// vipCIDR is a loopback /24 of this run's own, so the VIPs of a benchmark never
// collide with those of a node another process runs on the default range.
func vipCIDR() string { return fmt.Sprintf("127.77.%d.0/24", 1+rand.IntN(250)) }

// amphoraNode starts a single node on the local amphora driver.
func amphoraNode(r *runner, name string, extra ...string) *systemtest.Node {
	n := systemtest.NewNode(r, name)
	n.AmphoraDriver = "local"
	n.ExtraArgs = append([]string{"-vip-cidr", vipCIDR()}, extra...)
	n.StartHealthy(60 * time.Second)
	return n
}

// backend is a loopback HTTP server that answers its name: a pool member.
type backend struct {
	name string
	port int
}

func startBackends(r *runner, names ...string) []*backend {
	var out []*backend
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.Fatalf("backend: %v", err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, name)
		})}
		go srv.Serve(ln)
		r.Cleanup(func() { srv.Close() })
		out = append(out, &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port})
	}
	return out
}

// fullLB is the body of a fully populated load balancer (one call): an HTTP
// listener on port, a ROUND_ROBIN pool of the backends, an HTTP health monitor.
func fullLB(name string, port int, bs []*backend) []byte {
	var members []string
	for _, b := range bs {
		members = append(members, fmt.Sprintf(`{"address":"127.0.0.1","protocol_port":%d}`, b.port))
	}
	return []byte(fmt.Sprintf(`{"loadbalancer":{"name":%q,"vip_subnet_id":%q,"listeners":[{"name":"http",
		"protocol":"HTTP","protocol_port":%d,"default_pool":{"name":"pool","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
		"members":[%s],"healthmonitor":{"type":"HTTP","delay":1,"timeout":1,"max_retries":1,"url_path":"/"}}}]}}`,
		name, subnet, port, strings.Join(members, ",")))
}

// createdLB is what a create's reply tells about the load balancer.
type createdLB struct {
	ID, VIP   string
	Port      int
	Listeners []string
	Pools     []string
}

func (l createdLB) url() string { return fmt.Sprintf("http://%s:%d/", l.VIP, l.Port) }

func parseCreated(body []byte, port int) (createdLB, error) {
	var v struct {
		LoadBalancer struct {
			ID         string `json:"id"`
			VipAddress string `json:"vip_address"`
			Listeners  []struct {
				ID string `json:"id"`
			} `json:"listeners"`
			Pools []struct {
				ID string `json:"id"`
			} `json:"pools"`
		} `json:"loadbalancer"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.LoadBalancer.ID == "" {
		return createdLB{}, fmt.Errorf("no load balancer in %s", body)
	}
	l := createdLB{ID: v.LoadBalancer.ID, VIP: v.LoadBalancer.VipAddress, Port: port}
	for _, x := range v.LoadBalancer.Listeners {
		l.Listeners = append(l.Listeners, x.ID)
	}
	for _, x := range v.LoadBalancer.Pools {
		l.Pools = append(l.Pools, x.ID)
	}
	return l, nil
}

// vipHTTP opens a new connection per request (no keep-alive), so every probe
// reaches whichever haproxy listens on the VIP now.
var vipHTTP = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// vipGet returns the body of a 200 answer and true, or false.
func vipGet(url string) (string, bool) {
	resp, err := vipHTTP.Get(url)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return b.String(), err == nil && resp.StatusCode == 200
}

// lbState is a load balancer's provisioning and operating status ("" and an
// error when it cannot be read; "DELETED" on a 404).
func lbState(c *client, id string) (prov, op string, err error) {
	body, err := c.do("GET", "/v2/lbaas/loadbalancers/"+id+"?fields=provisioning_status&fields=operating_status", nil, 200)
	if err != nil {
		if strings.Contains(err.Error(), ": 404 ") {
			return "DELETED", "", nil
		}
		return "", "", err
	}
	var v struct {
		LoadBalancer struct {
			Prov string `json:"provisioning_status"`
			Op   string `json:"operating_status"`
		} `json:"loadbalancer"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", "", err
	}
	return v.LoadBalancer.Prov, v.LoadBalancer.Op, nil
}

// amphoraRow is an amphora as the admin API lists it.
type amphoraRow struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	ComputeID string `json:"compute_id"`
	LBID      string `json:"loadbalancer_id"`
}

func amphoraeOf(c *client, lbID string) ([]amphoraRow, error) {
	body, err := c.do("GET", "/v2/octavia/amphorae?loadbalancer_id="+lbID, nil, 200)
	if err != nil {
		return nil, err
	}
	var v struct {
		Amphorae []amphoraRow `json:"amphorae"`
	}
	err = json.Unmarshal(body, &v)
	return v.Amphorae, err
}

// amphoraBase is the resolved directory of a node's local amphorae (the local
// driver resolves it too: processes' working directories read resolved).
func amphoraBase(n *systemtest.Node) string {
	dir := filepath.Join(n.DataDir, "amphorae")
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		return d
	}
	return dir
}

// procsIn lists the live processes working in dir or below: an amphora's agent
// and the haproxy it runs (the local driver recognises them the same way).
func procsIn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if (cwd == dir || strings.HasPrefix(cwd, dir+"/")) && !zombie(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

func commOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// agentPid finds the keel-agent of an amphora by its -amphora-id flag (0: none).
func agentPid(amphoraID string) int {
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
				if !zombie(pid) {
					return pid
				}
			}
		}
	}
	return 0
}

// cpuSeconds is the user+system CPU time pid has used (Linux, USER_HZ 100).
func cpuSeconds(pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the command: state is field 3 of stat, utime 14, stime 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

// summary is a latency distribution.
type summary struct {
	n                            int
	min, p50, p90, p99, max, avg time.Duration
}

func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	all := slices.Clone(ds)
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	var sum time.Duration
	for _, d := range all {
		sum += d
	}
	return summary{n: len(all), min: all[0], p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: all[len(all)-1],
		avg: sum / time.Duration(len(all))}
}

// secs renders a duration in milliseconds below a second, else in seconds.
func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// row renders a summary as a markdown table row: name | n | min | p50 | p90 | p99 | max | mean.
func (s summary) row(name string) string {
	if s.n == 0 {
		return fmt.Sprintf("| %s | 0 | | | | | | |\n", name)
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %s |\n", name, s.n, secs(s.min), secs(s.p50), secs(s.p90),
		secs(s.p99), secs(s.max), secs(s.avg))
}

const summaryHeader = "| measure | n | min | p50 | p90 | p99 | max | mean |\n|---|---|---|---|---|---|---|---|\n"

// loadAverage is /proc/loadavg's first three fields: the machine may be shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
