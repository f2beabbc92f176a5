package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/proto"

	"keel/actors/actorspb"
	"keel/actors/baremetal"
	"keel/actors/instancepb"
	"keel/actors/power"
	"keel/cluster/metrics"
	"keel/store"
	"keel/store/storepb"
)

// InstanceGrain is the single writer of one bare-metal instance (kind
// "Instance", identity = the instance's uuid): Mogan's API and engine in one.
// A request (Create, Delete, SetPower) writes the row's new status at once and
// replies; the rest of the work (scheduling, the BMC calls, the final write)
// runs afterwards in the grain, driven by the stored status alone (advance), so
// a later activation (Resume, after the node that ran the grain died) carries
// on from the store with no memory of the first:
//
//   - building, no host: schedule (SCHEDULE_INSTANCE; the FSM refuses a host
//     another instance took, and the grain chooses again), or FAIL_INSTANCE
//     "No valid host was found.";
//   - building on a host: power the host on, then COMPLETE_BUILD (active,
//     "power on", launched_at), or FAIL_INSTANCE with the driver's reason;
//   - deleting: power the host off, then PURGE_INSTANCE (the row goes: 404);
//     a failed power off leaves the instance in error with the reason;
//   - a power status (powering-on, …): run the action, then FinishPower's
//     SET_POWER.
//
// A BMC call runs in a goroutine (the mailbox stays free for other requests:
// a Delete during a build is written at once and the build's result is then
// dropped because the status moved on); its result comes back as a message.
// Every write is a compare-and-set on the version read, so a duplicate
// activation elsewhere only loses races and re-reads.
type InstanceGrain struct {
	id     string
	rt     *Runtime
	self   *actor.PID
	system *actor.ActorSystem
	// driving: a BMC call is in flight (mailbox-only field); advance waits
	// for its driverDone.
	driving bool
}

var _ instancepb.Instance = (*InstanceGrain)(nil)

// instanceStep asks the grain to continue its instance's unfinished work.
type instanceStep struct{}

// driverAlive keeps a grain whose BMC call is slow from passivating.
type driverAlive struct{}

// driverDone is a BMC call's result: for the instance as it was (status,
// host) when the call began.
type driverDone struct {
	status   string
	hostID   string
	action   power.Action
	err      error
	observed power.PowerState // after a failure: what the BMC reports ("" unknown)
}

// Init binds the grain to its instance and node.
func (g *InstanceGrain) Init(ctx cluster.GrainContext) {
	g.id = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
	g.self = ctx.Self()
	g.system = ctx.ActorSystem()
}

// Terminate has nothing to release: a BMC call in flight ends on its own and
// its result is lost; the supervisor's Resume repeats it.
func (g *InstanceGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault runs the grain's own steps.
func (g *InstanceGrain) ReceiveDefault(ctx cluster.GrainContext) {
	switch m := ctx.Message().(type) {
	case *instanceStep:
		g.advance()
	case *driverDone:
		g.finish(m)
	case *driverAlive:
	}
}

// kick queues a step behind the message being handled.
func (g *InstanceGrain) kick() { g.system.Root.Send(g.self, &instanceStep{}) }

// NoValidHost is the status_reason of an instance no host could take
// (Mogan's NoValidHost text).
const NoValidHost = "No valid host was found."

// powerOffFailed begins the status_reason of an instance whose delete
// could not power its host off.
const powerOffFailed = "Failed to power off: "

// moganError is a baremetal refusal as the grain error of its status class.
func moganError(e *baremetal.Error) error {
	kind := KindInternal
	switch e.Code {
	case 400:
		kind = KindInvalid
	case 403:
		kind = KindForbidden
	case 404:
		kind = KindNotFound
	case 409:
		kind = KindConflict
	}
	return grainError(kind, "%s", e.Message)
}

func instanceCommand(intent storepb.InstanceTransaction_Intent, expected uint64, x *storepb.Instance) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
		Intent: intent, InstanceId: x.Uuid, ExpectedVersion: expected, Instance: x}}}
}

