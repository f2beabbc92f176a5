package store

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// Blazar's commands. Each applier checks everything first (State.CheckHostOperation,
// State.CheckLeaseTransaction: the grains ask the same of their read before they
// propose), then writes; a refusal writes nothing.
//
// Double booking is refused here, where every node agrees: hosts are shared
// between leases, each lease has its own grain, so two grains may decide on the
// same host concurrently; the FSM applies their transactions one after the
// other and refuses the second (CONFLICT naming the host), and that grain
// re-reads and chooses other hosts.

// applyHostOperation puts or deletes one host.
func (f *FSM) applyHostOperation(st *State, op *storepb.HostOperation) *storepb.CommandResult {
	if res := st.CheckHostOperation(op); res != nil {
		return res
	}
	v := f.nextVersion()
	st.writeHostOperation(op, v)
	return ok(v)
}

// writeHostOperation applies a checked host operation at version v: a put keeps
// the creation time of the host it replaces and creates the resource property
// of every capability name not seen before.
func (s *State) writeHostOperation(op *storepb.HostOperation, v uint64) {
	b := &s.blazar
	if op.Op == storepb.HostOperation_DELETE {
		b.deleteHost(op.HostId)
		return
	}
	h := op.Host
	if cur := s.Host(h.Id); cur != nil {
		h.CreatedAtUs = cur.CreatedAtUs // immutable
	}
	h.Version = v
	at := nonZero(h.UpdatedAtUs, h.CreatedAtUs)
	for _, name := range sortedKeys(h.ExtraCapabilities) {
		if s.ResourceProperty(name) == nil {
			b.properties.Put(&storepb.ResourceProperty{PropertyName: name, CreatedAtUs: at, UpdatedAtUs: at})
		}
	}
	b.putHost(h)
}

// nonZero returns a unless it is zero, else b.
func nonZero(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// hostNotFound is Blazar's 404 text for an unknown host.
func hostNotFound(id string) *storepb.CommandResult {
	return notFound("Object with {'host_id': '%s'} not found", id)
}

// CheckHostOperation answers whether op applies to s: nil, or the FSM's refusal.
func (s *State) CheckHostOperation(op *storepb.HostOperation) *storepb.CommandResult {
	switch op.GetOp() {
	case storepb.HostOperation_PUT:
		h := op.GetHost()
		if h == nil || h.Id == "" || (op.HostId != "" && op.HostId != h.Id) {
			return invalid("host put without its host or id")
		}
		if h.Name == "" {
			return invalid("host %s without a name", h.Id)
		}
		cur := s.Host(h.Id)
		switch {
		case op.ExpectedVersion == 0 && cur != nil:
			return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
				Message: "host " + h.Id + " exists", Version: cur.Version}
		case op.ExpectedVersion != 0 && cur == nil:
			return hostNotFound(h.Id)
		case cur != nil && cur.Version != op.ExpectedVersion:
			return conflict(cur.Version, "host %s is at version %d, not %d", h.Id, cur.Version, op.ExpectedVersion)
		}
		if other := s.HostByName(h.Name); other != nil && other.Id != h.Id {
			return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
				Message: "host " + other.Id + " is named " + h.Name}
		}
		return nil
	case storepb.HostOperation_DELETE:
		cur := s.Host(op.HostId)
		switch {
		case cur == nil:
			return hostNotFound(op.HostId)
		case op.ExpectedVersion != 0 && cur.Version != op.ExpectedVersion:
			return conflict(cur.Version, "host %s is at version %d, not %d", op.HostId, cur.Version, op.ExpectedVersion)
		case s.HostAllocated(op.HostId):
			return inUse("Can't delete host %s. The host is reserved.", op.HostId)
		}
		if x := s.InstanceOnHost(op.HostId); x != nil {
			return inUse("Can't delete host %s. Instance %s runs on it.", op.HostId, x.Uuid)
		}
		return nil
	}
	return invalid("host operation %v", op.GetOp())
}

