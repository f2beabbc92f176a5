package actors_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	protocluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/instancepb"
	"keel/actors/power"
	"keel/cluster"
	"keel/store/storepb"
)

// moganMember is a one-member cluster serving every grain over an fsmStore,
// with the end_lease hook keeld installs.
type moganMember struct {
	*blazarMember
	fake *power.Fake
	// bmcPrefix makes this test's fake BMCs its own (the fake driver is one
	// process-wide world).
	bmcPrefix string
	hook      *actors.InstanceLeaseHook
}

var memberSeq atomic.Int64

func startMoganMember(t *testing.T) *moganMember {
	t.Helper()
	s := newFSMStore(t)
	n := &notes{}
	hook := &actors.InstanceLeaseHook{Next: n, Store: s, Logger: quietLogger}
	host, port := freeLoopback(t)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLogger }))
	kinds := actors.Kinds(system, &actors.Runtime{Store: s, Settings: actors.Settings{IdleTimeout: time.Minute},
		Logger: quietLogger, Notifier: hook})
	cfg := protocluster.Configure("keel-test", test.NewTestProvider(test.NewInMemAgent()), cluster.NewPlacementLookup(),
		remote.Configure(host, port), protocluster.WithKinds(kinds...))
	c := protocluster.New(system, cfg)
	c.StartMember()
	t.Cleanup(func() { c.Shutdown(false) })
	client := actors.NewClient(c)
	hook.SetClient(client)
	drv, err := power.ForName("fake")
	if err != nil {
		t.Fatal(err)
	}
	return &moganMember{blazarMember: &blazarMember{store: s, client: client, notes: n}, fake: drv.(*power.Fake),
		bmcPrefix: fmt.Sprintf("bmc-%s-%d-", t.Name(), memberSeq.Add(1)), hook: hook}
}

// bmc is the fake BMC of host id (as addHost registers it).
func (m *moganMember) bmc(id string) power.BMC { return power.BMC{Address: m.bmcPrefix + id} }

func (m *moganMember) addFakeHost(t *testing.T, id string, extra map[string]any) {
	t.Helper()
	b := map[string]any{"bmc_address": m.bmcPrefix + id, "power_driver": "fake", "bmc_username": "admin",
		"bmc_password": "s3cret-pw"}
	for k, v := range extra {
		b[k] = v
	}
	m.addHost(t, id, "compute-"+id, b)
}

func (m *moganMember) addType(t *testing.T, id string, specs map[string]string) {
	t.Helper()
	b := map[string]any{"name": "type-" + id}
	if specs != nil {
		b["extra_specs"] = specs
	}
	_, err := actors.CallInstanceType(context.Background(), m.client, id, &instancepb.TypeWriteRequest{
		Caller: caller("type-"+id, 0), Op: instancepb.TypeWriteRequest_CREATE, Body: body(t, b)})
	if err != nil {
		t.Fatalf("create type %s: %v", id, err)
	}
}

const (
	typeA = "aaaaaaaa-0000-4000-8000-000000000001"
	image = "bbbbbbbb-0000-4000-8000-000000000001"
	netA  = "cccccccc-0000-4000-8000-000000000001"
)

func instanceID(n int) string { return fmt.Sprintf("dddddddd-0000-4000-8000-%012d", n) }

func createBody(extra map[string]any) map[string]any {
	b := map[string]any{"name": "i", "image_uuid": image, "instance_type_uuid": typeA,
		"networks": []map[string]any{{"net_id": netA}}}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

func (m *moganMember) create(t *testing.T, c *actorspb.Caller, id string, b map[string]any) (*storepb.Instance, error) {
	t.Helper()
	r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).Create,
		&instancepb.CreateInstanceRequest{Caller: c, Body: body(t, b), UserId: "u"})
	return r.GetInstance(), err
}

func (m *moganMember) setPower(t *testing.T, c *actorspb.Caller, id, target string) (*storepb.Instance, error) {
	t.Helper()
	r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).SetPower,
		&instancepb.SetPowerRequest{Caller: c, Target: target})
	return r.GetInstance(), err
}

