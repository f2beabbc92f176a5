package healthreceiver

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"keel/agent/heartbeat"
)

var key = []byte("cluster-heartbeat-key")

const (
	amp1 = "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"
	amp2 = "0c5a3a4e-8d2b-4c1e-9f3a-2b7d6e5f4a31"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

var sample = heartbeat.Sample{
	Listeners: map[string]heartbeat.ListenerSample{"l1": {Status: "OPEN", Process: "1", BytesIn: 10, BytesOut: 20, TotalConns: 3}},
	Pools:     map[string]heartbeat.Pool{"p1:l1": {Status: "UP", Members: map[string]string{"m1": "UP", "m2": "DOWN"}}},
}

// agent is a simulated amphora: the real Sender, its datagrams built on demand.
type agent struct {
	t *testing.T
	s *heartbeat.Sender
}

func newAgent(t *testing.T, id string, c *clock) *agent {
	t.Helper()
	s, err := heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: id, Key: key, Interval: time.Second,
		Source: func(context.Context) (heartbeat.Sample, error) { return sample, nil }, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &agent{t: t, s: s}
}

// next is the agent's next datagram, signed with k.
func (a *agent) next(k []byte) []byte {
	a.t.Helper()
	d, err := heartbeat.Encode(a.s.Build(sample), k)
	if err != nil {
		a.t.Fatal(err)
	}
	return d
}

// signed is payload followed by its valid signature: well signed, badly shaped.
func signed(payload []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	return hex.AppendEncode(append([]byte{}, payload...), mac.Sum(nil))
}

func zlibbed(s string) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

type harness struct {
	t     *testing.T
	r     *Receiver
	c     *clock
	out   *net.UDPConn
	mu    sync.Mutex
	got   []Heartbeat
	logMu sync.Mutex
	logs  *bytes.Buffer
}

func (h *harness) logText() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

func start(t *testing.T, c *clock, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, c: c, logs: &bytes.Buffer{}}
	cfg := Config{
		Addr:     "127.0.0.1:0",
		Verifier: heartbeat.NewVerifier(key, heartbeat.VerifierOptions{Now: c.now}),
		Handler: func(hb Heartbeat) {
			h.mu.Lock()
			h.got = append(h.got, hb)
			h.mu.Unlock()
		},
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{mu: &h.logMu, w: h.logs}, nil)),
		Now:    c.now,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	t.Cleanup(func() { r.Close() })
	out, err := net.DialUDP("udp", nil, r.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	h.out = out
	return h
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (h *harness) send(d []byte) {
	h.t.Helper()
	if _, err := h.out.Write(d); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor polls the counters until cond holds (UDP on loopback is asynchronous).
func (h *harness) waitFor(what string, cond func(Counters) bool) Counters {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := h.r.Counters()
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waiting for %s: counters %+v", what, c)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// decided counts the datagrams whose verdict is in.
func decided(c Counters) uint64 { return c.Accepted + c.Forged + c.Replayed + c.Stale + c.Malformed }

func (h *harness) handled() []Heartbeat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Heartbeat{}, h.got...)
}

func TestVerdicts(t *testing.T) {
	genuine := func(a, _ *agent, _ *clock) []byte { return a.next(key) }
	cases := []struct {
		name  string
		sends []func(a, b *agent, c *clock) []byte
		want  Counters
		seqs  []string // amphora/seq handled, in order
	}{
		{name: "accepted", sends: []func(a, b *agent, c *clock) []byte{genuine},
			want: Counters{Received: 1, Accepted: 1, Handled: 1}, seqs: []string{amp1 + "/0"}},
		{name: "two amphorae, in order", sends: []func(a, b *agent, c *clock) []byte{genuine, genuine,
			func(_, b *agent, _ *clock) []byte { return b.next(key) }, genuine},
			want: Counters{Received: 4, Accepted: 4, Handled: 4}, seqs: []string{amp1 + "/0", amp1 + "/1", amp2 + "/0", amp1 + "/2"}},
		{name: "forged: another key", sends: []func(a, b *agent, c *clock) []byte{
			func(a, _ *agent, _ *clock) []byte { return a.next([]byte("not-the-cluster-key")) }},
			want: Counters{Received: 1, Forged: 1}},
		{name: "forged: altered byte", sends: []func(a, b *agent, c *clock) []byte{
			func(a, _ *agent, _ *clock) []byte { d := a.next(key); d[3] ^= 1; return d }},
			want: Counters{Received: 1, Forged: 1}},
		{name: "forged: signature not hex", sends: []func(a, b *agent, c *clock) []byte{
			func(a, _ *agent, _ *clock) []byte { d := a.next(key); d[len(d)-1] = 'z'; return d }},
			want: Counters{Received: 1, Forged: 1}},
		{name: "replayed: the same datagram twice", sends: func() []func(a, b *agent, c *clock) []byte {
			var d []byte
			return []func(a, b *agent, c *clock) []byte{
				func(a, _ *agent, _ *clock) []byte { d = a.next(key); return d },
				func(*agent, *agent, *clock) []byte { return d }}
		}(), want: Counters{Received: 2, Accepted: 1, Replayed: 1, Handled: 1}, seqs: []string{amp1 + "/0"}},
		{name: "replayed: older after newer", sends: func() []func(a, b *agent, c *clock) []byte {
			var first []byte
			return []func(a, b *agent, c *clock) []byte{
				func(a, _ *agent, _ *clock) []byte { first = a.next(key); return a.next(key) },
				func(*agent, *agent, *clock) []byte { return first }}
		}(), want: Counters{Received: 2, Accepted: 1, Replayed: 1, Handled: 1}, seqs: []string{amp1 + "/1"}},
		{name: "stale: built a minute ago", sends: []func(a, b *agent, c *clock) []byte{
			func(a, _ *agent, c *clock) []byte { d := a.next(key); c.add(time.Minute); return d }},
			want: Counters{Received: 1, Stale: 1}},
		{name: "malformed: too short", sends: []func(a, b *agent, c *clock) []byte{
			func(*agent, *agent, *clock) []byte { return []byte("hello") }},
			want: Counters{Received: 1, Malformed: 1}},
		{name: "malformed: signed, not zlib", sends: []func(a, b *agent, c *clock) []byte{
			func(*agent, *agent, *clock) []byte { return signed([]byte("plain text")) }},
			want: Counters{Received: 1, Malformed: 1}},
		{name: "malformed: signed, not JSON", sends: []func(a, b *agent, c *clock) []byte{
			func(*agent, *agent, *clock) []byte { return signed(zlibbed("{not json")) }},
			want: Counters{Received: 1, Malformed: 1}},
		{name: "malformed: signed, no id", sends: []func(a, b *agent, c *clock) []byte{
			func(*agent, *agent, *clock) []byte { return signed(zlibbed(`{"ver":3,"boot":1,"seq":0}`)) }},
			want: Counters{Received: 1, Malformed: 1}},
		{name: "largest datagram, forged", sends: []func(a, b *agent, c *clock) []byte{
			func(*agent, *agent, *clock) []byte { return bytes.Repeat([]byte{'a'}, heartbeat.MaxDatagram) }},
			want: Counters{Received: 1, Forged: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			h := start(t, c, nil)
			a, b := newAgent(t, amp1, c), newAgent(t, amp2, c)
			for i, s := range tc.sends {
				h.send(s(a, b, c))
				// One at a time, so the order on the wire is the order sent.
				h.waitFor(fmt.Sprintf("datagram %d", i+1), func(got Counters) bool { return decided(got) == uint64(i+1) })
			}
			got := h.waitFor("the handler", func(got Counters) bool { return got.Handled == got.Accepted })
			if got != tc.want {
				t.Fatalf("counters %+v, want %+v", got, tc.want)
			}
			var seqs []string
			for _, hb := range h.handled() {
				if hb.AmphoraID != hb.Message.ID || !hb.From.Addr().IsLoopback() || !hb.Received.Equal(c.now()) {
					t.Errorf("heartbeat %+v", hb)
				}
				seqs = append(seqs, fmt.Sprintf("%s/%d", hb.AmphoraID, hb.Message.Seq))
			}
			if strings.Join(seqs, " ") != strings.Join(tc.seqs, " ") {
				t.Fatalf("handled %v, want %v", seqs, tc.seqs)
			}
			if tc.want.Accepted == tc.want.Received && h.logText() != "" {
				t.Fatalf("logged without a rejection: %s", h.logText())
			}
		})
	}
}

// The real Sender's own loop, over loopback, every interval.
func TestRealSenderOnLoopback(t *testing.T) {
	h := start(t, &clock{t: time.Now()}, func(cfg *Config) {
		cfg.Verifier = heartbeat.NewVerifier(key, heartbeat.VerifierOptions{})
		cfg.Now = nil
	})
	s, err := heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: amp1, Key: key, Interval: 20 * time.Millisecond,
		Controllers: []string{h.r.Addr().String()}, Source: func(context.Context) (heartbeat.Sample, error) { return sample, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	h.waitFor("three heartbeats", func(c Counters) bool { return c.Handled >= 3 })
	cancel()
	<-done
	got := h.handled()
	for i, hb := range got[:3] {
		m := hb.Message
		if m.ID != amp1 || m.Seq != uint64(i) || m.Boot != s.Boot() || m.Listeners["l1"].Status != "OPEN" ||
			m.Pools["p1:l1"].Members["m2"] != "DOWN" {
			t.Fatalf("heartbeat %d: %+v", i, m)
		}
	}
	if c := h.r.Counters(); c.Forged+c.Replayed+c.Stale+c.Malformed != 0 {
		t.Fatalf("rejections: %+v", c)
	}
}

// A handler that does not keep up costs heartbeats (counted), never the read loop.
func TestFullQueueDropsAndLate(t *testing.T) {
	cases := []struct {
		name     string
		maxDelay time.Duration
		advance  time.Duration
		want     Counters
	}{
		{name: "queue full", want: Counters{Received: 4, Accepted: 4, Dropped: 2, Handled: 2}},
		{name: "late", maxDelay: time.Second, advance: 2 * time.Second, want: Counters{Received: 4, Accepted: 4, Dropped: 2, Late: 1, Handled: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			entered, release := make(chan struct{}, 10), make(chan struct{})
			h := start(t, c, func(cfg *Config) {
				cfg.Workers, cfg.Queue, cfg.MaxDelay = 1, 1, tc.maxDelay
				next := cfg.Handler
				cfg.Handler = func(hb Heartbeat) { entered <- struct{}{}; <-release; next(hb) }
			})
			a := newAgent(t, amp1, c)
			h.send(a.next(key))
			<-entered // the worker holds the first
			for range 3 {
				h.send(a.next(key)) // the second waits in the queue, the others find it full
			}
			h.waitFor("four datagrams", func(got Counters) bool { return got.Accepted == 4 && got.Dropped == 2 })
			c.add(tc.advance)
			close(release)
			got := h.waitFor("the queue to drain", func(got Counters) bool { return got.Handled+got.Late+got.Dropped == got.Accepted })
			if got != tc.want {
				t.Fatalf("counters %+v, want %+v", got, tc.want)
			}
			if !strings.Contains(h.logText(), `reason="queue full"`) {
				t.Fatalf("no log line for the drops:\n%s", h.logText())
			}
		})
	}
}

func TestRejectionLogsAreRateLimited(t *testing.T) {
	c := newClock()
	h := start(t, c, func(cfg *Config) { cfg.LogInterval = 10 * time.Second })
	a := newAgent(t, amp1, c)
	n := 0
	send := func(d []byte) {
		t.Helper()
		h.send(d)
		n++
		h.waitFor("the datagram", func(got Counters) bool { return decided(got) == uint64(n) })
	}
	for range 5 {
		send(a.next([]byte("wrong")))
	}
	send([]byte("short"))
	send([]byte("short"))
	lines := func() []string { return strings.Split(strings.TrimSpace(h.logText()), "\n") }
	if l := lines(); len(l) != 2 || !strings.Contains(l[0], `reason=forged`) || !strings.Contains(l[1], `reason=malformed`) ||
		!strings.Contains(l[0], "unlogged_since_last=0") || !strings.Contains(l[0], "from=127.0.0.1:") {
		t.Fatalf("want one line per reason, got:\n%s", h.logText())
	}
	c.add(9 * time.Second)
	send(a.next([]byte("wrong")))
	if l := lines(); len(l) != 2 {
		t.Fatalf("logged again within the interval:\n%s", h.logText())
	}
	c.add(2 * time.Second)
	send(a.next([]byte("wrong")))
	if l := lines(); len(l) != 3 || !strings.Contains(l[2], `reason=forged`) || !strings.Contains(l[2], "unlogged_since_last=5") {
		t.Fatalf("want a third line counting 5 unlogged, got:\n%s", h.logText())
	}
	if got := h.r.Counters(); got.Forged != 7 || got.Malformed != 2 {
		t.Fatalf("counters %+v", got)
	}
}

// Close returns only once the read loop and the workers have returned: it waits for
// a handler that is running, and nothing is handled after it.
func TestCloseWaitsForGoroutines(t *testing.T) {
	c := newClock()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var running sync.Mutex
	h := start(t, c, func(cfg *Config) {
		cfg.Handler = func(Heartbeat) {
			running.Lock()
			defer running.Unlock()
			entered <- struct{}{}
			<-release
		}
	})
	a := newAgent(t, amp1, c)
	h.send(a.next(key))
	<-entered
	closed := make(chan error)
	go func() { closed <- h.r.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a handler was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !running.TryLock() {
		t.Fatal("a handler still runs after Close")
	}
	if _, err := h.out.Write(a.next(key)); err == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if got := h.r.Counters(); got.Received != 1 || got.Handled != 1 {
		t.Fatalf("counters after Close %+v", got)
	}
	if err := h.r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The port is free again.
	again, err := net.ListenUDP("udp", h.r.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatalf("the socket is still bound: %v", err)
	}
	again.Close()
}

func TestListenRefuses(t *testing.T) {
	v := heartbeat.NewVerifier(key, heartbeat.VerifierOptions{})
	handler := func(Heartbeat) {}
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no verifier", Config{Addr: "127.0.0.1:0", Handler: handler}, "verifier required"},
		{"no handler", Config{Addr: "127.0.0.1:0", Verifier: v}, "handler required"},
		{"bad address", Config{Addr: "127.0.0.1", Verifier: v, Handler: handler}, "missing port"},
		{"address in use", Config{Addr: busy.LocalAddr().String(), Verifier: v, Handler: handler}, "address already in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Listen(tc.cfg)
			if err == nil {
				r.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReasonNames(t *testing.T) {
	for r, want := range map[Reason]string{Forged: "forged", Replayed: "replayed", Stale: "stale", Malformed: "malformed",
		QueueFull: "queue full", Late: "late", Reason(42): "Reason(42)"} {
		if r.String() != want {
			t.Errorf("%d: %q, want %q", int(r), r.String(), want)
		}
	}
}
