package store

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func testType(uuid string, created int64) *storepb.InstanceType {
	return &storepb.InstanceType{Uuid: uuid, Name: "type-" + uuid, IsPublic: true,
		ExtraSpecs: map[string]string{"gpu": "a100"}, CreatedAtUs: created, UpdatedAtUs: created}
}

func typePut(req string, x *storepb.InstanceType, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InstanceTypeOperation{InstanceTypeOperation: &storepb.InstanceTypeOperation{
		Op: storepb.InstanceTypeOperation_PUT, Uuid: x.Uuid, ExpectedVersion: expected, Type: x}}}
}

func typeDelete(req, uuid string, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InstanceTypeOperation{InstanceTypeOperation: &storepb.InstanceTypeOperation{
		Op: storepb.InstanceTypeOperation_DELETE, Uuid: uuid, ExpectedVersion: expected}}}
}

// testInstance is a building instance of type t1, unscheduled.
func testInstance(id, project, reservation string, created int64) *storepb.Instance {
	return &storepb.Instance{Uuid: id, Name: "inst-" + id, ProjectId: project, UserId: "u",
		Status: storepb.InstanceBuilding, InstanceTypeUuid: "t1", ImageUuid: "img",
		Networks: []*storepb.InstanceNetwork{{NetId: "net"}}, ReservationId: reservation,
		CreatedAtUs: created, UpdatedAtUs: created}
}

func instTx(req string, intent storepb.InstanceTransaction_Intent, x *storepb.Instance, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
		Intent: intent, InstanceId: x.Uuid, ExpectedVersion: expected, Instance: x}}}
}

func purgeTx(req, id string, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
		Intent: storepb.InstanceTransaction_PURGE_INSTANCE, InstanceId: id, ExpectedVersion: expected}}}
}

// next returns a copy of the stored instance id changed by fn, for the next
// transaction.
func next(f *FSM, id string, fn func(x *storepb.Instance)) (*storepb.Instance, uint64) {
	cur := f.State().Current().Instance(id)
	x := proto.Clone(cur).(*storepb.Instance)
	fn(x)
	return x, cur.Version
}

// step applies intent to instance id changed by fn.
func step(t *testing.T, f *FSM, req string, intent storepb.InstanceTransaction_Intent, id string, fn func(x *storepb.Instance)) *storepb.CommandResult {
	t.Helper()
	x, v := next(f, id, fn)
	return apply1(t, f, instTx(req, intent, x, v))
}

func onHost(h string) func(*storepb.Instance) { return func(x *storepb.Instance) { x.HostId = h } }

// moganFixture: hosts h1, h2 (reservable), h3 (not reservable), instance type t1.
func moganFixture(t *testing.T) *FSM {
	t.Helper()
	f := NewFSM()
	for i, id := range []string{"h1", "h2", "h3"} {
		h := testHost(id, "node-"+id, nil)
		h.CreatedAtUs = int64(i)
		h.Reservable = id != "h3"
		mustOK(t, apply1(t, f, hostPut("put-"+id, h, 0)), "host "+id)
	}
	mustOK(t, apply1(t, f, typePut("t1", testType("t1", 1), 0)), "type t1")
	return f
}

func hostIDs(hs []*storepb.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Id
	}
	return out
}

