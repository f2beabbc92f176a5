package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/agent/heartbeat"
	"keel/cluster/systemtest"
)

// The heartbeats scenario measures a real keeld's heartbeat path — its
// -health-addr receiver, the verifier (HMAC, replay, staleness), the call to the
// amphora's grain, the grain's store read and Octavia's mapping (healthmap) —
// with many amphorae and no agents.
//
// Design: a node on the noop driver creates the load balancers (records only:
// each gets its amphora row, as the noop provider makes them), then the same
// node is restarted on its data dir with -amphora-driver local. Now it runs the
// receiver and real Amphora grains, and the leader's reconciler supervises every
// amphora row (Watch), exactly as with real agents; no agent runs, because
// nothing is built: the rows exist already. The generator sends, for every
// amphora, the heartbeats its agent would send (the real Sender's messages, the
// real wire format) reporting its listener OPEN, its pool and both members UP.
// The only differences from production are the missing agents and the
// heartbeat timeout (10 min, so a pause of the generator between phases cannot
// start 1,000 failovers, which would build 1,000 real agents); the timeout does
// not change what handling a heartbeat costs.

// hbAmphora is one simulated amphora: its record's id and what its heartbeats report.
type hbAmphora struct {
	id     string
	sender *heartbeat.Sender
	sample heartbeat.Sample
}

// encoder is the wire format of heartbeat.Encode (zlib(JSON) then the hex
// HMAC-SHA256 of the compressed bytes) with one reused zlib writer at
// BestSpeed: heartbeat.Encode allocates a level-9 writer per message (about
// 0.5 ms each), far too slow to generate tens of thousands per second on the
// cores keeld runs on. The receiver's work (inflate, HMAC, JSON) is the same.
type encoder struct {
	key []byte
	buf bytes.Buffer
	zw  *zlib.Writer
}

func newEncoder(key []byte) *encoder {
	e := &encoder{key: key}
	e.zw, _ = zlib.NewWriterLevel(&e.buf, zlib.BestSpeed)
	return e
}

func (e *encoder) encode(msg *heartbeat.Message) ([]byte, error) {
	js, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	e.buf.Reset()
	e.zw.Reset(&e.buf)
	e.zw.Write(js)
	if err := e.zw.Close(); err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, e.key)
	mac.Write(e.buf.Bytes())
	return hex.AppendEncode(append([]byte(nil), e.buf.Bytes()...), mac.Sum(nil)), nil
}

// corpus builds rounds heartbeats of every amphora, round after round (so the
// verifier accepts every one: each amphora's seqs increase), on two goroutines.
// Timestamps are the real build time: the corpus must be sent within the
// verifier's window (30 s).
func corpus(amps []*hbAmphora, key []byte, rounds int) ([][]byte, error) {
	out := make([][]byte, rounds*len(amps))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for part := 0; part < 2; part++ {
		wg.Add(1)
		go func(part int) {
			defer wg.Done()
			e := newEncoder(key)
			for round := 0; round < rounds; round++ {
				for i := part; i < len(amps); i += 2 {
					d, err := e.encode(amps[i].sender.Build(amps[i].sample))
					if err != nil {
						errs[part] = err
						return
					}
					out[round*len(amps)+i] = d
				}
			}
		}(part)
	}
	wg.Wait()
	if errs[0] != nil {
		return nil, errs[0]
	}
	return out, errs[1]
}

// hbCounters is GET /debug/heartbeats.
type hbCounters struct {
	Listening   bool   `json:"listening"`
	Received    uint64 `json:"received"`
	Accepted    uint64 `json:"accepted"`
	Forged      uint64 `json:"forged"`
	Replayed    uint64 `json:"replayed"`
	Stale       uint64 `json:"stale"`
	Malformed   uint64 `json:"malformed"`
	Dropped     uint64 `json:"dropped"`
	Late        uint64 `json:"late"`
	Handled     uint64 `json:"handled"`
	Undelivered uint64 `json:"undelivered"`
}

// done is how many received datagrams have reached their end.
func (c hbCounters) done() uint64 {
	return c.Handled + c.Dropped + c.Late + c.Forged + c.Replayed + c.Stale + c.Malformed
}

