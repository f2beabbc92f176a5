package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"keel/cluster/systemtest"
)

// clusterWriteProfile runs the 3-node create workload at concurrency conc (64 in
// make bench-profile, issue 14's figure), in a closed loop or, with rate > 0,
// offered at rate per second, and takes a CPU profile of every node while it
// runs: the profiles
// behind the 3-node write figures. They are written to dir as <node>.cpu.pprof;
// the section reports the throughput, the latency and the CPU per create each
// process spent.
func clusterWriteProfile(r *runner, d time.Duration, conc int, rate float64, dir string, keeldArgs []string) string {
	nodes := systemtest.StartClusterWith(r, 3, func(n *systemtest.Node) { n.ExtraArgs = append(n.ExtraArgs, keeldArgs...) })
	var clients []*client
	for _, n := range nodes {
		clients = append(clients, newClient(n.HTTPAddr, 256))
	}
	createMany("warm-up", clients, conc, 0, 3*time.Second, nil)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Fatal(err)
	}
	cpuBefore := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		cpuBefore[i] = cpuOf(n.Pid())
		fetchProfile(r, n, "allocs", filepath.Join(dir, n.Name+".allocs-before.pprof"))
	}
	selfBefore := cpuOf(os.Getpid())
	indexBefore := commitIndex(r, clients[0])
	var wg sync.WaitGroup
	secs := int(d / time.Second)
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(n.HTTPAddr, 1)
			c.hc.ReadTimeout = d + 30*time.Second
			body, err := c.do("GET", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), nil, 200)
			if err != nil {
				r.Errorf("profile of %s: %v", n.Name, err)
				return
			}
			if err := writeFileAtomic(filepath.Join(dir, n.Name+".cpu.pprof"), body); err != nil {
				r.Errorf("profile of %s: %v", n.Name, err)
			}
		}()
	}
	byNode := make([][]timedSpan, len(nodes))
	probe := startDiskProbe(filepath.Dir(nodes[0].DataDir))
	runStart := time.Now()
	name := "create (round-robin over nodes, profiled)"
	if rate > 0 {
		name = fmt.Sprintf("create at %.0f/s offered (round-robin over nodes, profiled)", rate)
	}
	_, res := createManyTimed(name, clients, conc, 0, d, rate, nil, byNode)
	runTook := time.Since(runStart)
	syncs, perr := probe.finish()
	if perr != nil {
		r.Errorf("disk probe: %v", perr)
	}
	wg.Wait()
	self := cpuOf(os.Getpid()) - selfBefore
	for _, n := range nodes {
		fetchProfile(r, n, "allocs", filepath.Join(dir, n.Name+".allocs-after.pprof"))
	}
	entries := commitIndex(r, clients[0]) - indexBefore
	var b strings.Builder
	fmt.Fprintf(&b, "## 3-node create profile\n\nkeeld flags: `%s`\n\n%s\n\n", strings.Join(keeldArgs, " "), res)
	fmt.Fprintf(&b, "Raft entries committed: %d, %.2f per create (each create is two commands: the create and its provider step).\n\n",
		entries, float64(entries)/float64(max(res.Requests, 1)))
	fmt.Fprintf(&b, "| process | CPU | CPU per create |\n|---|---|---|\n")
	for i, n := range nodes {
		cpu := cpuOf(n.Pid()) - cpuBefore[i]
		fmt.Fprintf(&b, "| %s | %s | %.0f µs |\n", n.Name, cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(res.Requests))
	}
	fmt.Fprintf(&b, "| load generator (keelbench) | %s | %.0f µs |\n", self.Round(time.Millisecond), float64(self.Microseconds())/float64(res.Requests))
	fmt.Fprintf(&b, "\nLatency by the node that took the create (a follower calls the new load balancer's grain on the leader's node; about 4%% of new grains land on another):\n\n")
	fmt.Fprintf(&b, "| node | Raft role | creates | p50 | p90 | p99 |\n|---|---|---|---|---|---|\n")
	var creates []timedSpan
	for i, n := range nodes {
		creates = append(creates, byNode[i]...)
		lat := make([]time.Duration, len(byNode[i]))
		for j, c := range byNode[i] {
			lat[j] = c.took
		}
		slices.Sort(lat)
		role := "?"
		if v := n.Cluster(); v != nil {
			role = strings.ToLower(v.Raft.State)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", n.Name, role, len(lat),
			quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99))
	}
	fmt.Fprintf(&b, "\n%s", diskReport("The disk under the nodes, timed during the run next to their data by", syncs, creates, runTook))
	fmt.Fprintf(&b, "\nRaft, from each node's /metrics after the run (go-metrics summaries: the last minute or so, ms):\n\n")
	fmt.Fprintf(&b, "| process | commit p50 / p99 (leader) | log write p50 / p99 (fsync included) |\n|---|---|---|\n")
	for _, n := range nodes {
		// Raft's own timings of a log write, whichever log store: the leader's
		// dispatchLog, a follower's storeLogs of an append.
		m := scrapeSummaries(r, newClient(n.HTTPAddr, 1), "keel_raft_commitTime",
			"keel_raft_leader_dispatchLog", "keel_raft_rpc_appendEntries_storeLogs")
		write := "keel_raft_rpc_appendEntries_storeLogs"
		if m["keel_raft_leader_dispatchLog|0.5"] != "–" {
			write = "keel_raft_leader_dispatchLog"
		}
		fmt.Fprintf(&b, "| %s | %s / %s | %s / %s |\n", n.Name,
			m["keel_raft_commitTime|0.5"], m["keel_raft_commitTime|0.99"],
			m[write+"|0.5"], m[write+"|0.99"])
	}
	fmt.Fprintf(&b, "\nProfiles: %s/<node>.cpu.pprof (go tool pprof -top bin/keeld <file>); allocations during the run: "+
		"go tool pprof -sample_index=alloc_space -base <node>.allocs-before.pprof bin/keeld <node>.allocs-after.pprof.\n", dir)
	for _, n := range nodes {
		n.Kill()
	}
	return b.String()
}