func TestInstanceLifecycle(t *testing.T) {
	f := moganFixture(t)
	C := storepb.InstanceTransaction_CREATE_INSTANCE
	mustOK(t, apply1(t, f, instTx("c-a", C, testInstance("a", "p", "", 10), 0)), "create a")
	mustCode(t, apply1(t, f, instTx("c-a2", C, testInstance("a", "p", "", 10), 0)), storepb.CommandResult_ALREADY_EXISTS, "create a twice")
	bad := testInstance("z", "p", "", 10)
	bad.InstanceTypeUuid = "t9"
	if r := apply1(t, f, instTx("c-z", C, bad, 0)); r.Code != storepb.CommandResult_NOT_FOUND || r.Message != "InstanceType t9 could not be found" {
		t.Fatalf("create of an unknown type: %v", r)
	}
	bad = testInstance("z", "p", "", 10)
	bad.Status = storepb.InstanceActive
	mustCode(t, apply1(t, f, instTx("c-z2", C, bad, 0)), storepb.CommandResult_INVALID, "create active")

	st := f.State().Current()
	if ids := idsOf(st.InstancesBuilding()); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("building %v", ids)
	}
	mustCode(t, step(t, f, "early", storepb.InstanceTransaction_COMPLETE_BUILD, "a", func(x *storepb.Instance) {
		x.Status, x.LaunchedAtUs = storepb.InstanceActive, 50
	}), storepb.CommandResult_INVALID, "complete before scheduling")
	mustCode(t, step(t, f, "pw-building", storepb.InstanceTransaction_SET_POWER, "a", func(x *storepb.Instance) {
		x.PowerState = storepb.PowerOn
	}), storepb.CommandResult_INVALID, "power while building")
	mustCode(t, step(t, f, "sched-none", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "a", onHost("")), storepb.CommandResult_INVALID, "schedule nowhere")

	mustOK(t, step(t, f, "sched", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "a", onHost("h1")), "schedule a on h1")
	// A reschedule moves the instance, freeing its first host.
	mustOK(t, step(t, f, "resched", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "a", onHost("h2")), "reschedule a on h2")
	st = f.State().Current()
	if st.HostHeldByInstance("h1") || st.InstanceOnHost("h2").GetUuid() != "a" {
		t.Fatal("the reschedule did not move a from h1 to h2")
	}
	if free := hostIDs(st.FreeHosts()); !slices.Equal(free, []string{"h1", "h3"}) {
		t.Fatalf("free hosts %v", free)
	}
	mustOK(t, step(t, f, "done", storepb.InstanceTransaction_COMPLETE_BUILD, "a", func(x *storepb.Instance) {
		x.Status, x.LaunchedAtUs, x.PowerState = storepb.InstanceActive, 50, storepb.PowerOn
		x.NetworkInfo = []*storepb.NetworkPort{{PortId: "port", NetworkId: "net"}}
	}), "complete a")
	mustCode(t, step(t, f, "move", storepb.InstanceTransaction_UPDATE_INSTANCE, "a", onHost("h1")), storepb.CommandResult_INVALID, "update moving a")
	mustOK(t, step(t, f, "rename", storepb.InstanceTransaction_UPDATE_INSTANCE, "a", func(x *storepb.Instance) {
		x.Name, x.Extra = "renamed", map[string]string{"k": "v"}
		x.ProjectId, x.ReservationId = "q", "rZ" // never changes: kept from the row
	}), "rename a")
	mustOK(t, step(t, f, "off", storepb.InstanceTransaction_SET_POWER, "a", func(x *storepb.Instance) {
		x.Status, x.TargetPowerState = storepb.InstancePoweringOff, storepb.PowerOff
	}), "power off a")
	mustOK(t, step(t, f, "off-done", storepb.InstanceTransaction_SET_POWER, "a", func(x *storepb.Instance) {
		x.Status, x.PowerState, x.TargetPowerState = storepb.InstanceStopped, storepb.PowerOff, ""
	}), "a powered off")
	a := f.State().Current().Instance("a")
	if a.Name != "renamed" || a.ProjectId != "p" || a.ReservationId != "" || a.CreatedAtUs != 10 ||
		a.Status != storepb.InstanceStopped || a.PowerState != storepb.PowerOff || a.HostId != "h2" {
		t.Fatalf("a is %v", a)
	}
	mustCode(t, step(t, f, "purge-early", storepb.InstanceTransaction_PURGE_INSTANCE, "a", func(*storepb.Instance) {}),
		storepb.CommandResult_INVALID, "purge carrying a row")
	mustCode(t, apply1(t, f, purgeTx("purge-early2", "a", a.Version)), storepb.CommandResult_INVALID, "purge of a stopped instance")
	mustCode(t, step(t, f, "del-elsewhere", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) {
		x.Status, x.HostId = storepb.InstanceDeleting, ""
	}), storepb.CommandResult_INVALID, "delete dropping the host")
	mustCode(t, apply1(t, f, instTx("stale", storepb.InstanceTransaction_DELETE_INSTANCE, a, a.Version-1)), storepb.CommandResult_CONFLICT, "stale delete")
	dv := mustOK(t, step(t, f, "del", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) {
		x.Status = storepb.InstanceDeleting
	}), "delete a")
	st = f.State().Current()
	if ids := idsOf(st.InstancesInStatus(storepb.InstanceDeleting)); !slices.Equal(ids, []string{"a"}) || !st.HostHeldByInstance("h2") {
		t.Fatalf("deleting %v; a keeps h2 until the purge", ids)
	}
	mustCode(t, step(t, f, "pw-deleting", storepb.InstanceTransaction_SET_POWER, "a", func(*storepb.Instance) {}),
		storepb.CommandResult_INVALID, "power while deleting")
	mustOK(t, apply1(t, f, purgeTx("purge", "a", dv)), "purge a")
	st = f.State().Current()
	if st.Instance("a") != nil || st.HostHeldByInstance("h2") || len(st.Instances()) != 0 || len(st.InstancesInStatus(storepb.InstanceDeleting)) != 0 {
		t.Fatal("the purge left a behind")
	}
	if r := apply1(t, f, purgeTx("purge-again", "a", dv)); r.Code != storepb.CommandResult_NOT_FOUND || r.Message != "Resource could not be found." {
		t.Fatalf("purge of a purged instance: %v", r)
	}
}