// stepRequestID names a grain's own write: one per intent and version read,
// so a step repeated after an ambiguous outcome is recognised, never applied
// twice.
func stepRequestID(id string, intent storepb.InstanceTransaction_Intent, version uint64) string {
	return fmt.Sprintf("instance/%s/%s/v%d", id, intent, version)
}

// ownCaller is the grain's own identity for the writes of its flow.
func ownCaller() *actorspb.Caller { return &actorspb.Caller{Admin: true} }

// visible finds the instance for a caller: 404 if it is unknown (or purged),
// 403 (the rule's text) if it is another project's and the caller is no admin.
func visible(st *store.State, id string, caller *actorspb.Caller, rule string) (*storepb.Instance, error) {
	cur := st.Instance(id)
	if cur == nil || cur.Status == storepb.InstanceDeleted {
		return nil, moganError(baremetal.ErrInstanceNotFound())
	}
	if !authorized(caller, cur.ProjectId) {
		return nil, moganError(baremetal.ErrPolicy(rule))
	}
	return cur, nil
}

func cloneInstance(x *storepb.Instance) *storepb.Instance { return proto.Clone(x).(*storepb.Instance) }

// written is the row a command wrote at res's version (the reply needs no
// read: a read barrier on a follower costs up to a commit timeout).
func written(cmd *storepb.Command, res *storepb.CommandResult) *storepb.Instance {
	x := cloneInstance(cmd.GetInstanceTransaction().GetInstance())
	x.Version = res.Version
	return x
}

// errInstanceExists: the instance to create is already stored.
var errInstanceExists = errors.New("instance exists")

// Create writes the instance from POST /v1/instances's body in status
// building and replies with that row; the build goes on in the grain.
func (g *InstanceGrain) Create(req *instancepb.CreateInstanceRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	caller := req.GetCaller()
	spec, perr := baremetal.ValidateCreate(req.GetBody())
	if perr != nil {
		return nil, moganError(perr)
	}
	now := g.rt.Now().UnixMicro()
	row := &storepb.Instance{Uuid: g.id, Name: spec.Name, ProjectId: caller.GetProjectId(), UserId: req.GetUserId(),
		Status: storepb.InstanceBuilding, InstanceTypeUuid: spec.InstanceTypeUUID, ImageUuid: spec.ImageUUID,
		Extra: spec.Extra, ReservationId: spec.Reservation, CreatedAtUs: now, UpdatedAtUs: now}
	if spec.Description != nil {
		row.Description = *spec.Description
	}
	if spec.AvailabilityZone != nil {
		row.AvailabilityZone = *spec.AvailabilityZone
	}
	for _, n := range spec.Networks {
		row.Networks = append(row.Networks, &storepb.InstanceNetwork{NetId: n.NetID, PortType: n.PortType})
	}
	var cmd *storepb.Command
	res, err := g.rt.proposeDecided(caller, blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		if st.Instance(g.id) != nil {
			return nil, errInstanceExists
		}
		if st.InstanceType(spec.InstanceTypeUUID) == nil {
			return nil, moganError(baremetal.ErrInstanceTypeNotFound(spec.InstanceTypeUUID))
		}
		if row.AvailabilityZone != "" && !zoneExists(st, row.AvailabilityZone) {
			return nil, moganError(baremetal.ErrAvailabilityZoneUnavailable())
		}
		cmd = instanceCommand(storepb.InstanceTransaction_CREATE_INSTANCE, 0, cloneInstance(row))
		return cmd, nil
	}, func(res *storepb.CommandResult) bool {
		return res.Code == storepb.CommandResult_ALREADY_EXISTS // decide again: errInstanceExists
	})
	if errors.Is(err, errInstanceExists) {
		if caller.GetRequestId() != "" {
			r, rerr := resolveRequest(g.rt, caller)
			if rerr != nil {
				return nil, rerr
			}
			if r.Code == storepb.CommandResult_OK { // an earlier attempt of this request created it
				g.kick()
				return g.reply()
			}
		}
		return nil, grainError(KindConflict, "Instance %s already exists", g.id)
	}
	if err != nil {
		var ge *cluster.GrainErrorResponse
		if errors.As(err, &ge) && ge.Reason == string(KindNotFound) && strings.HasPrefix(ge.Message, "InstanceType ") {
			// The FSM's NOT_FOUND: the type went between the read and the write.
			return nil, moganError(baremetal.ErrInstanceTypeNotFound(spec.InstanceTypeUUID))
		}
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
		g.kick()
		return g.reply()
	}
	g.kick()
	if res.Replayed {
		return g.reply()
	}
	return &instancepb.InstanceReply{Instance: written(cmd, res)}, nil
}

