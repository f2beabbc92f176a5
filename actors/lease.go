package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors/leasepb"
	"keel/actors/reservation"
	"keel/store"
	"keel/store/storepb"
)

// LeaseGrain is the single writer of one lease (identity = the lease id), its
// reservations, events and allocations. Every change is one LeaseTransaction
// decided on a barrier read with the version read (compare-and-set): a
// duplicate activation elsewhere can only lose a race and decide again.
//
// Hosts are shared between leases, so the grain's choice of hosts is only a
// proposal: the FSM refuses an allocation that overlaps another reservation's
// on a host (CONFLICT without a version), and the grain reads again and
// chooses on what the winner left. Each lost race means another lease
// committed hosts, so a bounded number of rounds (blazarAttempts plus the
// inventory's size) decides every contender: one gets the host, the others
// other hosts or "Not enough hosts available" (409).
//
// The grain keeps no state between calls: events are durable in the store and
// fired by the leader's EventScheduler (FireEvent), so the grain needs no
// timers, and Wake only activates it.
type LeaseGrain struct {
	id string
	rt *Runtime
}

var _ leasepb.Lease = (*LeaseGrain)(nil)

// Init binds the grain to its lease and node.
func (g *LeaseGrain) Init(ctx cluster.GrainContext) {
	g.id = ctx.Identity()
	g.rt = runtimeOf(ctx.ActorSystem())
}

// Terminate has nothing to release.
func (g *LeaseGrain) Terminate(ctx cluster.GrainContext) {}

// ReceiveDefault ignores messages that are not calls.
func (g *LeaseGrain) ReceiveDefault(ctx cluster.GrainContext) {}

// Wake activates the grain; nothing is armed in it (the scheduler fires
// events from the store).
func (g *LeaseGrain) Wake(*leasepb.WakeRequest, cluster.GrainContext) (*leasepb.WakeReply, error) {
	return &leasepb.WakeReply{}, nil
}

// errLeaseExists: the lease to create is already stored.
var errLeaseExists = errors.New("lease exists")

// Create stores the lease from POST /v1/leases's body: Blazar's checks
// (reservation.ValidateCreate), then per reservation the filter's capability
// names and a choice of hosts, all in one CREATE_LEASE with the lease PENDING,
// its reservations pending and its events UNDONE.
func (g *LeaseGrain) Create(req *leasepb.CreateLeaseRequest, ctx cluster.GrainContext) (*leasepb.LeaseReply, error) {
	caller := req.GetCaller()
	var body reservation.LeaseRequest
	if err := json.Unmarshal(req.GetBody(), &body); err != nil {
		return nil, blazarError(reservation.ErrMalformedParameter("reservations"))
	}
	now := g.rt.Now()
	plan, err := reservation.ValidateCreate(body, now, g.rt.Leases.minutesBeforeEnd())
	if err != nil {
		return nil, blazarError(err)
	}
	lease := g.newLease(plan, caller.GetProjectId(), req.GetUserId(), now)
	var written *storepb.Lease
	res, err := g.rt.proposeDecided(caller, g.allocationAttempts(), func(st *store.State) (*storepb.Command, error) {
		if st.Lease(g.id) != nil {
			return nil, errLeaseExists
		}
		puts, err := g.chooseForCreate(st, plan, lease)
		if err != nil {
			return nil, err
		}
		written = proto.Clone(lease).(*storepb.Lease)
		return g.transaction(storepb.LeaseTransaction_CREATE_LEASE, 0, written, puts, nil), nil
	}, hostRefused)
	if errors.Is(err, errLeaseExists) {
		if caller.GetRequestId() == "" {
			return nil, grainError(KindConflict, "Lease %s already exists", g.id)
		}
		// An earlier attempt of this request, or another request, created it.
		r, rerr := resolveRequest(g.rt, caller)
		if rerr != nil {
			return nil, rerr
		}
		if r.Code != storepb.CommandResult_OK {
			return nil, grainError(KindConflict, "Lease %s already exists", g.id)
		}
		return g.stored()
	}
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
		return g.stored()
	}
	if res.Replayed {
		return g.stored()
	}
	written.Version = res.Version
	g.rt.notify(NotifyLeaseCreate, written, caller)
	return &leasepb.LeaseReply{Lease: written}, nil
}

