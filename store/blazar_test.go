package store

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

func testHost(id, name string, caps map[string]string) *storepb.Host {
	return &storepb.Host{Id: id, Name: name, HypervisorHostname: name, Vcpus: 8, MemoryMb: 4096,
		Reservable: true, ExtraCapabilities: caps, CreatedAtUs: 1000, UpdatedAtUs: 1000,
		Bmc: &storepb.Bmc{Address: "10.0.0.1", Port: 623, PowerDriver: "fake"}}
}

func hostPut(req string, h *storepb.Host, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_HostOperation{HostOperation: &storepb.HostOperation{
		Op: storepb.HostOperation_PUT, HostId: h.Id, ExpectedVersion: expected, Host: h}}}
}

func hostDelete(req, id string, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_HostOperation{HostOperation: &storepb.HostOperation{
		Op: storepb.HostOperation_DELETE, HostId: id, ExpectedVersion: expected}}}
}

// testLease is a lease over [start, end) with one reservation per id in res and
// its three events, all UNDONE.
func testLease(id, project string, start, end int64, res ...string) *storepb.Lease {
	l := &storepb.Lease{Id: id, Name: "lease-" + id, ProjectId: project, StartMs: start, EndMs: end,
		Status: "PENDING", CreatedAtUs: start}
	for _, r := range res {
		l.Reservations = append(l.Reservations, &storepb.Reservation{Id: r, LeaseId: id,
			ResourceType: "physical:host", Status: "pending", Min: 1, Max: 1})
	}
	l.Events = []*storepb.LeaseEvent{
		{Id: id + "-start", LeaseId: id, EventType: storepb.EventStartLease, TimeMs: start, Status: storepb.EventUndone},
		{Id: id + "-end", LeaseId: id, EventType: storepb.EventEndLease, TimeMs: end, Status: storepb.EventUndone},
		{Id: id + "-before", LeaseId: id, EventType: storepb.EventBeforeEndLease, TimeMs: max(start, end-60), Status: storepb.EventUndone},
	}
	return l
}

func alloc(host, res, lease string, start, end int64) *storepb.Allocation {
	return &storepb.Allocation{HostId: host, ReservationId: res, LeaseId: lease, StartMs: start, EndMs: end}
}

func leaseTx(req string, intent storepb.LeaseTransaction_Intent, l *storepb.Lease, expected uint64,
	puts []*storepb.Allocation, deletes ...*storepb.AllocationKey) *storepb.Command {
	tx := &storepb.LeaseTransaction{Intent: intent, ExpectedVersion: expected, Lease: l,
		AllocationsPut: puts, AllocationsDelete: deletes}
	if l != nil {
		tx.LeaseId = l.Id
	}
	return &storepb.Command{RequestId: req, Op: &storepb.Command_LeaseTransaction{LeaseTransaction: tx}}
}

func deleteLeaseTx(req, id string, expected uint64) *storepb.Command {
	return &storepb.Command{RequestId: req, Op: &storepb.Command_LeaseTransaction{LeaseTransaction: &storepb.LeaseTransaction{
		Intent: storepb.LeaseTransaction_DELETE_LEASE, LeaseId: id, ExpectedVersion: expected}}}
}

func key(host, res string) *storepb.AllocationKey {
	return &storepb.AllocationKey{HostId: host, ReservationId: res}
}

// apply1 applies one command as its own entry and returns its result.
func apply1(t *testing.T, f *FSM, cmd *storepb.Command) *storepb.CommandResult {
	t.Helper()
	return applyCmds(t, f, f.State().AppliedIndex()+1, cmd)[0]
}

func mustOK(t *testing.T, res *storepb.CommandResult, what string) uint64 {
	t.Helper()
	if res.Code != storepb.CommandResult_OK {
		t.Fatalf("%s: %v", what, res)
	}
	return res.Version
}

func mustCode(t *testing.T, res *storepb.CommandResult, code storepb.CommandResult_Code, what string) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("%s: %v, want %v", what, res, code)
	}
}

func allocIDs(as []*storepb.Allocation) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.HostId + "/" + a.ReservationId
	}
	return out
}