func TestFailInstanceKeepsOrReleasesItsHost(t *testing.T) {
	f := moganFixture(t)
	mustOK(t, apply1(t, f, instTx("c", storepb.InstanceTransaction_CREATE_INSTANCE, testInstance("a", "p", "", 1), 0)), "create")
	mustOK(t, step(t, f, "s", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "a", onHost("h1")), "schedule")
	mustCode(t, step(t, f, "f-move", storepb.InstanceTransaction_FAIL_INSTANCE, "a", func(x *storepb.Instance) {
		x.Status, x.HostId = storepb.InstanceError, "h2"
	}), storepb.CommandResult_INVALID, "fail onto another host")
	mustOK(t, step(t, f, "f", storepb.InstanceTransaction_FAIL_INSTANCE, "a", func(x *storepb.Instance) {
		x.Status, x.HostId, x.StatusReason = storepb.InstanceError, "", "No valid host was found."
	}), "fail releasing h1")
	st := f.State().Current()
	if st.HostHeldByInstance("h1") || st.Instance("a").StatusReason == "" || len(st.InstancesBuilding()) != 0 {
		t.Fatalf("after the failure: %v", st.Instance("a"))
	}
}

// Two instances for the last free host: the first claim wins, the second is
// refused with CONFLICT naming the host and writes nothing — whether they
// arrive in two entries or in one batch.
func TestTwoInstancesNeverShareAHost(t *testing.T) {
	f := moganFixture(t)
	C := storepb.InstanceTransaction_CREATE_INSTANCE
	mustOK(t, apply1(t, f, instTx("c-a", C, testInstance("a", "p", "", 1), 0)), "create a")
	mustOK(t, apply1(t, f, instTx("c-b", C, testInstance("b", "q", "", 2), 0)), "create b")
	mustOK(t, step(t, f, "s-a", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "a", onHost("h1")), "a on h1")
	before, bv := f.lastVersion, f.State().Current().Instance("b").Version
	r := step(t, f, "s-b", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "b", onHost("h1"))
	if r.Code != storepb.CommandResult_CONFLICT || r.Version != 0 || !strings.Contains(r.Message, "host h1 ") {
		t.Fatalf("b on h1: %v, want CONFLICT naming h1 with version 0", r)
	}
	if st := f.State().Current(); f.lastVersion != before || st.Instance("b").Version != bv || st.Instance("b").HostId != "" ||
		st.InstanceOnHost("h1").GetUuid() != "a" {
		t.Fatal("a refused claim wrote")
	}
	// Created on the host at once, both in one entry: the first applied wins.
	ca, cb := testInstance("c", "p", "", 3), testInstance("d", "p", "", 4)
	ca.HostId, cb.HostId = "h2", "h2"
	res := applyCmds(t, f, f.State().AppliedIndex()+1, instTx("c-c", C, ca, 0), instTx("c-d", C, cb, 0))
	mustOK(t, res[0], "c on h2")
	mustCode(t, res[1], storepb.CommandResult_CONFLICT, "d on h2")
	if st := f.State().Current(); st.Instance("d") != nil || st.InstanceOnHost("h2").GetUuid() != "c" {
		t.Fatal("d was created")
	}
	// A host not in the inventory, and one that is not reservable, are refused too.
	for _, h := range []string{"h9", "h3"} {
		if r := step(t, f, "s-b-"+h, storepb.InstanceTransaction_SCHEDULE_INSTANCE, "b", onHost(h)); r.Code != storepb.CommandResult_CONFLICT ||
			!strings.Contains(r.Message, "host "+h+" ") {
			t.Fatalf("b on %s: %v", h, r)
		}
	}
	// Once a is purged, h1 is b's to take.
	mustOK(t, step(t, f, "d-a", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) { x.Status = storepb.InstanceDeleting }), "delete a")
	mustOK(t, apply1(t, f, purgeTx("p-a", "a", f.State().Current().Instance("a").Version)), "purge a")
	mustOK(t, step(t, f, "s-b2", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "b", onHost("h1")), "b on h1 once free")
}