// zoneExists: some host is in the availability zone (Mogan: some node).
func zoneExists(st *store.State, zone string) bool {
	for _, h := range st.Hosts() {
		if h.AvailabilityZone == zone {
			return true
		}
	}
	return false
}

// reply is the instance as stored now (after a barrier): the answer when
// what was written is not at hand.
func (g *InstanceGrain) reply() (*instancepb.InstanceReply, error) {
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	x := st.Instance(g.id)
	if x == nil {
		return nil, moganError(baremetal.ErrInstanceNotFound())
	}
	return &instancepb.InstanceReply{Instance: x}, nil
}

// userWrite runs one decided write of a request, settles a refusal of a
// retried request (applied by an earlier attempt: the row as stored), and
// answers with the row written.
func (g *InstanceGrain) userWrite(caller *actorspb.Caller, decide func(st *store.State) (*storepb.Command, error)) (*instancepb.InstanceReply, error) {
	var cmd *storepb.Command
	res, err := g.rt.proposeDecided(caller, blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		c, err := decide(st)
		cmd = c
		return c, err
	}, lostRace)
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
		return g.reply()
	}
	if res == nil || res.Replayed || cmd == nil {
		return g.reply()
	}
	return &instancepb.InstanceReply{Instance: written(cmd, res)}, nil
}

// Patch applies PATCH /v1/instances/{uuid}'s JSON Patch (name, description,
// extra) with Mogan's rules (baremetal.ApplyPatch).
func (g *InstanceGrain) Patch(req *instancepb.PatchInstanceRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	return g.userWrite(req.GetCaller(), func(st *store.State) (*storepb.Command, error) {
		cur, err := visible(st, g.id, req.GetCaller(), baremetal.RuleInstanceUpdate)
		if err != nil {
			return nil, err
		}
		view := baremetal.Patchable{Name: cur.Name, Extra: cur.Extra}
		if cur.Description != "" {
			d := cur.Description
			view.Description = &d
		}
		nv, perr := baremetal.ApplyPatch(view, req.GetBody())
		if perr != nil {
			return nil, moganError(perr)
		}
		x := cloneInstance(cur)
		x.Name, x.Description, x.Extra = nv.Name, "", nv.Extra
		if nv.Description != nil {
			x.Description = *nv.Description
		}
		x.UpdatedAtUs = g.rt.Now().UnixMicro()
		return instanceCommand(storepb.InstanceTransaction_UPDATE_INSTANCE, cur.Version, x), nil
	})
}

// Delete is DELETE /v1/instances/{uuid}: the row goes to deleting and the
// reply comes; the grain then powers the host off and purges the row. An
// instance already deleting is answered as it is (the delete is under way).
func (g *InstanceGrain) Delete(req *instancepb.DeleteInstanceRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	reply, err := g.userWrite(req.GetCaller(), func(st *store.State) (*storepb.Command, error) {
		cur, err := visible(st, g.id, req.GetCaller(), baremetal.RuleInstanceDelete)
		if err != nil {
			return nil, err
		}
		return g.deleteCommand(cur)
	})
	if err == nil {
		g.kick()
	}
	return reply, err
}