func TestHostOperations(t *testing.T) {
	f := NewFSM()
	v1 := mustOK(t, apply1(t, f, hostPut("h1", testHost("h1", "node-1", map[string]string{"gpu": "a100", "rack": "1"}), 0)), "create h1")
	h2 := testHost("h2", "node-2", map[string]string{"gpu": "v100"})
	h2.CreatedAtUs, h2.UpdatedAtUs = 500, 500 // created earlier: listed first
	mustOK(t, apply1(t, f, hostPut("h2", h2, 0)), "create h2")

	mustCode(t, apply1(t, f, hostPut("dup-id", testHost("h1", "node-x", nil), 0)), storepb.CommandResult_ALREADY_EXISTS, "duplicate id")
	mustCode(t, apply1(t, f, hostPut("dup-name", testHost("h3", "node-1", nil), 0)), storepb.CommandResult_ALREADY_EXISTS, "duplicate name")
	mustCode(t, apply1(t, f, hostPut("stale", testHost("h1", "node-1", nil), v1+50)), storepb.CommandResult_CONFLICT, "stale replace")
	mustCode(t, apply1(t, f, hostPut("absent", testHost("h9", "node-9", nil), 3)), storepb.CommandResult_NOT_FOUND, "replace of an absent host")
	rename := testHost("h2", "node-1", nil)
	mustCode(t, apply1(t, f, hostPut("rename", rename, f.State().Current().Host("h2").Version)), storepb.CommandResult_ALREADY_EXISTS, "rename onto a taken name")

	st := f.State().Current()
	if got := idsOf(st.Hosts()); !slices.Equal(got, []string{"h2", "h1"}) || st.HostsCount() != 2 {
		t.Fatalf("hosts %v (%d), want creation order [h2 h1]", got, st.HostsCount())
	}
	if h := st.HostByName("node-1"); h == nil || h.Id != "h1" || st.HostByName("nope") != nil {
		t.Fatalf("host by name: %v", h)
	}
	if got := st.CapabilityValues("gpu"); !slices.Equal(got, []string{"a100", "v100"}) {
		t.Fatalf("gpu values %v", got)
	}
	if !st.CapabilityExists("rack") || st.CapabilityExists("ra") || st.CapabilityExists("zzz") {
		t.Fatal("CapabilityExists")
	}
	var names []string
	for _, p := range st.ResourceProperties() {
		names = append(names, p.PropertyName)
	}
	if !slices.Equal(names, []string{"gpu", "rack"}) || st.ResourceProperty("gpu").CreatedAtUs != 1000 {
		t.Fatalf("properties %v, gpu %v", names, st.ResourceProperty("gpu"))
	}

	// A replace keeps the creation time, moves the version and re-indexes the
	// capabilities; a new capability name creates its property, once.
	h1 := testHost("h1", "node-1", map[string]string{"gpu": "h100", "nic": "100g"})
	h1.CreatedAtUs, h1.UpdatedAtUs = 77, 3000
	v2 := mustOK(t, apply1(t, f, hostPut("replace", h1, v1)), "replace h1")
	st = f.State().Current()
	if h := st.Host("h1"); h.Version != v2 || h.CreatedAtUs != 1000 || h.UpdatedAtUs != 3000 {
		t.Fatalf("replaced host %v", h)
	}
	if got := st.CapabilityValues("gpu"); !slices.Equal(got, []string{"h100", "v100"}) || st.CapabilityExists("rack") {
		t.Fatalf("after replace: gpu %v, rack exists %v", got, st.CapabilityExists("rack"))
	}
	if p := st.ResourceProperty("nic"); p == nil || p.CreatedAtUs != 3000 {
		t.Fatalf("nic property %v", p)
	}
	if p := st.ResourceProperty("rack"); p == nil {
		t.Fatal("a property is never deleted")
	}

	// Properties: private flag, unknown name.
	mustOK(t, applyAt(t, f, f.State().AppliedIndex()+1, 5000, &storepb.Command{RequestId: "priv",
		Op: &storepb.Command_SetResourceProperty{SetResourceProperty: &storepb.SetResourceProperty{PropertyName: "gpu", Private: true}}})[0], "set private")
	if p := f.State().Current().ResourceProperty("gpu"); !p.Private || p.UpdatedAtUs != 5000*1000 || p.CreatedAtUs != 1000 {
		t.Fatalf("gpu property %v", p)
	}
	mustCode(t, apply1(t, f, &storepb.Command{RequestId: "priv2",
		Op: &storepb.Command_SetResourceProperty{SetResourceProperty: &storepb.SetResourceProperty{PropertyName: "nope"}}}),
		storepb.CommandResult_NOT_FOUND, "unknown property")
	if p := st.ResourceProperty("gpu"); p.Private {
		t.Fatal("a published state changed")
	}

	// Delete: in use refused with Blazar's text, absent not found, then gone.
	l := testLease("l1", "p", 100, 200, "r1")
	mustOK(t, apply1(t, f, leaseTx("lease", storepb.LeaseTransaction_CREATE_LEASE, l, 0,
		[]*storepb.Allocation{alloc("h1", "r1", "l1", 100, 200)})), "create lease")
	res := apply1(t, f, hostDelete("del-busy", "h1", 0))
	if res.Code != storepb.CommandResult_IN_USE || res.Message != "Can't delete host h1. The host is reserved." {
		t.Fatalf("delete of a reserved host: %v", res)
	}
	mustCode(t, apply1(t, f, hostDelete("del-absent", "h9", 0)), storepb.CommandResult_NOT_FOUND, "delete absent")
	mustCode(t, apply1(t, f, hostDelete("del-stale", "h2", 1)), storepb.CommandResult_CONFLICT, "delete stale")
	mustOK(t, apply1(t, f, hostDelete("del-h2", "h2", 0)), "delete h2")
	st = f.State().Current()
	if st.Host("h2") != nil || st.HostByName("node-2") != nil || slices.Contains(st.CapabilityValues("gpu"), "v100") {
		t.Fatal("deleted host still answered")
	}
	lv := st.Lease("l1").Version
	mustOK(t, apply1(t, f, deleteLeaseTx("del-lease", "l1", lv)), "delete lease")
	mustOK(t, apply1(t, f, hostDelete("del-h1", "h1", 0)), "delete h1 once free")
}

