package store

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// applyCmds runs commands through the FSM as one Raft entry at index idx.
func applyCmds(t *testing.T, f *FSM, idx uint64, cmds ...*storepb.Command) []*storepb.CommandResult {
	t.Helper()
	data, err := proto.Marshal(&storepb.CommandBatch{Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	out := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: data})
	res, ok := out.([]*storepb.CommandResult)
	if !ok {
		t.Fatalf("apply: %v", out)
	}
	return res
}

func testLB(id, project string, created int64) *storepb.LoadBalancer {
	return &storepb.LoadBalancer{Id: id, ProjectId: project, Name: "lb-" + id, CreatedAt: created,
		ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE", AdminStateUp: true}
}

func createCmd(req string, lb *storepb.LoadBalancer) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: lb.Id, LoadBalancer: lb}}}}
}

// statusCmd is a user update that moves load balancer id (of project p) to status.
func statusCmd(req, id string, expected uint64, status string) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_UPDATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: id, ExpectedVersion: expected, LoadBalancer: withStatus(testLB(id, "p", 1), status)}}}}
}

func TestFSMCompareAndSet(t *testing.T) {
	f := NewFSM()
	res := applyCmds(t, f, 1, createCmd("r1", testLB("a", "p", 1)))
	if res[0].Code != storepb.CommandResult_OK || res[0].Version == 0 {
		t.Fatalf("create: %v", res[0])
	}
	v1 := res[0].Version

	// Same id, other request: refused. Same request retried: accepted, unchanged.
	res = applyCmds(t, f, 2, createCmd("r2", testLB("a", "p", 1)), createCmd("r1", testLB("a", "p", 1)))
	if res[0].Code != storepb.CommandResult_ALREADY_EXISTS {
		t.Fatalf("duplicate create: %v", res[0])
	}
	if res[1].Code != storepb.CommandResult_OK || res[1].Version != v1 {
		t.Fatalf("retried create: %v", res[1])
	}

	// A stale version is refused; the right one moves the version on.
	res = applyCmds(t, f, 3, statusCmd("r3", "a", v1+100, "ACTIVE"), statusCmd("r4", "a", v1, "ACTIVE"))
	if res[0].Code != storepb.CommandResult_CONFLICT || res[0].Version != v1 {
		t.Fatalf("stale CAS: %v", res[0])
	}
	if res[1].Code != storepb.CommandResult_OK || res[1].Version <= v1 {
		t.Fatalf("CAS: %v", res[1])
	}
	v2 := res[1].Version
	// Two activations racing on the same version inside one batch: one wins.
	res = applyCmds(t, f, 4, statusCmd("r5", "a", v2, "PENDING_UPDATE"), statusCmd("r6", "a", v2, "ERROR"))
	if res[0].Code != storepb.CommandResult_OK || res[1].Code != storepb.CommandResult_CONFLICT {
		t.Fatalf("racing CAS: %v / %v", res[0], res[1])
	}
	// The retry of an applied command whose version moved on is recognised.
	res = applyCmds(t, f, 5, statusCmd("r5", "a", v2, "PENDING_UPDATE"))
	if res[0].Code != storepb.CommandResult_OK {
		t.Fatalf("idempotent retry: %v", res[0])
	}
	lb := f.State().LoadBalancer("a")
	if lb.ProvisioningStatus != "PENDING_UPDATE" || lb.Name != "lb-a" {
		t.Fatalf("state: %v", lb)
	}
	if got := f.State().AppliedIndex(); got != 5 {
		t.Fatalf("applied index %d, want 5", got)
	}

	// Not found, delete, purge.
	res = applyCmds(t, f, 6, statusCmd("r7", "zzz", 1, "ACTIVE"),
		&storepb.Command{RequestId: "r8", Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: storepb.TreeTransaction_DELETE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: "a", ExpectedVersion: lb.Version, LoadBalancer: withStatus(lb, "PENDING_DELETE")}}}})
	if res[0].Code != storepb.CommandResult_NOT_FOUND || res[1].Code != storepb.CommandResult_OK {
		t.Fatalf("not found / delete: %v / %v", res[0], res[1])
	}
	if s := f.State().LoadBalancer("a").ProvisioningStatus; s != "PENDING_DELETE" {
		t.Fatalf("after delete: %s", s)
	}
	res = applyCmds(t, f, 7, &storepb.Command{RequestId: "r9", Op: &storepb.Command_PurgeLoadBalancer{PurgeLoadBalancer: &storepb.PurgeLoadBalancer{Id: "a", ExpectedVersion: res[1].Version}}})
	if res[0].Code != storepb.CommandResult_OK || f.State().LoadBalancer("a") != nil {
		t.Fatalf("purge: %v", res[0])
	}
}

