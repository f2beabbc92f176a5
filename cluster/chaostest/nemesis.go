package chaostest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"keel/cluster/systemtest"
)

// Fault is one injected fault, in run time (ns since the recorder started).
type Fault struct {
	Kind   string
	Target string
	Start  int64
	End    int64 // healed (restarted, resumed, rules removed)
	Whole  int64 // the cluster whole again after End (see whole); 0: not within healthyTimeout
	Note   string
}

// Scenario names, as `make chaos` runs them.
const (
	KillLeader     = "kill-leader"
	KillFollower   = "kill-follower"
	PauseLeader    = "pause-leader"
	PartitionLead  = "partition-leader"
	OneWay         = "partition-oneway"
	RestartNoJoin  = "restart-nojoin"
	Mixed          = "mixed"
	faultKinds     = 6
	healthyTimeout = 20 * time.Second
)

// Scenarios lists every scenario in the order `make chaos` runs them.
var Scenarios = []string{KillLeader, KillFollower, PauseLeader, PartitionLead, OneWay, RestartNoJoin, Mixed}

// nemesis injects faults into a running cluster and heals them.
type nemesis struct {
	t      systemtest.T
	nodes  []*systemtest.Node
	fw     *Firewall // nil: partitions are replaced by pauses
	rec    *Recorder
	rng    *rand.Rand
	http   *http.Client
	mu     sync.Mutex
	faults []Fault
	notes  []string // what did not recover, and other findings along the way
	paused map[string]bool
	down   map[string]bool
}

func newNemesis(t systemtest.T, nodes []*systemtest.Node, fw *Firewall, rec *Recorder, seed int64) *nemesis {
	return &nemesis{t: t, nodes: nodes, fw: fw, rec: rec, rng: rand.New(rand.NewSource(seed)),
		http: &http.Client{Timeout: time.Second}, paused: map[string]bool{}, down: map[string]bool{}}
}

func (m *nemesis) note(format string, args ...any) {
	s := fmt.Sprintf("%v: ", time.Duration(m.rec.Now()).Round(time.Millisecond)) + fmt.Sprintf(format, args...)
	m.t.Logf("nemesis: %s", s)
	m.mu.Lock()
	m.notes = append(m.notes, s)
	m.mu.Unlock()
}

func (m *nemesis) record(f Fault) {
	m.t.Logf("nemesis: %s %s from %v to %v %s", f.Kind, f.Target, time.Duration(f.Start).Round(time.Millisecond),
		time.Duration(f.End).Round(time.Millisecond), f.Note)
	m.mu.Lock()
	m.faults = append(m.faults, f)
	m.mu.Unlock()
}