// applySetResourceProperty sets whether a resource property is private; the
// row's update time is the FSM's clock.
func (f *FSM) applySetResourceProperty(st *State, c *storepb.SetResourceProperty) *storepb.CommandResult {
	cur := st.ResourceProperty(c.GetPropertyName())
	if cur == nil {
		return notFound("resource property %q not found", c.GetPropertyName())
	}
	next := proto.Clone(cur).(*storepb.ResourceProperty)
	next.Private = c.Private
	next.UpdatedAtUs = f.clock * 1000
	st.blazar.properties.Put(next)
	return ok(0)
}

// applyLeaseTransaction applies one state change of a lease.
func (f *FSM) applyLeaseTransaction(st *State, tx *storepb.LeaseTransaction) *storepb.CommandResult {
	if res := st.CheckLeaseTransaction(tx); res != nil {
		return res
	}
	v := f.nextVersion()
	st.writeLeaseTransaction(tx, v)
	return ok(v)
}

// writeLeaseTransaction applies a checked lease transaction at version v: the
// allocations deleted (all of them for DELETE_LEASE), then put, then the lease
// row (keeping its creation time and project) or its removal.
func (s *State) writeLeaseTransaction(tx *storepb.LeaseTransaction, v uint64) {
	b := &s.blazar
	if tx.Intent == storepb.LeaseTransaction_DELETE_LEASE {
		for _, a := range s.AllocationsOfLease(tx.LeaseId) {
			b.deleteAllocation(a.HostId, a.ReservationId)
		}
		b.deleteLease(tx.LeaseId)
		return
	}
	for _, k := range tx.AllocationsDelete {
		b.deleteAllocation(k.HostId, k.ReservationId)
	}
	for _, a := range tx.AllocationsPut {
		b.putAllocation(a)
	}
	l := tx.Lease
	if cur := s.Lease(tx.LeaseId); cur != nil {
		l.CreatedAtUs, l.ProjectId = cur.CreatedAtUs, cur.ProjectId // immutable
	}
	l.Version = v
	b.putLease(l)
}

// leaseNotFound is Blazar's 404 text for an unknown lease.
func leaseNotFound(id string) *storepb.CommandResult {
	return notFound("Object with {'lease_id': '%s'} not found", id)
}

// CheckLeaseTransaction answers whether tx applies to s: nil, or the FSM's
// refusal. In order: the transaction's shape; the compare-and-set on the lease's
// version (only CREATE_LEASE creates); the lease row (its reservations and
// events belong to it, a reservation id to no other lease); the allocations
// (each of this lease, of one of its reservations, over its window; only
// CREATE_LEASE and UPDATE_LEASE allocate, END_LEASE leaves none); last, double
// booking (CONFLICT naming every host refused).
func (s *State) CheckLeaseTransaction(tx *storepb.LeaseTransaction) *storepb.CommandResult {
	intent, id := tx.GetIntent(), tx.GetLeaseId()
	if intent == storepb.LeaseTransaction_INTENT_UNSPECIFIED {
		return invalid("lease transaction without an intent")
	}
	if id == "" {
		return invalid("lease transaction without its lease id")
	}
	del := intent == storepb.LeaseTransaction_DELETE_LEASE
	switch {
	case del && tx.Lease != nil:
		return invalid("%v carries a lease row", intent)
	case !del && (tx.Lease == nil || tx.Lease.Id != id):
		return invalid("%v without its lease row", intent)
	}
	cur := s.Lease(id)
	create := intent == storepb.LeaseTransaction_CREATE_LEASE
	switch {
	case create && cur != nil:
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "lease " + id + " exists", Version: cur.Version}
	case !create && cur == nil:
		return leaseNotFound(id)
	case !create && cur.Version != tx.ExpectedVersion:
		return conflict(cur.Version, "lease %s is at version %d, not %d", id, cur.Version, tx.ExpectedVersion)
	}
	if !del {
		if res := s.checkLeaseRow(tx.Lease); res != nil {
			return res
		}
	}
	if res := s.checkLeaseAllocations(tx); res != nil {
		return res
	}
	return s.checkDoubleBooking(tx)
}