func (c hbCounters) minus(o hbCounters) hbCounters {
	return hbCounters{Listening: c.Listening, Received: c.Received - o.Received, Accepted: c.Accepted - o.Accepted,
		Forged: c.Forged - o.Forged, Replayed: c.Replayed - o.Replayed, Stale: c.Stale - o.Stale,
		Malformed: c.Malformed - o.Malformed, Dropped: c.Dropped - o.Dropped, Late: c.Late - o.Late,
		Handled: c.Handled - o.Handled, Undelivered: c.Undelivered - o.Undelivered}
}

func readHeartbeats(c *client) (hbCounters, error) {
	var v hbCounters
	body, err := c.do("GET", "/debug/heartbeats", nil, 200)
	if err == nil {
		err = json.Unmarshal(body, &v)
	}
	return v, err
}

// hbPhase is one measured phase.
type hbPhase struct {
	name    string
	sent    int
	elapsed time.Duration // first send → the last datagram's end
	sending time.Duration // first send → last send
	delta   hbCounters
	commits uint64  // Raft commit index advance
	cpu     float64 // keeld CPU seconds
}

func (p hbPhase) row() string {
	rate := float64(p.delta.Handled-p.delta.Undelivered) / p.elapsed.Seconds()
	perBeat := "-"
	if p.delta.Handled > 0 {
		perBeat = fmt.Sprintf("%.1f µs", 1e6*p.cpu/float64(p.delta.Handled))
	}
	lost := uint64(p.sent) - p.delta.Received
	offered := "-"
	if p.sent > 0 {
		offered = fmt.Sprintf("%.0f", float64(p.sent)/p.sending.Seconds())
	}
	return fmt.Sprintf("| %s | %d | %s | %.1f s | %.0f | %d | %d | %d | %d | %d | %d | %.1f | %.0f%% | %s |\n",
		p.name, p.sent, offered, p.elapsed.Seconds(), rate, p.delta.Handled, p.delta.Undelivered, p.delta.Dropped, p.delta.Late, lost,
		p.commits, float64(p.commits)/p.elapsed.Seconds(), 100*p.cpu/p.elapsed.Seconds(), perBeat)
}