func withStatus(lb *storepb.LoadBalancer, status string) *storepb.LoadBalancer {
	c := proto.Clone(lb).(*storepb.LoadBalancer)
	c.ProvisioningStatus = status
	return c
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	f := NewFSM()
	var cmds []*storepb.Command
	for i := 0; i < 500; i++ {
		lb := testLB(fmt.Sprintf("lb-%04d", i), fmt.Sprintf("p%d", i%7), int64(1000+i))
		lb.Tags = []string{"t1", fmt.Sprint(i)}
		// A named additional address is a claim: one per load balancer.
		lb.AdditionalVips = []*storepb.AdditionalVip{{SubnetId: "s", IpAddress: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)}}
		cmds = append(cmds, createCmd(fmt.Sprint("req-", i), lb))
	}
	applyCmds(t, f, 10, cmds...)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot must not leak into it.
	applyCmds(t, f, 11, createCmd("late", testLB("late", "p", 5)))
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil || sink.cancelled {
		t.Fatalf("persist: %v", err)
	}

	g := NewFSM()
	applyCmds(t, g, 1, createCmd("old", testLB("old", "p", 1))) // discarded by Restore
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if g.State().AppliedIndex() != 10 {
		t.Fatalf("applied index %d", g.State().AppliedIndex())
	}
	if g.State().LoadBalancer("old") != nil || g.State().LoadBalancer("late") != nil {
		t.Fatal("restore kept objects not in the snapshot")
	}
	if n := g.State().CountLoadBalancers(); n != 500 {
		t.Fatalf("restored %d load balancers", n)
	}
	for i := 0; i < 500; i++ {
		id := fmt.Sprintf("lb-%04d", i)
		if !proto.Equal(f.State().LoadBalancer(id), g.State().LoadBalancer(id)) {
			t.Fatalf("%s differs after restore", id)
		}
	}
	// Versions continue from the snapshot's sequence: no reuse.
	res := applyCmds(t, g, 11, createCmd("n", testLB("new", "p", 9)))
	if res[0].Version <= f.State().LoadBalancer("lb-0499").Version {
		t.Fatalf("version %d reused after restore", res[0].Version)
	}
	// Indexes are rebuilt: a project-scoped list works.
	page, err := List(g.State().Current().LoadBalancers, Query[*storepb.LoadBalancer]{Project: "p3"})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("list after restore: %d, %v", len(page.Items), err)
	}

	// A corrupt stream is refused and leaves the state alone.
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()[:len(sink.Bytes())/2]))); err == nil {
		t.Fatal("restore of a truncated snapshot succeeded")
	}
	whole := sink.Bytes()
	if err := g.Restore(io.NopCloser(bytes.NewReader(whole[:len(whole)-3]))); err == nil {
		t.Fatal("restore of a snapshot without its end record succeeded")
	}
	if g.State().LoadBalancer("new") == nil {
		t.Fatal("failed restore changed the state")
	}
}

