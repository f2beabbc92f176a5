package chaostest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"keel/cluster/systemtest"
)

// Config is one chaos run.
type Config struct {
	Scenario string        // one of Scenarios
	Faults   []string      // if set: exactly these faults, in order, instead of Scenario's loop
	Nodes    int           // default 3
	Clients  int           // default 8
	Trees    int           // load balancer trees (LB + listener + pool + members), default 6
	Duration time.Duration // workload and nemesis time, default 30 s
	First    time.Duration // quiet time before the first fault, default 2 s
	Seed     int64         // default: the time
}

func (c *Config) defaults() {
	if c.Nodes == 0 {
		c.Nodes = 3
	}
	if c.Clients == 0 {
		c.Clients = 8
	}
	if c.Trees == 0 {
		c.Trees = 6
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.First == 0 {
		c.First = 2 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano()
	}
	if c.Scenario == "" {
		c.Scenario = Mixed
	}
}

// Result is what a run found.
type Result struct {
	Config     Config
	Counts     Counts
	Verdict    porcupine.CheckResult
	Illegal    []string  // objects whose history is not linearizable
	Anomalies  []Anomaly // reads of 4xx'd or never written values
	Lost       []string  // acknowledged creates missing / deletes present, per node
	Divergence []string  // indexes or rendered state that differ between nodes
	Pending    []string  // objects not ACTIVE 60 s after healing
	Unhealed   string    // what was still not whole 30 s after healing
	Unreadable []string  // nodes that did not serve the final reads
	Gaps       []Gap     // the clients' view: longest time without any client's successful write
	ProbeGaps  []Gap     // the cluster's: longest time without a successful open-loop probe create
	Faults     []Fault
	Notes      []string // nemesis findings: faults after which the cluster did not recover
	Partitions string   // why partitions were replaced by pauses, if they were
	Artifacts  string   // directory with history.html, history.jsonl and node logs
}

// Failures lists what makes the run fail, one line per class.
func (r *Result) Failures() []string {
	var out []string
	if r.Verdict != porcupine.Ok {
		out = append(out, fmt.Sprintf("linearizability: %s (%d objects: %v)", r.Verdict, len(r.Illegal), shorten(r.Illegal)))
	}
	for _, a := range r.Anomalies {
		out = append(out, "anomaly: "+a.String())
	}
	for _, l := range r.Lost {
		out = append(out, "lost: "+l)
	}
	for _, d := range r.Divergence {
		out = append(out, "divergence: "+d)
	}
	if len(r.Pending) > 0 {
		out = append(out, fmt.Sprintf("stuck: %d objects not ACTIVE 60s after healing: %v", len(r.Pending), shorten(r.Pending)))
	}
	for _, u := range r.Unreadable {
		out = append(out, "unreadable: "+u)
	}
	if r.Unhealed != "" {
		out = append(out, "not healed 30s after the last fault: "+r.Unhealed)
	}
	return out
}

func shorten(s []string) []string {
	if len(s) > 5 {
		return append(append([]string(nil), s[:5]...), fmt.Sprintf("… %d more", len(s)-5))
	}
	return s
}

// MaxHealTime is the longest time the cluster took to become whole after a
// fault was healed (-1 if once it did not within healthyTimeout).
func (r *Result) MaxHealTime() time.Duration {
	var m time.Duration
	for _, f := range r.Faults {
		if f.HealTime() < 0 {
			return -1
		}
		m = max(m, f.HealTime())
	}
	return m
}

// MaxGap is the longest write gap of the run, as the clients saw it.
func (r *Result) MaxGap() time.Duration { return maxGap(r.Gaps) }

// MaxProbeGap is the longest time the cluster accepted no new load balancer.
func (r *Result) MaxProbeGap() time.Duration { return maxGap(r.ProbeGaps) }

func maxGap(gaps []Gap) time.Duration {
	var m time.Duration
	for _, g := range gaps {
		m = max(m, g.Max)
	}
	return m
}

// Run starts a cluster, runs the workload under the nemesis, heals, checks and
// reports. Failures are reported with t.Errorf (the run goes on to the end so a
// suite can tabulate); setup problems are fatal. Every process and rule it
// creates is gone when it returns.
func Run(t systemtest.T, cfg Config) *Result {
	t.Helper()
	cfg.defaults()
	res := &Result{Config: cfg}
	t.Logf("chaos: scenario %s, seed %d, %d nodes, %d clients, %v", cfg.Scenario, cfg.Seed, cfg.Nodes, cfg.Clients, cfg.Duration)

	// Own loopback address and uid per node, unique per test process.
	pid := os.Getpid()
	root := os.Geteuid() == 0
	nodes := make([]*systemtest.Node, cfg.Nodes)
	var gossip []string
	for i := range nodes {
		host := fmt.Sprintf("127.0.%d.%d", 1+pid%250, 10+i)
		uid := 0
		if root {
			uid = 20000 + (pid%1000)*10 + i
		}
		nodes[i] = systemtest.NewNodeOn(t, fmt.Sprintf("n%d", i+1), host, uid)
		nodes[i].Expect = cfg.Nodes
		gossip = append(gossip, nodes[i].GossipAddr)
	}
	fw, err := NewFirewall(nodes)
	if err != nil {
		res.Partitions = "partitions replaced by pauses: iptables not usable: " + err.Error()
		t.Logf("chaos: %s", res.Partitions)
	}
	defer fw.Close()
	t.Cleanup(fw.Close) // also after a panic or Fatal

	for _, n := range nodes {
		n.Join = gossip
		n.Start()
	}
	systemtest.WaitConverged(t, nodes, cfg.Nodes, 60*time.Second)

	rec := NewRecorder()
	a := newAPI(rec, 4*time.Second)
	defer a.close()
	u := newUniverse()
	setupCtx, cancelSetup := context.WithTimeout(context.Background(), 60*time.Second)
	err = setup(setupCtx, a, u, nodes, cfg.Trees)
	cancelSetup()
	if err != nil {
		t.Fatal(err)
	}

	// Workload and nemesis.
	clientCtx, stopClients := context.WithCancel(context.Background())
	defer stopClients()
	var clients sync.WaitGroup
	for c := 1; c <= cfg.Clients; c++ {
		clients.Add(1)
		go func(c int) {
			defer clients.Done()
			clientLoop(clientCtx, a, u, nodes, c, cfg.Seed+int64(c))
		}(c)
	}
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		probeLoop(clientCtx, a, u, nodes, probeClient(cfg))
	}()
	nem := newNemesis(t, nodes, fw, rec, cfg.Seed)
	nemCtx, stopNemesis := context.WithTimeout(context.Background(), cfg.Duration)
	defer stopNemesis()
	nemDone := make(chan struct{})
	go func() {
		defer close(nemDone)
		if len(cfg.Faults) > 0 {
			defer nem.healAll()
			if !sleep(nemCtx, cfg.First) {
				return
			}
			for _, f := range cfg.Faults {
				nem.inject(nemCtx, f)
				nem.awaitRecovery(nemCtx)
				if !sleep(nemCtx, 2*time.Second) {
					return
				}
			}
			<-nemCtx.Done()
			return
		}
		nem.run(nemCtx, cfg.Scenario, cfg.First)
	}()
	<-nemDone
	time.Sleep(3 * time.Second) // the clients go on a little on the healed cluster
	stopClients()
	clients.Wait()
	<-probeDone
	runEnd := rec.Now()
	res.Faults, res.Notes = nem.result()

	// Healed: the cluster must become whole, settle and agree.
	deadline := time.Now().Add(30 * time.Second)
	for res.Unhealed = whole(nodes); res.Unhealed != "" && time.Now().Before(deadline); res.Unhealed = whole(nodes) {
		time.Sleep(200 * time.Millisecond)
	}
	pools := u.pools()
	var listErr error
	res.Pending, listErr = waitSettled(a, nodes[0], pools, 60*time.Second)
	if listErr != nil {
		res.Unreadable = append(res.Unreadable, "no list of every object within 60s after healing: "+listErr.Error())
	}

	// Final reads of every object on every node: part of the history, and the
	// acknowledged-write check.
	all, acked, ackedDeletes, deleteTried := u.snapshot()
	final := map[string]map[string]string{} // node → obj → read
	var readers sync.WaitGroup
	var finalMu sync.Mutex
	for i, n := range nodes {
		// Each reader writes only its own node's map: the outer map is written
		// here, before the reader starts, and read after every reader ended.
		reads := map[string]string{}
		final[n.Name] = reads
		readers.Add(1)
		go func(i int, n *systemtest.Node) {
			defer readers.Done()
			failures := 0
			for _, o := range all {
				r := a.read(cfg.Clients+1+i, n, o)
				finalMu.Lock()
				if r.Outcome == OK {
					reads[o.ID] = r.Read
					failures = 0
				} else {
					reads[o.ID] = fmt.Sprintf("<HTTP %d %s>", r.Status, r.Err)
					failures++
				}
				finalMu.Unlock()
				if failures == 3 { // bounded: a node that does not serve reads is reported, not waited for
					finalMu.Lock()
					res.Unreadable = append(res.Unreadable, fmt.Sprintf("%s: 3 reads in a row failed after healing (last: HTTP %d %s)", n.Name, r.Status, r.Err))
					finalMu.Unlock()
					return
				}
			}
		}(i, n)
	}
	readers.Wait()
	for _, n := range nodes {
		for _, o := range acked {
			if got, ok := final[n.Name][o.ID]; ok && !deleteTried[o.ID] && got == Gone {
				res.Lost = append(res.Lost, fmt.Sprintf("%s: %s %s created (201) but absent", n.Name, o.Kind, o.ID))
			}
		}
		for _, o := range ackedDeletes {
			if got, ok := final[n.Name][o.ID]; ok && got != Gone && !strings.HasPrefix(got, "<HTTP") {
				res.Lost = append(res.Lost, fmt.Sprintf("%s: %s %s deleted (204) but present: %s", n.Name, o.Kind, o.ID, got))
			}
		}
	}

	if idx, ok := waitSameIndex(nodes, 15*time.Second); !ok {
		res.Divergence = append(res.Divergence, "applied indexes (fsm/raft) differ: "+idx)
	}
	var first listing
	var firstNode string
	for _, n := range nodes {
		l, err := list(a, n, pools)
		if err != nil {
			res.Unreadable = append(res.Unreadable, "state not listed for the divergence check: "+err.Error())
			continue
		}
		if first == nil {
			first, firstNode = l, n.Name
			continue
		}
		if l.digest() != first.digest() {
			res.Divergence = append(res.Divergence, fmt.Sprintf("%s's state differs from %s's: %v", n.Name, firstNode, first.diff(l)))
		}
	}

	recs := rec.Records()
	res.Counts = Count(recs)
	v := Check(recs, 2*time.Minute)
	res.Verdict, res.Illegal = v.Result, v.Illegal
	res.Anomalies = Anomalies(recs)
	res.Gaps = writeGaps(recs, res.Faults, 5*time.Second, runEnd)
	res.ProbeGaps = writeGaps(probesOf(recs, probeClient(cfg)), res.Faults, 5*time.Second, runEnd)

	t.Logf("chaos: %d ops (%d ok, %d 4xx, %d unknown), %d checked; porcupine: %s", res.Counts.Ops, res.Counts.OK,
		res.Counts.Failed, res.Counts.Unknown, v.Ops, v.Result)
	for i, g := range res.Gaps {
		t.Logf("chaos: %s %s at %v: longest time without a successful write %v (probe), %v (clients); whole again %v after healing", g.Fault.Kind, g.Fault.Target,
			time.Duration(g.Fault.Start).Round(time.Millisecond), res.ProbeGaps[i].Max.Round(time.Millisecond), g.Max.Round(time.Millisecond),
			g.Fault.HealTime().Round(time.Millisecond))
	}
	if fails := res.Failures(); len(fails) > 0 {
		dir, err := os.MkdirTemp("", "keel-chaos-")
		if err == nil {
			res.Artifacts = dir
			if err := SaveArtifacts(dir, recs, v, res.Faults); err != nil {
				t.Logf("chaos: saving artifacts: %v", err)
			}
			for _, n := range nodes {
				if b, err := os.ReadFile(n.LogPath); err == nil {
					_ = os.WriteFile(filepath.Join(dir, n.Name+".log"), b, 0o644)
				}
			}
		}
		for _, f := range fails {
			t.Errorf("chaos %s (seed %d): %s", cfg.Scenario, cfg.Seed, f)
		}
		t.Errorf("chaos: history, visualization and node logs in %s", res.Artifacts)
	}
	return res
}
