package main

import (
	"context"
	"testing"
	"time"

	"keel/agent/heartbeat"
)

// The generator's encoder must produce what keeld's verifier accepts, message
// for message, in the order the corpus lays them out.
func TestCorpusVerifies(t *testing.T) {
	key := []byte("k")
	var amps []*hbAmphora
	for _, id := range []string{"11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-000000000000", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"} {
		sample := heartbeat.Sample{
			Listeners: map[string]heartbeat.ListenerSample{"d3f4a1be-5e3c-4a8b-9a3f-2c1d0e9f8a7b": {Status: "OPEN", Process: "1"}},
			Pools: map[string]heartbeat.Pool{"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d:d3f4a1be-5e3c-4a8b-9a3f-2c1d0e9f8a7b": {
				Status: "UP", Members: map[string]string{"11111111-2222-4333-8444-555555555556": "UP"}}},
		}
		s, err := heartbeat.NewSender(heartbeat.SenderConfig{AmphoraID: id, Key: key, Interval: time.Second,
			Source: func(context.Context) (heartbeat.Sample, error) { return sample, nil }})
		if err != nil {
			t.Fatal(err)
		}
		amps = append(amps, &hbAmphora{id: id, sender: s, sample: sample})
	}
	data, err := corpus(amps, key, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 12 {
		t.Fatalf("%d datagrams, want 12", len(data))
	}
	v := heartbeat.NewVerifier(key, heartbeat.VerifierOptions{})
	for i, d := range data {
		msg, err := v.Verify(d)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if want := amps[i%3].id; msg.ID != want || msg.Seq != uint64(i/3) {
			t.Fatalf("datagram %d: amphora %s seq %d, want %s seq %d", i, msg.ID, msg.Seq, want, i/3)
		}
		if len(msg.Listeners) != 1 || len(msg.Pools) != 1 {
			t.Fatalf("datagram %d: %+v", i, msg)
		}
	}
	if _, err := v.Verify(data[0]); err == nil {
		t.Fatal("a replayed datagram verified")
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Second)
	}
	s := summarize(ds)
	if s.n != 10 || s.min != time.Second || s.max != 10*time.Second || s.p50 != 6*time.Second || s.avg != 5500*time.Millisecond {
		t.Fatalf("%+v", s)
	}
	if summarize(nil).n != 0 {
		t.Fatal("empty summary")
	}
}