// allocationAttempts bounds the rounds of a decision that chooses hosts: each
// round lost means another lease took one of the hosts, so the inventory's
// size bounds the rounds that can be lost for want of hosts.
func (g *LeaseGrain) allocationAttempts() int {
	return blazarAttempts + g.rt.Store.State().Current().HostsCount()
}

// newLease is the row of a validated create: ids are UUID4s (a reservation's
// resource_id too, as Blazar's computehost_reservations row id).
func (g *LeaseGrain) newLease(plan reservation.Plan, project, user string, now time.Time) *storepb.Lease {
	at := now.UnixMicro()
	l := &storepb.Lease{Id: g.id, Name: plan.Name, ProjectId: project, UserId: user,
		StartMs: plan.Start.UnixMilli(), EndMs: plan.End.UnixMilli(), Status: reservation.LeasePending,
		Reservations: []*storepb.Reservation{}, CreatedAtUs: at, UpdatedAtUs: at}
	for _, pr := range plan.Reservations {
		l.Reservations = append(l.Reservations, &storepb.Reservation{Id: uuid.NewString(), LeaseId: g.id,
			ResourceId: uuid.NewString(), ResourceType: pr.ResourceType, Status: reservation.ReservationPending,
			Min: int32(pr.Min), Max: int32(pr.Max), HypervisorProperties: pr.HypervisorProperties,
			ResourceProperties: pr.ResourceProperties, BeforeEnd: pr.BeforeEnd, CreatedAtUs: at, UpdatedAtUs: at})
	}
	for _, ev := range plan.Events() {
		l.Events = append(l.Events, &storepb.LeaseEvent{Id: uuid.NewString(), LeaseId: g.id, EventType: ev.Type,
			TimeMs: ev.Time.UnixMilli(), Status: reservation.EventUndone, CreatedAtUs: at, UpdatedAtUs: at})
	}
	return l
}

// storeAvailability answers a new lease's host choice from the store's
// allocation index (HostAllocated, HostBusyDuring: O(log n) per host, so
// 10,000 hosts with 100,000 allocations are not listed per create), plus
// what this decision already chose for earlier reservations.
type storeAvailability struct {
	st      *store.State
	planned map[string][]reservation.Window
}

func (a *storeAvailability) Allocated(hostID string) bool {
	return len(a.planned[hostID]) > 0 || a.st.HostAllocated(hostID)
}

func (a *storeAvailability) Busy(hostID string, w reservation.Window, cleaning time.Duration) bool {
	for _, p := range a.planned[hostID] {
		if reservation.Overlaps(w, p, cleaning) {
			return true
		}
	}
	return a.st.HostBusyDuring(hostID, w.Start.UnixMilli(), w.End.UnixMilli(), cleaning.Milliseconds())
}

func (a *storeAvailability) plan(hostID string, w reservation.Window) {
	if a.planned == nil {
		a.planned = map[string][]reservation.Window{}
	}
	a.planned[hostID] = append(a.planned[hostID], w)
}

// busyWindows returns, per host, the windows the host choice must avoid: the
// host's allocations as stored (adjust may move or drop each one: the
// lease's own under an update), plus what this decision already chose for
// earlier reservations.
type busyWindows struct {
	st      *store.State
	adjust  func(a *storepb.Allocation) (reservation.Window, bool)
	planned map[string][]reservation.Window
}

func (b *busyWindows) of(hostID string) []reservation.Window {
	var out []reservation.Window
	for _, a := range b.st.AllocationsOfHost(hostID) {
		w := reservation.Window{Start: msTime(a.StartMs), End: msTime(a.EndMs)}
		keep := true
		if b.adjust != nil {
			w, keep = b.adjust(a)
		}
		if keep {
			out = append(out, w)
		}
	}
	return append(out, b.planned[hostID]...)
}

func (b *busyWindows) plan(hostID string, w reservation.Window) {
	if b.planned == nil {
		b.planned = map[string][]reservation.Window{}
	}
	b.planned[hostID] = append(b.planned[hostID], w)
}

// chooseForCreate chooses the hosts of a new lease (ChooseAllocations).
func (g *LeaseGrain) chooseForCreate(st *store.State, plan reservation.Plan, l *storepb.Lease) ([]*storepb.Allocation, error) {
	return ChooseAllocations(st, plan, l, g.rt.Leases.CleaningTime)
}

