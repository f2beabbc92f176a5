package heartbeat

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

var key = []byte("insecure-test-key")

const amp = "6e2bc8a0-2548-4fb7-a5f0-fb1ef4a696ce"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Unix(1_800_000_000, 0)} }
func src(s Sample) Source            { return func(context.Context) (Sample, error) { return s, nil } }
func sender(t *testing.T, c *clock) *Sender {
	t.Helper()
	s, err := NewSender(SenderConfig{AmphoraID: amp, Key: key, Interval: time.Second, Source: src(Sample{}), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEncodeOpenRoundTripAndWireShape(t *testing.T) {
	msg := &Message{ID: amp, Seq: 7, Ver: Version, Boot: 42, Time: 1000,
		Listeners: map[string]Listener{"l1": {Status: "OPEN", Stats: Stats{TX: 1, RX: 2, Conns: 3, TotConns: 4, Ereq: 5}}},
		Pools:     map[string]Pool{"p1:l1": {Status: "UP", Members: map[string]string{"m1": "UP", "m2": "DOWN"}}}}
	d, err := Encode(msg, key)
	if err != nil {
		t.Fatal(err)
	}
	// Wire shape: zlib payload, then 64 lowercase hex chars of HMAC-SHA256(payload).
	payload, sig := d[:len(d)-64], string(d[len(d)-64:])
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	if sig != hex.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("trailer is not the hex HMAC of the payload")
	}
	zr, err := zlib.NewReader(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	js.ReadFrom(zr)
	for _, want := range []string{`"id":"` + amp + `"`, `"seq":7`, `"ver":3`, `"boot":42`, `"ts":1000`, `"totconns":4`, `"p1:l1"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON %s lacks %s", js.String(), want)
		}
	}
	got, err := Open(d, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Listeners["l1"].Stats.Ereq != 5 || got.Pools["p1:l1"].Members["m2"] != "DOWN" || got.Seq != 7 {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestVerifierRejectsTamperedWrongKeyAndGarbage(t *testing.T) {
	c := newClock()
	s := sender(t, c)
	d, _ := Encode(s.Build(Sample{}), key)
	v := NewVerifier(key, VerifierOptions{Now: c.now})

	tampered := append([]byte{}, d...)
	tampered[3] ^= 0x01
	if _, err := v.Verify(tampered); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered payload: %v", err)
	}
	badSig := append([]byte{}, d...)
	badSig[len(badSig)-1] = 'x'
	if _, err := v.Verify(badSig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("non-hex signature: %v", err)
	}
	if _, err := NewVerifier([]byte("other"), VerifierOptions{Now: c.now}).Verify(d); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := v.Verify([]byte("short")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short: %v", err)
	}
	// Signed but not zlib: malformed, not a signature failure.
	junk := []byte("not zlib at all")
	mac := hmac.New(sha256.New, key)
	mac.Write(junk)
	junk = hex.AppendEncode(junk, mac.Sum(nil))
	if _, err := v.Verify(junk); !errors.Is(err, ErrMalformed) {
		t.Fatalf("junk: %v", err)
	}
	// The rejected datagrams left no state: the genuine one is accepted.
	if _, err := v.Verify(d); err != nil {
		t.Fatalf("genuine after rejections: %v", err)
	}
}

func TestVerifierReplayAndOrder(t *testing.T) {
	c := newClock()
	s := sender(t, c)
	v := NewVerifier(key, VerifierOptions{Now: c.now})
	d0, _ := Encode(s.Build(Sample{}), key)
	d1, _ := Encode(s.Build(Sample{}), key)
	d2, _ := Encode(s.Build(Sample{}), key)
	if _, err := v.Verify(d0); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(d0); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := v.Verify(d2); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(d1); !errors.Is(err, ErrReplay) {
		t.Fatalf("out of order: %v", err)
	}
	// A restarted agent (later boot) starts again at seq 0 and is accepted...
	c.add(time.Millisecond)
	s2 := sender(t, c)
	n0, _ := Encode(s2.Build(Sample{}), key)
	if m, err := v.Verify(n0); err != nil || m.Seq != 0 {
		t.Fatalf("restarted agent: %v %+v", err, m)
	}
	// ...after which the old process's datagrams are replays, even with larger seq.
	if _, err := v.Verify(d2); !errors.Is(err, ErrReplay) {
		t.Fatalf("old boot: %v", err)
	}
	// Another amphora has its own sequence.
	other, _ := NewSender(SenderConfig{AmphoraID: "other", Key: key, Interval: time.Second, Source: src(Sample{}), Now: c.now})
	o0, _ := Encode(other.Build(Sample{}), key)
	if _, err := v.Verify(o0); err != nil {
		t.Fatal(err)
	}
	v.Forget(amp)
	if _, err := v.Verify(d2); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
}

func TestVerifierStale(t *testing.T) {
	c := newClock()
	s := sender(t, c)
	v := NewVerifier(key, VerifierOptions{Now: c.now, Window: 5 * time.Second})
	old, _ := Encode(s.Build(Sample{}), key)
	c.add(6 * time.Second)
	if _, err := v.Verify(old); !errors.Is(err, ErrStale) {
		t.Fatalf("old: %v", err)
	}
	c.add(-12 * time.Second)
	if _, err := v.Verify(old); !errors.Is(err, ErrStale) {
		t.Fatalf("from the future: %v", err)
	}
	c.add(6 * time.Second)
	if _, err := v.Verify(old); err != nil {
		t.Fatalf("inside window: %v", err)
	}
}

func TestBuildDeltas(t *testing.T) {
	s := sender(t, newClock())
	ls := func(proc string, in, out, cur, tot, ereq uint64) Sample {
		return Sample{Listeners: map[string]ListenerSample{"l": {Status: "OPEN", Process: proc,
			BytesIn: in, BytesOut: out, CurrentConns: cur, TotalConns: tot, RequestErrors: ereq}}}
	}
	steps := []struct {
		sample Sample
		want   Stats
	}{
		{ls("p1", 100, 1000, 2, 10, 1), Stats{RX: 100, TX: 1000, Conns: 2, TotConns: 10, Ereq: 1}},
		{ls("p1", 150, 1500, 1, 12, 1), Stats{RX: 50, TX: 500, Conns: 1, TotConns: 2, Ereq: 0}},
		{ls("p2", 30, 60, 1, 3, 0), Stats{RX: 30, TX: 60, Conns: 1, TotConns: 3}}, // reload: new worker
		{ls("p2", 10, 20, 0, 1, 0), Stats{RX: 10, TX: 20, Conns: 0, TotConns: 1}}, // counters went back
		{ls("p2", 15, 20, 0, 1, 0), Stats{RX: 5, TX: 0, Conns: 0, TotConns: 0}},
	}
	for i, st := range steps {
		m := s.Build(st.sample)
		if m.Seq != uint64(i) {
			t.Fatalf("step %d: seq %d", i, m.Seq)
		}
		if got := m.Listeners["l"].Stats; got != st.want {
			t.Fatalf("step %d: %+v, want %+v", i, got, st.want)
		}
	}
}

func TestRunSendsToEveryControllerAndWithholds(t *testing.T) {
	var conns []*net.UDPConn
	var targets []string
	for i := 0; i < 2; i++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		targets = append(targets, c.LocalAddr().String())
	}
	var mu sync.Mutex
	withhold := ""
	source := func(context.Context) (Sample, error) {
		mu.Lock()
		defer mu.Unlock()
		return Sample{Withhold: withhold, Listeners: map[string]ListenerSample{"l": {Status: "OPEN"}}}, nil
	}
	s, err := NewSender(SenderConfig{AmphoraID: amp, Key: key, Controllers: targets, Interval: 20 * time.Millisecond, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	v := NewVerifier(key, VerifierOptions{})
	buf := make([]byte, MaxDatagram)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("controller %d: %v", i, err)
		}
		m, err := NewVerifier(key, VerifierOptions{}).Verify(buf[:n])
		if err != nil || m.ID != amp || m.Listeners["l"].Status != "OPEN" {
			t.Fatalf("controller %d: %v %+v", i, err, m)
		}
	}
	// Consecutive datagrams at one controller verify in order.
	for i := 0; i < 3; i++ {
		conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conns[0].ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(buf[:n]); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	mu.Lock()
	withhold = "keepalived not running"
	mu.Unlock()
	// Drain what was in flight, then expect silence.
	deadline := time.Now().Add(2 * time.Second)
	quiet := 0
	for time.Now().Before(deadline) && quiet < 5 {
		conns[0].SetReadDeadline(time.Now().Add(60 * time.Millisecond))
		if _, _, err := conns[0].ReadFromUDP(buf); err != nil {
			quiet++
		} else {
			quiet = 0
		}
	}
	if quiet < 5 {
		t.Fatalf("heartbeats kept coming while withheld")
	}
}
