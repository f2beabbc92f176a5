package store

import (
	"slices"

	"keel/store/storepb"
)

// Mogan's commands. As with Blazar's, each applier checks everything first
// (State.CheckInstanceTransaction, State.CheckInstanceTypeOperation: a grain
// asks the same of its read before it proposes), then writes; a refusal writes
// nothing.
//
// Two instances never share a host, and that is decided here: each instance
// has its own grain, so two grains may schedule onto the last free host at
// once; the FSM applies their transactions one after the other and refuses the
// second claim (CONFLICT naming the host), whose grain re-reads and finds no
// valid host. The reservation rules are checked at the same moment, against
// the leases as they are when the claim applies.

// applyInstanceTransaction applies one state change of an instance.
func (f *FSM) applyInstanceTransaction(st *State, tx *storepb.InstanceTransaction) *storepb.CommandResult {
	if res := st.CheckInstanceTransaction(tx); res != nil {
		return res
	}
	v := f.nextVersion()
	st.writeInstanceTransaction(tx, v)
	return ok(v)
}

// writeInstanceTransaction applies a checked instance transaction at version
// v: the row (keeping what never changes from the stored one) or, for
// PURGE_INSTANCE, its removal, which frees its host.
func (s *State) writeInstanceTransaction(tx *storepb.InstanceTransaction, v uint64) {
	if tx.Intent == storepb.InstanceTransaction_PURGE_INSTANCE {
		s.mogan.instances.Delete(tx.InstanceId)
		return
	}
	x := tx.Instance
	if cur := s.Instance(tx.InstanceId); cur != nil {
		keepImmutable(x, cur)
	}
	x.Version = v
	s.mogan.putInstance(x)
}

// keepImmutable copies into x what no change after the create may alter.
func keepImmutable(x, cur *storepb.Instance) {
	x.ProjectId, x.UserId, x.ReservationId, x.CreatedAtUs = cur.ProjectId, cur.UserId, cur.ReservationId, cur.CreatedAtUs
}

// instanceNotFound is Mogan's 404 text (the generic one: its InstanceNotFound
// sets msg_fmt instead of _msg_fmt).
func instanceNotFound(string) *storepb.CommandResult {
	return notFound("Resource could not be found.")
}

// powerStatuses are the statuses SET_POWER may leave an instance in.
var powerStatuses = []string{storepb.InstanceActive, storepb.InstanceStopped, storepb.InstanceError,
	storepb.InstancePoweringOn, storepb.InstancePoweringOff, storepb.InstanceSoftPoweringOff,
	storepb.InstanceRebooting, storepb.InstanceSoftRebooting}

// CheckInstanceTransaction answers whether tx applies to s: nil, or the FSM's
// refusal. In order: the transaction's shape; the compare-and-set on the
// instance's version (only CREATE_INSTANCE creates); what the intent promises
// of the row; last, the host claim (CheckHostClaim).
func (s *State) CheckInstanceTransaction(tx *storepb.InstanceTransaction) *storepb.CommandResult {
	intent, id := tx.GetIntent(), tx.GetInstanceId()
	if intent == storepb.InstanceTransaction_INTENT_UNSPECIFIED {
		return invalid("instance transaction without an intent")
	}
	if id == "" {
		return invalid("instance transaction without its instance id")
	}
	purge := intent == storepb.InstanceTransaction_PURGE_INSTANCE
	switch {
	case purge && tx.Instance != nil:
		return invalid("%v carries an instance row", intent)
	case !purge && (tx.Instance == nil || tx.Instance.Uuid != id):
		return invalid("%v without its instance row", intent)
	}
	cur := s.Instance(id)
	create := intent == storepb.InstanceTransaction_CREATE_INSTANCE
	switch {
	case create && cur != nil:
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "instance " + id + " exists", Version: cur.Version}
	case !create && cur == nil:
		return instanceNotFound(id)
	case !create && cur.Version != tx.ExpectedVersion:
		return conflict(cur.Version, "instance %s is at version %d, not %d", id, cur.Version, tx.ExpectedVersion)
	}
	if purge {
		if cur.Status != storepb.InstanceDeleting && cur.Status != storepb.InstanceDeleted {
			return invalid("instance %s is %s, not deleting: not purged", id, cur.Status)
		}
		return nil
	}
	x := tx.Instance
	if res := checkInstanceIntent(s, intent, cur, x); res != nil {
		return res
	}
	claim := HostClaim{Instance: id, Project: x.ProjectId, Reservation: x.ReservationId, Host: x.HostId}
	if !create { // what never changes is kept from the stored row: the claim is judged on it
		claim.Project, claim.Reservation, claim.Held = cur.ProjectId, cur.ReservationId, cur.HostId
	}
	return s.CheckHostClaim(claim)
}

