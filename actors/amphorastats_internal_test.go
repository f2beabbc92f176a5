package actors

import (
	"testing"

	"keel/actors/healthmap"
	"keel/store/storepb"
)

func beat(boot int64, seq uint64, stats ...healthmap.Stats) statsBeat {
	return statsBeat{boot: boot, seq: seq, ts: boot*1000 + int64(seq), stats: stats}
}

// TestAmphoraStatsAccumulate covers the grain's side of statistics: heartbeats
// wait for the stored totals, deltas add up from there, active connections are
// replaced, a copy of a heartbeat (every node's receiver delivers one) counts
// once, and only totals that moved are handed on.
func TestAmphoraStatsAccumulate(t *testing.T) {
	s := &amphoraStats{amphoraID: "amp"}
	if rows := s.add(beat(5, 3, healthmap.Stats{ListenerID: "l1", BytesIn: 10, TotalConnections: 1})); rows != nil {
		t.Fatalf("counted before the stored totals were read: %v", rows)
	}
	s.add(beat(5, 4, healthmap.Stats{ListenerID: "l1", BytesIn: 5, BytesOut: 7, TotalConnections: 2, ActiveConnections: 1}))
	s.add(beat(5, 4, healthmap.Stats{ListenerID: "l1", BytesIn: 5, BytesOut: 7, TotalConnections: 2, ActiveConnections: 1}))

	// Stored: l1 counted through heartbeat (5, 3) by an earlier activation; l2 at 50.
	stored := []*storepb.ListenerStatistics{
		{AmphoraId: "amp", ListenerId: "l1", BytesIn: 110, TotalConnections: 11, HeartbeatBoot: 5, HeartbeatSeq: 3},
		{AmphoraId: "amp", ListenerId: "l2", BytesIn: 50, HeartbeatBoot: 5, HeartbeatSeq: 2},
	}
	rows := s.start(stored)
	if len(rows) != 1 {
		t.Fatalf("after the stored totals: %v", rows)
	}
	if r := rows[0]; r.ListenerId != "l1" || r.BytesIn != 115 || r.BytesOut != 7 || r.TotalConnections != 13 ||
		r.ActiveConnections != 1 || r.HeartbeatSeq != 4 || r.AmphoraId != "amp" {
		t.Fatalf("l1: %v (heartbeat 3 was counted before, 4 once)", r)
	}

	// Nothing moved: nothing to write. Active connections alone: written.
	if rows := s.add(beat(5, 5, healthmap.Stats{ListenerID: "l1", ActiveConnections: 1}, healthmap.Stats{ListenerID: "l2"})); len(rows) != 0 {
		t.Fatalf("an idle heartbeat changed %v", rows)
	}
	if rows := s.add(beat(5, 6, healthmap.Stats{ListenerID: "l1"})); len(rows) != 1 || rows[0].ActiveConnections != 0 || rows[0].BytesIn != 115 {
		t.Fatalf("connections closed: %v", rows)
	}
	// An older heartbeat and a copy are not counted. A restarted agent (new boot,
	// seq from 0; its haproxy kept running) first reports haproxy's counters since
	// haproxy started: a baseline, not counted again; its next heartbeat counts.
	if rows := s.add(beat(5, 6, healthmap.Stats{ListenerID: "l2", BytesIn: 1})); rows != nil {
		t.Fatalf("a copy counted: %v", rows)
	}
	if rows := s.add(beat(4, 90, healthmap.Stats{ListenerID: "l2", BytesIn: 1})); rows != nil {
		t.Fatalf("an older boot counted: %v", rows)
	}
	rows = s.add(beat(6, 0, healthmap.Stats{ListenerID: "l2", BytesIn: 1000}, healthmap.Stats{ListenerID: "l3", BytesOut: 4, ActiveConnections: 2}))
	if len(rows) != 1 || rows[0].ListenerId != "l3" || rows[0].BytesOut != 0 || rows[0].ActiveConnections != 2 || rows[0].HeartbeatBoot != 6 {
		t.Fatalf("a restarted agent's first heartbeat: %v, want only l3's active connections", rows)
	}
	rows = s.add(beat(6, 1, healthmap.Stats{ListenerID: "l2", BytesIn: 1}, healthmap.Stats{ListenerID: "l3", BytesOut: 4, ActiveConnections: 2}))
	if len(rows) != 2 || rows[0].BytesIn != 51 || rows[1].ListenerId != "l3" || rows[1].BytesOut != 4 {
		t.Fatalf("after a restart: %v", rows)
	}

	// A forged heartbeat with a future boot (a key holder's) does not stop the
	// genuine agent's statistics: its next heartbeat (lower boot, later time) is
	// a baseline, and the one after counts.
	forged := statsBeat{boot: 1 << 40, seq: 0, ts: 6001, stats: []healthmap.Stats{{ListenerID: "l2", BytesIn: 1 << 30}}}
	if rows := s.add(forged); len(rows) != 0 {
		t.Fatalf("a forged heartbeat's first report counted: %v", rows)
	}
	genuine := statsBeat{boot: 6, seq: 2, ts: 6002, stats: []healthmap.Stats{{ListenerID: "l2", BytesIn: 1}}}
	if rows := s.add(genuine); len(rows) != 0 {
		t.Fatalf("the genuine agent's baseline counted: %v", rows)
	}
	genuine.seq, genuine.ts = 3, 6003
	if rows := s.add(genuine); len(rows) != 1 || rows[0].BytesIn != 52 {
		t.Fatalf("the genuine agent after a forged heartbeat: %v", rows)
	}
}