func (m *moganMember) deleteInstance(t *testing.T, c *actorspb.Caller, id string) (*storepb.Instance, error) {
	t.Helper()
	r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).Delete,
		&instancepb.DeleteInstanceRequest{Caller: c})
	return r.GetInstance(), err
}

// waitInstance waits until the stored instance satisfies ok (nil: gone).
func (m *moganMember) waitInstance(t *testing.T, id string, what string, ok func(x *storepb.Instance) bool) *storepb.Instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		x := m.state().Instance(id)
		if ok(x) {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s never %s: %v", id, what, x)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inStatus(status string) func(x *storepb.Instance) bool {
	return func(x *storepb.Instance) bool { return x != nil && x.Status == status }
}

func gone(x *storepb.Instance) bool { return x == nil }

func TestInstanceBuildsOnAFreeHost(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	x, err := m.create(t, member("p", "c1"), id, createBody(nil))
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != "building" || x.ProjectId != "p" || x.UserId != "u" || x.Version == 0 || x.HostId != "" {
		t.Fatalf("create replied %v", x)
	}
	x = m.waitInstance(t, id, "active", inStatus("active"))
	if x.HostId != "h1" || x.PowerState != "power on" || x.TargetPowerState != "" || x.LaunchedAtUs == 0 {
		t.Fatalf("built %v", x)
	}
	if s, _ := m.fake.State(context.Background(), m.bmc("h1")); s != power.On || m.fake.Calls(m.bmc("h1")) != 1 {
		t.Fatalf("BMC %v after %d calls", s, m.fake.Calls(m.bmc("h1")))
	}
	// A retry of the create is answered with the instance, not a conflict.
	if _, err := m.create(t, &actorspb.Caller{ProjectId: "p", RequestId: "c1", Attempt: 1,
		DeadlineUnixMs: actors.RequestDeadline(time.Now())}, id, createBody(nil)); err != nil {
		t.Fatalf("retried create: %v", err)
	}
	_, err = m.create(t, member("p", "c2"), id, createBody(nil))
	wantError(t, "second create", err, actors.KindConflict, "already exists")
}

func TestInstanceCreateRefusals(t *testing.T) {
	m := startMoganMember(t)
	_, err := m.create(t, member("p", "c1"), instanceID(1), createBody(nil))
	wantError(t, "unknown type", err, actors.KindInvalid, "InstanceType "+typeA+" could not be found")
	m.addType(t, typeA, nil)
	_, err = m.create(t, member("p", "c2"), instanceID(1), map[string]any{"name": "x"})
	wantError(t, "schema", err, actors.KindInvalid, "Invalid create body: 'image_uuid' is a required property")
	_, err = m.create(t, member("p", "c3"), instanceID(1), createBody(map[string]any{"availability_zone": "nowhere"}))
	wantError(t, "zone", err, actors.KindInvalid, "The requested availability zone is not available")
}

func TestInstanceWithoutHostGoesError(t *testing.T) {
	m := startMoganMember(t)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	x := m.waitInstance(t, id, "error", inStatus("error"))
	if x.StatusReason != actors.NoValidHost || x.HostId != "" {
		t.Fatalf("failed %v", x)
	}
}

func TestInstanceTypeExtraSpecsAndZone(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", map[string]any{"gpu": "none"})
	m.addFakeHost(t, "h2", map[string]any{"gpu": "a100"})
	m.addType(t, typeA, map[string]string{"capabilities:gpu": "a100"})
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	if x := m.waitInstance(t, id, "active", inStatus("active")); x.HostId != "h2" {
		t.Fatalf("scheduled on %s, want the a100 host h2", x.HostId)
	}
	if _, err := m.create(t, member("p", "c2"), instanceID(2), createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, instanceID(2), "error", inStatus("error"))
}

