// Command keelbench measures keeld: it starts real keeld processes on loopback
// (one node, then a 3-node cluster), drives them with a closed-loop load generator
// and writes a markdown table of throughput, latency percentiles and memory per
// stored load balancer to bench/results/, with charts of throughput and latency
// against concurrency (SVG, beside the table) and a comparison with the previous
// results file.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/bench"
	"keel/cluster/systemtest"
)

func main() {
	out := flag.String("out", "bench/results", "directory for the markdown results")
	keeld := flag.String("keeld", "bin/keeld", "keeld binary")
	dur := flag.Duration("duration", 8*time.Second, "duration of each timed workload")
	preload := flag.Int("preload", 100000, "load balancers stored before the list and memory workloads")
	scenarios := flag.String("scenarios", "single,cluster,scale", "comma-separated: single, cluster, children, scale (memory, snapshot, restart at -scale-lbs); "+
		"amphora-provision, heartbeats, failover (real amphorae: make bench-amphorae); allocation-search, leases (make bench-leases); instances (make bench-instances); cluster-profile, disk (make bench-profile)")
	provSeq := flag.Int("provision-sequential", 20, "amphora-provision: load balancers created one after another")
	provRounds := flag.Int("provision-rounds", 5, "amphora-provision: rounds of load balancers created at once")
	provParallel := flag.Int("provision-parallel", 4, "amphora-provision: load balancers per round")
	hbAmphorae := flag.Int("heartbeat-amphorae", 1000, "heartbeats: simulated amphorae")
	hbDuration := flag.Duration("heartbeat-duration", 10*time.Second, "heartbeats: length of each timed phase")
	hbProfile := flag.String("heartbeat-pprof", "", "heartbeats: write keeld's CPU profile of the saturation phase here")
	kills := flag.Int("failover-kills", 10, "failover: kills of each kind (agent, haproxy)")
	instanceCount := flag.Int("instances", 200, "instances: hosts and instances created (fake power driver)")
	instanceBMCs := flag.Int("instance-bmcs", 3, "instances: ipmi_sim BMCs for the power timing")
	instanceCommit := flag.Duration("instance-raft-commit-timeout", 0, "instances: keeld -raft-commit-timeout of the fake-driver nodes (0: keeld's default)")
	leaseHosts := flag.Int("lease-hosts", 1000, "leases: hosts in the inventory")
	leaseEvents := flag.Int("lease-events", 10000, "leases: pending leases whose start events fall due across one minute")
	searchHosts := flag.Int("search-hosts", 10000, "allocation-search: hosts in the inventory")
	searchPerHost := flag.Int("search-allocations-per-host", 10, "allocation-search: allocations each host holds")
	profileDir := flag.String("profile-dir", "bench/results/profile", "cluster-profile: where the nodes' CPU profiles go")
	profileConc := flag.Int("profile-concurrency", 64, "cluster-profile: concurrent clients (issue 14's goal is stated at 64)")
	profileRate := flag.Int("profile-rate", 0, "cluster-profile: creates offered per second from -profile-concurrency connections (0: a closed loop)")
	profileArgs := flag.String("profile-keeld-args", "", "cluster-profile: extra keeld flags, space-separated (e.g. -gogc 100)")
	compare := flag.String("compare", "", "results file to compare this run's table with "+
		"(default: the newest earlier results-*.md in -out; none: no comparison)")
	scaleLBs := flag.Int("scale-lbs", 100000, "scale: load balancers stored (make bench-scale: 1000000)")
	scaleArgs := flag.String("scale-keeld-args", "", "scale: extra keeld flags, space-separated")
	scaleHeap := flag.String("scale-heap-profile", "", "scale: write keeld's heap profile at rest here (and after the restart, to this name + .restarted)")
	flag.Parse()

	// An explicit baseline is read now: a typo should not cost a whole run.
	var baseline *bench.Results
	if *compare != "" && *compare != "none" {
		r, err := bench.ReadResults(*compare)
		if err != nil {
			fmt.Fprintln(os.Stderr, "keelbench: -compare:", err)
			os.Exit(2)
		}
		baseline = &r
	}

	bin, err := filepath.Abs(*keeld)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "keelbench: keeld binary:", err, "(run make build)")
		os.Exit(2)
	}
	systemtest.UseBinary(bin)
	r := &runner{}
	defer r.cleanup()

	report := &strings.Builder{}
	fmt.Fprintf(report, "# keel benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(report, "Machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. Load generator and servers share the machine; loopback only.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	report.WriteString(bench.TableHeader)
	var notes, sections []string
	var rows []bench.Row
	// sectionKind names the results file when only sections ran: amphorae
	// (make bench-amphorae) or leases (make bench-leases).
	sectionKind := "amphorae"
	table := false
	add := func(scenario string, res bench.Result) {
		table = true
		fmt.Println(scenario, res)
		row := bench.RowOf(scenario, res)
		rows = append(rows, row)
		report.WriteString(row.Markdown())
		if res.FirstError != "" {
			notes = append(notes, fmt.Sprintf("%s / %s: first error: %s", scenario, res.Name, res.FirstError))
		}
	}
	for _, sc := range strings.Split(*scenarios, ",") {
		had := len(sections)
		switch strings.TrimSpace(sc) {
		case "single":
			notes = append(notes, singleNode(r, *dur, *preload, add)...)
		case "cluster":
			notes = append(notes, threeNodes(r, *dur, add)...)
		case "cluster-profile":
			sections = append(sections, clusterWriteProfile(r, *dur, *profileConc, float64(*profileRate), *profileDir, strings.Fields(*profileArgs)))
			sectionKind = "profile"
		case "disk":
			sections = append(sections, diskAlone(*dur))
			sectionKind = "profile"
		case "children":
			notes = append(notes, children(r, *dur, add)...)
		case "amphora-provision":
			sections = append(sections, amphoraProvision(r, *provSeq, *provRounds, *provParallel))
		case "heartbeats":
			sections = append(sections, heartbeats(r, *hbAmphorae, *hbDuration, *hbProfile))
		case "failover":
			sections = append(sections, failover(r, *kills))
		case "leases":
			sections = append(sections, leases(r, *dur, *leaseHosts, *leaseEvents, func(string, bench.Result) {}))
			sectionKind = "leases"
		case "instances":
			sections = append(sections, instances(r, *instanceCount, *instanceBMCs, *instanceCommit))
			sectionKind = "instances"
		case "scale":
			sections = append(sections, scale(r, *scaleLBs, strings.Fields(*scaleArgs), *scaleHeap))
			sectionKind = "scale"
		case "allocation-search":
			sections = append(sections, allocationSearch(*searchHosts, *searchPerHost))
			sectionKind = "leases"
		case "":
		default:
			fmt.Fprintf(os.Stderr, "keelbench: unknown scenario %q\n", sc)
			r.cleanup()
			os.Exit(2)
		}
		if len(sections) > had {
			fmt.Println(sections[had])
		}
		r.cleanup()
	}
	if len(notes) > 0 {
		fmt.Fprintf(report, "\n")
		for _, n := range notes {
			fmt.Fprintf(report, "- %s\n", n)
		}
	}
	// Only amphora scenarios ran: their own file, so latest.md keeps the API table.
	prefix, latest := "results-", "latest.md"
	if !table && sectionKind == "scale" {
		report.Reset()
		fmt.Fprintf(report, "# keel benchmark: memory and scale, %s\n\nMachine: %d CPUs, %s/%s, %s; shared, so timings are noisy.\n",
			time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
		prefix, latest = "scale-", "scale-latest.md"
	} else if !table && sectionKind == "instances" {
		report.Reset()
		fmt.Fprintf(report, "# keel benchmark: Mogan instances, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		fmt.Fprintf(report, "Machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. Load generator, keeld and ipmi_sim share the machine; loopback only.\n",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
		prefix, latest = "instances-", "instances-latest.md"
	} else if !table && sectionKind == "profile" {
		report.Reset()
		fmt.Fprintf(report, "# keel benchmark: 3-node create profile, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		prefix, latest = "profile-", "profile-latest.md"
	} else if !table && sectionKind == "leases" {
		report.Reset()
		fmt.Fprintf(report, "# keel benchmark: Blazar leases, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		fmt.Fprintf(report, "Machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. Load generator and keeld share the machine; loopback only.\n",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
		prefix, latest = "leases-", "leases-latest.md"
	} else if !table {
		report.Reset()
		fmt.Fprintf(report, "# keel benchmark: amphorae, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		fmt.Fprintf(report, "Machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. Load generator, keeld, keel-agents and haproxy share the machine; loopback only. "+
			"Run as `make bench-amphorae` does, all of it at the niceness keelbench was started with (%d): other work on the machine takes precedence, so each section notes the load average.\n",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), niceness())
		prefix, latest = "amphorae-", "amphorae-latest.md"
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	name := prefix + stamp + ".md"
	path := filepath.Join(*out, name)
	// The table's charts and comparison come right after it (and its notes), before
	// any other sections. The stamped file links its own charts, latest.md the
	// latest-*.svg copies, so each stays right when the other is replaced.
	var charted bool
	var comparison string
	if table {
		charted = writeCharts(*out, prefix+stamp, rows)
		if *compare == "" {
			prev, err := bench.PreviousResults(*out, prefix, name)
			switch {
			case err != nil:
				fmt.Fprintln(os.Stderr, "keelbench: looking for the previous results:", err)
			case prev == "":
				fmt.Printf("no earlier %s*.md in %s to compare with\n", prefix, *out)
			default:
				if r, err := bench.ReadResults(prev); err != nil {
					fmt.Fprintln(os.Stderr, "keelbench: previous results:", err)
				} else {
					*compare, baseline = filepath.Base(prev), &r
				}
			}
		}
		if baseline != nil {
			c := bench.Comparison{Baseline: *compare, Thresholds: bench.DefaultThresholds,
				Changes: bench.Compare(baseline.Rows, rows, bench.DefaultThresholds), Bad: baseline.Bad, OldMemory: baseline.Memory}
			if m, ok := bench.ParseMemory(report.String()); ok {
				c.NewMemory = &m
			}
			comparison = c.Markdown()
			fmt.Print("\n", comparison, "\n")
		}
	}
	head := report.String()
	document := func(chartBase string) []byte {
		var b strings.Builder
		b.WriteString(head)
		if charted {
			fmt.Fprintf(&b, "\n## Charts\n\n![throughput](%s-throughput.svg)\n\n![latency](%s-latency.svg)\n", chartBase, chartBase)
		}
		if comparison != "" {
			fmt.Fprintf(&b, "\n%s", comparison)
		}
		for _, s := range sections {
			fmt.Fprintf(&b, "\n%s", s)
		}
		return []byte(b.String())
	}
	if err := writeFileAtomic(path, document(prefix+stamp)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := writeFileAtomic(filepath.Join(*out, latest), document(strings.TrimSuffix(latest, ".md"))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("wrote", path)
}

// writeCharts draws the table's throughput and latency charts to
// <base>-throughput.svg and <base>-latency.svg in dir, with latest-*.svg copies
// beside them, and says whether all were written. A chart that fails is reported
// and left out: the table matters more.
func writeCharts(dir, base string, rows []bench.Row) bool {
	when := time.Now().UTC().Format("2006-01-02 15:04 UTC")
	for _, chart := range []struct {
		kind  string
		title string
		write func(io.Writer, string, []bench.Row) error
	}{
		{"throughput", "keel, " + when + ": throughput against concurrency", bench.WriteThroughputChart},
		{"latency", "keel, " + when + ": latency against concurrency (solid p50, dashed p99)", bench.WriteLatencyChart},
	} {
		var b bytes.Buffer
		err := chart.write(&b, chart.title, rows)
		if err == nil {
			err = writeFileAtomic(filepath.Join(dir, base+"-"+chart.kind+".svg"), b.Bytes())
		}
		if err == nil {
			err = writeFileAtomic(filepath.Join(dir, "latest-"+chart.kind+".svg"), b.Bytes())
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "keelbench: %s chart: %v\n", chart.kind, err)
			return false
		}
		fmt.Println("wrote", filepath.Join(dir, base+"-"+chart.kind+".svg"))
	}
	return true
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func ms(d time.Duration) string { return bench.Millis(d) }

const subnet = "08dce793-daef-411d-a896-d389cd45b1ea"

// idleTimeout is keeld's default grain idle timeout (actors.DefaultSettings).
var idleTimeout = actors.DefaultSettings.IdleTimeout

// client is a fasthttp client per node (fasthttp: the generator must cost less CPU
// than the server it measures, on the same two cores).
type client struct {
	hc *fasthttp.HostClient
}

func newClient(addr string, conns int) *client {
	return &client{hc: &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}}
}

func (c *client) do(method, path string, body []byte, want int) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + c.hc.Addr + path)
	req.Header.SetMethod(method)
	if body != nil {
		req.SetBody(body)
		req.Header.SetContentType("application/json")
	}
	if err := c.hc.Do(req, resp); err != nil {
		return nil, err
	}
	if resp.StatusCode() != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode(), bytes.TrimSpace(resp.Body()))
	}
	return append([]byte(nil), resp.Body()...), nil
}

func createBody(i int) []byte {
	return []byte(fmt.Sprintf(`{"loadbalancer":{"name":"bench-%d","vip_subnet_id":%q,"tags":["bench"]}}`, i, subnet))
}

// createMany creates n load balancers at concurrency c round-robin over clients and
// returns their ids with the measured result; prog, if not nil, counts each create.
func createMany(name string, clients []*client, c, n int, d time.Duration, prog *progress) ([]string, bench.Result) {
	return createManyTimed(name, clients, c, n, d, 0, prog, nil)
}

// createManyTimed is createMany that also records, if byClient is not nil, when
// every create started and how long it took, in byClient[k] for the client
// (node) k that took it. With rate > 0 (n unused) the creates are offered at
// that rate (bench.RunAtRate) instead of in a closed loop.
func createManyTimed(name string, clients []*client, c, n int, d time.Duration, rate float64, prog *progress, byClient [][]timedSpan) ([]string, bench.Result) {
	var mu sync.Mutex
	var ids []string
	run := func(op func(w, i int) error) bench.Result { return bench.Run(name, c, d, n, op) }
	if rate > 0 {
		run = func(op func(w, i int) error) bench.Result { return bench.RunAtRate(name, rate, c, d, op) }
	}
	res := run(func(w, i int) error {
		k := i % len(clients)
		start := time.Now()
		body, err := clients[k].do("POST", "/v2/lbaas/loadbalancers", createBody(i), 201)
		if byClient != nil {
			took := time.Since(start)
			mu.Lock()
			byClient[k] = append(byClient[k], timedSpan{start, took})
			mu.Unlock()
		}
		prog.Add(1)
		if err != nil {
			return err
		}
		var v struct {
			LoadBalancer struct {
				ID string `json:"id"`
			} `json:"loadbalancer"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.LoadBalancer.ID == "" {
			return errors.New("no id in response")
		}
		mu.Lock()
		ids = append(ids, v.LoadBalancer.ID)
		mu.Unlock()
		return nil
	})
	return ids, res
}

type memory struct {
	HeapInuse     int64 `json:"heap_inuse"`
	HeapAlloc     int64 `json:"heap_alloc"`
	LoadBalancers int64 `json:"load_balancers"`
	ActiveGrains  int64 `json:"active_grains"`
	// RememberedRequests are the FSM's request-table entries (kept until their
	// deadlines: transient, not data at rest).
	RememberedRequests int64 `json:"remembered_requests"`
}

func readMemory(c *client) (memory, error) {
	var m memory
	body, err := c.do("GET", "/debug/memory", nil, 200)
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	return m, err
}

func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int64
			fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

func singleNode(r *runner, d time.Duration, preload int, add func(string, bench.Result)) []string {
	var notes []string
	n := systemtest.NewNode(r, "bench1")
	n.Start()
	systemtest.Eventually(r, 30*time.Second, "node healthy", n.Healthy)
	c := newClient(n.HTTPAddr, 256)

	base, err := readMemory(c)
	if err != nil {
		r.Fatalf("memory: %v", err)
	}
	baseRSS := rssOf(n.Pid())

	// Creates on one node at three concurrencies (a curve on the charts, as the
	// 3-node creates draw), then top up to the preload count. Each step runs for
	// half the duration: the creates count towards the preload, so the three cost
	// about what one step at 64 for the whole duration did, and they stay short of
	// the preload at the default settings, so the list rows keep their size.
	var ids []string
	for _, conc := range []int{16, 64, 128} {
		more, res := createMany("create", []*client{c}, conc, 0, d/2, nil)
		add("1 node", res)
		ids = append(ids, more...)
	}
	if len(ids) < preload {
		prog := startProgress(fmt.Sprintf("preload: %d more load balancers", preload-len(ids)), preload-len(ids))
		more, res := createMany("preload (create)", []*client{c}, 128, preload-len(ids), 10*time.Minute, prog)
		prog.Finish()
		add("1 node", res)
		ids = append(ids, more...)
	}
	systemtest.Eventually(r, 60*time.Second, "preloaded load balancers ACTIVE", func() bool {
		body, err := c.do("GET", "/v2/lbaas/loadbalancers?provisioning_status=PENDING_CREATE&limit=1&fields=id", nil, 200)
		return err == nil && bytes.Contains(body, []byte(`"loadbalancers":[]`))
	})

	// Memory per stored load balancer at rest, measured as the scale scenario
	// measures it: the grains that created them passivated, the requests
	// forgotten, what the burst freed returned to the OS.
	waitAtRest(r, c, 60*time.Second)
	mem, err := readMemory(c)
	if err == nil && mem.LoadBalancers > base.LoadBalancers {
		count := float64(mem.LoadBalancers - base.LoadBalancers)
		notes = append(notes, fmt.Sprintf("memory at %d load balancers, grains passivated: live Go heap after GC %.0f bytes per load balancer (%.0f MiB in all); heap spans in use %.0f bytes per load balancer; process RSS grew %.0f bytes per load balancer",
			mem.LoadBalancers, float64(mem.HeapAlloc-base.HeapAlloc)/count, float64(mem.HeapAlloc)/(1<<20),
			float64(mem.HeapInuse-base.HeapInuse)/count, float64(rssOf(n.Pid())-baseRSS)/count))
	}

	rng := func(w int) *rand.Rand { return rand.New(rand.NewPCG(uint64(w), 42)) }
	rngs := make([]*rand.Rand, 256)
	for i := range rngs {
		rngs[i] = rng(i)
	}
	add("1 node", bench.Run("show", 64, d, 0, func(w, i int) error {
		_, err := c.do("GET", "/v2/lbaas/loadbalancers/"+ids[rngs[w].IntN(len(ids))], nil, 200)
		return err
	}))
	// List latency is measured at low concurrency (2 cores serve both sides).
	for _, conc := range []int{1, 4} {
		add("1 node", bench.Run(fmt.Sprintf("list limit=100 of %dk (first page)", len(ids)/1000), conc, d, 0, func(w, i int) error {
			_, err := c.do("GET", "/v2/lbaas/loadbalancers?limit=100", nil, 200)
			return err
		}))
		add("1 node", bench.Run(fmt.Sprintf("list limit=100 of %dk (random marker)", len(ids)/1000), conc, d, 0, func(w, i int) error {
			_, err := c.do("GET", "/v2/lbaas/loadbalancers?limit=100&marker="+ids[rngs[w].IntN(len(ids))], nil, 200)
			return err
		}))
	}
	add("1 node", bench.Run("list limit=100, name filter (indexed)", 8, d, 0, func(w, i int) error {
		_, err := c.do("GET", fmt.Sprintf("/v2/lbaas/loadbalancers?limit=100&name=bench-%d", rngs[w].IntN(len(ids))), nil, 200)
		return err
	}))
	n.Kill()
	return notes
}

func threeNodes(r *runner, d time.Duration, add func(string, bench.Result)) []string {
	nodes := systemtest.StartCluster(r, 3)
	var clients []*client
	for _, n := range nodes {
		clients = append(clients, newClient(n.HTTPAddr, 256))
	}
	for _, conc := range []int{16, 64, 128} {
		_, res := createMany("create (round-robin over nodes)", clients, conc, 0, d, nil)
		add("3 nodes", res)
	}
	// Issue 14's goal read as a rate: creates offered at a fixed rate from 64
	// connections, each timed from when it was due.
	for _, rate := range []int{1000, 2000} {
		_, res := createManyTimed(fmt.Sprintf("create at %d/s offered (round-robin over nodes)", rate), clients, 64, 0, d, float64(rate), nil, nil)
		add("3 nodes", res)
	}
	ids, _ := createMany("seed", clients, 32, 2000, time.Minute, nil)
	add("3 nodes", bench.Run("show (round-robin over nodes)", 64, d, 0, func(w, i int) error {
		_, err := clients[i%3].do("GET", "/v2/lbaas/loadbalancers/"+ids[i%len(ids)], nil, 200)
		return err
	}))
	for _, n := range nodes {
		n.Kill()
	}
	return nil
}

// niceness is this process's nice value (0 if unknown).
func niceness() int {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - prio // the raw syscall returns 20 - nice
}