// reservationFixture: lease A of project p, reservation rA holding h1 over
// [100, 200), PENDING; returns its version.
func reservationFixture(t *testing.T, f *FSM) uint64 {
	t.Helper()
	return mustOK(t, apply1(t, f, leaseTx("A", storepb.LeaseTransaction_CREATE_LEASE, testLease("A", "p", 100, 200, "rA"), 0,
		[]*storepb.Allocation{alloc("h1", "rA", "A", 100, 200)})), "lease A")
}

func TestReservationRules(t *testing.T) {
	f := moganFixture(t)
	vA := reservationFixture(t, f)
	C := storepb.InstanceTransaction_CREATE_INSTANCE
	create := func(req, id, project, res, host string) *storepb.CommandResult {
		x := testInstance(id, project, res, 5)
		x.HostId = host
		return apply1(t, f, instTx(req, C, x, 0))
	}
	conflictNaming := func(r *storepb.CommandResult, host, what string) {
		t.Helper()
		if r.Code != storepb.CommandResult_CONFLICT || r.Version != 0 || !strings.Contains(r.Message, "host "+host) {
			t.Fatalf("%s: %v, want CONFLICT naming host %s", what, r, host)
		}
	}
	conflictNaming(create("pending", "x1", "p", "rA", "h1"), "h1", "rA's host while its lease is PENDING")
	// Before the lease starts, h1 serves ordinary instances (the scheduler's
	// business to avoid); a PENDING lease claims nothing.
	a := testLease("A", "p", 100, 200, "rA")
	a.Status = storepb.LeaseActive
	a.Events[0].Status = storepb.EventDone
	vA = mustOK(t, apply1(t, f, leaseTx("start-A", storepb.LeaseTransaction_START_LEASE, a, vA, nil)), "start A")

	conflictNaming(create("plain", "x2", "p", "", "h1"), "h1", "an ACTIVE lease's host without its reservation")
	conflictNaming(create("other-project", "x3", "q", "rA", "h1"), "h1", "rA's host for another project")
	conflictNaming(create("not-allocated", "x4", "p", "rA", "h2"), "h2", "rA with a host it does not hold")
	conflictNaming(create("no-such-res", "x5", "p", "rZ", "h2"), "h2", "a reservation that does not exist")
	mustOK(t, create("ok", "x6", "p", "rA", "h1"), "rA's host for rA's instance")
	mustOK(t, create("unscheduled", "x7", "p", "rA", ""), "rA's instance before scheduling")
	conflictNaming(create("taken", "x8", "p", "rA", "h1"), "h1", "rA's host once held")
	mustOK(t, create("elsewhere", "x9", "q", "", "h2"), "an ordinary host for an ordinary instance")

	st := f.State().Current()
	if ids := idsOf(st.InstancesOfReservation("rA")); !slices.Equal(ids, []string{"x6", "x7"}) {
		t.Fatalf("instances of rA %v", ids)
	}
	// The lease ends: its allocations go, and rA places no instance anymore.
	a.Status = "TERMINATED"
	mustOK(t, apply1(t, f, leaseTx("end-A", storepb.LeaseTransaction_END_LEASE, a, vA, nil, key("h1", "rA"))), "end A")
	mustOK(t, step(t, f, "free-h1", storepb.InstanceTransaction_FAIL_INSTANCE, "x6", func(x *storepb.Instance) {
		x.Status, x.HostId = storepb.InstanceError, ""
	}), "x6 leaves h1")
	conflictNaming(step(t, f, "after-end", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "x7", onHost("h1")), "h1", "rA after its lease ended")
	mustOK(t, create("plain-after", "x10", "p", "", "h1"), "h1 for an ordinary instance after the lease")
}

