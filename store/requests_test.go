package store

import (
	"bytes"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// applyAt runs commands through the FSM as one Raft entry stamped with the
// leader time now (unix ms).
func applyAt(t *testing.T, f *FSM, idx uint64, now int64, cmds ...*storepb.Command) []*storepb.CommandResult {
	t.Helper()
	data, err := proto.Marshal(&storepb.CommandBatch{Commands: cmds, LeaderTimeUnixMs: now})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data}).([]*storepb.CommandResult)
	if !ok {
		t.Fatal("apply returned no results")
	}
	return res
}

func withDeadline(c *storepb.Command, deadline int64) *storepb.Command {
	c.DeadlineUnixMs = deadline
	return c
}

func resolveCmd(req string, deadline int64) *storepb.Command {
	return &storepb.Command{RequestId: req, DeadlineUnixMs: deadline,
		Op: &storepb.Command_ResolveRequest{ResolveRequest: &storepb.ResolveRequest{}}}
}

// A request retried after later writes moved the entity on is answered with its
// original result, not applied again (the "zombie PUT" of issue 8).
func TestFSMRequestAppliedOnceAfterLaterWrites(t *testing.T) {
	f := NewFSM()
	v1 := applyAt(t, f, 1, 1000, withDeadline(createCmd("create", testLB("a", "p", 1)), 5000))[0].Version
	put := withDeadline(statusCmd("put-1", "a", v1, "PENDING_UPDATE"), 5000)
	first := applyAt(t, f, 2, 1100, put)[0]
	if first.Code != storepb.CommandResult_OK || first.Replayed {
		t.Fatalf("first apply: %v", first)
	}
	// Three later writes by other requests.
	v := first.Version
	for i, s := range []string{"ACTIVE", "PENDING_UPDATE", "ACTIVE"} {
		r := applyAt(t, f, uint64(3+i), 1200, withDeadline(statusCmd("other-"+s+string(rune('0'+i)), "a", v, s), 5000))[0]
		if r.Code != storepb.CommandResult_OK {
			t.Fatalf("other write %d: %v", i, r)
		}
		v = r.Version
	}
	// The retried copy (same request id, same expected version) comes late.
	again := applyAt(t, f, 10, 1300, proto.Clone(put).(*storepb.Command))[0]
	if again.Code != storepb.CommandResult_OK || !again.Replayed || again.Version != first.Version {
		t.Fatalf("late copy: %v, want the original result replayed", again)
	}
	// Even a re-decided copy (another expected version) is not applied again.
	redo := applyAt(t, f, 11, 1300, withDeadline(statusCmd("put-1", "a", v, "ERROR"), 5000))[0]
	if !redo.Replayed {
		t.Fatalf("re-decided copy: %v", redo)
	}
	if lb := f.State().Current().LoadBalancer("a"); lb.ProvisioningStatus != "ACTIVE" || lb.Version != v {
		t.Fatalf("state changed by a replay: %v", lb)
	}
}

// A refused command is not remembered: the grain may re-decide and propose again
// with the same request id after a lost compare-and-set.
func TestFSMRefusedRequestMayBeRetried(t *testing.T) {
	f := NewFSM()
	v1 := applyAt(t, f, 1, 1000, withDeadline(createCmd("create", testLB("a", "p", 1)), 5000))[0].Version
	if r := applyAt(t, f, 2, 1000, withDeadline(statusCmd("put", "a", v1+7, "ERROR"), 5000))[0]; r.Code != storepb.CommandResult_CONFLICT {
		t.Fatalf("stale: %v", r)
	}
	if r := applyAt(t, f, 3, 1000, withDeadline(statusCmd("put", "a", v1, "ERROR"), 5000))[0]; r.Code != storepb.CommandResult_OK || r.Replayed {
		t.Fatalf("re-decided: %v", r)
	}
}

// A command whose deadline the FSM's clock has passed is refused, and the clock
// never goes back (a leader with a slower clock cannot revive it).
func TestFSMRefusesExpiredCommands(t *testing.T) {
	f := NewFSM()
	if r := applyAt(t, f, 1, 6000, withDeadline(createCmd("late", testLB("a", "p", 1)), 5000))[0]; r.Code != storepb.CommandResult_EXPIRED {
		t.Fatalf("late create: %v", r)
	}
	if r := applyAt(t, f, 2, 4000, withDeadline(createCmd("late", testLB("a", "p", 1)), 5000))[0]; r.Code != storepb.CommandResult_EXPIRED {
		t.Fatalf("late create under an older leader time: %v", r)
	}
	if f.State().Current().LoadBalancer("a") != nil {
		t.Fatal("an expired command wrote")
	}
}

// Resolve fences an unapplied request: a copy still in flight is then refused.
// Resolving an applied request answers its original result.
func TestFSMResolve(t *testing.T) {
	f := NewFSM()
	if r := applyAt(t, f, 1, 1000, resolveCmd("lost", 5000))[0]; r.Code != storepb.CommandResult_ABORTED {
		t.Fatalf("resolve of an unapplied request: %v", r)
	}
	if r := applyAt(t, f, 2, 1100, withDeadline(createCmd("lost", testLB("a", "p", 1)), 5000))[0]; r.Code != storepb.CommandResult_ABORTED {
		t.Fatalf("copy after the fence: %v", r)
	}
	if f.State().Current().LoadBalancer("a") != nil {
		t.Fatal("a fenced request wrote")
	}
	created := applyAt(t, f, 3, 1200, withDeadline(createCmd("made", testLB("b", "p", 1)), 5000))[0]
	r := applyAt(t, f, 4, 1300, resolveCmd("made", 5000))[0]
	if r.Code != storepb.CommandResult_OK || !r.Replayed || r.Version != created.Version {
		t.Fatalf("resolve of an applied request: %v (created %v)", r, created)
	}
}

// Requests are forgotten once the clock passes their deadline, and remembered
// across a snapshot and restore until then.
func TestFSMRequestTableExpiresAndSnapshots(t *testing.T) {
	f := NewFSM()
	applyAt(t, f, 1, 1000, withDeadline(createCmd("short", testLB("a", "p", 1)), 2000),
		withDeadline(createCmd("long", testLB("b", "p", 1)), 9000))
	if f.requests.len() != 2 {
		t.Fatalf("remembered %d requests, want 2", f.requests.len())
	}
	applyAt(t, f, 2, 3000) // an entry with no commands still moves the clock
	if f.requests.len() != 1 {
		t.Fatalf("remembered %d requests after the clock passed one deadline, want 1", f.requests.len())
	}

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := snap.(*fsmSnapshot).write(&buf); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(&buf)); err != nil {
		t.Fatal(err)
	}
	if g.clock != 3000 || g.requests.len() != 1 {
		t.Fatalf("restored clock %d and %d requests, want 3000 and 1", g.clock, g.requests.len())
	}
	if r := applyAt(t, g, 3, 3100, withDeadline(createCmd("long", testLB("b", "p", 1)), 9000))[0]; !r.Replayed {
		t.Fatalf("retry after restore: %v", r)
	}
}