// heartbeats runs the scenario; profile, when not empty, is where keeld's CPU
// profile of the saturation phase is written.
func heartbeats(r *runner, count int, d time.Duration, profile string) string {
	// 1. The records, on the noop driver.
	n := systemtest.NewNode(r, "hb")
	n.ExtraArgs = []string{"-provision-delay", "1ms"}
	n.StartHealthy(60 * time.Second)
	c := newClient(n.HTTPAddr, 64)
	t0 := time.Now()
	amps := hbRecords(r, c, count)
	fmt.Printf("heartbeats: %d fully populated load balancers with their amphora records in %v\n", len(amps), time.Since(t0).Round(time.Millisecond))

	// 2. The same node on the local driver: receiver and Amphora grains run.
	key := []byte("keelbench-heartbeat-key-" + uuid.NewString())
	n.Kill()
	n.AmphoraDriver = "local"
	n.ExtraArgs = []string{"-vip-cidr", vipCIDR(), "-heartbeat-key", string(key),
		"-heartbeat-interval", "10s", "-heartbeat-timeout", "10m"}
	n.StartHealthy(60 * time.Second)
	c = newClient(n.HTTPAddr, 8)
	systemtest.Eventually(r, 30*time.Second, "heartbeat receiver listening", func() bool {
		v, err := readHeartbeats(c)
		return err == nil && v.Listening
	})
	for _, a := range amps {
		s, err := heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: a.id, Key: key, Interval: time.Second,
			Source: func(context.Context) (heartbeat.Sample, error) { return a.sample, nil }})
		if err != nil {
			r.Fatalf("heartbeats: %v", err)
		}
		a.sender = s
	}
	raddr, err := net.ResolveUDPAddr("udp", n.HealthAddr)
	if err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	defer conn.Close()
	commit := func() uint64 {
		if v := n.Cluster(); v != nil {
			return v.Raft.CommitIndex
		}
		r.Fatalf("heartbeats: GET /cluster failed")
		return 0
	}

	// run sends data (paced at rate per second, or closed-loop with at most
	// window datagrams not yet at their end when rate is 0) until it is sent or
	// d passed, then waits (at most 30 s) until every received datagram ended.
	run := func(name string, data [][]byte, rate, window int, limit time.Duration) hbPhase {
		p := hbPhase{name: name}
		before, err := readHeartbeats(c)
		if err != nil {
			r.Fatalf("heartbeats: %v", err)
		}
		idx0, cpu0 := commit(), cpuSeconds(n.Pid())
		start := time.Now()
		lostBase := uint64(0) // datagrams the kernel dropped, once known
		anchor, from := start, 0
		last, lastPoll := before, time.Now()
		for i := 0; i < len(data); i++ {
			if time.Since(start) > limit {
				break
			}
			if rate > 0 {
				// Paced: datagram i leaves at anchor + (i-from)/rate, in bursts of at
				// most rate/1000 (sleeps of a millisecond or more). A generator
				// that fell behind (descheduled) does not catch up in one burst,
				// which would overflow the socket buffer on its own: it takes its
				// schedule again from now.
				due := anchor.Add(time.Duration(float64(i-from) / float64(rate) * float64(time.Second)))
				if wait := time.Until(due); wait >= time.Millisecond {
					time.Sleep(wait)
				} else if wait < -2*time.Millisecond {
					anchor, from = time.Now(), i
				}
			} else {
				for uint64(p.sent)-lostBase-(last.done()-before.done()) >= uint64(window) {
					cur, err := readHeartbeats(c)
					if err != nil {
						r.Fatalf("heartbeats: %v", err)
					}
					if cur.done() == last.done() && time.Since(lastPoll) > 200*time.Millisecond {
						// No progress: what was not received was dropped by the kernel.
						lostBase = uint64(p.sent) - (cur.Received - before.Received)
						lastPoll = time.Now()
					}
					if cur.done() != last.done() {
						lastPoll = time.Now()
					}
					last = cur
					if uint64(p.sent)-lostBase-(last.done()-before.done()) >= uint64(window) {
						time.Sleep(time.Millisecond)
					}
				}
			}
			if _, err := conn.Write(data[i]); err != nil {
				r.Fatalf("heartbeats: send: %v", err)
			}
			p.sent++
		}
		p.sending = time.Since(start)
		// Every received datagram at its end, and either all received or none
		// more for 500 ms (the rest was dropped by the kernel; a reader merely
		// descheduled on a busy machine resumes well within that). The phase
		// ends at the last change seen.
		var after hbCounters
		end, changed := time.Now(), time.Now()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			cur, err := readHeartbeats(c)
			if err != nil {
				r.Fatalf("heartbeats: %v", err)
			}
			if cur.Received != after.Received || cur.done() != after.done() {
				end, changed = time.Now(), time.Now()
			}
			after = cur
			if after.done() == after.Received &&
				(after.Received-before.Received == uint64(p.sent) || time.Since(changed) > 500*time.Millisecond) {
				break
			}
			if time.Now().After(deadline) {
				r.Fatalf("heartbeats: %s: datagrams still in flight 30 s after the last send: %+v", name, after.minus(before))
			}
		}
		p.elapsed = end.Sub(start)
		p.delta = after.minus(before)
		p.commits = commit() - idx0
		p.cpu = cpuSeconds(n.Pid()) - cpu0
		fmt.Println("heartbeats:", strings.TrimSpace(p.row()))
		return p
	}

	var phases []hbPhase
	var notes []string
	// Warm-up: one heartbeat per amphora; the first changes the operating
	// statuses the noop provider left OFFLINE (written once, on change).
	data, err := corpus(amps, key, 1)
	if err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	idx0 := commit()
	warm := run("warm-up: 1 heartbeat per amphora, paced 5k/s", data, 5000, 0, time.Minute)
	time.Sleep(2 * time.Second) // RecordHealth writes land
	warm.commits = commit() - idx0
	phases = append(phases, warm)
	if warm.delta.Forged > 0 || warm.delta.Handled == 0 {
		r.Fatalf("heartbeats: warm-up not accepted (-heartbeat-key not the cluster's?): %+v", warm.delta)
	}

	// Idle: what supervising the amphorae costs with no heartbeat at all (the
	// leader's reconciler sends Watch to every amphora grain each second).
	cpu0, idx1 := cpuSeconds(n.Pid()), commit()
	time.Sleep(5 * time.Second)
	idle := hbPhase{name: "no heartbeats (supervision only), 5 s", elapsed: 5 * time.Second,
		cpu: cpuSeconds(n.Pid()) - cpu0, commits: commit() - idx1}
	phases = append(phases, idle)

	// Saturation: closed loop, at most 500 datagrams not yet at their end.
	rounds := max(1, int(40000*d.Seconds())/len(amps))
	t1 := time.Now()
	if data, err = corpus(amps, key, rounds); err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	notes = append(notes, fmt.Sprintf("the generator built %d datagrams in %v (BestSpeed zlib, reused writer)", len(data), time.Since(t1).Round(time.Millisecond)))
	var prof sync.WaitGroup
	if profile != "" {
		prof.Add(1)
		go func() {
			defer prof.Done()
			pc := &client{hc: &fasthttp.HostClient{Addr: n.HTTPAddr, ReadTimeout: d + 30*time.Second}}
			body, err := pc.do("GET", fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(d.Seconds())-1)), nil, 200)
			if err == nil {
				err = os.WriteFile(profile, body, 0o644)
			}
			if err != nil {
				fmt.Println("heartbeats: profile:", err)
			}
		}()
	}
	phases = append(phases, run(fmt.Sprintf("saturation: closed loop, ≤ 500 in flight, %v", d), data, 0, 500, d))
	prof.Wait()

	// Paced at the goal, 20k/s.
	if data, err = corpus(amps, key, max(1, int(20000*d.Seconds())/len(amps))); err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	phases = append(phases, run(fmt.Sprintf("paced: 20k/s offered, %v", d), data, 20000, 0, d+5*time.Second))

	// Unknown ids: verified heartbeats of amphorae no record names.
	before, _ := readMemory(c)
	unknown := make([]*hbAmphora, len(amps))
	for i := range unknown {
		id := uuid.NewString()
		s, _ := heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: id, Key: key, Interval: time.Second,
			Source: func(context.Context) (heartbeat.Sample, error) { return heartbeat.Sample{}, nil }})
		unknown[i] = &hbAmphora{id: id, sender: s, sample: amps[i].sample}
	}
	if data, err = corpus(unknown, key, 1); err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	phases = append(phases, run(fmt.Sprintf("%d unknown amphora ids, 1 heartbeat each, paced 5k/s", len(unknown)), data, 5000, 0, time.Minute))
	after, _ := readMemory(c)
	time.Sleep(idleTimeout + 3*time.Second)
	later, _ := readMemory(c)
	notes = append(notes, fmt.Sprintf("unknown amphora ids: active grains %d before, %d after their heartbeats, %d after the grain idle timeout (%v) + 3 s",
		before.ActiveGrains, after.ActiveGrains, later.ActiveGrains, idleTimeout))
	final, _ := readHeartbeats(c)
	n.Kill()
	notes = append(notes, "load average (1, 5, 15 min) at the end: "+loadAverage())

	var b strings.Builder
	fmt.Fprintf(&b, "## heartbeats: %d simulated amphorae, one node\n\n", len(amps))
	fmt.Fprintf(&b, "The real keeld path: `-health-addr` receiver → verifier (HMAC, replay, staleness) → call to the amphora's grain → "+
		"its store read and Octavia's mapping (`actors/healthmap`) → `RecordHealth` only on change. "+
		"The %d fully populated load balancers (listener, pool, 2 members, HTTP monitor) were created on the noop driver, "+
		"then the node was restarted on the same data dir with `-amphora-driver local`: it runs the receiver and real Amphora grains "+
		"and supervises every amphora row, and no agent runs because nothing is built (the rows exist). "+
		"Each amphora's heartbeats are its Sender's messages (listener OPEN, pool and members UP) in the real wire format. "+
		"`-heartbeat-interval 10s -heartbeat-timeout 10m` (the long timeout only keeps a pause of the generator from failing "+
		"over 1,000 amphorae; it does not change what a heartbeat costs). "+
		"The generator, keeld and its receiver share the machine's cores; `handled/s` counts heartbeats delivered to their grain "+
		"(handled − undelivered) over the time from the first send to the last datagram's end. "+
		"`lost` = sent − received: dropped by the kernel when the socket buffer is full (keeld asks for 4 MiB; "+
		"net.core.rmem_max caps it, %s bytes here). "+
		"Raft writes = advance of /cluster's commit_index.\n\n", len(amps), procValue("/proc/sys/net/core/rmem_max"))
	fmt.Fprintf(&b, "| phase | sent | sent/s | time | handled/s | handled | undelivered | queue full | late | lost | Raft writes | Raft writes/s | keeld CPU | keeld CPU per heartbeat |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range phases {
		b.WriteString(p.row())
	}
	b.WriteString("\n")
	for _, note := range notes {
		fmt.Fprintf(&b, "- %s\n", note)
	}
	fmt.Fprintf(&b, "- receiver totals at the end: %+v\n", final)
	return b.String()
}