// blazarFixture: hosts h1, h2 (reservable), h3 (not reservable); lease A holds
// h1 for reservation rA over [100, 200).
func blazarFixture(t *testing.T) (*FSM, uint64) {
	t.Helper()
	f := NewFSM()
	for i, id := range []string{"h1", "h2", "h3"} {
		h := testHost(id, "node-"+id, nil)
		h.CreatedAtUs = int64(i)
		h.Reservable = id != "h3"
		mustOK(t, apply1(t, f, hostPut("put-"+id, h, 0)), "host "+id)
	}
	v := mustOK(t, apply1(t, f, leaseTx("A", storepb.LeaseTransaction_CREATE_LEASE, testLease("A", "p", 100, 200, "rA"), 0,
		[]*storepb.Allocation{alloc("h1", "rA", "A", 100, 200)})), "lease A")
	return f, v
}

func TestDoubleBookingRefused(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start, end int64
		cleaning   int64
		hosts      []string // one reservation per host, rB0, rB1, …
		ok         bool
		names      []string // hosts the refusal names
	}{
		{name: "overlap", start: 150, end: 250, hosts: []string{"h1"}, names: []string{"h1"}},
		{name: "inside", start: 120, end: 130, hosts: []string{"h1"}, names: []string{"h1"}},
		{name: "around", start: 50, end: 300, hosts: []string{"h1"}, names: []string{"h1"}},
		{name: "back-to-back after", start: 200, end: 300, hosts: []string{"h1"}, ok: true},
		{name: "back-to-back before", start: 0, end: 100, hosts: []string{"h1"}, ok: true},
		{name: "back-to-back within cleaning time", start: 200, end: 300, cleaning: 10, hosts: []string{"h1"}, names: []string{"h1"}},
		{name: "gap of exactly the cleaning time", start: 210, end: 300, cleaning: 10, hosts: []string{"h1"}, ok: true},
		{name: "gap before of the cleaning time", start: 0, end: 90, cleaning: 10, hosts: []string{"h1"}, ok: true},
		{name: "gap shorter than the cleaning time", start: 0, end: 95, cleaning: 10, hosts: []string{"h1"}, names: []string{"h1"}},
		{name: "other host", start: 150, end: 250, hosts: []string{"h2"}, ok: true},
		{name: "not reservable", start: 300, end: 400, hosts: []string{"h3"}, names: []string{"h3"}},
		{name: "no such host", start: 300, end: 400, hosts: []string{"h9"}, names: []string{"h9"}},
		{name: "two reservations of one lease on one host", start: 300, end: 400, hosts: []string{"h2", "h2"}, names: []string{"h2"}},
		{name: "every refused host named", start: 150, end: 250, hosts: []string{"h2", "h1", "h3"}, names: []string{"h1", "h3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := blazarFixture(t)
			var res []string
			var puts []*storepb.Allocation
			for i, h := range tc.hosts {
				r := "rB" + string(rune('0'+i))
				res = append(res, r)
				puts = append(puts, alloc(h, r, "B", tc.start, tc.end))
			}
			cmd := leaseTx("B", storepb.LeaseTransaction_CREATE_LEASE, testLease("B", "p", tc.start, tc.end, res...), 0, puts)
			cmd.GetLeaseTransaction().CleaningTimeMs = tc.cleaning
			before := f.lastVersion
			got := apply1(t, f, cmd)
			st := f.State().Current()
			if tc.ok {
				mustOK(t, got, "create B")
				if n := len(st.AllocationsOfLease("B")); n != len(puts) {
					t.Fatalf("B holds %d allocations", n)
				}
				return
			}
			mustCode(t, got, storepb.CommandResult_CONFLICT, "create B")
			for _, h := range []string{"h1", "h2", "h3", "h9"} {
				if named := strings.Contains(got.Message, "host "+h+" "); named != slices.Contains(tc.names, h) {
					t.Errorf("refusal %q names %s: %v, want %v", got.Message, h, named, !named)
				}
			}
			// All or nothing: no lease, no allocation, no version used.
			if st.Lease("B") != nil || len(st.AllocationsOfLease("B")) != 0 || st.LeaseOfReservation("rB0") != nil {
				t.Fatal("a refused transaction wrote something")
			}
			if f.lastVersion != before {
				t.Fatal("a refused transaction used a version")
			}
		})
	}
}