// deleteCommand is the DELETE_INSTANCE of cur, or nil if it is deleting
// already.
func (g *InstanceGrain) deleteCommand(cur *storepb.Instance) (*storepb.Command, error) {
	if cur.Status == storepb.InstanceDeleting {
		return nil, nil
	}
	next, perr := baremetal.Next(cur.Status, baremetal.EventDelete)
	if perr != nil {
		return nil, moganError(perr)
	}
	x := cloneInstance(cur)
	x.Status, x.TargetPowerState = next, ""
	x.UpdatedAtUs = g.rt.Now().UnixMicro()
	return instanceCommand(storepb.InstanceTransaction_DELETE_INSTANCE, cur.Version, x), nil
}

// EndReservation deletes the instance because its reservation's lease ended
// (Blazar's on_end): as Delete, without a caller to authorize. An instance
// that is gone or deleting already is left as it is.
func (g *InstanceGrain) EndReservation(req *instancepb.EndReservationRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	return g.deleteForLease(nil)
}

// Preempt deletes the instance because a lease that started holds its host
// for a reservation the instance is not of (Blazar's on_start preemptible
// cleanup): as Delete, without a caller to authorize, and only while that
// is still so when the delete is decided (store.ActiveReservationAgainst);
// otherwise the instance is left as it is.
func (g *InstanceGrain) Preempt(req *instancepb.PreemptRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	var host, lease, resv string
	reply, err := g.deleteForLease(func(st *store.State, cur *storepb.Instance) bool {
		host, lease, resv = "", "", ""
		if cur.HostId == "" {
			return false
		}
		a, l := st.ActiveReservationAgainst(cur.HostId, cur.ReservationId)
		if a == nil {
			return false
		}
		host, lease, resv = cur.HostId, l.Id, a.ReservationId
		return true
	})
	if err == nil && lease != "" {
		g.rt.Logger.Info("start_lease: instance preempted from a reserved host", "instance", g.id,
			"host", host, "lease", lease, "reservation", resv, "notified_lease", req.GetLeaseId())
	}
	return reply, err
}

// deleteForLease is a delete a lease made (end or preemption): the instance,
// unless gone or deleting already, goes deleting if applies (nil: always)
// holds of the row the delete is decided on; the grain then powers the host
// off and purges.
func (g *InstanceGrain) deleteForLease(applies func(*store.State, *storepb.Instance) bool) (*instancepb.InstanceReply, error) {
	defer g.kick()
	var cmd *storepb.Command
	res, err := g.rt.proposeDecided(ownCaller(), blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cmd = nil
		cur := st.Instance(g.id)
		if cur == nil || (applies != nil && !applies(st, cur)) {
			return nil, nil
		}
		c, err := g.deleteCommand(cur)
		if c != nil {
			c.RequestId = stepRequestID(g.id, storepb.InstanceTransaction_DELETE_INSTANCE, cur.Version)
		}
		cmd = c
		return c, err
	}, lostRace)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Replayed || cmd == nil {
		st, err := g.rt.read()
		if err != nil {
			return nil, unavailable(err)
		}
		return &instancepb.InstanceReply{Instance: st.Instance(g.id)}, nil
	}
	return &instancepb.InstanceReply{Instance: written(cmd, res)}, nil
}