// checkInstanceIntent refuses a row that does not do what the intent names
// (cur is the stored row, nil for a create).
func checkInstanceIntent(s *State, intent storepb.InstanceTransaction_Intent, cur, x *storepb.Instance) *storepb.CommandResult {
	id := x.Uuid
	keepsHost := cur != nil && x.HostId == cur.HostId
	switch intent {
	case storepb.InstanceTransaction_CREATE_INSTANCE:
		switch {
		case x.Status != storepb.InstanceBuilding:
			return invalid("instance %s created %q, not building", id, x.Status)
		case x.ProjectId == "":
			return invalid("instance %s without a project", id)
		case x.InstanceTypeUuid == "" || s.InstanceType(x.InstanceTypeUuid) == nil:
			return notFound("InstanceType %s could not be found", x.InstanceTypeUuid)
		}
	case storepb.InstanceTransaction_SCHEDULE_INSTANCE:
		switch {
		case cur.Status != storepb.InstanceBuilding || x.Status != storepb.InstanceBuilding:
			return invalid("instance %s is %s: only a building instance is scheduled", id, cur.Status)
		case x.HostId == "":
			return invalid("SCHEDULE_INSTANCE of instance %s names no host", id)
		}
	case storepb.InstanceTransaction_COMPLETE_BUILD:
		switch {
		case cur.Status != storepb.InstanceBuilding || x.Status != storepb.InstanceActive:
			return invalid("COMPLETE_BUILD takes instance %s from building to active, not %s to %s", id, cur.Status, x.Status)
		case cur.HostId == "" || !keepsHost:
			return invalid("COMPLETE_BUILD of instance %s not on the host it was scheduled on", id)
		case x.LaunchedAtUs == 0:
			return invalid("COMPLETE_BUILD of instance %s without launched_at", id)
		}
	case storepb.InstanceTransaction_FAIL_INSTANCE:
		switch {
		case x.Status != storepb.InstanceError:
			return invalid("FAIL_INSTANCE leaves instance %s %q, not error", id, x.Status)
		case !keepsHost && x.HostId != "":
			return invalid("FAIL_INSTANCE moves instance %s to host %s", id, x.HostId)
		}
	case storepb.InstanceTransaction_UPDATE_INSTANCE:
		if x.Status != cur.Status || !keepsHost {
			return invalid("UPDATE_INSTANCE changes instance %s's status or host", id)
		}
	case storepb.InstanceTransaction_SET_POWER:
		switch {
		case !slices.Contains(powerStatuses, cur.Status):
			return invalid("instance %s is %s: no power change", id, cur.Status)
		case !slices.Contains(powerStatuses, x.Status):
			return invalid("SET_POWER leaves instance %s %q", id, x.Status)
		case !keepsHost:
			return invalid("SET_POWER changes instance %s's host", id)
		}
	case storepb.InstanceTransaction_DELETE_INSTANCE:
		switch {
		case x.Status != storepb.InstanceDeleting:
			return invalid("DELETE_INSTANCE leaves instance %s %q, not deleting", id, x.Status)
		case !keepsHost:
			return invalid("DELETE_INSTANCE changes instance %s's host", id)
		}
	default:
		return invalid("instance transaction intent %v", intent)
	}
	return nil
}

// HostClaim is an instance of a project, created for a reservation (or ""),
// asking to hold Host after holding Held ("" for none).
type HostClaim struct {
	Instance, Project, Reservation string
	Host, Held                     string
}