func TestLeaseAllocationsMove(t *testing.T) {
	f, vA := blazarFixture(t)
	st := f.State().Current()
	if got := allocIDs(st.AllocationsOfHost("h1")); !slices.Equal(got, []string{"h1/rA"}) {
		t.Fatalf("h1 allocations %v", got)
	}

	// The same reservation re-put on its host over a longer window: allowed.
	a := testLease("A", "p", 100, 250, "rA")
	vA = mustOK(t, apply1(t, f, leaseTx("A-longer", storepb.LeaseTransaction_UPDATE_LEASE, a, vA,
		[]*storepb.Allocation{alloc("h1", "rA", "A", 100, 250)})), "prolong A")
	if got := f.State().Current().AllocationsOfReservation("rA"); len(got) != 1 || got[0].EndMs != 250 {
		t.Fatalf("rA allocations %v", got)
	}
	// Moving the dates without moving the allocations is refused (an allocation's
	// window is its lease's, or the overlap check would miss).
	mustCode(t, apply1(t, f, leaseTx("A-stale", storepb.LeaseTransaction_UPDATE_LEASE, testLease("A", "p", 100, 300, "rA"), vA, nil)),
		storepb.CommandResult_INVALID, "dates moved without the allocations")

	// Lease B over the same window: h1 is taken; B takes h2.
	b := testLease("B", "q", 100, 250, "rB")
	mustCode(t, apply1(t, f, leaseTx("B1", storepb.LeaseTransaction_CREATE_LEASE, b, 0,
		[]*storepb.Allocation{alloc("h1", "rB", "B", 100, 250)})), storepb.CommandResult_CONFLICT, "B on h1")
	vB := mustOK(t, apply1(t, f, leaseTx("B2", storepb.LeaseTransaction_CREATE_LEASE, b, 0,
		[]*storepb.Allocation{alloc("h2", "rB", "B", 100, 250)})), "B on h2")

	// A trades reservation rA for rA2 on h1 in one transaction: the delete frees
	// the host for the put.
	a2 := testLease("A", "p", 100, 250, "rA2")
	mustCode(t, apply1(t, f, leaseTx("A-swap-nodelete", storepb.LeaseTransaction_UPDATE_LEASE, a2, vA,
		[]*storepb.Allocation{alloc("h1", "rA2", "A", 100, 250)})), storepb.CommandResult_INVALID, "rA's allocation left without its reservation")
	a2b := testLease("A", "p", 100, 250, "rA", "rA2")
	mustCode(t, apply1(t, f, leaseTx("A-swap-keep", storepb.LeaseTransaction_UPDATE_LEASE, a2b, vA,
		[]*storepb.Allocation{alloc("h1", "rA2", "A", 100, 250)})), storepb.CommandResult_CONFLICT, "rA2 beside rA on h1")
	vA = mustOK(t, apply1(t, f, leaseTx("A-swap", storepb.LeaseTransaction_UPDATE_LEASE, a2, vA,
		[]*storepb.Allocation{alloc("h1", "rA2", "A", 100, 250)}, key("h1", "rA"))), "swap rA for rA2")
	st = f.State().Current()
	if got := allocIDs(st.AllocationsOfLease("A")); !slices.Equal(got, []string{"h1/rA2"}) {
		t.Fatalf("A allocations %v", got)
	}
	if st.LeaseOfReservation("rA") != nil || st.LeaseOfReservation("rA2").Id != "A" {
		t.Fatal("reservation index")
	}

	// All or nothing on an update: B asks for h1 (taken) and gives up h2.
	bMove := testLease("B", "q", 100, 250, "rB")
	bMove.Name = "renamed"
	mustCode(t, apply1(t, f, leaseTx("B-move", storepb.LeaseTransaction_UPDATE_LEASE, bMove, vB,
		[]*storepb.Allocation{alloc("h1", "rB", "B", 100, 250)}, key("h2", "rB"))), storepb.CommandResult_CONFLICT, "B onto h1")
	if l := f.State().Current().Lease("B"); l.Version != vB || l.Name != "lease-B" ||
		!slices.Equal(allocIDs(f.State().Current().AllocationsOfLease("B")), []string{"h2/rB"}) {
		t.Fatalf("refused update wrote: %v", l)
	}

	// Per-host view: every host, with its allocations by start.
	all := f.State().Current().AllAllocations()
	var view []string
	for _, ha := range all {
		view = append(view, ha.Host.Id+":"+strings.Join(allocIDs(ha.Allocations), ","))
	}
	if !slices.Equal(view, []string{"h1:h1/rA2", "h2:h2/rB", "h3:"}) {
		t.Fatalf("all allocations %v", view)
	}
	if got := idsOf(f.State().Current().LeasesOfProject("q")); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("leases of q: %v", got)
	}

	// The intents' promises: START_LEASE allocates nothing, END_LEASE leaves no
	// allocation, a lease deletes only its own allocations.
	mustCode(t, apply1(t, f, leaseTx("B-start", storepb.LeaseTransaction_START_LEASE, testLease("B", "q", 100, 250, "rB"), vB,
		[]*storepb.Allocation{alloc("h3", "rB", "B", 100, 250)})), storepb.CommandResult_INVALID, "start allocating")
	mustCode(t, apply1(t, f, leaseTx("B-end-keep", storepb.LeaseTransaction_END_LEASE, testLease("B", "q", 100, 250, "rB"), vB, nil)),
		storepb.CommandResult_INVALID, "end keeping a host")
	mustCode(t, apply1(t, f, leaseTx("B-steal", storepb.LeaseTransaction_UPDATE_LEASE, testLease("B", "q", 100, 250, "rB"), vB, nil,
		key("h1", "rA2"))), storepb.CommandResult_INVALID, "delete of another lease's allocation")
	vB = mustOK(t, apply1(t, f, leaseTx("B-end", storepb.LeaseTransaction_END_LEASE, testLease("B", "q", 100, 250, "rB"), vB, nil,
		key("h2", "rB"))), "end B")
	if len(f.State().Current().AllocationsOfHost("h2")) != 0 {
		t.Fatal("end_lease kept the host")
	}

	// DELETE_LEASE removes the lease and every allocation it holds.
	mustOK(t, apply1(t, f, deleteLeaseTx("A-del", "A", vA)), "delete A")
	st = f.State().Current()
	if st.Lease("A") != nil || len(st.AllocationsOfHost("h1")) != 0 || len(st.AllocationsOfReservation("rA2")) != 0 ||
		st.LeaseOfReservation("rA2") != nil || !slices.Equal(idsOf(st.Leases()), []string{"B"}) {
		t.Fatal("lease delete left rows behind")
	}
}