// SetPower is PUT …/states/power: baremetal.PlanPower decides (400 bad
// target or status, 409 while another action runs); the transitional status
// and target_power_state are written and the reply comes; the grain then runs
// the driver's action and records the outcome (FinishPower).
func (g *InstanceGrain) SetPower(req *instancepb.SetPowerRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	reply, err := g.userWrite(req.GetCaller(), func(st *store.State) (*storepb.Command, error) {
		cur, err := visible(st, g.id, req.GetCaller(), baremetal.RuleInstanceSetPowerState)
		if err != nil {
			return nil, err
		}
		plan, perr := baremetal.PlanPower(g.id, cur.Status, cur.TargetPowerState, req.GetTarget())
		if perr != nil {
			return nil, moganError(perr)
		}
		x := cloneInstance(cur)
		x.Status, x.TargetPowerState = plan.Status, plan.TargetPowerState
		x.UpdatedAtUs = g.rt.Now().UnixMicro()
		return instanceCommand(storepb.InstanceTransaction_SET_POWER, cur.Version, x), nil
	})
	if err == nil {
		g.kick()
	}
	return reply, err
}

// Resume continues whatever the stored status says is unfinished (the
// supervisor's call after a node died mid-flow) and answers with the row.
func (g *InstanceGrain) Resume(req *instancepb.ResumeRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	g.kick()
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	return &instancepb.InstanceReply{Instance: st.Instance(g.id)}, nil
}

// SyncPower reads the host's BMC and records a power state that changed
// outside keel. A settled instance follows its power: active and found off
// becomes stopped, stopped and found on becomes active (so the user can power
// it on or off again through the API). Nothing is recorded while an action
// runs, nor when the BMC cannot be read (power_state keeps its last value).
func (g *InstanceGrain) SyncPower(req *instancepb.SyncPowerRequest, ctx cluster.GrainContext) (*instancepb.InstanceReply, error) {
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	cur := st.Instance(g.id)
	if cur == nil || g.driving || cur.HostId == "" || cur.TargetPowerState != "" ||
		(cur.Status != storepb.InstanceActive && cur.Status != storepb.InstanceStopped) {
		return &instancepb.InstanceReply{Instance: cur}, nil
	}
	host := st.Host(cur.HostId)
	drv, bmc, err := hostDriver(host, cur.HostId)
	if err != nil {
		return &instancepb.InstanceReply{Instance: cur}, nil
	}
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	observed, err := drv.State(cctx, bmc)
	cancel()
	if err != nil || observed == power.Unknown || string(observed) == cur.PowerState {
		if err != nil {
			g.rt.Logger.Warn("power sync: BMC not read", "instance", g.id, "host", cur.HostId, "err", err)
		}
		return &instancepb.InstanceReply{Instance: cur}, nil
	}
	var cmd *storepb.Command
	res, err := g.rt.proposeDecided(ownCaller(), blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cmd = nil
		now := st.Instance(g.id)
		if now == nil || now.TargetPowerState != "" || now.HostId != cur.HostId ||
			(now.Status != storepb.InstanceActive && now.Status != storepb.InstanceStopped) {
			return nil, nil
		}
		x := cloneInstance(now)
		x.PowerState = string(observed)
		switch {
		case x.Status == storepb.InstanceActive && observed == power.Off:
			x.Status = storepb.InstanceStopped
		case x.Status == storepb.InstanceStopped && observed == power.On:
			x.Status = storepb.InstanceActive
		}
		x.UpdatedAtUs = g.rt.Now().UnixMicro()
		cmd = instanceCommand(storepb.InstanceTransaction_SET_POWER, now.Version, x)
		cmd.RequestId = stepRequestID(g.id, storepb.InstanceTransaction_SET_POWER, now.Version)
		return cmd, nil
	}, lostRace)
	if err != nil {
		return nil, err
	}
	if res == nil || cmd == nil || res.Replayed {
		return g.reply()
	}
	g.rt.Logger.Info("power state changed outside keel", "instance", g.id, "host", cur.HostId,
		"was", cur.PowerState, "now", string(observed))
	return &instancepb.InstanceReply{Instance: written(cmd, res)}, nil
}