func TestHostDeleteRefusedWhileHeld(t *testing.T) {
	f := moganFixture(t)
	x := testInstance("a", "p", "", 1)
	x.HostId = "h2"
	mustOK(t, apply1(t, f, instTx("c", storepb.InstanceTransaction_CREATE_INSTANCE, x, 0)), "a on h2")
	r := apply1(t, f, hostDelete("del-h2", "h2", 0))
	if r.Code != storepb.CommandResult_IN_USE || !strings.Contains(r.Message, "a") {
		t.Fatalf("delete of a held host: %v", r)
	}
	mustOK(t, step(t, f, "d", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) { x.Status = storepb.InstanceDeleting }), "delete a")
	mustCode(t, apply1(t, f, hostDelete("del-h2b", "h2", 0)), storepb.CommandResult_IN_USE, "delete of a host held by a deleting instance")
	mustOK(t, apply1(t, f, purgeTx("p", "a", f.State().Current().Instance("a").Version)), "purge a")
	mustOK(t, apply1(t, f, hostDelete("del-h2c", "h2", 0)), "delete of a freed host")
}

func TestInstanceTypes(t *testing.T) {
	f := moganFixture(t)
	t2 := testType("t2", 0) // created earlier: listed first
	v2 := mustOK(t, apply1(t, f, typePut("t2", t2, 0)), "t2")
	mustCode(t, apply1(t, f, typePut("t2-again", testType("t2", 0), 0)), storepb.CommandResult_ALREADY_EXISTS, "t2 twice")
	mustCode(t, apply1(t, f, typePut("t2-stale", testType("t2", 0), v2+40)), storepb.CommandResult_CONFLICT, "stale put")
	mustCode(t, apply1(t, f, typePut("t9", testType("t9", 0), 3)), storepb.CommandResult_NOT_FOUND, "replace of an absent type")
	up := testType("t2", 77)
	up.Name = "renamed"
	v2 = mustOK(t, apply1(t, f, typePut("t2-up", up, v2)), "rename t2")
	st := f.State().Current()
	if got := st.InstanceType("t2"); got.Name != "renamed" || got.CreatedAtUs != 0 || got.Version != v2 {
		t.Fatalf("t2 is %v", got)
	}
	if ids := idsOf(st.InstanceTypes()); !slices.Equal(ids, []string{"t2", "t1"}) {
		t.Fatalf("types %v, want creation order", ids)
	}
	mustOK(t, apply1(t, f, instTx("c", storepb.InstanceTransaction_CREATE_INSTANCE, testInstance("a", "p", "", 1), 0)), "a of t1")
	if r := apply1(t, f, typeDelete("del-t1", "t1", 0)); r.Code != storepb.CommandResult_IN_USE || !f.State().Current().InstanceTypeInUse("t1") {
		t.Fatalf("delete of a type in use: %v", r)
	}
	mustCode(t, apply1(t, f, typeDelete("del-t2-stale", "t2", v2-1)), storepb.CommandResult_CONFLICT, "stale delete")
	mustOK(t, apply1(t, f, typeDelete("del-t2", "t2", v2)), "delete t2")
	mustCode(t, apply1(t, f, typeDelete("del-t2-again", "t2", 0)), storepb.CommandResult_NOT_FOUND, "delete t2 again")
	mustOK(t, step(t, f, "d", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) { x.Status = storepb.InstanceDeleting }), "delete a")
	mustCode(t, apply1(t, f, typeDelete("del-t1b", "t1", 0)), storepb.CommandResult_IN_USE, "a deleting instance still names t1")
	mustOK(t, apply1(t, f, purgeTx("p", "a", f.State().Current().Instance("a").Version)), "purge a")
	mustOK(t, apply1(t, f, typeDelete("del-t1c", "t1", 0)), "delete t1 once unused")
}