var (
	eventTypes    = []string{storepb.EventStartLease, storepb.EventBeforeEndLease, storepb.EventEndLease}
	eventStatuses = []string{storepb.EventUndone, storepb.EventInProgress, storepb.EventDone, storepb.EventError}
)

// checkLeaseRow refuses a lease whose reservations or events do not belong to
// it, or a reservation id another lease holds.
func (s *State) checkLeaseRow(l *storepb.Lease) *storepb.CommandResult {
	seen := map[string]bool{}
	for _, r := range l.Reservations {
		switch {
		case r.Id == "" || r.LeaseId != l.Id:
			return invalid("reservation %q of lease %s does not name it", r.Id, l.Id)
		case seen[r.Id]:
			return invalid("reservation %s twice in lease %s", r.Id, l.Id)
		}
		seen[r.Id] = true
		if other := s.LeaseOfReservation(r.Id); other != nil && other.Id != l.Id {
			return invalid("reservation %s belongs to lease %s", r.Id, other.Id)
		}
	}
	clear(seen)
	for _, ev := range l.Events {
		switch {
		case ev.Id == "" || ev.LeaseId != l.Id:
			return invalid("event %q of lease %s does not name it", ev.Id, l.Id)
		case seen[ev.Id]:
			return invalid("event %s twice in lease %s", ev.Id, l.Id)
		case !slices.Contains(eventTypes, ev.EventType):
			return invalid("event %s of unknown type %q", ev.Id, ev.EventType)
		case !slices.Contains(eventStatuses, ev.Status):
			return invalid("event %s in unknown status %q", ev.Id, ev.Status)
		}
		seen[ev.Id] = true
	}
	return nil
}

// allocKey is an allocation's key as a map key.
type allocKey struct{ host, reservation string }

// checkLeaseAllocations refuses allocations that are not the lease's to write
// or that would leave it holding allocations its row does not explain: every
// allocation the lease holds after the transaction is of one of its
// reservations, over the lease's window.
func (s *State) checkLeaseAllocations(tx *storepb.LeaseTransaction) *storepb.CommandResult {
	intent, id := tx.Intent, tx.LeaseId
	if len(tx.AllocationsPut) > 0 && intent != storepb.LeaseTransaction_CREATE_LEASE &&
		intent != storepb.LeaseTransaction_UPDATE_LEASE {
		return invalid("%v allocates hosts", intent)
	}
	deleted := map[allocKey]bool{}
	for _, k := range tx.AllocationsDelete {
		a := s.blazar.allocation(k.GetHostId(), k.GetReservationId())
		if a == nil || a.LeaseId != id {
			return invalid("allocation of host %s to reservation %s is not lease %s's", k.GetHostId(), k.GetReservationId(), id)
		}
		deleted[allocKey{a.HostId, a.ReservationId}] = true
	}
	put := map[allocKey]bool{}
	for _, a := range tx.AllocationsPut {
		k := allocKey{a.HostId, a.ReservationId}
		switch {
		case a.HostId == "" || a.ReservationId == "":
			return invalid("allocation without its host or reservation")
		case a.LeaseId != id:
			return invalid("allocation of host %s to reservation %s put by lease %s names lease %q", a.HostId, a.ReservationId, id, a.LeaseId)
		case put[k]:
			return invalid("allocation of host %s to reservation %s put twice", a.HostId, a.ReservationId)
		case a.StartMs >= a.EndMs:
			return invalid("allocation of host %s to reservation %s has an empty window", a.HostId, a.ReservationId)
		}
		put[k] = true
	}
	if intent == storepb.LeaseTransaction_DELETE_LEASE {
		return nil // every allocation of the lease goes with it
	}
	// What the lease holds afterwards: what it holds and keeps, and what it puts.
	after := tx.AllocationsPut
	for _, a := range s.AllocationsOfLease(id) {
		if k := (allocKey{a.HostId, a.ReservationId}); !deleted[k] && !put[k] {
			after = append(after, a)
		}
	}
	l := tx.Lease
	if intent == storepb.LeaseTransaction_END_LEASE && len(after) > 0 {
		return invalid("END_LEASE leaves lease %s holding host %s", id, after[0].HostId)
	}
	for _, a := range after {
		if !slices.ContainsFunc(l.Reservations, func(r *storepb.Reservation) bool { return r.Id == a.ReservationId }) {
			return invalid("allocation of host %s to reservation %s, which lease %s does not hold", a.HostId, a.ReservationId, id)
		}
		if a.StartMs != l.StartMs || a.EndMs != l.EndMs {
			return invalid("allocation of host %s to reservation %s is over [%d, %d), not the lease's [%d, %d)",
				a.HostId, a.ReservationId, a.StartMs, a.EndMs, l.StartMs, l.EndMs)
		}
	}
	return nil
}