// The reconciler's once-a-second scan sees the latest writes without
// publishing the tables (StateStore.peek), and after they were published too.
func TestPendingLoadBalancersWithoutPublishing(t *testing.T) {
	f := NewFSM()
	applyCmds(t, f, 1, createCmd("r1", testLB("a", "p", 1)), createCmd("r2", withStatus(testLB("b", "p", 2), "ACTIVE")))
	ids := func() []string {
		var out []string
		for _, lb := range f.State().PendingLoadBalancers() {
			out = append(out, lb.Id)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("pending %v, want [a]", got)
	}
	if !f.State().stale.Load() {
		t.Fatal("PendingLoadBalancers published the tables")
	}
	f.State().Current()
	if got := ids(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("pending once published %v, want [a]", got)
	}
}

// A tree write may send only its load balancer's statuses: the FSM applies them to
// the current row, under the same version check as a whole row.
func TestFSMAppliesLoadBalancerStatus(t *testing.T) {
	f := NewFSM()
	lb := testLB("a", "p", 1)
	lb.Tags, lb.VipAddress = []string{"x", "y"}, "127.0.100.7"
	v1 := applyCmds(t, f, 1, createCmd("r1", lb))[0].Version
	step := func(req string, expected uint64, st *storepb.LoadBalancerStatus, row *storepb.LoadBalancer, intent storepb.TreeTransaction_Intent) *storepb.Command {
		return &storepb.Command{RequestId: req, Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
			Intent: intent, Write: &storepb.TreeWrite{LoadBalancerId: "a", ExpectedVersion: expected, LoadBalancer: row, LoadBalancerStatus: st}}}}
	}
	active := &storepb.LoadBalancerStatus{ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", UpdatedAt: 77}
	complete := storepb.TreeTransaction_COMPLETE_PROVISIONING

	res := applyCmds(t, f, 2,
		step("r2", v1+1, active, nil, complete), // not the version it was decided from
		step("r3", v1, active, lb, complete),    // row and statuses both
		step("r4", 0, active, nil, storepb.TreeTransaction_CREATE_LOAD_BALANCER),
	)
	if res[0].Code != storepb.CommandResult_CONFLICT || res[0].Version != v1 {
		t.Errorf("stale statuses: %v", res[0])
	}
	for _, r := range res[1:] {
		if r.Code != storepb.CommandResult_INVALID {
			t.Errorf("malformed statuses: %v", r)
		}
	}
	res = applyCmds(t, f, 3, step("r5", v1, active, nil, complete))
	if res[0].Code != storepb.CommandResult_OK || res[0].Version <= v1 {
		t.Fatalf("statuses: %v", res[0])
	}
	want := proto.Clone(lb).(*storepb.LoadBalancer)
	want.ProvisioningStatus, want.OperatingStatus, want.UpdatedAt, want.Version = "ACTIVE", "ONLINE", 77, res[0].Version
	if got := f.State().LoadBalancer("a"); !proto.Equal(got, want) {
		t.Fatalf("row after the statuses:\n got %v\nwant %v", got, want)
	}
	// A load balancer that is gone: not found, as for a whole row.
	if res = applyCmds(t, f, 4, &storepb.Command{RequestId: "r6", Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: complete, Write: &storepb.TreeWrite{LoadBalancerId: "zzz", ExpectedVersion: 1, LoadBalancerStatus: active}}}}); res[0].Code != storepb.CommandResult_NOT_FOUND {
		t.Fatalf("statuses of a missing load balancer: %v", res[0])
	}
}

// StatusChangeOf finds a change of statuses only, and nothing else.
func TestStatusChangeOf(t *testing.T) {
	cur := testLB("a", "p", 1)
	cur.Version, cur.Tags = 3, []string{"x"}
	next := proto.Clone(cur).(*storepb.LoadBalancer)
	next.ProvisioningStatus, next.OperatingStatus, next.UpdatedAt = "ACTIVE", "ONLINE", 9
	st := storepb.StatusChangeOf(cur, next)
	if st == nil || st.ProvisioningStatus != "ACTIVE" || st.OperatingStatus != "ONLINE" || st.UpdatedAt != 9 {
		t.Fatalf("status change: %v", st)
	}
	if got := st.AppliedTo(cur); got.ProvisioningStatus != "ACTIVE" || got.Name != cur.Name || cur.ProvisioningStatus != "PENDING_CREATE" {
		t.Fatalf("applied: %v (current row now %v)", got, cur)
	}
	for name, change := range map[string]func(*storepb.LoadBalancer){
		"name":  func(x *storepb.LoadBalancer) { x.Name = "other" },
		"tags":  func(x *storepb.LoadBalancer) { x.Tags = append(x.Tags, "y") },
		"admin": func(x *storepb.LoadBalancer) { x.AdminStateUp = false },
	} {
		other := proto.Clone(next).(*storepb.LoadBalancer)
		change(other)
		if st := storepb.StatusChangeOf(cur, other); st != nil {
			t.Errorf("%s changed, yet a status change: %v", name, st)
		}
	}
	if storepb.StatusChangeOf(nil, next) != nil {
		t.Error("a status change of no row")
	}
	// It compares in place: next is as it was after, and only the change it
	// returns is allocated.
	before := proto.Clone(next).(*storepb.LoadBalancer)
	renamed := proto.Clone(next).(*storepb.LoadBalancer)
	renamed.Name = "other"
	renamedBefore := proto.Clone(renamed).(*storepb.LoadBalancer)
	if n := testing.AllocsPerRun(100, func() { storepb.StatusChangeOf(cur, next) }); n != 1 {
		t.Errorf("a status change allocates %v times, want 1 (the change)", n)
	}
	if n := testing.AllocsPerRun(100, func() { storepb.StatusChangeOf(cur, renamed) }); n != 0 {
		t.Errorf("no status change allocates %v times, want 0", n)
	}
	if !proto.Equal(next, before) || !proto.Equal(renamed, renamedBefore) {
		t.Errorf("StatusChangeOf changed its argument: %v, %v", next, renamed)
	}
}