// Two creates for the last free host: the FSM gives it to one; the other's
// grain re-reads and finds no valid host.
func TestInstancesCompeteForOneHost(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	var wg sync.WaitGroup
	for i := 1; i <= 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.create(t, member("p", fmt.Sprint("c", i)), instanceID(i), createBody(nil)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	settled := func(x *storepb.Instance) bool { return x != nil && (x.Status == "active" || x.Status == "error") }
	a := m.waitInstance(t, instanceID(1), "settled", settled)
	b := m.waitInstance(t, instanceID(2), "settled", settled)
	if a.Status == b.Status {
		t.Fatalf("both %s", a.Status)
	}
	loser := a
	if b.Status == "error" {
		loser = b
	}
	if loser.StatusReason != actors.NoValidHost {
		t.Fatalf("loser %v", loser)
	}
}

func TestInstanceDeletePowersOffAndPurges(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "active", inStatus("active"))
	_, err := m.deleteInstance(t, member("q", "d0"), id)
	wantError(t, "other project", err, actors.KindForbidden, "mogan:instance:delete")
	_, err = m.deleteInstance(t, member("p", "d0"), instanceID(9))
	wantError(t, "unknown", err, actors.KindNotFound, "Resource could not be found.")
	x, err := m.deleteInstance(t, member("p", "d1"), id)
	if err != nil || x.Status != "deleting" {
		t.Fatalf("delete: %v %v", x, err)
	}
	m.waitInstance(t, id, "purged", gone)
	if s, _ := m.fake.State(context.Background(), m.bmc("h1")); s != power.Off {
		t.Fatalf("BMC %v after delete", s)
	}
	if free := m.state().FreeHosts(); len(free) != 1 || free[0].Id != "h1" {
		t.Fatalf("free hosts %v", free)
	}
	// The type is free again.
	_, err = actors.CallInstanceType(context.Background(), m.client, typeA, &instancepb.TypeWriteRequest{
		Caller: caller("td", 0), Op: instancepb.TypeWriteRequest_DELETE})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInstancePowerActions(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	p := func(r string) *actorspb.Caller { return member("p", r) }
	if _, err := m.create(t, p("c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "active", inStatus("active"))
	bmcState := func() power.PowerState { s, _ := m.fake.State(context.Background(), m.bmc("h1")); return s }

	_, err := m.setPower(t, p("p0"), id, "sideways")
	wantError(t, "bad target", err, actors.KindInvalid, "Unacceptable parameters.")
	_, err = m.setPower(t, p("p1"), id, "on")
	wantError(t, "on while active", err, actors.KindInvalid, "Can not transition from state 'active' on event 'start'")
	x, err := m.setPower(t, p("p2"), id, "off")
	if err != nil || x.Status != "powering-off" || x.TargetPowerState != "power off" {
		t.Fatalf("off: %v %v", x, err)
	}
	x = m.waitInstance(t, id, "stopped", inStatus("stopped"))
	if x.PowerState != "power off" || x.TargetPowerState != "" || bmcState() != power.Off {
		t.Fatalf("after off: %v, BMC %v", x, bmcState())
	}
	if _, err := m.setPower(t, p("p3"), id, "on"); err != nil {
		t.Fatal(err)
	}
	x = m.waitInstance(t, id, "active", inStatus("active"))
	if x.PowerState != "power on" || bmcState() != power.On {
		t.Fatalf("after on: %v", x)
	}
	calls := m.fake.Calls(m.bmc("h1"))
	if _, err := m.setPower(t, p("p4"), id, "reboot"); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "rebooted", func(x *storepb.Instance) bool {
		return x.Status == "active" && m.fake.Calls(m.bmc("h1")) == calls+1
	})

	// A power action in progress (written, its grain not yet driving it):
	// another is refused with 409 until Resume finishes it.
	cur := m.state().Instance(id)
	row := proto.Clone(cur).(*storepb.Instance)
	row.Status, row.TargetPowerState = "soft-powering-off", "power off"
	m.store.write(t, &storepb.Command{Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
		Intent: storepb.InstanceTransaction_SET_POWER, InstanceId: id, ExpectedVersion: cur.Version, Instance: row}}})
	_, err = m.setPower(t, p("p5"), id, "reboot")
	wantError(t, "in progress", err, actors.KindConflict, "has a power action in progress")
	if _, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).Resume,
		&instancepb.ResumeRequest{}); err != nil {
		t.Fatal(err)
	}
	x = m.waitInstance(t, id, "stopped", inStatus("stopped"))
	if bmcState() != power.Off || x.PowerState != "power off" {
		t.Fatalf("after resumed soft_off: %v", x)
	}

	// A BMC that fails: the action fails, the status goes back, the reason says
	// why without the password.
	m.fake.SetUnreachable(m.bmc("h1"), true)
	defer m.fake.SetUnreachable(m.bmc("h1"), false)
	if _, err := m.setPower(t, p("p6"), id, "on"); err != nil {
		t.Fatal(err)
	}
	x = m.waitInstance(t, id, "back to stopped", func(x *storepb.Instance) bool {
		return x.Status == "stopped" && x.StatusReason != ""
	})
	if !strings.Contains(x.StatusReason, "unreachable") || strings.Contains(x.StatusReason, "s3cret-pw") {
		t.Fatalf("reason %q", x.StatusReason)
	}
}