// ChooseAllocations is a new lease's host choice as its grain makes it: it
// checks every reservation's capability names and chooses its hosts from st's
// inventory, reservation by reservation (a host one gets is busy for the
// next), and returns the allocations of lease l (whose reservations are
// plan's, in order). The bench times it on a large inventory.
func ChooseAllocations(st *store.State, plan reservation.Plan, l *storepb.Lease, cleaning time.Duration) ([]*storepb.Allocation, error) {
	if len(plan.Reservations) == 0 {
		return nil, nil
	}
	candidates := sharedHostViews.candidates(st)
	window := reservation.Window{Start: plan.Start, End: plan.End}
	busy := &storeAvailability{st: st}
	var puts []*storepb.Allocation
	for i, pr := range plan.Reservations {
		if err := reservation.CheckCapabilities(pr.Filter, knownCapabilities(st, pr.Filter)); err != nil {
			return nil, err
		}
		hosts, err := reservation.ChooseHosts(candidates, busy, reservation.HostRequest{Window: window,
			Cleaning: cleaning, Min: pr.Min, Max: pr.Max, Filter: pr.Filter})
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			busy.plan(h, window)
			puts = append(puts, &storepb.Allocation{HostId: h, ReservationId: l.Reservations[i].Id, LeaseId: l.Id,
				StartMs: l.StartMs, EndMs: l.EndMs})
		}
	}
	return puts, nil
}

func (g *LeaseGrain) transaction(intent storepb.LeaseTransaction_Intent, expected uint64, l *storepb.Lease,
	puts []*storepb.Allocation, deletes []*storepb.AllocationKey) *storepb.Command {
	return &storepb.Command{Op: &storepb.Command_LeaseTransaction{LeaseTransaction: &storepb.LeaseTransaction{
		Intent: intent, LeaseId: g.id, ExpectedVersion: expected, Lease: l,
		AllocationsPut: puts, AllocationsDelete: deletes, CleaningTimeMs: g.rt.Leases.CleaningTime.Milliseconds()}}}
}

// stored answers with the lease as stored now.
func (g *LeaseGrain) stored() (*leasepb.LeaseReply, error) {
	st, err := g.rt.read()
	if err != nil {
		return nil, unavailable(err)
	}
	l := st.Lease(g.id)
	if l == nil {
		return nil, blazarError(reservation.ErrLeaseNotFound(g.id))
	}
	return &leasepb.LeaseReply{Lease: l}, nil
}

// readable refuses a lease the caller may not see: Blazar checks
// blazar:leases:get first for every lease route, so another project's PUT or
// DELETE is refused naming get.
func readable(cur *storepb.Lease, c interface {
	GetAdmin() bool
	GetProjectId() string
}) error {
	if !c.GetAdmin() && c.GetProjectId() != cur.GetProjectId() {
		return reservation.ErrPolicy(reservation.RuleLeasesGet)
	}
	return nil
}

// Update applies PUT /v1/leases/{id}: Blazar's checks on the lease as stored
// (reservation.ValidateUpdate); a rename changes the name only; otherwise the
// dates move the events (a fired before_end re-armed), reservations that
// must be re-checked are reallocated (reservation.Reallocate), and every
// allocation the lease keeps is re-put over the new window, in one
// UPDATE_LEASE.
//
// The reply is the lease as stored, in its stable status. Blazar's PUT reply
// shows "UPDATING" (it re-reads the lease inside its status decorator) and a
// following GET the stable status; keel's update is one transaction, never
// stored as UPDATING, and shows what a GET would (docs/blazar-deviations.md).
func (g *LeaseGrain) Update(req *leasepb.UpdateLeaseRequest, ctx cluster.GrainContext) (*leasepb.LeaseReply, error) {
	caller := req.GetCaller()
	var body reservation.UpdateRequest
	if err := json.Unmarshal(req.GetBody(), &body); err != nil {
		return nil, blazarError(reservation.ErrMalformedParameter("reservations"))
	}
	var written *storepb.Lease
	var rearmed bool
	res, err := g.rt.proposeDecided(caller, g.allocationAttempts(), func(st *store.State) (*storepb.Command, error) {
		cur := st.Lease(g.id)
		if cur == nil {
			return nil, reservation.ErrLeaseNotFound(g.id)
		}
		if err := readable(cur, caller); err != nil {
			return nil, err
		}
		now := g.rt.Now()
		plan, err := reservation.ValidateUpdate(leaseView(cur), body, now)
		if err != nil {
			return nil, err
		}
		next, puts, deletes, err := g.decideUpdate(st, cur, plan, now)
		if err != nil {
			return nil, err
		}
		written, rearmed = next, plan.RearmBeforeEnd
		return g.transaction(storepb.LeaseTransaction_UPDATE_LEASE, cur.Version, next, puts, deletes), nil
	}, lostRace)
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
		return g.stored()
	}
	if res.Replayed {
		return g.stored()
	}
	written.Version = res.Version
	g.rt.notify(NotifyLeaseUpdate, written, caller)
	if rearmed {
		g.rt.notify(NotifyBeforeEndLeaseReset, written, caller)
	}
	return &leasepb.LeaseReply{Lease: written}, nil
}

