package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"keel/store/storepb"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func openSingle(t *testing.T, dir, addr string) *Node {
	t.Helper()
	return openSingleLog(t, dir, addr, "")
}

// openSingleLog is openSingle with the Raft log in logStore ("": the default).
func openSingleLog(t *testing.T, dir, addr, logStore string) *Node {
	t.Helper()
	n, err := Open(Config{NodeID: "n1", DataDir: dir, RaftAddr: addr, LogOutput: io.Discard, LogStore: logStore})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Bootstrap([]raft.Server{{ID: "n1", Address: raft.ServerAddress(addr)}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !n.LeaderReady() {
		select {
		case <-ctx.Done():
			t.Fatal("no leader within 10s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return n
}

func TestNodeProposeBarrierRestart(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	n := openSingle(t, dir, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Concurrent proposals are batched; every one gets its own result.
	const total = 300
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := n.Propose(ctx, createCmd(fmt.Sprint("r", i), testLB(fmt.Sprintf("lb%03d", i), "p", int64(i))))
			if err == nil && res.Code != storepb.CommandResult_OK {
				err = fmt.Errorf("lb%03d: %v", i, res)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if c := n.State().CountLoadBalancers(); c != total {
		t.Fatalf("%d load balancers after barrier, want %d", c, total)
	}
	lb := n.State().LoadBalancer("lb007")
	res, err := n.Propose(ctx, statusCmd("s1", "lb007", lb.Version, "ACTIVE"))
	if err != nil || res.Code != storepb.CommandResult_OK {
		t.Fatalf("status: %v %v", res, err)
	}
	// Snapshot half way, then write more: the restart must restore the snapshot and
	// replay the log after it.
	if err := n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if res, err := n.Propose(ctx, createCmd("after", testLB("after-snap", "p", 9999))); err != nil || res.Code != storepb.CommandResult_OK {
		t.Fatalf("create after snapshot: %v %v", res, err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = openSingle(t, dir, addr)
	defer n.Close()
	if err := n.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if c := n.State().CountLoadBalancers(); c != total+1 {
		t.Fatalf("%d load balancers after restart, want %d", c, total+1)
	}
	if s := n.State().LoadBalancer("lb007").ProvisioningStatus; s != "ACTIVE" {
		t.Fatalf("lb007 %s after restart", s)
	}
	if n.State().LoadBalancer("after-snap") == nil {
		t.Fatal("entry after the snapshot lost on restart")
	}
}

// The read index is the commit index (not the leader's applied index), skipping
// the entries that never reach the FSM (a term's no-op, barriers), so a reader
// never waits for an index the FSM cannot reach.
func TestReadIndexIsTheCommitIndex(t *testing.T) {
	n := openSingle(t, t.TempDir(), freeAddr(t))
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Right after election the log ends with a no-op and establishLeadership's
	// barrier: neither reaches the FSM.
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if commit := n.Raft().CommitIndex(); idx > n.State().AppliedIndex() || commit <= idx {
		t.Fatalf("read index %d with commit %d and FSM at %d", idx, commit, n.State().AppliedIndex())
	}
	if err := n.Barrier(ctx); err != nil {
		t.Fatalf("barrier with only a no-op and a barrier entry committed: %v", err)
	}

	res, err := n.Propose(ctx, createCmd("r1", testLB("a", "p", 1)))
	if err != nil || res.Code != storepb.CommandResult_OK {
		t.Fatalf("create: %v %v", res, err)
	}
	if idx, err = n.ReadIndex(ctx); err != nil || idx != n.Raft().CommitIndex() {
		t.Fatalf("read index %d (%v) after a command, commit index %d", idx, err, n.Raft().CommitIndex())
	}
	// A barrier entry after the command: the read index stays at the command.
	if err := n.Raft().Barrier(time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.ReadIndex(ctx); got != idx {
		t.Fatalf("read index %d after a barrier entry, want the command's %d", got, idx)
	}
}

// A forwarded attempt ends as soon as the node learns of another leader, rather
// than waiting out its timeout at a leader that may be dead.
func TestAttemptAtLeaderEndsOnLeaderChange(t *testing.T) {
	addr := freeAddr(t)
	n, err := Open(Config{NodeID: "n1", DataDir: t.TempDir(), RaftAddr: addr, LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// No leader yet: an attempt at a leader this node does not know ends at once.
	ctx, cancel := n.attemptAtLeader(context.Background(), "gone", time.Minute)
	defer cancel()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("an attempt at an unknown leader did not end")
	}
	// An attempt at "no leader" ends when one is elected.
	ctx2, cancel2 := n.attemptAtLeader(context.Background(), "", time.Minute)
	defer cancel2()
	if err := n.Bootstrap([]raft.Server{{ID: "n1", Address: raft.ServerAddress(addr)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx2.Done():
		if id, _ := n.Leader(); id != "n1" {
			t.Fatalf("attempt ended, leader %q", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an attempt outlived the leader change by 10s")
	}
	// An attempt at the current leader runs to its timeout.
	ctx3, cancel3 := n.attemptAtLeader(context.Background(), "n1", 200*time.Millisecond)
	defer cancel3()
	<-ctx3.Done()
	if !errors.Is(ctx3.Err(), context.DeadlineExceeded) {
		t.Fatalf("attempt at the leader ended with %v", ctx3.Err())
	}
}

// TestIdleLeaderForgetsExpiredRequests: after a write and then silence, the
// leader's clock tick moves the FSM's clock past the request's deadline, so the
// request table forgets it without waiting for another write.
func TestIdleLeaderForgetsExpiredRequests(t *testing.T) {
	addr := freeAddr(t)
	n, err := Open(Config{NodeID: "n1", DataDir: t.TempDir(), RaftAddr: addr, LogOutput: io.Discard, ClockTick: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Bootstrap([]raft.Server{{ID: "n1", Address: raft.ServerAddress(addr)}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !n.LeaderReady() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := &storepb.Command{RequestId: "short", DeadlineUnixMs: time.Now().Add(200 * time.Millisecond).UnixMilli(),
		Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER,
			Write: &storepb.TreeWrite{LoadBalancerId: "lb", LoadBalancer: &storepb.LoadBalancer{Id: "lb", ProjectId: "p"}}}}}
	if res, err := n.Propose(ctx, cmd); err != nil || res.Code != storepb.CommandResult_OK {
		t.Fatalf("propose: %v %v", res, err)
	}
	if n.fsm.nextExpiry.Load() == 0 {
		t.Fatal("the request is not remembered")
	}
	for n.fsm.nextExpiry.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle leader never forgot the expired request")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProposeWithin: a proposal bounded by a duration ends at it when nothing
// can commit (a node with no cluster yet), with the same ambiguous outcome as a
// context's deadline; its pooled timer is clean for the next proposal, which
// commits on a node that can.
func TestProposeWithin(t *testing.T) {
	lone, err := Open(Config{NodeID: "n0", DataDir: t.TempDir(), RaftAddr: freeAddr(t), LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lone.Close() })
	for i := range 2 {
		start := time.Now()
		_, err := lone.ProposeWithin(100*time.Millisecond, createCmd(fmt.Sprint("lone", i), testLB("lb-lone", "p", 1)))
		if !errors.Is(err, ErrAmbiguous) {
			t.Fatalf("proposal %d on a node with no leader: %v, want ErrAmbiguous", i, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("proposal %d took %v, bounded by 100ms", i, took)
		}
	}

	n := openSingle(t, t.TempDir(), freeAddr(t))
	t.Cleanup(func() { n.Close() })
	for i := range 3 {
		res, err := n.ProposeWithin(10*time.Second, createCmd(fmt.Sprint("r", i), testLB(fmt.Sprint("lb", i), "p", int64(i))))
		if err != nil || res.Code != storepb.CommandResult_OK {
			t.Fatalf("proposal %d: %v %v", i, res, err)
		}
	}
}