func TestInstanceRequestReplayed(t *testing.T) {
	f := moganFixture(t)
	x := testInstance("a", "p", "", 1)
	x.HostId = "h1"
	create := instTx("create-a", storepb.InstanceTransaction_CREATE_INSTANCE, x, 0)
	v := mustOK(t, apply1(t, f, proto.Clone(create).(*storepb.Command)), "create a")
	dv := mustOK(t, step(t, f, "d", storepb.InstanceTransaction_DELETE_INSTANCE, "a", func(x *storepb.Instance) { x.Status = storepb.InstanceDeleting }), "delete a")
	mustOK(t, apply1(t, f, purgeTx("purge-a", "a", dv)), "purge a")
	again := apply1(t, f, create)
	if again.Code != storepb.CommandResult_OK || !again.Replayed || again.Version != v {
		t.Fatalf("replayed create: %v, want the original result", again)
	}
	if st := f.State().Current(); st.Instance("a") != nil || st.HostHeldByInstance("h1") {
		t.Fatal("a replay wrote")
	}
	if r := apply1(t, f, purgeTx("purge-a", "a", dv)); !r.Replayed || r.Code != storepb.CommandResult_OK {
		t.Fatalf("replayed purge: %v", r)
	}
}

// moganView is what every Mogan query answers, for comparing states.
func moganView(st *State) []proto.Message {
	var out []proto.Message
	for _, x := range st.Instances() {
		out = append(out, x, st.Instance(x.Uuid))
		if x.HostId != "" {
			out = append(out, st.InstanceOnHost(x.HostId))
		}
		for _, y := range st.InstancesOfReservation(x.ReservationId) {
			out = append(out, y)
		}
	}
	for _, p := range []string{"p", "q"} {
		for _, x := range st.InstancesOfProject(p) {
			out = append(out, x)
		}
	}
	for _, s := range []string{storepb.InstanceBuilding, storepb.InstanceActive, storepb.InstanceDeleting} {
		for _, x := range st.InstancesInStatus(s) {
			out = append(out, x)
		}
	}
	for _, h := range st.FreeHosts() {
		out = append(out, h)
	}
	for _, x := range st.InstanceTypes() {
		out = append(out, x, st.InstanceType(x.Uuid))
	}
	return out
}