// decideUpdate applies a validated update plan to a copy of cur and returns it
// with the allocations to put and delete.
func (g *LeaseGrain) decideUpdate(st *store.State, cur *storepb.Lease, plan reservation.UpdatePlan, now time.Time) (*storepb.Lease, []*storepb.Allocation, []*storepb.AllocationKey, error) {
	next := proto.Clone(cur).(*storepb.Lease)
	next.UpdatedAtUs = now.UnixMicro()
	if plan.Name != nil {
		next.Name = *plan.Name
	}
	if plan.NameOnly {
		return next, nil, nil, nil
	}
	at := now.UnixMicro()
	next.StartMs, next.EndMs = plan.Start.UnixMilli(), plan.End.UnixMilli()
	var beforeEnd *storepb.LeaseEvent
	for _, ev := range next.Events {
		switch ev.EventType {
		case reservation.EventStartLease:
			ev.TimeMs = next.StartMs
		case reservation.EventEndLease:
			ev.TimeMs = next.EndMs
		case reservation.EventBeforeEndLease:
			beforeEnd = ev
		}
		ev.UpdatedAtUs = at
	}
	switch {
	case plan.BeforeEnd != nil && beforeEnd != nil:
		beforeEnd.TimeMs = plan.BeforeEnd.UnixMilli()
		if plan.RearmBeforeEnd {
			beforeEnd.Status = reservation.EventUndone
		}
	case plan.BeforeEnd != nil && plan.AddBeforeEnd:
		next.Events = append(next.Events, &storepb.LeaseEvent{Id: uuid.NewString(), LeaseId: g.id,
			EventType: reservation.EventBeforeEndLease, TimeMs: plan.BeforeEnd.UnixMilli(),
			Status: reservation.EventUndone, CreatedAtUs: at, UpdatedAtUs: at})
	}

	oldW := reservation.Window{Start: msTime(cur.StartMs), End: msTime(cur.EndMs)}
	newW := reservation.Window{Start: plan.Start, End: plan.End}
	moved := !newW.Start.Equal(oldW.Start) || !newW.End.Equal(oldW.End)
	var candidates []reservation.Host
	planned := &busyWindows{st: st}
	var puts []*storepb.Allocation
	var deletes []*storepb.AllocationKey
	put := func(host, resID string) {
		puts = append(puts, &storepb.Allocation{HostId: host, ReservationId: resID, LeaseId: g.id,
			StartMs: next.StartMs, EndMs: next.EndMs})
	}
	for _, u := range plan.Reservations {
		r := findReservation(next, u.ID)
		if r == nil {
			continue
		}
		var hosts []string
		for _, a := range st.AllocationsOfReservation(u.ID) {
			hosts = append(hosts, a.HostId)
		}
		if !u.Recheck {
			if moved {
				for _, h := range hosts {
					put(h, u.ID)
				}
			}
			continue
		}
		if err := reservation.CheckCapabilities(u.Filter, knownCapabilities(st, u.Filter)); err != nil {
			return nil, nil, nil, err
		}
		if candidates == nil {
			candidates = sharedHostViews.candidates(st)
		}
		// The windows other reservations hold: this lease's own move with it
		// (every allocation it keeps spans the new window), this
		// reservation's are described by hosts and the old window.
		busy := &busyWindows{st: st, planned: planned.planned, adjust: func(a *storepb.Allocation) (reservation.Window, bool) {
			switch {
			case a.ReservationId == u.ID:
				return reservation.Window{}, false
			case a.LeaseId == g.id:
				return newW, true
			}
			return reservation.Window{Start: msTime(a.StartMs), End: msTime(a.EndMs)}, true
		}}
		rp, err := reservation.Reallocate(reservation.Reallocation{Status: r.Status, Hosts: hosts, Old: oldW, New: newW,
			Min: u.Min, Max: u.Max, Filter: u.Filter, Cleaning: g.rt.Leases.CleaningTime}, candidates, busy.of)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, h := range rp.Remove {
			deletes = append(deletes, &storepb.AllocationKey{HostId: h, ReservationId: u.ID})
		}
		for _, h := range rp.Keep {
			if moved {
				put(h, u.ID)
			}
		}
		for _, h := range rp.Add {
			put(h, u.ID)
			planned.plan(h, newW)
		}
		r.Min, r.Max = int32(u.Min), int32(u.Max)
		r.HypervisorProperties, r.ResourceProperties = u.HypervisorProperties, u.ResourceProperties
		r.UpdatedAtUs = at
	}
	return next, puts, deletes, nil
}