func TestLeaseTransactionChecks(t *testing.T) {
	f, vA := blazarFixture(t)
	other := testLease("X", "p", 300, 400, "rA") // rA is lease A's
	badEvent := testLease("X", "p", 300, 400, "rX")
	badEvent.Events[0].LeaseId = "A"
	badType := testLease("X", "p", 300, 400, "rX")
	badType.Events[1].EventType = "middle_lease"
	for _, tc := range []struct {
		name string
		cmd  *storepb.Command
		code storepb.CommandResult_Code
	}{
		{"no intent", leaseTx("c1", storepb.LeaseTransaction_INTENT_UNSPECIFIED, testLease("X", "p", 300, 400), 0, nil), storepb.CommandResult_INVALID},
		{"create of an existing lease", leaseTx("c2", storepb.LeaseTransaction_CREATE_LEASE, testLease("A", "p", 100, 200, "rA"), 0, nil), storepb.CommandResult_ALREADY_EXISTS},
		{"update of an absent lease", leaseTx("c3", storepb.LeaseTransaction_UPDATE_LEASE, testLease("X", "p", 300, 400), 1, nil), storepb.CommandResult_NOT_FOUND},
		{"start creating a lease", leaseTx("c4", storepb.LeaseTransaction_START_LEASE, testLease("X", "p", 300, 400), 0, nil), storepb.CommandResult_NOT_FOUND},
		{"stale version", leaseTx("c5", storepb.LeaseTransaction_UPDATE_LEASE, testLease("A", "p", 100, 200, "rA"), vA+9, nil), storepb.CommandResult_CONFLICT},
		{"delete with a row", leaseTx("c6", storepb.LeaseTransaction_DELETE_LEASE, testLease("A", "p", 100, 200, "rA"), vA, nil), storepb.CommandResult_INVALID},
		{"reservation of another lease", leaseTx("c7", storepb.LeaseTransaction_CREATE_LEASE, other, 0, nil), storepb.CommandResult_INVALID},
		{"event of another lease", leaseTx("c8", storepb.LeaseTransaction_CREATE_LEASE, badEvent, 0, nil), storepb.CommandResult_INVALID},
		{"unknown event type", leaseTx("c9", storepb.LeaseTransaction_CREATE_LEASE, badType, 0, nil), storepb.CommandResult_INVALID},
		{"allocation of an unknown reservation", leaseTx("c10", storepb.LeaseTransaction_CREATE_LEASE, testLease("X", "p", 300, 400, "rX"), 0,
			[]*storepb.Allocation{alloc("h2", "rY", "X", 300, 400)}), storepb.CommandResult_INVALID},
		{"allocation naming another lease", leaseTx("c11", storepb.LeaseTransaction_CREATE_LEASE, testLease("X", "p", 300, 400, "rX"), 0,
			[]*storepb.Allocation{alloc("h2", "rX", "A", 300, 400)}), storepb.CommandResult_INVALID},
		{"allocation outside the lease's window", leaseTx("c12", storepb.LeaseTransaction_CREATE_LEASE, testLease("X", "p", 300, 400, "rX"), 0,
			[]*storepb.Allocation{alloc("h2", "rX", "X", 300, 350)}), storepb.CommandResult_INVALID},
		{"allocation put twice", leaseTx("c13", storepb.LeaseTransaction_CREATE_LEASE, testLease("X", "p", 300, 400, "rX"), 0,
			[]*storepb.Allocation{alloc("h2", "rX", "X", 300, 400), alloc("h2", "rX", "X", 300, 400)}), storepb.CommandResult_INVALID},
		{"delete of an absent allocation", leaseTx("c14", storepb.LeaseTransaction_UPDATE_LEASE, testLease("A", "p", 100, 200, "rA"), vA, nil,
			key("h2", "rA")), storepb.CommandResult_INVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := apply1(t, f, tc.cmd)
			mustCode(t, res, tc.code, tc.name)
			if tc.code == storepb.CommandResult_CONFLICT && res.Version != vA {
				t.Fatalf("conflict reports version %d, want %d", res.Version, vA)
			}
			if f.State().Current().Lease("X") != nil || f.State().Current().Lease("A").Version != vA {
				t.Fatal("a refused transaction wrote")
			}
		})
	}
}