// hbRecords creates count fully populated load balancers (noop driver) and
// returns their amphorae with what a healthy one reports.
func hbRecords(r *runner, c *client, count int) []*hbAmphora {
	bodies := func(i int) []byte { return fullLB(fmt.Sprintf("hb-%d", i), 80, []*backend{{"A", 8080}, {"B", 8081}}) }
	type made struct {
		lb    createdLB
		err   error
		index int
	}
	out := make([]made, count)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < count; i += 16 {
				body, err := c.do("POST", "/v2/lbaas/loadbalancers", bodies(i), 201)
				if err == nil {
					out[i].lb, err = parseCreated(body, 80)
				}
				out[i].err = err
			}
		}(w)
	}
	wg.Wait()
	for _, m := range out {
		if m.err != nil {
			r.Fatalf("heartbeats: create: %v", m.err)
		}
	}
	systemtest.Eventually(r, 120*time.Second, "load balancers ACTIVE", func() bool {
		body, err := c.do("GET", "/v2/lbaas/loadbalancers?provisioning_status=PENDING_CREATE&limit=1&fields=id", nil, 200)
		return err == nil && bytes.Contains(body, []byte(`"loadbalancers":[]`))
	})
	// Every amphora row (pages of 1000).
	ampOf := map[string]string{} // load balancer → amphora
	marker := ""
	for {
		path := "/v2/octavia/amphorae?limit=1000&fields=id&fields=loadbalancer_id"
		if marker != "" {
			path += "&marker=" + marker
		}
		body, err := c.do("GET", path, nil, 200)
		if err != nil {
			r.Fatalf("heartbeats: %v", err)
		}
		var v struct {
			Amphorae []amphoraRow `json:"amphorae"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			r.Fatalf("heartbeats: %v", err)
		}
		for _, a := range v.Amphorae {
			ampOf[a.LBID] = a.ID
		}
		if len(v.Amphorae) < 1000 {
			break
		}
		marker = v.Amphorae[len(v.Amphorae)-1].ID
	}
	var amps []*hbAmphora
	for _, m := range out {
		id := ampOf[m.lb.ID]
		if id == "" || len(m.lb.Listeners) != 1 || len(m.lb.Pools) != 1 {
			r.Fatalf("heartbeats: load balancer %s: amphora %q, listeners %v, pools %v", m.lb.ID, id, m.lb.Listeners, m.lb.Pools)
		}
		members := membersOf(r, c, m.lb.Pools[0])
		listener, pool := m.lb.Listeners[0], m.lb.Pools[0]
		ms := map[string]string{}
		for _, id := range members {
			ms[id] = "UP"
		}
		amps = append(amps, &hbAmphora{id: id, sample: heartbeat.Sample{
			Listeners: map[string]heartbeat.ListenerSample{listener: {Status: "OPEN", Process: "1", BytesIn: 1000, BytesOut: 4000, TotalConns: 10}},
			Pools:     map[string]heartbeat.Pool{pool + ":" + listener: {Status: "UP", Members: ms}},
		}})
	}
	return amps
}

func membersOf(r *runner, c *client, pool string) []string {
	body, err := c.do("GET", "/v2/lbaas/pools/"+pool+"/members?fields=id", nil, 200)
	if err != nil {
		r.Fatalf("heartbeats: %v", err)
	}
	var v struct {
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Members) == 0 {
		r.Fatalf("heartbeats: members of %s: %s", pool, body)
	}
	var out []string
	for _, m := range v.Members {
		out = append(out, m.ID)
	}
	return out
}

// procValue is a /proc/sys value ("?" if unreadable).
func procValue(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}
