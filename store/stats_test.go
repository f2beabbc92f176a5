package store

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func statsCmd(rows ...*storepb.ListenerStatistics) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_RecordAmphoraStats{RecordAmphoraStats: &storepb.RecordAmphoraStats{Stats: rows}}}
}

func statsRow(f *FSM, amp, listener string) *storepb.ListenerStatistics {
	r, _ := f.State().Current().ListenerStatistics.Get(ListenerStatisticsID(amp, listener))
	return r
}

// counters renders a row's counters for comparisons (nil: no row).
func counters(r *storepb.ListenerStatistics) [5]uint64 {
	if r == nil {
		return [5]uint64{}
	}
	return [5]uint64{r.BytesIn, r.BytesOut, r.ActiveConnections, r.TotalConnections, r.RequestErrors}
}

// TestRecordAmphoraStats covers how totals are stored: per (amphora, listener),
// idempotent, never going back, skipped for objects that are gone, and removed
// (or, for a deleted amphora, folded into its listener's row) with their objects.
func TestRecordAmphoraStats(t *testing.T) {
	f := NewFSM()
	tree := func(lb string, listeners []string, amphorae ...string) *storepb.Command {
		w := &storepb.TreeWrite{LoadBalancerId: lb, LoadBalancer: testLB(lb, "p", 1)}
		for _, l := range listeners {
			w.Listeners = append(w.Listeners, listener(l, lb, "p"))
		}
		for _, a := range amphorae {
			w.Amphorae = append(w.Amphorae, &storepb.Amphora{Id: a, LoadbalancerId: lb, ProjectId: "p", Status: "ALLOCATED"})
		}
		return &storepb.Command{RequestId: "create-" + lb, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: w}}}
	}
	applyCmds(t, f, 1, tree("lb1", []string{"l1", "l2"}, "a1", "a2"), tree("lb2", []string{"l9"}, "a9"))
	lbVersion := f.State().LoadBalancer("lb1").Version

	row := func(amp, l string, in, out, active, total, errs uint64, boot int64, seq uint64) *storepb.ListenerStatistics {
		return &storepb.ListenerStatistics{AmphoraId: amp, ListenerId: l, BytesIn: in, BytesOut: out,
			ActiveConnections: active, TotalConnections: total, RequestErrors: errs, HeartbeatBoot: boot, HeartbeatSeq: seq}
	}
	res := applyCmds(t, f, 2, statsCmd(row("a1", "l1", 100, 200, 3, 10, 1, 5, 7), row("a2", "l1", 1, 2, 0, 1, 0, 6, 1),
		row("a1", "nope", 1, 1, 1, 1, 1, 5, 7), row("nope", "l1", 1, 1, 1, 1, 1, 5, 7), row("a9", "l1", 1, 1, 1, 1, 1, 5, 7)))
	if res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("record: %v", res[0])
	}
	r := statsRow(f, "a1", "l1")
	if counters(r) != [5]uint64{100, 200, 3, 10, 1} || r.LoadbalancerId != "lb1" || r.Id != "a1/l1" {
		t.Fatalf("row: %v", r)
	}
	if n := f.State().Current().ListenerStatistics.Len(); n != 2 {
		t.Fatalf("%d rows; rows of unknown objects, or of an amphora and a listener of two load balancers, are skipped", n)
	}
	if v := f.State().LoadBalancer("lb1").Version; v != lbVersion {
		t.Fatalf("statistics moved the load balancer's version %d → %d", lbVersion, v)
	}

	// The same totals again change nothing; a stale batch (an older heartbeat,
	// smaller totals) takes nothing back; a newer one moves every counter.
	applyCmds(t, f, 3, statsCmd(row("a1", "l1", 100, 200, 3, 10, 1, 5, 7)))
	applyCmds(t, f, 4, statsCmd(row("a1", "l1", 90, 150, 9, 8, 0, 5, 6)))
	if got := counters(statsRow(f, "a1", "l1")); got != [5]uint64{100, 200, 3, 10, 1} {
		t.Fatalf("after a repeat and a stale batch: %v", got)
	}
	applyCmds(t, f, 5, statsCmd(row("a1", "l1", 150, 250, 0, 12, 1, 5, 8)))
	if r := statsRow(f, "a1", "l1"); counters(r) != [5]uint64{150, 250, 0, 12, 1} || r.HeartbeatSeq != 8 {
		t.Fatalf("after a newer batch: %v", r)
	}
	// A duplicate grain that counted less but saw a newer heartbeat: its active
	// connections are the newest, its smaller counters are ignored.
	applyCmds(t, f, 6, statsCmd(row("a1", "l1", 120, 260, 4, 11, 1, 5, 9)))
	if got := counters(statsRow(f, "a1", "l1")); got != [5]uint64{150, 260, 4, 12, 1} {
		t.Fatalf("after a duplicate grain's batch: %v", got)
	}
	if res := applyCmds(t, f, 7, statsCmd(&storepb.ListenerStatistics{ListenerId: "l1"})); res[0].Code != storepb.CommandResult_INVALID {
		t.Fatalf("a row without its amphora: %v", res[0])
	}

	// A failover deletes amphora a1: its counters move into l1's own row, its
	// active connections do not; a late batch for it is skipped.
	applyCmds(t, f, 8, statsCmd(row("a1", "l2", 5, 5, 1, 5, 0, 5, 9)))
	w := &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: lbVersion,
		LoadBalancer: proto.Clone(f.State().LoadBalancer("lb1")).(*storepb.LoadBalancer), DeleteAmphorae: []string{"a1"}}
	if res := applyCmds(t, f, 9, treeCmd("failover", w)); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("delete amphora: %v", res[0])
	}
	applyCmds(t, f, 10, statsCmd(row("a1", "l1", 1000, 1000, 1, 1000, 0, 5, 10)))
	if statsRow(f, "a1", "l1") != nil || statsRow(f, "a1", "l2") != nil {
		t.Fatal("a deleted amphora's rows are still there")
	}
	if got := counters(statsRow(f, "l1", "l1")); got != [5]uint64{150, 260, 0, 12, 1} {
		t.Fatalf("l1's row of deleted amphorae: %v", got)
	}
	if got := counters(statsRow(f, "l2", "l2")); got != [5]uint64{5, 5, 0, 5, 0} {
		t.Fatalf("l2's row of deleted amphorae: %v", got)
	}

	// Deleting a listener removes its rows; purging a load balancer removes all.
	w = &storepb.TreeWrite{LoadBalancerId: "lb1", ExpectedVersion: f.State().LoadBalancer("lb1").Version,
		LoadBalancer: proto.Clone(f.State().LoadBalancer("lb1")).(*storepb.LoadBalancer), DeleteListeners: []string{"l2"}}
	if res := applyCmds(t, f, 11, treeCmd("delete-l2", w)); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("delete listener: %v", res[0])
	}
	if rows := Collect(f.State().Current().ListenerStatistics, IndexListener, "l2"); len(rows) != 0 {
		t.Fatalf("a deleted listener's rows: %v", rows)
	}
	applyCmds(t, f, 12, statsCmd(row("a9", "l9", 1, 1, 1, 1, 1, 1, 1)))
	cur := f.State().LoadBalancer("lb1")
	if res := applyCmds(t, f, 13, &storepb.Command{RequestId: "purge", Op: &storepb.Command_PurgeLoadBalancer{
		PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: "lb1", ExpectedVersion: cur.Version}}}); res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("purge: %v", res[0])
	}
	st := f.State().Current()
	if rows := Collect(st.ListenerStatistics, IndexLoadBalancer, "lb1"); len(rows) != 0 || st.ListenerStatistics.Len() != 1 {
		t.Fatalf("after the purge: %v of lb1, %d rows in all (want lb2's one)", rows, st.ListenerStatistics.Len())
	}
}