// Overlaps reports whether the half-open windows [aStart, aEnd) and [bStart,
// bEnd) come closer than cleaning: a host serving one cannot serve the other.
// With no cleaning time, back-to-back windows (one ends exactly when the other
// starts) do not overlap.
func Overlaps(aStart, aEnd, bStart, bEnd, cleaning int64) bool {
	return aStart-cleaning < bEnd && bStart < aEnd+cleaning
}

// checkDoubleBooking refuses allocations a host cannot take: on a host that
// does not exist, a new allocation on a host that is not reservable (one the
// reservation already holds keeps its host), and any allocation overlapping
// another reservation's on the same host, counted after the transaction's
// deletes and with its other puts. The refusal names every host refused.
func (s *State) checkDoubleBooking(tx *storepb.LeaseTransaction) *storepb.CommandResult {
	if len(tx.AllocationsPut) == 0 {
		return nil
	}
	gone := map[allocKey]bool{}
	for _, k := range tx.AllocationsDelete {
		gone[allocKey{k.HostId, k.ReservationId}] = true
	}
	for _, a := range tx.AllocationsPut {
		gone[allocKey{a.HostId, a.ReservationId}] = true // replaced by the put
	}
	byHost := map[string][]*storepb.Allocation{}
	for _, a := range tx.AllocationsPut {
		byHost[a.HostId] = append(byHost[a.HostId], a)
	}
	c := max(tx.CleaningTimeMs, 0)
	var refused []string
	for _, hostID := range sortedKeys(byHost) {
		puts := byHost[hostID]
		h := s.Host(hostID)
		if h == nil {
			refused = append(refused, fmt.Sprintf("host %s does not exist", hostID))
			continue
		}
		if !h.Reservable && slices.ContainsFunc(puts, func(a *storepb.Allocation) bool {
			return s.blazar.allocation(a.HostId, a.ReservationId) == nil
		}) {
			refused = append(refused, fmt.Sprintf("host %s is not reservable", hostID))
			continue
		}
		others := slices.Clone(puts)
		for _, o := range s.AllocationsOfHost(hostID) {
			if !gone[allocKey{o.HostId, o.ReservationId}] {
				others = append(others, o)
			}
		}
		if p, o := firstOverlap(puts, others, c); p != nil {
			refused = append(refused, fmt.Sprintf("host %s is allocated to reservation %s of lease %s over [%d, %d)",
				hostID, o.ReservationId, o.LeaseId, o.StartMs, o.EndMs))
		}
	}
	if len(refused) > 0 {
		return conflict(0, "lease %s cannot have these hosts: %s", tx.LeaseId, strings.Join(refused, "; "))
	}
	return nil
}

// firstOverlap returns a put and another reservation's allocation it overlaps.
func firstOverlap(puts, others []*storepb.Allocation, cleaning int64) (*storepb.Allocation, *storepb.Allocation) {
	for _, p := range puts {
		for _, o := range others {
			if o.ReservationId != p.ReservationId && Overlaps(p.StartMs, p.EndMs, o.StartMs, o.EndMs, cleaning) {
				return p, o
			}
		}
	}
	return nil, nil
}