// A lease request retried (same request id) is answered with its original
// result, even after the lease moved on, and applies nothing again.
func TestLeaseRequestReplayed(t *testing.T) {
	f, _ := blazarFixture(t)
	create := leaseTx("create-B", storepb.LeaseTransaction_CREATE_LEASE, testLease("B", "p", 300, 400, "rB"), 0,
		[]*storepb.Allocation{alloc("h1", "rB", "B", 300, 400)})
	first := apply1(t, f, proto.Clone(create).(*storepb.Command))
	v := mustOK(t, first, "create B")
	next := mustOK(t, apply1(t, f, leaseTx("end-B", storepb.LeaseTransaction_END_LEASE, testLease("B", "p", 300, 400, "rB"), v, nil,
		key("h1", "rB"))), "end B")
	again := apply1(t, f, create)
	if again.Code != storepb.CommandResult_OK || !again.Replayed || again.Version != v {
		t.Fatalf("replayed create: %v, want the original result", again)
	}
	st := f.State().Current()
	if st.Lease("B").Version != next || len(st.AllocationsOfLease("B")) != 0 {
		t.Fatal("a replay wrote")
	}
	// A host put is replayed the same way.
	h := testHost("h7", "node-7", nil)
	hv := mustOK(t, apply1(t, f, hostPut("put-h7", h, 0)), "h7")
	if r := apply1(t, f, hostPut("put-h7", testHost("h7", "node-7", nil), 0)); !r.Replayed || r.Version != hv {
		t.Fatalf("replayed host put: %v", r)
	}
}

func eventIDs(evs []*storepb.LeaseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Id
	}
	return out
}