func TestSyncPowerNoticesBMCChange(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "active", inStatus("active"))
	m.fake.Put(m.bmc("h1"), power.Off) // someone at the BMC
	r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).SyncPower,
		&instancepb.SyncPowerRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if x := r.GetInstance(); x.PowerState != "power off" || x.Status != "stopped" {
		t.Fatalf("after sync: %v", x)
	}
	// The supervisor's periodic sync notices it the other way round.
	m.fake.Put(m.bmc("h1"), power.On)
	m.store.leaderReady.Store(true)
	s := &actors.InstanceSupervisor{Store: m.store, Client: m.client, Logger: quietLogger,
		Interval: time.Hour, PowerSyncInterval: 50 * time.Millisecond}
	s.Start()
	defer s.Stop()
	x := m.waitInstance(t, id, "active", inStatus("active"))
	if x.PowerState != "power on" {
		t.Fatalf("after periodic sync: %v", x)
	}
}

// An instance whose grain died mid-build (written, never driven) is finished
// by the supervisor's Resume.
func TestSupervisorResumesStuckBuild(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	now := time.Now().Add(-time.Minute).UnixMicro()
	m.store.write(t, &storepb.Command{Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
		Intent: storepb.InstanceTransaction_CREATE_INSTANCE, InstanceId: id, Instance: &storepb.Instance{
			Uuid: id, Name: "i", ProjectId: "p", Status: "building", InstanceTypeUuid: typeA, ImageUuid: image,
			HostId: "h1", CreatedAtUs: now, UpdatedAtUs: now}}}})
	m.store.leaderReady.Store(true)
	s := &actors.InstanceSupervisor{Store: m.store, Client: m.client, Logger: quietLogger,
		Interval: 50 * time.Millisecond, Grace: time.Millisecond, PowerSyncInterval: time.Hour}
	s.Start()
	defer s.Stop()
	if x := m.waitInstance(t, id, "active", inStatus("active")); x.HostId != "h1" {
		t.Fatalf("resumed %v", x)
	}
}