// quantile is the q-quantile of sorted, rounded to 0.1 ms ("–" if empty).
func quantile(sorted []time.Duration, q float64) string {
	if len(sorted) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", float64(sorted[int(q*float64(len(sorted)-1))].Microseconds())/1000)
}

// cpuOf is the user+system CPU time process pid has used (from /proc).
func cpuOf(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// fetchProfile saves node n's pprof profile of kind (heap, allocs, …) to path.
func fetchProfile(r *runner, n *systemtest.Node, kind, path string) {
	body, err := newClient(n.HTTPAddr, 1).do("GET", "/debug/pprof/"+kind, nil, 200)
	if err == nil {
		err = writeFileAtomic(path, body)
	}
	if err != nil {
		r.Errorf("%s profile of %s: %v", kind, n.Name, err)
	}
}

// commitIndex is the Raft commit index node c's /cluster reports.
func commitIndex(r *runner, c *client) int64 {
	body, err := c.do("GET", "/cluster", nil, 200)
	var st struct {
		Raft struct {
			CommitIndex int64 `json:"commit_index"`
		} `json:"raft"`
	}
	if err == nil {
		err = json.Unmarshal(body, &st)
	}
	if err != nil {
		r.Errorf("commit index: %v", err)
	}
	return st.Raft.CommitIndex
}

// scrapeSummaries reads the quantiles of the named summaries from c's /metrics,
// keyed "name|quantile" ("–" where a node has none: a follower never commits).
func scrapeSummaries(r *runner, c *client, names ...string) map[string]string {
	out := map[string]string{}
	for _, name := range names {
		for _, q := range []string{"0.5", "0.99"} {
			out[name+"|"+q] = "–"
		}
	}
	body, err := c.do("GET", "/metrics", nil, 200)
	if err != nil {
		r.Errorf("metrics: %v", err)
		return out
	}
	for _, line := range strings.Split(string(body), "\n") {
		for _, name := range names {
			for _, q := range []string{"0.5", "0.99"} {
				prefix := name + `{quantile="` + q + `"} `
				if strings.HasPrefix(line, prefix) {
					var v float64
					fmt.Sscan(strings.TrimPrefix(line, prefix), &v)
					out[name+"|"+q] = fmt.Sprintf("%.1f", v)
				}
			}
		}
	}
	return out
}