func findReservation(l *storepb.Lease, id string) *storepb.Reservation {
	for _, r := range l.Reservations {
		if r.Id == id {
			return r
		}
	}
	return nil
}

func findEvent(l *storepb.Lease, id string) *storepb.LeaseEvent {
	for _, ev := range l.Events {
		if ev.Id == id {
			return ev
		}
	}
	return nil
}

func eventOfType(l *storepb.Lease, typ string) *storepb.LeaseEvent {
	for _, ev := range l.Events {
		if ev.EventType == typ {
			return ev
		}
	}
	return nil
}

// leaseView is what reservation.ValidateUpdate reads of a stored lease.
func leaseView(l *storepb.Lease) reservation.LeaseView {
	v := reservation.LeaseView{Status: l.Status, Start: msTime(l.StartMs), End: msTime(l.EndMs)}
	for _, r := range l.Reservations {
		v.Reservations = append(v.Reservations, reservation.ReservationView{ID: r.Id, ResourceType: r.ResourceType,
			Status: r.Status, Min: int(r.Min), Max: int(r.Max),
			HypervisorProperties: r.HypervisorProperties, ResourceProperties: r.ResourceProperties})
	}
	for _, ev := range l.Events {
		v.Events = append(v.Events, reservation.EventView{Type: ev.EventType, Time: msTime(ev.TimeMs), Status: ev.Status})
	}
	return v
}

// Delete removes the lease with its reservations, events and allocations
// (DELETE_LEASE). Another project's lease is 403 naming blazar:leases:get.
func (g *LeaseGrain) Delete(req *leasepb.DeleteLeaseRequest, ctx cluster.GrainContext) (*leasepb.LeaseReply, error) {
	caller := req.GetCaller()
	var deleted *storepb.Lease
	res, err := g.rt.proposeDecided(caller, blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		cur := st.Lease(g.id)
		if cur == nil {
			return nil, reservation.ErrLeaseNotFound(g.id)
		}
		if err := readable(cur, caller); err != nil {
			return nil, err
		}
		if err := reservation.CheckLeaseTransition(cur.Status, reservation.LeaseDeleting); err != nil {
			return nil, err
		}
		deleted = cur
		return g.transaction(storepb.LeaseTransaction_DELETE_LEASE, cur.Version, nil, nil, nil), nil
	}, lostRace)
	if err != nil {
		if _, err = settleRefusal(g.rt, caller, err); err != nil {
			return nil, err
		}
		return &leasepb.LeaseReply{}, nil
	}
	if !res.Replayed {
		g.rt.notify(NotifyLeaseDelete, deleted, caller)
	}
	return &leasepb.LeaseReply{}, nil
}