// hostDriver is the host's power driver and BMC. A host without BMC
// settings, or a fake one without an address, gets a fake BMC of its own
// (named by the host id), so fake hosts do not share one power state.
func hostDriver(h *storepb.Host, hostID string) (power.Driver, power.BMC, error) {
	if h == nil {
		return nil, power.BMC{}, fmt.Errorf("host %s is not in the inventory", hostID)
	}
	b := h.GetBmc()
	name := b.GetPowerDriver()
	if name == "" {
		name = "fake"
	}
	drv, err := power.ForName(name)
	if err != nil {
		return nil, power.BMC{}, err
	}
	bmc := power.BMC{Address: b.GetAddress(), Port: int(b.GetPort()), Username: b.GetUsername(), Password: b.GetPassword()}
	if name == "fake" && bmc.Address == "" {
		bmc.Address = "host-" + h.Id
	}
	return drv, bmc, nil
}

// powerActions is the driver action a transitional power status runs.
var powerActions = map[string]power.Action{
	storepb.InstancePoweringOn:      power.ActionOn,
	storepb.InstancePoweringOff:     power.ActionOff,
	storepb.InstanceSoftPoweringOff: power.ActionSoftOff,
	storepb.InstanceRebooting:       power.ActionReboot,
	storepb.InstanceSoftRebooting:   power.ActionSoftReboot,
}

// advance takes the next step the stored status asks for (see the type's
// comment). Errors reading or writing are logged: the supervisor resumes.
func (g *InstanceGrain) advance() {
	if g.driving {
		return
	}
	st, err := g.rt.read()
	if err != nil {
		g.rt.Logger.Warn("instance step: store not read", "instance", g.id, "err", err)
		return
	}
	x := st.Instance(g.id)
	if x == nil {
		return
	}
	switch {
	case x.Status == storepb.InstanceBuilding && x.HostId == "":
		if g.schedule() {
			g.kick()
		}
	case x.Status == storepb.InstanceBuilding:
		g.drive(st, x, power.ActionOn)
	case x.Status == storepb.InstanceDeleting && x.HostId == "":
		g.purge()
	case x.Status == storepb.InstanceDeleting:
		g.drive(st, x, power.ActionOff)
	default:
		if a, ok := powerActions[x.Status]; ok {
			g.drive(st, x, a)
		}
	}
}

// drive runs action on x's host in a goroutine; its driverDone comes back
// to the mailbox.
func (g *InstanceGrain) drive(st *store.State, x *storepb.Instance, action power.Action) {
	done := &driverDone{status: x.Status, hostID: x.HostId, action: action}
	drv, bmc, err := hostDriver(st.Host(x.HostId), x.HostId)
	if err != nil {
		done.err = err
		g.finish(done)
		return
	}
	g.driving = true
	root, self := g.system.Root, g.self
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					root.Send(self, &driverAlive{})
				}
			}
		}()
		done.err = drv.Set(ctx, bmc, action)
		metrics.PowerAction(string(action), done.err == nil)
		if done.err != nil {
			if s, err := drv.State(ctx, bmc); err == nil {
				done.observed = s
			}
		}
		root.Send(self, done)
	}()
}