func TestEventIndex(t *testing.T) {
	f := NewFSM()
	// A over [100, 200), B back to back over [200, 300) with its before_end at
	// its start (a short lease: clamped), C over [150, 400).
	a := testLease("A", "p", 100, 200)
	b := testLease("B", "p", 200, 300)
	b.Events[2].TimeMs = 200
	c := testLease("C", "p", 150, 400)
	var vs = map[string]uint64{}
	for _, l := range []*storepb.Lease{a, b, c} {
		vs[l.Id] = mustOK(t, apply1(t, f, leaseTx("create-"+l.Id, storepb.LeaseTransaction_CREATE_LEASE, l, 0, nil)), "create "+l.Id)
	}
	st := f.State().Current()
	if got := eventIDs(st.EventsDueBy(99)); len(got) != 0 {
		t.Fatalf("due by 99: %v", got)
	}
	want := []string{"A-start", "A-before", "C-start", "A-end", "B-start", "B-before"}
	if got := eventIDs(st.EventsDueBy(200)); !slices.Equal(got, want) {
		t.Fatalf("due by 200: %v, want %v", got, want)
	}
	if tm, ok := st.NextEventTime(); !ok || tm != 100 {
		t.Fatalf("next event %d %v", tm, ok)
	}
	if got := st.LeasesWithPendingEvents(); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Fatalf("pending %v", got)
	}

	// A starts: its start goes IN_PROGRESS (not due any more, still pending),
	// then DONE; its before_end moves later.
	a1 := proto.Clone(a).(*storepb.Lease)
	a1.Events[0].Status = storepb.EventInProgress
	vs["A"] = mustOK(t, apply1(t, f, leaseTx("start-A", storepb.LeaseTransaction_START_LEASE, a1, vs["A"], nil)), "start A")
	st = f.State().Current()
	if got := eventIDs(st.EventsDueBy(100)); len(got) != 0 {
		t.Fatalf("due by 100 while A starts: %v", got)
	}
	a2 := proto.Clone(a1).(*storepb.Lease)
	a2.Events[0].Status = storepb.EventDone
	a2.Events[2].TimeMs = 180
	a2.Status = "ACTIVE"
	vs["A"] = mustOK(t, apply1(t, f, leaseTx("started-A", storepb.LeaseTransaction_START_LEASE, a2, vs["A"], nil)), "A started")
	st = f.State().Current()
	if got, want := eventIDs(st.EventsDueBy(200)), []string{"C-start", "A-before", "A-end", "B-start", "B-before"}; !slices.Equal(got, want) {
		t.Fatalf("due by 200 after A started: %v, want %v", got, want)
	}
	if tm, _ := st.NextEventTime(); tm != 150 {
		t.Fatalf("next event %d, want 150", tm)
	}

	// Every event of A done: A has nothing pending; deleting C drops its events.
	a3 := proto.Clone(a2).(*storepb.Lease)
	for _, e := range a3.Events {
		e.Status = storepb.EventDone
	}
	mustOK(t, apply1(t, f, leaseTx("end-A", storepb.LeaseTransaction_END_LEASE, a3, vs["A"], nil)), "end A")
	mustOK(t, apply1(t, f, deleteLeaseTx("del-C", "C", vs["C"])), "delete C")
	st = f.State().Current()
	if got := st.LeasesWithPendingEvents(); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("pending %v", got)
	}
	if got, want := eventIDs(st.EventsDueBy(1000)), []string{"B-start", "B-before", "B-end"}; !slices.Equal(got, want) {
		t.Fatalf("due by 1000: %v, want %v", got, want)
	}
	empty := NewFSM().State().Current()
	if _, ok := empty.NextEventTime(); ok {
		t.Fatal("an empty store has a next event")
	}
}

// blazarView is what every Blazar query answers, for comparing states.
func blazarView(st *State) []proto.Message {
	var out []proto.Message
	add := func(ms ...proto.Message) { out = append(out, ms...) }
	for _, h := range st.Hosts() {
		add(h, st.HostByName(h.Name))
		for _, a := range st.AllocationsOfHost(h.Id) {
			add(a)
		}
	}
	for _, p := range st.ResourceProperties() {
		add(p)
		add(&storepb.Bmc{Address: strings.Join(st.CapabilityValues(p.PropertyName), ",")})
	}
	for _, l := range st.Leases() {
		add(l)
		for _, a := range st.AllocationsOfLease(l.Id) {
			add(a)
		}
		for _, r := range l.Reservations {
			add(st.LeaseOfReservation(r.Id))
			for _, a := range st.AllocationsOfReservation(r.Id) {
				add(a)
			}
		}
	}
	for _, l := range st.LeasesOfProject("q") {
		add(l)
	}
	for _, e := range st.EventsDueBy(1 << 62) {
		add(e)
	}
	next, _ := st.NextEventTime()
	add(&storepb.Lease{Id: strings.Join(st.LeasesWithPendingEvents(), ","), StartMs: next})
	return out
}

