package actors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/leasepb"
	"keel/cluster"
	"keel/store"
	"keel/store/storepb"
)

// notes records the lease notifications a member's grains sent.
type notes struct {
	mu  sync.Mutex
	got []string // "event lease_id"
}

func (n *notes) NotifyLease(event string, p actors.LeaseNotification) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, event+" "+p.LeaseID)
}

func (n *notes) count(event, lease string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, g := range n.got {
		if g == event+" "+lease {
			c++
		}
	}
	return c
}

// blazarMember is a one-member actor cluster serving the grains over an
// fsmStore, with the lease settings and a recording notifier.
type blazarMember struct {
	store  *fsmStore
	client *actors.Client
	notes  *notes
}

func startBlazarMember(t *testing.T, leases actors.LeaseSettings) *blazarMember {
	t.Helper()
	s := newFSMStore(t)
	n := &notes{}
	host, port := freeLoopback(t)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger }))
	kinds := actors.Kinds(system, &actors.Runtime{Store: s, Settings: actors.Settings{IdleTimeout: time.Minute},
		Logger: quietLogger, Leases: leases, Notifier: n})
	cfg := protocluster.Configure("keel-test", test.NewTestProvider(test.NewInMemAgent()), cluster.NewPlacementLookup(),
		remote.Configure(host, port), protocluster.WithKinds(kinds...))
	c := protocluster.New(system, cfg)
	c.StartMember()
	t.Cleanup(func() { c.Shutdown(false) })
	return &blazarMember{store: s, client: actors.NewClient(c), notes: n}
}

