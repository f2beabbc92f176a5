package healthreceiver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keel/agent/heartbeat"
)

// benchAmphorae is how many simulated amphorae the benchmarks' heartbeats come from.
const benchAmphorae = 1000

var benchEpoch = time.Unix(1_800_000_000, 0)

func benchNow() time.Time { return benchEpoch }

// benchSample is a typical load balancer: one listener, its pool, two members.
var benchSample = heartbeat.Sample{
	Listeners: map[string]heartbeat.ListenerSample{"d3f4a1be-5e3c-4a8b-9a3f-2c1d0e9f8a7b": {Status: "OPEN", Process: "4242",
		BytesIn: 123456, BytesOut: 654321, CurrentConns: 3, TotalConns: 999, RequestErrors: 1}},
	Pools: map[string]heartbeat.Pool{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d:d3f4a1be-5e3c-4a8b-9a3f-2c1d0e9f8a7b": {Status: "UP",
		Members: map[string]string{"11111111-2222-4333-8444-555555555555": "UP", "66666666-7777-4888-9999-000000000000": "UP"}}},
}

// corpus holds real Sender datagrams, built once and grown on demand (building is
// zlib level 9, far slower than verifying): datagram i comes from amphora
// i % benchAmphorae, so any prefix has every amphora's seqs in increasing order and
// a fresh Verifier accepts all of it.
var corpus struct {
	sync.Mutex
	senders []*heartbeat.Sender
	data    [][]byte
}

func corpusOf(b *testing.B, n int) [][]byte {
	b.Helper()
	corpus.Lock()
	defer corpus.Unlock()
	if corpus.senders == nil {
		for i := range benchAmphorae {
			s, err := heartbeat.NewSender(heartbeat.SenderConfig{
				AmphoraID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Key: key, Interval: time.Second,
				Source: func(context.Context) (heartbeat.Sample, error) { return benchSample, nil }, Now: benchNow})
			if err != nil {
				b.Fatal(err)
			}
			corpus.senders = append(corpus.senders, s)
		}
	}
	for i := len(corpus.data); i < n; i++ {
		d, err := heartbeat.Encode(corpus.senders[i%benchAmphorae].Build(benchSample), key)
		if err != nil {
			b.Fatal(err)
		}
		corpus.data = append(corpus.data, d)
	}
	return corpus.data[:n]
}

// BenchmarkReceive1000Amphorae measures heartbeats handled per second: real Sender
// datagrams of 1,000 amphorae sent over loopback UDP to a Receiver whose handler only
// counts. The sender keeps at most benchWindow datagrams unhandled (so the socket's
// buffer never overflows and nothing is lost to the kernel); sender, read loop and
// workers share the machine's cores. Reported: heartbeats/s, and lost (should be 0).
func BenchmarkReceive1000Amphorae(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchReceive(b, workers) })
	}
}

const benchWindow = 128

func benchReceive(b *testing.B, workers int) {
	data := corpusOf(b, b.N)
	tokens := make(chan struct{}, benchWindow)
	var handled atomic.Uint64
	r, err := Listen(Config{
		Addr:       "127.0.0.1:0",
		Verifier:   heartbeat.NewVerifier(key, heartbeat.VerifierOptions{Now: benchNow}),
		Handler:    func(Heartbeat) { handled.Add(1); <-tokens },
		Workers:    workers,
		ReadBuffer: 4 << 20,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        benchNow,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	conn, err := net.DialUDP("udp", nil, r.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	lost := 0
	runtime.GC() // the corpus's construction garbage is not the receiver's
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for _, d := range data {
		select {
		case tokens <- struct{}{}:
		case <-time.After(200 * time.Millisecond):
			// A datagram the kernel dropped never releases its token: take it back.
			lost++
			<-tokens
			tokens <- struct{}{}
		}
		if _, err := conn.Write(d); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); handled.Load() < uint64(b.N-lost) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	c := r.Counters()
	b.ReportMetric(float64(c.Handled)/elapsed.Seconds(), "heartbeats/s")
	b.ReportMetric(float64(uint64(b.N)-c.Received), "lost")
	if c.Forged+c.Replayed+c.Stale+c.Malformed+c.Dropped != 0 {
		b.Fatalf("rejections in the benchmark: %+v", c)
	}
}

// BenchmarkVerify is the verifier alone on the same datagrams: the part of the
// receive path that is not I/O.
func BenchmarkVerify(b *testing.B) {
	data := corpusOf(b, b.N)
	v := heartbeat.NewVerifier(key, heartbeat.VerifierOptions{Now: benchNow})
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for _, d := range data {
		if _, err := v.Verify(d); err != nil {
			b.Fatal(err)
		}
	}
}