// scheduler_hints.reservation: the instance lands on the reservation's host
// only while its lease is ACTIVE and only for the lease's project; other
// instances keep off it; end_lease deletes the instance and powers the host
// off.
func TestReservationHint(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addFakeHost(t, "h2", nil)
	m.addType(t, typeA, nil)
	l, err := m.createLease(t, member("p", "l1"), "L1", leaseBody("l", "now", dateIn(4*time.Second), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	res := l.Reservations[0].Id
	reserved := hostsOf(m.state(), "L1")[0]
	hint := createBody(map[string]any{"scheduler_hints": map[string]any{"reservation": res}})

	if _, err := m.create(t, member("p", "c1"), instanceID(1), hint); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, instanceID(1), "error (lease PENDING)", inStatus("error"))

	if _, err := m.fire(t, "L1", eventOf(l, "start_lease").Id); err != nil {
		t.Fatal(err)
	}
	if _, err := m.create(t, member("q", "c2"), instanceID(2), hint); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, instanceID(2), "error (another project)", inStatus("error"))

	if _, err := m.create(t, member("p", "c3"), instanceID(3), hint); err != nil {
		t.Fatal(err)
	}
	if x := m.waitInstance(t, instanceID(3), "active", inStatus("active")); x.HostId != reserved {
		t.Fatalf("on %s, want the reserved host %s", x.HostId, reserved)
	}
	// Ordinary instances: the free host, then none (the reserved one is the
	// ACTIVE lease's).
	if _, err := m.create(t, member("p", "c4"), instanceID(4), createBody(nil)); err != nil {
		t.Fatal(err)
	}
	if x := m.waitInstance(t, instanceID(4), "active", inStatus("active")); x.HostId == reserved {
		t.Fatalf("ordinary instance on the reserved host")
	}

	m.store.leaderReady.Store(true)
	events := &actors.EventScheduler{Store: m.store, Client: m.client, Logger: quietLogger}
	events.Start()
	defer events.Stop()
	m.waitInstance(t, instanceID(3), "deleted at end_lease", gone)
	if s, _ := m.fake.State(context.Background(), m.bmc(reserved)); s != power.Off {
		t.Fatalf("reserved host's BMC %v after end_lease", s)
	}
	if x := m.state().Instance(instanceID(4)); x == nil || x.Status != "active" {
		t.Fatalf("ordinary instance after end_lease: %v", x)
	}
}

func TestEndReservationDeletes(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "active", inStatus("active"))
	r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).EndReservation,
		&instancepb.EndReservationRequest{})
	if err != nil || r.GetInstance().GetStatus() != "deleting" {
		t.Fatalf("end reservation: %v %v", r, err)
	}
	m.waitInstance(t, id, "purged", gone)
}

func TestInstancePatchAndPolicy(t *testing.T) {
	m := startMoganMember(t)
	m.addType(t, typeA, nil)
	id := instanceID(1)
	if _, err := m.create(t, member("p", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	patch := func(c *actorspb.Caller, ops string) (*storepb.Instance, error) {
		r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).Patch,
			&instancepb.PatchInstanceRequest{Caller: c, Body: []byte(ops)})
		return r.GetInstance(), err
	}
	_, err := patch(member("q", "x1"), `[{"op":"replace","path":"/name","value":"n"}]`)
	wantError(t, "other project", err, actors.KindForbidden, "mogan:instance:update")
	_, err = patch(member("p", "x2"), `[{"op":"replace","path":"/status","value":"active"}]`)
	wantError(t, "internal", err, actors.KindInvalid, "'/status' is an internal attribute and can not be updated")
	x, err := patch(member("p", "x3"), `[{"op":"replace","path":"/name","value":"new"},{"op":"add","path":"/extra/k","value":"v"}]`)
	if err != nil || x.Name != "new" || x.Extra["k"] != "v" {
		t.Fatalf("patched %v %v", x, err)
	}
	x, err = patch(caller("x4", 0), `[{"op":"add","path":"/description","value":"d"}]`) // admin of another project
	if err != nil || x.Description != "d" || x.Name != "new" {
		t.Fatalf("admin patch %v %v", x, err)
	}
}