func TestMoganSnapshotRoundTrip(t *testing.T) {
	f := moganFixture(t)
	vA := reservationFixture(t, f)
	a := testLease("A", "p", 100, 200, "rA")
	a.Status = storepb.LeaseActive
	mustOK(t, apply1(t, f, leaseTx("start-A", storepb.LeaseTransaction_START_LEASE, a, vA, nil)), "start A")
	mustOK(t, apply1(t, f, typePut("t2", testType("t2", 5), 0)), "t2")
	C := storepb.InstanceTransaction_CREATE_INSTANCE
	for i, c := range []struct{ id, project, res, host string }{
		{"a", "p", "rA", "h1"}, {"b", "q", "", "h2"}, {"c", "p", "", ""}, {"d", "q", "", ""},
	} {
		x := testInstance(c.id, c.project, c.res, int64(10-i))
		x.HostId = c.host
		mustOK(t, apply1(t, f, instTx("c-"+c.id, C, x, 0)), "create "+c.id)
	}
	mustOK(t, step(t, f, "done-a", storepb.InstanceTransaction_COMPLETE_BUILD, "a", func(x *storepb.Instance) {
		x.Status, x.LaunchedAtUs = storepb.InstanceActive, 20
	}), "a active")
	mustOK(t, step(t, f, "del-d", storepb.InstanceTransaction_DELETE_INSTANCE, "d", func(x *storepb.Instance) {
		x.Status = storepb.InstanceDeleting
	}), "d deleting")

	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	want, got := moganView(f.State().Current()), moganView(g.State().Current())
	if len(want) != len(got) || len(want) < 20 {
		t.Fatalf("restored view has %d answers, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("answer %d differs after restore:\n%v\n%v", i, want[i], got[i])
		}
	}
	// The restored FSM goes on refusing a held host and a used type.
	mustCode(t, step(t, g, "c-on-h2", storepb.InstanceTransaction_SCHEDULE_INSTANCE, "c", onHost("h2")), storepb.CommandResult_CONFLICT, "c on h2 after restore")
	mustCode(t, apply1(t, g, hostDelete("del-h1", "h1", 0)), storepb.CommandResult_IN_USE, "h1 after restore")
	mustCode(t, apply1(t, g, typeDelete("del-t1", "t1", 0)), storepb.CommandResult_IN_USE, "t1 after restore")
}

// Every query on a small state, against what a scan of the rows answers.
func TestMoganQueries(t *testing.T) {
	f := moganFixture(t)
	C := storepb.InstanceTransaction_CREATE_INSTANCE
	for i, c := range []struct{ id, project, host string }{
		{"a", "p", "h2"}, {"b", "q", ""}, {"c", "p", "h1"}, {"d", "p", ""},
	} {
		x := testInstance(c.id, c.project, "", int64(10-i)) // created in reverse id order
		x.HostId = c.host
		mustOK(t, apply1(t, f, instTx("c-"+c.id, C, x, 0)), "create "+c.id)
	}
	mustOK(t, step(t, f, "done-c", storepb.InstanceTransaction_COMPLETE_BUILD, "c", func(x *storepb.Instance) {
		x.Status, x.LaunchedAtUs = storepb.InstanceActive, 20
	}), "c active")
	st := f.State().Current()
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"Instances", idsOf(st.Instances()), []string{"d", "c", "b", "a"}},
		{"InstancesOfProject(p)", idsOf(st.InstancesOfProject("p")), []string{"d", "c", "a"}},
		{"InstancesOfProject(q)", idsOf(st.InstancesOfProject("q")), []string{"b"}},
		{"InstancesOfProject(z)", idsOf(st.InstancesOfProject("z")), nil},
		{"InstancesBuilding", idsOf(st.InstancesBuilding()), []string{"a", "b", "d"}},
		{"InstancesInStatus(active)", idsOf(st.InstancesInStatus(storepb.InstanceActive)), []string{"c"}},
		{"InstancesOfReservation(rA)", idsOf(st.InstancesOfReservation("rA")), nil},
		{"FreeHosts", hostIDs(st.FreeHosts()), []string{"h3"}},
		{"InstanceTypes", idsOf(st.InstanceTypes()), []string{"t1"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if st.InstanceOnHost("h1").GetUuid() != "c" || st.InstanceOnHost("h2").GetUuid() != "a" || st.InstanceOnHost("h3") != nil ||
		st.InstanceOnHost("") != nil {
		t.Error("InstanceOnHost")
	}
	if !st.HostHeldByInstance("h1") || st.HostHeldByInstance("h3") {
		t.Error("HostHeldByInstance")
	}
	if st.Instance("a").GetName() != "inst-a" || st.Instance("zz") != nil {
		t.Error("Instance")
	}
	if st.InstanceType("t1") == nil || st.InstanceType("t9") != nil || !st.InstanceTypeInUse("t1") || st.InstanceTypeInUse("t9") {
		t.Error("InstanceType, InstanceTypeInUse")
	}
}