// finish records a BMC call's outcome, if the instance is still where the
// call began (a delete meanwhile makes a build's result moot), then goes on.
func (g *InstanceGrain) finish(d *driverDone) {
	g.driving = false
	defer g.kick()
	_, err := g.rt.proposeDecided(ownCaller(), blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cur := st.Instance(g.id)
		if cur == nil || cur.Status != d.status || cur.HostId != d.hostID {
			return nil, nil
		}
		x := cloneInstance(cur)
		now := g.rt.Now().UnixMicro()
		x.UpdatedAtUs = now
		var intent storepb.InstanceTransaction_Intent
		switch {
		case d.status == storepb.InstanceBuilding && d.err == nil:
			intent = storepb.InstanceTransaction_COMPLETE_BUILD
			x.Status, x.PowerState, x.TargetPowerState, x.LaunchedAtUs = storepb.InstanceActive, string(power.On), "", now
			x.StatusReason = ""
		case d.status == storepb.InstanceBuilding:
			intent = storepb.InstanceTransaction_FAIL_INSTANCE
			x.Status, x.PowerState, x.StatusReason = storepb.InstanceError, string(d.observed), "Failed to power on: "+d.err.Error()
		case d.status == storepb.InstanceDeleting && d.err == nil:
			return g.purgeCommand(cur), nil
		case d.status == storepb.InstanceDeleting:
			intent = storepb.InstanceTransaction_FAIL_INSTANCE
			x.Status, x.PowerState, x.StatusReason = storepb.InstanceError, string(d.observed), powerOffFailed+d.err.Error()
		default:
			out, perr := baremetal.FinishPower(cur.Status, cur.TargetPowerState, d.err == nil, string(d.observed))
			if perr != nil {
				return nil, moganError(perr)
			}
			intent = storepb.InstanceTransaction_SET_POWER
			x.Status, x.PowerState, x.TargetPowerState = out.Status, out.PowerState, ""
			x.StatusReason = ""
			if d.err != nil {
				x.StatusReason = fmt.Sprintf("Failed to power %s: %v", d.action, d.err)
			}
		}
		cmd := instanceCommand(intent, cur.Version, x)
		cmd.RequestId = stepRequestID(g.id, intent, cur.Version)
		return cmd, nil
	}, lostRace)
	if err != nil {
		g.rt.Logger.Warn("instance step not recorded", "instance", g.id, "status", d.status, "err", err)
	} else if d.err != nil {
		g.rt.Logger.Warn("power action failed", "instance", g.id, "host", d.hostID, "action", d.action, "err", d.err)
	}
}

func (g *InstanceGrain) purgeCommand(cur *storepb.Instance) *storepb.Command {
	return &storepb.Command{RequestId: stepRequestID(g.id, storepb.InstanceTransaction_PURGE_INSTANCE, cur.Version),
		Op: &storepb.Command_InstanceTransaction{InstanceTransaction: &storepb.InstanceTransaction{
			Intent: storepb.InstanceTransaction_PURGE_INSTANCE, InstanceId: g.id, ExpectedVersion: cur.Version}}}
}

// purge removes a deleting instance that holds no host.
func (g *InstanceGrain) purge() {
	_, err := g.rt.proposeDecided(ownCaller(), blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cur := st.Instance(g.id)
		if cur == nil || cur.Status != storepb.InstanceDeleting || cur.HostId != "" {
			return nil, nil
		}
		return g.purgeCommand(cur), nil
	}, lostRace)
	if err != nil {
		g.rt.Logger.Warn("instance not purged", "instance", g.id, "err", err)
	}
}