func TestInstanceTypeWrites(t *testing.T) {
	m := startMoganMember(t)
	write := func(c *actorspb.Caller, op instancepb.TypeWriteRequest_Op, b any) (*storepb.InstanceType, error) {
		req := &instancepb.TypeWriteRequest{Caller: c, Op: op}
		if b != nil {
			req.Body = body(t, b)
		}
		r, err := actors.CallInstanceType(context.Background(), m.client, typeA, req)
		return r.GetType(), err
	}
	_, err := write(member("p", "t1"), instancepb.TypeWriteRequest_CREATE, map[string]any{"name": "x"})
	wantError(t, "member", err, actors.KindForbidden, "mogan:instance_type:create")
	_, err = write(caller("t2", 0), instancepb.TypeWriteRequest_CREATE, map[string]any{"description": "x"})
	wantError(t, "no name", err, actors.KindInvalid, "'name' is a required property")
	_, err = write(caller("t3", 0), instancepb.TypeWriteRequest_CREATE, map[string]any{"name": "x", "ram": 1})
	wantError(t, "unknown key", err, actors.KindInvalid, "unknown attribute 'ram'")
	ty, err := write(caller("t4", 0), instancepb.TypeWriteRequest_CREATE,
		map[string]any{"name": "small", "extra_specs": map[string]string{"gpu": "none"}})
	if err != nil || ty.Name != "small" || !ty.IsPublic || ty.ExtraSpecs["gpu"] != "none" || ty.Version == 0 {
		t.Fatalf("created %v %v", ty, err)
	}
	ty, err = write(caller("t5", 0), instancepb.TypeWriteRequest_UPDATE, map[string]any{"is_public": false, "description": "d"})
	if err != nil || ty.Name != "small" || ty.IsPublic || ty.Description != "d" {
		t.Fatalf("updated %v %v", ty, err)
	}
	if _, err := m.create(t, member("p", "c1"), instanceID(1), createBody(nil)); err != nil {
		t.Fatal(err)
	}
	_, err = write(caller("t6", 0), instancepb.TypeWriteRequest_DELETE, nil)
	wantError(t, "in use", err, actors.KindConflict, "is in use by an instance")
	_, err = actors.CallInstanceType(context.Background(), m.client, "nope", &instancepb.TypeWriteRequest{
		Caller: caller("t7", 0), Op: instancepb.TypeWriteRequest_DELETE})
	wantError(t, "unknown", err, actors.KindNotFound, "InstanceType nope could not be found")
}

// Deleting a lease ends its instances, as its end does.
func TestLeaseDeleteEndsItsInstances(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	l, err := m.createLease(t, member("p", "l1"), "L1", leaseBody("l", "now", dateIn(time.Hour), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.fire(t, "L1", eventOf(l, "start_lease").Id); err != nil {
		t.Fatal(err)
	}
	hint := createBody(map[string]any{"scheduler_hints": map[string]any{"reservation": l.Reservations[0].Id}})
	if _, err := m.create(t, member("p", "c1"), instanceID(1), hint); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, instanceID(1), "active", inStatus("active"))
	if err := m.deleteLease(t, member("p", "ld"), "L1"); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, instanceID(1), "deleted with its lease", gone)
	if s, _ := m.fake.State(context.Background(), m.bmc("h1")); s != power.Off {
		t.Fatalf("BMC %v after the lease's delete", s)
	}
}