// CheckHostClaim answers whether c may be granted: nil, or CONFLICT (version
// 0) naming the host. Keeping a host, or holding none, is no claim. A claim
// needs the host to exist, no other instance on it, and the reservation
// rules: with a reservation, the host is allocated to it and its lease is
// ACTIVE and the claimant's project's; without one, the host is reservable;
// either way no reservation of an ACTIVE lease but the claimant's holds the
// host. The scheduler asks the same of its read to pick a host.
func (s *State) CheckHostClaim(c HostClaim) *storepb.CommandResult {
	hostID := c.Host
	if hostID == "" || hostID == c.Held {
		return nil
	}
	h := s.Host(hostID)
	if h == nil {
		return conflict(0, "host %s does not exist", hostID)
	}
	if other := s.InstanceOnHost(hostID); other != nil && other.Uuid != c.Instance {
		return conflict(0, "host %s is held by instance %s", hostID, other.Uuid)
	}
	if res := c.Reservation; res != "" {
		l := s.LeaseOfReservation(res)
		switch {
		case l == nil:
			return conflict(0, "host %s: reservation %s does not exist", hostID, res)
		case l.Status != storepb.LeaseActive:
			return conflict(0, "host %s: lease %s of reservation %s is %s, not ACTIVE", hostID, l.Id, res, l.Status)
		case l.ProjectId != c.Project:
			return conflict(0, "host %s: lease %s of reservation %s is not project %s's", hostID, l.Id, res, c.Project)
		case s.blazar.allocation(hostID, res) == nil:
			return conflict(0, "host %s is not allocated to reservation %s", hostID, res)
		}
	} else if !h.Reservable {
		return conflict(0, "host %s is not reservable", hostID)
	}
	if a, l := s.ActiveReservationAgainst(hostID, c.Reservation); a != nil {
		return conflict(0, "host %s is reserved by reservation %s of ACTIVE lease %s", hostID, a.ReservationId, l.Id)
	}
	return nil
}

// ActiveReservationAgainst is the allocation (and its lease) of an ACTIVE
// lease that holds the host for a reservation other than reservationID (""
// for an instance of no reservation), or nil. No instance may claim such a
// host (CheckHostClaim), and one already on it is preempted when the lease
// starts (Blazar's on_start).
func (s *State) ActiveReservationAgainst(hostID, reservationID string) (*storepb.Allocation, *storepb.Lease) {
	for _, a := range s.AllocationsOfHost(hostID) {
		if a.ReservationId == reservationID {
			continue
		}
		if l := s.Lease(a.LeaseId); l != nil && l.Status == storepb.LeaseActive {
			return a, l
		}
	}
	return nil, nil
}

// applyInstanceTypeOperation puts or deletes one instance type.
func (f *FSM) applyInstanceTypeOperation(st *State, op *storepb.InstanceTypeOperation) *storepb.CommandResult {
	if res := st.CheckInstanceTypeOperation(op); res != nil {
		return res
	}
	v := f.nextVersion()
	if op.Op == storepb.InstanceTypeOperation_DELETE {
		st.mogan.types.Delete(op.Uuid)
		return ok(v)
	}
	t := op.Type
	if cur := st.InstanceType(t.Uuid); cur != nil {
		t.CreatedAtUs = cur.CreatedAtUs // immutable
	}
	t.Version = v
	st.mogan.types.Put(t)
	return ok(v)
}

// instanceTypeNotFound is Mogan's text for an unknown instance type.
func instanceTypeNotFound(uuid string) *storepb.CommandResult {
	return notFound("InstanceType %s could not be found", uuid)
}

// CheckInstanceTypeOperation answers whether op applies to s: nil, or the
// FSM's refusal.
func (s *State) CheckInstanceTypeOperation(op *storepb.InstanceTypeOperation) *storepb.CommandResult {
	switch op.GetOp() {
	case storepb.InstanceTypeOperation_PUT:
		t := op.GetType()
		if t == nil || t.Uuid == "" || (op.Uuid != "" && op.Uuid != t.Uuid) {
			return invalid("instance type put without its type or uuid")
		}
		cur := s.InstanceType(t.Uuid)
		switch {
		case op.ExpectedVersion == 0 && cur != nil:
			return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
				Message: "instance type " + t.Uuid + " exists", Version: cur.Version}
		case op.ExpectedVersion != 0 && cur == nil:
			return instanceTypeNotFound(t.Uuid)
		case cur != nil && cur.Version != op.ExpectedVersion:
			return conflict(cur.Version, "instance type %s is at version %d, not %d", t.Uuid, cur.Version, op.ExpectedVersion)
		}
		return nil
	case storepb.InstanceTypeOperation_DELETE:
		cur := s.InstanceType(op.Uuid)
		switch {
		case cur == nil:
			return instanceTypeNotFound(op.Uuid)
		case op.ExpectedVersion != 0 && cur.Version != op.ExpectedVersion:
			return conflict(cur.Version, "instance type %s is at version %d, not %d", op.Uuid, cur.Version, op.ExpectedVersion)
		case s.InstanceTypeInUse(op.Uuid):
			return inUse("InstanceType %s is in use by an instance", op.Uuid)
		}
		return nil
	}
	return invalid("instance type operation %v", op.GetOp())
}