func TestBlazarSnapshotRoundTrip(t *testing.T) {
	f, vA := blazarFixture(t)
	h := testHost("h4", "node-h4", map[string]string{"gpu": "a100", "rack": "7"})
	h.CreatedAtUs = 9
	mustOK(t, apply1(t, f, hostPut("h4", h, 0)), "h4")
	mustOK(t, apply1(t, f, leaseTx("B", storepb.LeaseTransaction_CREATE_LEASE, testLease("B", "q", 100, 200, "rB1", "rB2"), 0,
		[]*storepb.Allocation{alloc("h2", "rB1", "B", 100, 200), alloc("h4", "rB2", "B", 100, 200)})), "B")
	a := testLease("A", "p", 100, 200, "rA")
	a.Events[0].Status = storepb.EventDone
	mustOK(t, apply1(t, f, leaseTx("A", storepb.LeaseTransaction_START_LEASE, a, vA, nil)), "start A")

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
	want, got := blazarView(f.State().Current()), blazarView(g.State().Current())
	if len(want) != len(got) || len(want) < 20 {
		t.Fatalf("restored view has %d answers, want %d", len(got), len(want))
	}
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("answer %d differs after restore:\n%v\n%v", i, want[i], got[i])
		}
	}
	// The restored FSM goes on refusing double booking and counting versions.
	mustCode(t, apply1(t, g, leaseTx("C", storepb.LeaseTransaction_CREATE_LEASE, testLease("C", "p", 150, 250, "rC"), 0,
		[]*storepb.Allocation{alloc("h4", "rC", "C", 150, 250)})), storepb.CommandResult_CONFLICT, "C on h4 after restore")
	if v := mustOK(t, apply1(t, g, hostPut("h5", testHost("h5", "node-h5", nil), 0)), "h5"); v <= f.lastVersion {
		t.Fatalf("version %d reused after restore", v)
	}
}

// HostBusyDuring answers as a scan of the host's allocations would, for
// windows before, between, touching and over them, with and without cleaning.
func TestHostBusyDuring(t *testing.T) {
	f := NewFSM()
	mustOK(t, apply1(t, f, hostPut("h1", testHost("host-a", "a", nil), 0)), "host a")
	mustOK(t, apply1(t, f, hostPut("h2", testHost("host-b", "b", nil), 0)), "host b")
	windows := [][2]int64{{100, 200}, {200, 300}, {500, 600}}
	for i, w := range windows {
		id := fmt.Sprintf("lease-%d", i)
		res := fmt.Sprintf("res-%d", i)
		mustOK(t, apply1(t, f, leaseTx("l"+id, storepb.LeaseTransaction_CREATE_LEASE, testLease(id, "p", w[0], w[1], res), 0,
			[]*storepb.Allocation{alloc("host-b", res, id, w[0], w[1])})), id)
	}
	st := f.State().Current()
	for start := int64(0); start < 700; start += 25 {
		for end := start + 25; end <= 725; end += 50 {
			for _, c := range []int64{0, 30} {
				want := false
				for _, a := range st.AllocationsOfHost("host-b") {
					want = want || Overlaps(start, end, a.StartMs, a.EndMs, c)
				}
				if got := st.HostBusyDuring("host-b", start, end, c); got != want {
					t.Fatalf("host-b [%d, %d) cleaning %d: busy %v, want %v", start, end, c, got, want)
				}
				if st.HostBusyDuring("host-a", start, end, c) {
					t.Fatalf("host-a has no allocation but is busy over [%d, %d)", start, end)
				}
			}
		}
	}
}

// StateStore.NextEventTime answers from the working copy after a write without
// publishing it (the event scheduler's 100 ms look must not clone the tables).
func TestNextEventTimeWithoutPublishing(t *testing.T) {
	f := NewFSM()
	if _, ok := f.State().NextEventTime(); ok {
		t.Fatal("an empty store has a next event")
	}
	a := testLease("A", "p", 100, 200)
	mustOK(t, apply1(t, f, leaseTx("create-A", storepb.LeaseTransaction_CREATE_LEASE, a, 0, nil)), "create A")
	if !f.State().stale.Load() {
		t.Fatal("a write left nothing to publish")
	}
	if tm, ok := f.State().NextEventTime(); !ok || tm != 100 {
		t.Fatalf("next event %d %v, want 100", tm, ok)
	}
	if !f.State().stale.Load() {
		t.Fatal("NextEventTime published the tables")
	}
	if tm, ok := f.State().Current().NextEventTime(); !ok || tm != 100 {
		t.Fatalf("published next event %d %v, want 100", tm, ok)
	}
	if tm, ok := f.State().NextEventTime(); !ok || tm != 100 {
		t.Fatalf("next event once published %d %v, want 100", tm, ok)
	}
}