// FireEvent runs one of the lease's events if, on a fresh read, it is still
// UNDONE and due; otherwise it does nothing and answers with the lease as it
// is. start_lease activates the lease (START_LEASE), before_end_lease only
// marks its event (BEFORE_END_LEASE), end_lease releases every host and
// terminates it (END_LEASE). The lease status is derived from its start and
// end events, as Blazar does. An event whose lease cannot take the step
// (Blazar's InvalidStatus), or whose transaction the FSM cannot apply, fails
// the lease (FAIL_LEASE: event and lease ERROR).
//
// Exactly once: the transaction carries the version read; a second firing (a
// repeat from the scheduler, a new leader, a duplicate activation) either
// reads the event DONE or loses the compare-and-set and then reads it DONE.
func (g *LeaseGrain) FireEvent(req *leasepb.FireEventRequest, ctx cluster.GrainContext) (*leasepb.LeaseReply, error) {
	var current, written *storepb.Lease
	var tx *storepb.LeaseTransaction
	var note, failure string
	res, err := g.rt.proposeDecided(nil, blazarAttempts, func(st *store.State) (*storepb.Command, error) {
		current = st.Lease(g.id)
		if current == nil {
			return nil, nil // deleted: nothing to run
		}
		ev := findEvent(current, req.GetEventId())
		now := g.rt.Now()
		if ev == nil || ev.Status != reservation.EventUndone || ev.TimeMs > now.UnixMilli() {
			return nil, nil
		}
		cmd := g.decideEvent(st, current, ev, now, failure)
		tx = cmd.GetLeaseTransaction()
		written, note = tx.Lease, eventNotification(tx.Intent)
		// One request id per decision: a duplicate activation deciding the
		// same step from the same version is answered, not applied twice.
		cmd.RequestId = fmt.Sprintf("lease-event:%s@%d", ev.Id, current.Version)
		return cmd, nil
	}, func(res *storepb.CommandResult) bool {
		if res.Code == storepb.CommandResult_INVALID && tx.Intent != storepb.LeaseTransaction_FAIL_LEASE {
			failure = res.Message // the step cannot be stored: fail the lease instead
			return true
		}
		return lostRace(res)
	})
	switch {
	case err != nil:
		return nil, err
	case res == nil:
		return &leasepb.LeaseReply{Lease: current}, nil
	case res.Replayed:
		return g.stored()
	}
	written.Version = res.Version
	if note != "" {
		g.rt.notify(note, written, nil)
	}
	return &leasepb.LeaseReply{Lease: written}, nil
}

func eventNotification(intent storepb.LeaseTransaction_Intent) string {
	switch intent {
	case storepb.LeaseTransaction_START_LEASE:
		return NotifyStartLease
	case storepb.LeaseTransaction_BEFORE_END_LEASE:
		return NotifyBeforeEndLease
	case storepb.LeaseTransaction_END_LEASE:
		return NotifyEndLease
	}
	return ""
}

// decideEvent is the transaction that runs ev of cur (failure, when set: the
// FSM could not store the step, so the lease fails instead).
func (g *LeaseGrain) decideEvent(st *store.State, cur *storepb.Lease, ev *storepb.LeaseEvent, now time.Time, failure string) *storepb.Command {
	next := proto.Clone(cur).(*storepb.Lease)
	at := now.UnixMicro()
	next.UpdatedAtUs = at
	nev := findEvent(next, ev.Id)
	nev.UpdatedAtUs = at
	fail := func(reason string) *storepb.Command {
		nev.Status = reservation.EventError
		next.Status, next.StatusReason = reservation.LeaseError, reason
		return g.transaction(storepb.LeaseTransaction_FAIL_LEASE, cur.Version, next, nil, nil)
	}
	if failure != "" {
		return fail(failure)
	}
	setReservations := func(to string) {
		for _, r := range next.Reservations {
			if reservation.ReservationTransitionAllowed(r.Status, to) {
				r.Status, r.UpdatedAtUs = to, at
			}
		}
	}
	derive := func() string {
		start, end := eventOfType(next, reservation.EventStartLease), eventOfType(next, reservation.EventEndLease)
		return reservation.DeriveStatus(start.GetStatus(), end.GetStatus())
	}
	switch ev.EventType {
	case reservation.EventStartLease:
		if !reservation.LeaseTransitionAllowed(cur.Status, reservation.LeaseStarting) {
			return fail(reservation.ErrInvalidStatus().Message)
		}
		nev.Status = reservation.EventDone
		setReservations(reservation.ReservationActive)
		next.Status = derive()
		return g.transaction(storepb.LeaseTransaction_START_LEASE, cur.Version, next, nil, nil)
	case reservation.EventEndLease:
		if !reservation.LeaseTransitionAllowed(cur.Status, reservation.LeaseTerminating) {
			return fail(reservation.ErrInvalidStatus().Message)
		}
		nev.Status = reservation.EventDone
		setReservations(reservation.ReservationDeleted)
		next.Status = derive()
		var deletes []*storepb.AllocationKey
		for _, a := range st.AllocationsOfLease(g.id) {
			deletes = append(deletes, a.Key())
		}
		return g.transaction(storepb.LeaseTransaction_END_LEASE, cur.Version, next, nil, deletes)
	default: // before_end_lease: the lease's status does not change
		nev.Status = reservation.EventDone
		return g.transaction(storepb.LeaseTransaction_BEFORE_END_LEASE, cur.Version, next, nil, nil)
	}
}