// schedule puts a building instance on a host (SCHEDULE_INSTANCE), or fails
// it with NoValidHost; it reports whether a host was written. The FSM
// decides a contested host: a refused claim (CONFLICT, version 0) means
// another instance took it, and the grain chooses again on a fresh read,
// at most blazarAttempts plus the inventory's size times.
func (g *InstanceGrain) schedule() bool {
	attempts := blazarAttempts + g.rt.Store.State().Current().HostsCount()
	var placed bool
	for i := 0; i < attempts; i++ {
		placed = false
		var why string
		_, err := g.rt.proposeDecided(ownCaller(), 1, func(st *store.State) (*storepb.Command, error) {
			cur := st.Instance(g.id)
			if cur == nil || cur.Status != storepb.InstanceBuilding || cur.HostId != "" {
				return nil, nil
			}
			x := cloneInstance(cur)
			x.UpdatedAtUs = g.rt.Now().UnixMicro()
			hosts, reason := Candidates(st, cur)
			if len(hosts) == 0 {
				why = reason
				x.Status, x.StatusReason = storepb.InstanceError, NoValidHost
				cmd := instanceCommand(storepb.InstanceTransaction_FAIL_INSTANCE, cur.Version, x)
				cmd.RequestId = stepRequestID(g.id, storepb.InstanceTransaction_FAIL_INSTANCE, cur.Version)
				return cmd, nil
			}
			x.HostId = hosts[rand.IntN(len(hosts))].Id
			placed = true
			cmd := instanceCommand(storepb.InstanceTransaction_SCHEDULE_INSTANCE, cur.Version, x)
			cmd.RequestId = stepRequestID(g.id, storepb.InstanceTransaction_SCHEDULE_INSTANCE, cur.Version)
			return cmd, nil
		}, nil)
		if err == nil {
			if !placed && why != "" {
				g.rt.Logger.Info("no valid host", "instance", g.id, "why", why)
			}
			return placed
		}
		if e := asError(err); e == nil || e.Kind != KindConflict {
			g.rt.Logger.Warn("instance not scheduled", "instance", g.id, "err", err)
			return false
		}
		// Lost a race (a host taken, the row changed): choose again.
	}
	// Every round lost: give up as no valid host.
	_, err := g.rt.proposeDecided(ownCaller(), blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cur := st.Instance(g.id)
		if cur == nil || cur.Status != storepb.InstanceBuilding || cur.HostId != "" {
			return nil, nil
		}
		x := cloneInstance(cur)
		x.Status, x.StatusReason, x.UpdatedAtUs = storepb.InstanceError, NoValidHost, g.rt.Now().UnixMicro()
		cmd := instanceCommand(storepb.InstanceTransaction_FAIL_INSTANCE, cur.Version, x)
		cmd.RequestId = stepRequestID(g.id, storepb.InstanceTransaction_FAIL_INSTANCE, cur.Version)
		return cmd, nil
	}, lostRace)
	if err != nil {
		g.rt.Logger.Warn("instance not failed", "instance", g.id, "err", err)
	}
	return false
}

// Candidates are the hosts x may be scheduled on, in inventory order, and
// when there are none a short reason (for the log). A host qualifies when
// the FSM would grant the claim (State.CheckHostClaim: free, reservable or
// allocated to x's reservation whose lease is ACTIVE and x's project's, not
// inside another ACTIVE lease), is in x's availability zone (if it names
// one), and matches every extra_spec of x's instance type: a spec key (a
// "capabilities:" prefix is dropped, as Nova's ComputeCapabilitiesFilter
// writes them) equals, as text, the host's column of that name (vcpus,
// memory_mb, local_gb, cpu_info, hypervisor_type, …) or its extra capability
// of that name. Exact string equality only: no Nova operators (">=", "<in>").
func Candidates(st *store.State, x *storepb.Instance) ([]*storepb.Host, string) {
	typ := st.InstanceType(x.InstanceTypeUuid)
	var out []*storepb.Host
	reason := "no free host"
	for _, h := range st.FreeHosts() {
		claim := store.HostClaim{Instance: x.Uuid, Project: x.ProjectId, Reservation: x.ReservationId, Host: h.Id}
		if res := st.CheckHostClaim(claim); res != nil {
			reason = res.Message
			continue
		}
		if x.AvailabilityZone != "" && h.AvailabilityZone != x.AvailabilityZone {
			reason = "no free host in availability zone " + x.AvailabilityZone
			continue
		}
		if !matchesSpecs(h, typ.GetExtraSpecs()) {
			reason = "no free host matches the instance type's extra_specs"
			continue
		}
		out = append(out, h)
	}
	return out, reason
}

func matchesSpecs(h *storepb.Host, specs map[string]string) bool {
	if len(specs) == 0 {
		return true
	}
	view := reservationHost(h)
	for k, want := range specs {
		k = strings.TrimPrefix(k, "capabilities:")
		if v, ok := view.Columns[k]; ok && v == want {
			continue
		}
		if v, ok := h.ExtraCapabilities[k]; ok && v == want {
			continue
		}
		return false
	}
	return true
}