// leader asks the nodes for the current leader (the name most of them report).
func (m *nemesis) leader() *systemtest.Node {
	votes := map[string]int{}
	for _, n := range m.nodes {
		if m.paused[n.Name] || m.down[n.Name] {
			continue
		}
		resp, err := m.http.Get(n.URL("/cluster"))
		if err != nil {
			continue
		}
		var v struct {
			Leader string `json:"leader"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if v.Leader != "" {
			votes[v.Leader]++
		}
	}
	best, count := "", 0
	for name, c := range votes {
		if c > count || (c == count && name < best) {
			best, count = name, c
		}
	}
	return systemtest.ByName(m.nodes, best)
}

func (m *nemesis) follower(leader *systemtest.Node) *systemtest.Node {
	var fs []*systemtest.Node
	for _, n := range m.nodes {
		if n != leader {
			fs = append(fs, n)
		}
	}
	return fs[m.rng.Intn(len(fs))]
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (m *nemesis) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(m.rng.Int63n(int64(hi-lo)+1))
}

// run injects faults of scenario until ctx ends, then heals everything. Between
// faults it waits for the cluster to be whole again (bounded): a cluster that does
// not recover is a finding, noted, and the next fault comes anyway.
func (m *nemesis) run(ctx context.Context, scenario string, first time.Duration) {
	defer m.healAll()
	if !sleep(ctx, first) {
		return
	}
	for ctx.Err() == nil {
		kind := scenario
		if scenario == Mixed {
			kind = Scenarios[m.rng.Intn(faultKinds)]
		}
		m.inject(ctx, kind)
		m.awaitRecovery(ctx)
		if !sleep(ctx, m.between(2*time.Second, 4*time.Second)) {
			return
		}
	}
}

// inject runs one fault of kind to its end (healed before it returns).
func (m *nemesis) inject(ctx context.Context, kind string) {
	leader := m.leader()
	if leader == nil {
		m.note("no leader agreed on before %s; fault skipped", kind)
		return
	}
	target := leader
	if kind == KillFollower || kind == RestartNoJoin {
		target = m.follower(leader)
	}
	if kind == RestartNoJoin && m.rng.Intn(2) == 0 {
		target = leader
	}
	if (kind == PartitionLead || kind == OneWay) && m.fw == nil {
		kind = PauseLeader + " (no iptables)"
	}
	f := Fault{Kind: kind, Target: target.Name, Start: m.rec.Now()}
	switch kind {
	case KillLeader, KillFollower, RestartNoJoin:
		m.down[target.Name] = true
		target.Kill()
		sleep(ctx, m.between(time.Second, 3*time.Second))
		if kind == RestartNoJoin {
			target.StartWithoutJoin()
			f.Note = "restarted without -join"
		} else {
			target.Start()
		}
		delete(m.down, target.Name)
	case PauseLeader, PauseLeader + " (no iptables)":
		m.paused[target.Name] = true
		target.Pause()
		sleep(ctx, m.between(3*time.Second, 6*time.Second))
		target.Resume()
		delete(m.paused, target.Name)
	case PartitionLead:
		if err := m.fw.Isolate(target.Name); err != nil {
			m.t.Errorf("partition: %v", err)
		}
		sleep(ctx, m.between(4*time.Second, 6*time.Second))
		f.Note = "seen before healing: " + viewOf(target) // evidence that the cut took
		if err := m.fw.Heal(); err != nil {
			m.t.Errorf("heal: %v", err)
		}
	case OneWay:
		// The leader can hear but not speak: its heartbeats and replies are lost.
		var to []string
		for _, n := range m.nodes {
			if n != target {
				to = append(to, n.Name)
				if err := m.fw.Cut(target.Name, n.Name); err != nil {
					m.t.Errorf("cut: %v", err)
				}
			}
		}
		f.Note = target.Name + " ↛ " + strings.Join(to, ",")
		sleep(ctx, m.between(4*time.Second, 6*time.Second))
		f.Note += "; seen before healing: " + viewOf(target)
		if err := m.fw.Heal(); err != nil {
			m.t.Errorf("heal: %v", err)
		}
	}
	f.End = m.rec.Now()
	m.record(f)
}

// viewOf summarizes n's /cluster: its leader and how it sees each member.
func viewOf(n *systemtest.Node) string {
	v := n.Cluster()
	if v == nil {
		return n.Name + " does not answer"
	}
	var ms []string
	for _, mem := range v.Members {
		ms = append(ms, mem.Name+"="+mem.Status)
	}
	return fmt.Sprintf("%s: leader %q, term %d, %s", n.Name, v.Leader, v.Raft.Term, strings.Join(ms, " "))
}

// awaitRecovery waits until every node is healthy and agrees on a leader with all
// nodes as voters, and records when that was on the last fault. It waits also
// after the run's end (bounded by healthyTimeout), so every fault's healing is
// measured.
func (m *nemesis) awaitRecovery(ctx context.Context) {
	deadline := time.Now().Add(healthyTimeout)
	for time.Now().Before(deadline) {
		if whole(m.nodes) == "" {
			now := m.rec.Now()
			m.mu.Lock()
			if len(m.faults) > 0 {
				m.faults[len(m.faults)-1].Whole = now
			}
			m.mu.Unlock()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.note("cluster not whole %v after the fault: %s", healthyTimeout, whole(m.nodes))
}

// HealTime is how long the cluster took to become whole after the fault was
// healed (-1: not within healthyTimeout).
func (f Fault) HealTime() time.Duration {
	if f.Whole == 0 {
		return -1
	}
	return time.Duration(f.Whole - f.End)
}

// whole returns "" if every node is healthy, sees every node alive and agrees on
// one leader with all of them as voters, else what is missing.
func whole(nodes []*systemtest.Node) string {
	leaders := map[string]bool{}
	var problems []string
	for _, n := range nodes {
		v := n.Cluster()
		if v == nil {
			problems = append(problems, n.Name+" does not answer /cluster")
			continue
		}
		leaders[v.Leader] = true
		for _, o := range nodes {
			raft, status := v.Role(o.Name)
			if raft != "voter" || status != "alive" {
				problems = append(problems, fmt.Sprintf("%s sees %s as %q/%q", n.Name, o.Name, status, raft))
			}
		}
	}
	if len(leaders) != 1 || leaders[""] {
		var ls []string
		for l := range leaders {
			ls = append(ls, fmt.Sprintf("%q", l))
		}
		sort.Strings(ls)
		problems = append(problems, "leaders "+strings.Join(ls, ","))
	}
	return strings.Join(problems, "; ")
}

// healAll removes every fault: rules, pauses, stopped nodes.
func (m *nemesis) healAll() {
	if m.fw != nil {
		if err := m.fw.Heal(); err != nil {
			m.t.Errorf("heal: %v", err)
		}
	}
	for _, n := range m.nodes {
		n.Resume()
		if !n.Running() {
			n.Start()
		}
	}
	m.paused, m.down = map[string]bool{}, map[string]bool{}
}

func (m *nemesis) result() ([]Fault, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Fault(nil), m.faults...), append([]string(nil), m.notes...)
}