func member(project string, reqID string) *actorspb.Caller {
	return &actorspb.Caller{ProjectId: project, RequestId: reqID, DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}

func body(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError fails unless err is a grain refusal of kind whose text contains text.
func wantError(t *testing.T, what string, err error, kind actors.ErrorKind, text string) {
	t.Helper()
	e, ok := err.(*actors.Error)
	if !ok || e.Kind != kind || !strings.Contains(e.Message, text) {
		t.Fatalf("%s: %v, want %s %q", what, err, kind, text)
	}
}

func (m *blazarMember) hostWrite(t *testing.T, c *actorspb.Caller, op leasepb.HostWriteRequest_Op, id string, b any) (*leasepb.HostWriteReply, error) {
	t.Helper()
	req := &leasepb.HostWriteRequest{Caller: c, Op: op, HostId: id}
	if op == leasepb.HostWriteRequest_SET_PROPERTY {
		req.HostId, req.PropertyName = "", id
	}
	if b != nil {
		req.Body = body(t, b)
	}
	return actors.CallHostInventory(context.Background(), m.client, req)
}

func (m *blazarMember) addHost(t *testing.T, id, name string, extra map[string]any) *storepb.Host {
	t.Helper()
	b := map[string]any{"name": name}
	for k, v := range extra {
		b[k] = v
	}
	r, err := m.hostWrite(t, caller("req-host-"+id, 0), leasepb.HostWriteRequest_CREATE, id, b)
	if err != nil {
		t.Fatalf("create host %s: %v", name, err)
	}
	return r.GetHost()
}

// dateIn is a lease date d from now, to the second (keel's extension).
func dateIn(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02 15:04:05") }

func leaseBody(name, start, end string, minHosts, maxHosts int) map[string]any {
	return map[string]any{"name": name, "start_date": start, "end_date": end,
		"reservations": []map[string]any{{"resource_type": "physical:host", "min": minHosts, "max": maxHosts,
			"hypervisor_properties": "", "resource_properties": ""}}}
}

func (m *blazarMember) createLease(t *testing.T, c *actorspb.Caller, id string, b any) (*storepb.Lease, error) {
	t.Helper()
	r, err := actors.CallLease(context.Background(), m.client, id, (*leasepb.LeaseGrainClient).Create,
		&leasepb.CreateLeaseRequest{Caller: c, Body: body(t, b), UserId: "u"})
	return r.GetLease(), err
}

func (m *blazarMember) updateLease(t *testing.T, c *actorspb.Caller, id string, b any) (*storepb.Lease, error) {
	t.Helper()
	r, err := actors.CallLease(context.Background(), m.client, id, (*leasepb.LeaseGrainClient).Update,
		&leasepb.UpdateLeaseRequest{Caller: c, Body: body(t, b)})
	return r.GetLease(), err
}

func (m *blazarMember) deleteLease(t *testing.T, c *actorspb.Caller, id string) error {
	t.Helper()
	_, err := actors.CallLease(context.Background(), m.client, id, (*leasepb.LeaseGrainClient).Delete,
		&leasepb.DeleteLeaseRequest{Caller: c})
	return err
}

func (m *blazarMember) state() *store.State { return m.store.State().Current() }

func hostsOf(st *store.State, leaseID string) []string {
	var out []string
	for _, a := range st.AllocationsOfLease(leaseID) {
		out = append(out, a.HostId)
	}
	return out
}

func eventOf(l *storepb.Lease, typ string) *storepb.LeaseEvent {
	for _, ev := range l.GetEvents() {
		if ev.EventType == typ {
			return ev
		}
	}
	return nil
}

func TestHostInventoryRules(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	_, err := m.hostWrite(t, member("p", "r1"), leasepb.HostWriteRequest_CREATE, "h1", map[string]any{"name": "a"})
	wantError(t, "member creates a host", err, actors.KindForbidden, "Policy doesn't allow blazar:oshosts:post to be performed")
	_, err = m.hostWrite(t, caller("r2", 0), leasepb.HostWriteRequest_CREATE, "h1", map[string]any{})
	wantError(t, "no name", err, actors.KindForbidden, "Invalid values for host {}")
	_, err = m.hostWrite(t, caller("r3", 0), leasepb.HostWriteRequest_CREATE, "h1",
		map[string]any{"name": "a", strings.Repeat("k", 65): "v"})
	wantError(t, "long key", err, actors.KindInvalid, "Extra capability key too long")
	_, err = m.hostWrite(t, caller("r4", 0), leasepb.HostWriteRequest_CREATE, "h1", map[string]any{"name": "a", "gpu": map[string]any{}})
	wantError(t, "object value", err, actors.KindInvalid, "Malformed parameter gpu")

	h := m.addHost(t, "h1", "compute-1", map[string]any{"gpu": true, "cores": 4, "rack": "r1", "vcpus": 16,
		"bmc_address": "10.0.0.9", "bmc_username": "root", "bmc_password": "secret", "bmc_port": "623"})
	if h.HypervisorHostname != "compute-1" || h.ServiceName != "compute-1" || h.HypervisorType != "baremetal" || h.Vcpus != 16 || !h.Reservable {
		t.Fatalf("columns: %v", h)
	}
	if want := map[string]string{"gpu": "1", "cores": "4", "rack": "r1"}; fmt.Sprint(h.ExtraCapabilities) != fmt.Sprint(want) {
		t.Fatalf("capabilities %v, want %v", h.ExtraCapabilities, want)
	}
	if b := h.Bmc; b.Address != "10.0.0.9" || b.Port != 623 || b.Username != "root" || b.Password != "secret" || b.PowerDriver != "ipmi" {
		t.Fatalf("bmc %v", b)
	}
	if h2 := m.addHost(t, "h2", "compute-2", nil); h2.Bmc.GetPowerDriver() != "fake" {
		t.Fatalf("power driver without a BMC address: %q", h2.Bmc.GetPowerDriver())
	}
	_, err = m.hostWrite(t, caller("r5", 0), leasepb.HostWriteRequest_CREATE, "h3", map[string]any{"name": "compute-1"})
	wantError(t, "duplicate name", err, actors.KindConflict, "Conflict on creating resource provider blazar_compute-1 ")

	_, err = m.hostWrite(t, caller("r6", 0), leasepb.HostWriteRequest_UPDATE, "h1", map[string]any{})
	wantError(t, "empty update", err, actors.KindInvalid, "No data to update")
	r, err := m.hostWrite(t, caller("r7", 0), leasepb.HostWriteRequest_UPDATE, "h1", map[string]any{"rack": "r2", "bmc_password": "new"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.GetHost(); got.ExtraCapabilities["rack"] != "r2" || got.Bmc.Password != "new" || got.Bmc.Username != "root" {
		t.Fatalf("after update: %v", got)
	}
	_, err = m.hostWrite(t, caller("r8", 0), leasepb.HostWriteRequest_UPDATE, "nope", map[string]any{"a": "b"})
	wantError(t, "update unknown", err, actors.KindNotFound, "Object with {'host_id': 'nope'} not found")

	p, err := m.hostWrite(t, caller("r9", 0), leasepb.HostWriteRequest_SET_PROPERTY, "gpu", map[string]any{"private": true})
	if err != nil || !p.GetProperty().GetPrivate() {
		t.Fatalf("set property: %v %v", p, err)
	}
	_, err = m.hostWrite(t, caller("r10", 0), leasepb.HostWriteRequest_SET_PROPERTY, "nokey", map[string]any{"private": true})
	wantError(t, "unknown property", err, actors.KindNotFound, "not found")

	// A capability a reservation's resource_properties uses cannot change while
	// the lease holds the host; a host with an allocation cannot go.
	lb := leaseBody("l", "now", dateIn(time.Hour), 1, 1)
	lb["reservations"].([]map[string]any)[0]["resource_properties"] = `["==", "$rack", "r2"]`
	if _, err := m.createLease(t, member("p", "lease-1"), "L1", lb); err != nil {
		t.Fatal(err)
	}
	_, err = m.hostWrite(t, caller("r11", 0), leasepb.HostWriteRequest_UPDATE, "h1", map[string]any{"rack": "r3"})
	wantError(t, "capability in use", err, actors.KindConflict, "Can't add extracapabilities ['rack'] to Host h1")
	_, err = m.hostWrite(t, caller("r12", 0), leasepb.HostWriteRequest_DELETE, "h1", nil)
	wantError(t, "delete reserved", err, actors.KindConflict, "Can't delete host h1. The host is reserved.")
	_, err = m.hostWrite(t, caller("r13", 0), leasepb.HostWriteRequest_DELETE, "nope", nil)
	wantError(t, "delete unknown", err, actors.KindNotFound, "Object with {'host_id': 'nope'} not found")
	if _, err := m.hostWrite(t, caller("r14", 0), leasepb.HostWriteRequest_DELETE, "h2", nil); err != nil {
		t.Fatal(err)
	}
	if m.state().Host("h2") != nil {
		t.Fatal("h2 still stored after delete")
	}
}

func TestLeaseCreateAllocates(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	m.addHost(t, "h2", "compute-2", nil)
	l, err := m.createLease(t, member("p", "c1"), "L1", leaseBody("first", "now", dateIn(2*time.Hour), 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != "PENDING" || l.ProjectId != "p" || l.UserId != "u" || len(l.Reservations) != 1 || len(l.Events) != 3 {
		t.Fatalf("created %v", l)
	}
	for _, ev := range l.Events {
		if ev.Status != "UNDONE" {
			t.Fatalf("event %v", ev)
		}
	}
	if be := eventOf(l, "before_end_lease"); be.TimeMs != l.EndMs-time.Hour.Milliseconds() {
		t.Fatalf("before_end at %d, want an hour before the end %d", be.TimeMs, l.EndMs)
	}
	if got := hostsOf(m.state(), "L1"); !slices.Equal(got, []string{"h1", "h2"}) {
		t.Fatalf("allocated %v", got)
	}
	if m.notes.count("lease.create", "L1") != 1 {
		t.Fatalf("notifications %v", m.notes.got)
	}
	// A lease with no reservation is valid; virtual:instance is refused.
	if _, err := m.createLease(t, member("p", "c2"), "L2", map[string]any{"name": "empty", "start_date": "now",
		"end_date": dateIn(time.Hour), "reservations": []any{}}); err != nil {
		t.Fatal(err)
	}
	_, err = m.createLease(t, member("p", "c3"), "L3", map[string]any{"name": "vm", "start_date": "now",
		"end_date": dateIn(time.Hour), "reservations": []any{map[string]any{"resource_type": "virtual:instance"}}})
	wantError(t, "virtual:instance", err, actors.KindInvalid, "virtual:instance resource type is not supported")
	_, err = m.createLease(t, member("p", "c4"), "L4", leaseBody("more", "now", dateIn(time.Hour), 1, 1))
	wantError(t, "no host left", err, actors.KindConflict, "Not enough hosts available")
	_, err = m.createLease(t, member("p", "c5"), "L5", map[string]any{"name": "x", "start_date": "now", "end_date": dateIn(time.Hour),
		"reservations": []map[string]any{{"resource_type": "physical:host", "min": 1, "max": 1,
			"hypervisor_properties": "", "resource_properties": `["==", "$nokey", "1"]`}}})
	wantError(t, "unknown capability", err, actors.KindInvalid, "nokey ComputeHostExtraCapability was not found")
}

// Two leases wanting the only host over one window: one gets it, the other
// is refused with Blazar's text (keel's 409); the host is booked once.
func TestLeasesCompeteForOneHost(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	end := dateIn(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.createLease(t, member("p", "race-"+itoa(i)), "L"+itoa(i), leaseBody("l", "now", end, 1, 1))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantError(t, "loser", err, actors.KindConflict, "Not enough hosts available")
	}
	if ok != 1 || len(m.state().AllocationsOfHost("h1")) != 1 {
		t.Fatalf("%d leases won the host; allocations %v", ok, m.state().AllocationsOfHost("h1"))
	}
}

// A grain that loses the FSM's double-booking race reads again and takes the
// host still free.
func TestLeaseRetriesAfterLosingAHost(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	m.addHost(t, "h2", "compute-2", nil)
	end := dateIn(time.Hour)
	m.store.script("lose", afterOtherWriter(func(st *store.State, cmd *storepb.Command) *storepb.Command {
		// Another lease commits h1 (the host the proposal chose) first.
		tx := cmd.GetLeaseTransaction()
		l := tx.Lease
		l.Id, l.Name = "OTHER", "other"
		for _, r := range l.Reservations {
			r.Id, r.LeaseId = r.Id+"-other", "OTHER"
		}
		for _, ev := range l.Events {
			ev.Id, ev.LeaseId = ev.Id+"-other", "OTHER"
		}
		for _, a := range tx.AllocationsPut {
			a.ReservationId, a.LeaseId = a.ReservationId+"-other", "OTHER"
		}
		tx.LeaseId = "OTHER"
		cmd.RequestId = "other"
		return cmd
	}))
	if _, err := m.createLease(t, member("p", "lose"), "L1", leaseBody("l", "now", end, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if got, other := hostsOf(m.state(), "L1"), hostsOf(m.state(), "OTHER"); !slices.Equal(got, []string{"h2"}) || !slices.Equal(other, []string{"h1"}) {
		t.Fatalf("L1 got %v, the other lease %v", got, other)
	}
	if n := len(m.store.proposals("lose")); n != 2 {
		t.Fatalf("%d proposals, want 2 (lost, then won)", n)
	}
}

func TestBackToBackLeasesShareAHost(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	mid := dateIn(time.Hour)
	if _, err := m.createLease(t, member("p", "a"), "A", leaseBody("a", "now", mid, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.createLease(t, member("p", "b"), "B", leaseBody("b", mid, dateIn(2*time.Hour), 1, 1)); err != nil {
		t.Fatalf("back-to-back lease: %v", err)
	}
	if got := len(m.state().AllocationsOfHost("h1")); got != 2 {
		t.Fatalf("h1 has %d allocations, want 2", got)
	}
}

func TestLeaseUpdateProlongMovesEvents(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	l, err := m.createLease(t, member("p", "c"), "L1", leaseBody("l", dateIn(time.Hour), dateIn(3*time.Hour), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	beforeEnd := eventOf(l, "before_end_lease").TimeMs
	newEnd := time.UnixMilli(l.EndMs).UTC().Add(time.Hour)
	u, err := m.updateLease(t, member("p", "u"), "L1", map[string]any{"end_date": newEnd.Format("2006-01-02 15:04:05")})
	if err != nil {
		t.Fatal(err)
	}
	if u.EndMs != newEnd.UnixMilli() || eventOf(u, "end_lease").TimeMs != u.EndMs || u.Status != "PENDING" {
		t.Fatalf("updated %v", u)
	}
	if got := eventOf(u, "before_end_lease").TimeMs; got != beforeEnd+time.Hour.Milliseconds() {
		t.Fatalf("before_end at %d, want %d", got, beforeEnd+time.Hour.Milliseconds())
	}
	as := m.state().AllocationsOfLease("L1")
	if len(as) != 1 || as[0].EndMs != u.EndMs || as[0].StartMs != u.StartMs {
		t.Fatalf("allocations %v after prolong", as)
	}
	if m.notes.count("lease.update", "L1") != 1 {
		t.Fatalf("notifications %v", m.notes.got)
	}
	// A rename only; another project's update is refused naming get.
	if r, err := m.updateLease(t, member("p", "u2"), "L1", map[string]any{"name": "renamed"}); err != nil || r.Name != "renamed" {
		t.Fatalf("rename: %v %v", r, err)
	}
	_, err = m.updateLease(t, member("q", "u3"), "L1", map[string]any{"name": "x"})
	wantError(t, "other project", err, actors.KindForbidden, "Policy doesn't allow blazar:leases:get to be performed")
}

func TestLeaseDeleteFreesHosts(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	end := dateIn(time.Hour)
	if _, err := m.createLease(t, member("p", "c"), "L1", leaseBody("l", "now", end, 1, 1)); err != nil {
		t.Fatal(err)
	}
	wantError(t, "other project", m.deleteLease(t, member("q", "d0"), "L1"), actors.KindForbidden,
		"Policy doesn't allow blazar:leases:get to be performed")
	if err := m.deleteLease(t, member("p", "d1"), "L1"); err != nil {
		t.Fatal(err)
	}
	if m.state().Lease("L1") != nil || m.state().HostAllocated("h1") {
		t.Fatal("lease or its allocation still stored")
	}
	wantError(t, "unknown", m.deleteLease(t, member("p", "d2"), "L1"), actors.KindNotFound, "Object with {'lease_id': 'L1'} not found")
	if _, err := m.createLease(t, member("p", "c2"), "L2", leaseBody("l", "now", end, 1, 1)); err != nil {
		t.Fatalf("host not free after delete: %v", err)
	}
	if m.notes.count("lease.delete", "L1") != 1 {
		t.Fatalf("notifications %v", m.notes.got)
	}
}

func (m *blazarMember) fire(t *testing.T, leaseID, eventID string) (*storepb.Lease, error) {
	t.Helper()
	return m.client.FireLeaseEvent(context.Background(), leaseID, eventID)
}

// Two concurrent FireEvent calls for one event, and a duplicate activation
// that commits the step first: the lease starts exactly once.
func TestFireEventExactlyOnce(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.addHost(t, "h1", "compute-1", nil)
	l, err := m.createLease(t, member("p", "c"), "L1", leaseBody("l", "now", dateIn(time.Hour), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	start := eventOf(l, "start_lease")
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.fire(t, "L1", start.Id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cur := m.state().Lease("L1")
	if cur.Status != "ACTIVE" || eventOf(cur, "start_lease").Status != "DONE" || cur.Reservations[0].Status != "active" {
		t.Fatalf("after start: %v", cur)
	}
	if n := m.notes.count("lease.event.start_lease", "L1"); n != 1 {
		t.Fatalf("start_lease notified %d times", n)
	}
	if cur.Version != l.Version+1 {
		t.Fatalf("version %d, want one step after %d", cur.Version, l.Version)
	}

	// before_end (clamped to the start of this one-hour lease): a duplicate
	// activation commits it first; this grain loses the race, reads it DONE and
	// does nothing more.
	be := eventOf(cur, "before_end_lease")
	m.store.script(fmt.Sprintf("lease-event:%s@%d", be.Id, cur.Version), afterOtherWriter(func(st *store.State, cmd *storepb.Command) *storepb.Command {
		c := cmd
		c.RequestId = "duplicate-activation"
		return c
	}))
	if _, err := m.fire(t, "L1", be.Id); err != nil {
		t.Fatal(err)
	}
	cur2 := m.state().Lease("L1")
	if eventOf(cur2, "before_end_lease").Status != "DONE" || cur2.Version != cur.Version+1 || cur2.Status != "ACTIVE" {
		t.Fatalf("after the duplicate before_end: %v", cur2)
	}
	if n := m.notes.count("lease.event.before_end_lease", "L1"); n != 0 {
		t.Fatalf("the losing activation notified before_end %d times", n)
	}
	// An event not yet due does nothing.
	end := eventOf(cur2, "end_lease")
	if r, err := m.fire(t, "L1", end.Id); err != nil || eventOf(r, "end_lease").Status != "UNDONE" {
		t.Fatalf("end fired early: %v %v", r, err)
	}
}

// The scheduler starts a short lease and ends it, on time within generous
// bounds, releasing its host.
func TestEventSchedulerRunsShortLease(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	m.store.leaderReady.Store(true)
	m.addHost(t, "h1", "compute-1", nil)
	before := actors.EventLateness().Count
	s := &actors.EventScheduler{Store: m.store, Client: m.client, Logger: quietLogger}
	s.Start()
	defer s.Stop()
	if _, err := m.createLease(t, member("p", "c"), "L1", leaseBody("short", "now", dateIn(2*time.Second), 1, 1)); err != nil {
		t.Fatal(err)
	}
	wait := func(status string, within time.Duration) *storepb.Lease {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			l := m.state().Lease("L1")
			if l.GetStatus() == status {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("lease not %s within %v: %v", status, within, l)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("ACTIVE", 5*time.Second)
	l := wait("TERMINATED", 10*time.Second)
	for _, ev := range l.Events {
		if ev.Status != "DONE" {
			t.Fatalf("event %v after the end", ev)
		}
	}
	if m.state().HostAllocated("h1") || l.Reservations[0].Status != "deleted" {
		t.Fatalf("host still allocated or reservation %q", l.Reservations[0].Status)
	}
	for _, n := range []string{"lease.event.start_lease", "lease.event.before_end_lease", "lease.event.end_lease"} {
		if m.notes.count(n, "L1") != 1 {
			t.Fatalf("%s: notifications %v", n, m.notes.got)
		}
	}
	// The scheduler records an event's lateness once its Fire call returns,
	// which can be after the lease's new status is already in the store.
	deadline := time.Now().Add(5 * time.Second)
	for actors.EventLateness().Count-before < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("lateness recorded for %d events 5 s after the end, want 3", actors.EventLateness().Count-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Many leases for few hosts over one window (the 50-for-10, scaled
// down): exactly as many succeed as there are hosts, each host booked once.
func TestManyLeasesCompeteForFewHosts(t *testing.T) {
	m := startBlazarMember(t, actors.LeaseSettings{})
	const hosts, leases = 5, 15
	for i := range hosts {
		m.addHost(t, "h"+itoa(i), "compute-"+itoa(i), nil)
	}
	end := dateIn(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, leases)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = m.createLease(t, member("p", "many-"+itoa(i)), "L"+itoa(i), leaseBody("l", "now", end, 1, 1))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantError(t, "loser", err, actors.KindConflict, "Not enough hosts available")
	}
	if ok != hosts {
		t.Fatalf("%d leases succeeded, want %d", ok, hosts)
	}
	for i := range hosts {
		if n := len(m.state().AllocationsOfHost("h" + itoa(i))); n != 1 {
			t.Fatalf("h%d has %d allocations", i, n)
		}
	}
}