// start_lease preempts (Blazar's on_start): an ordinary instance that took a
// host while its lease was PENDING is deleted when the lease starts and the
// host powered off; the instance on the other host is left; the host is then
// the reservation's alone (an ordinary create finds no valid host, a
// reservation's instance lands on it). Preempt on an instance whose host no
// ACTIVE lease holds does nothing.
func TestStartLeasePreemptsOrdinaryInstances(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addFakeHost(t, "h2", nil)
	m.addType(t, typeA, nil)
	l, err := m.createLease(t, member("p", "l1"), "L1", leaseBody("l", "now", dateIn(time.Hour), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	reserved := hostsOf(m.state(), "L1")[0]
	// The lease is PENDING: ordinary instances may take its host.
	var onReserved, other string
	for i := 1; i <= 2; i++ {
		if _, err := m.create(t, member("q", fmt.Sprintf("c%d", i)), instanceID(i), createBody(nil)); err != nil {
			t.Fatal(err)
		}
		if x := m.waitInstance(t, instanceID(i), "active", inStatus("active")); x.HostId == reserved {
			onReserved = x.Uuid
		} else {
			other = x.Uuid
		}
	}
	if onReserved == "" || other == "" {
		t.Fatal("two instances did not take both hosts")
	}
	for _, id := range []string{onReserved, other} {
		r, err := actors.CallInstance(context.Background(), m.client, id, (*instancepb.InstanceGrainClient).Preempt,
			&instancepb.PreemptRequest{LeaseId: "L1"})
		if err != nil || r.GetInstance().GetStatus() != "active" {
			t.Fatalf("preempt while the lease is PENDING: %v %v", r, err)
		}
	}

	if _, err := m.fire(t, "L1", eventOf(l, "start_lease").Id); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, onReserved, "preempted at start_lease", gone)
	if s, _ := m.fake.State(context.Background(), m.bmc(reserved)); s != power.Off {
		t.Fatalf("reserved host's BMC %v after the preemption", s)
	}
	if x := m.state().Instance(other); x == nil || x.Status != "active" {
		t.Fatalf("instance off the lease's hosts after start_lease: %v", x)
	}

	if _, err := m.create(t, member("q", "c3"), instanceID(3), createBody(nil)); err != nil {
		t.Fatal(err)
	}
	if x := m.waitInstance(t, instanceID(3), "error", inStatus("error")); x.HostId != "" {
		t.Fatalf("ordinary instance placed on %s while the lease is ACTIVE", x.HostId)
	}
	hint := createBody(map[string]any{"scheduler_hints": map[string]any{"reservation": l.Reservations[0].Id}})
	if _, err := m.create(t, member("p", "c4"), instanceID(4), hint); err != nil {
		t.Fatal(err)
	}
	if x := m.waitInstance(t, instanceID(4), "active", inStatus("active")); x.HostId != reserved {
		t.Fatalf("reservation's instance on %s, want %s", x.HostId, reserved)
	}
	// The reservation's own instance is never preempted by its lease.
	r, err := actors.CallInstance(context.Background(), m.client, instanceID(4), (*instancepb.InstanceGrainClient).Preempt,
		&instancepb.PreemptRequest{LeaseId: "L1"})
	if err != nil || r.GetInstance().GetStatus() != "active" {
		t.Fatalf("preempt of the reservation's instance: %v %v", r, err)
	}
}

// The supervisor's pass preempts an instance on an ACTIVE lease's host when
// the start_lease notification was lost (here: the hook has no grain client
// when the lease starts).
func TestSupervisorPreemptsAfterLostStartLease(t *testing.T) {
	m := startMoganMember(t)
	m.addFakeHost(t, "h1", nil)
	m.addType(t, typeA, nil)
	l, err := m.createLease(t, member("p", "l1"), "L1", leaseBody("l", "now", dateIn(time.Hour), 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	id := instanceID(1)
	if _, err := m.create(t, member("q", "c1"), id, createBody(nil)); err != nil {
		t.Fatal(err)
	}
	m.waitInstance(t, id, "active", inStatus("active"))
	m.hook.SetClient(nil)
	if _, err := m.fire(t, "L1", eventOf(l, "start_lease").Id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if x := m.state().Instance(id); x == nil || x.Status != "active" {
		t.Fatalf("instance touched without the hook: %v", x)
	}
	m.store.leaderReady.Store(true)
	s := &actors.InstanceSupervisor{Store: m.store, Client: m.client, Logger: quietLogger,
		Interval: 50 * time.Millisecond, Grace: time.Hour, PowerSyncInterval: time.Hour}
	s.Start()
	defer s.Stop()
	m.waitInstance(t, id, "preempted by the supervisor", gone)
	if s, _ := m.fake.State(context.Background(), m.bmc("h1")); s != power.Off {
		t.Fatalf("BMC %v after the preemption", s)
	}
}
