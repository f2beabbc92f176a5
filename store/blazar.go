package store

import (
	"cmp"
	"slices"

	"github.com/tidwall/btree"

	"keel/store/storepb"
)

// Blazar's tables: the host inventory, the resource properties its extra
// capabilities name, leases (each holding its reservations and events) and the
// allocations of hosts to reservations. Every write goes through putHost,
// putLease, putAllocation and their deletes, which keep the derived indexes
// true: capabilities by (name, value, host), reservations by id, UNDONE events
// in firing order, the leases with events still to run, and allocations by
// host (ordered by start), by reservation and by lease. Readers ask the queries
// below, named for what they answer; none scans a table on a hot path.
type blazarTables struct {
	hosts      *Table[*storepb.Host]
	properties *Table[*storepb.ResourceProperty]
	leases     *Table[*storepb.Lease]
	// capabilities holds one entry per (capability name, value, host).
	capabilities *btree.BTreeG[capabilityEntry]
	// reservations maps every reservation id to its lease.
	reservations *btree.BTreeG[reservationEntry]
	// events holds the UNDONE events of every lease in firing order.
	events *btree.BTreeG[eventEntry]
	// pendingLeases holds the ids of leases with an UNDONE or IN_PROGRESS event.
	pendingLeases *btree.BTreeG[string]
	allocByHost   *btree.BTreeG[*storepb.Allocation] // (host, start, reservation)
	allocByRes    *btree.BTreeG[*storepb.Allocation] // (reservation, host): the key
	allocByLease  *btree.BTreeG[*storepb.Allocation] // (lease, reservation, host)
}

var (
	hostSchema = &Schema[*storepb.Host]{
		Name: "hosts",
		Pivot: func(project string, created int64, id string) *storepb.Host {
			return &storepb.Host{CreatedAtUs: created, Id: id}
		},
		Exact: map[string]ExactIndex[*storepb.Host]{
			IndexName: exact((*storepb.Host).GetName),
		},
	}
	resourcePropertySchema = &Schema[*storepb.ResourceProperty]{
		Name: "resource_properties",
		ByID: true,
		Pivot: func(project string, created int64, id string) *storepb.ResourceProperty {
			return &storepb.ResourceProperty{CreatedAtUs: created, PropertyName: id}
		},
	}
	leaseSchema = &Schema[*storepb.Lease]{
		Name: "leases",
		Pivot: func(project string, created int64, id string) *storepb.Lease {
			return &storepb.Lease{ProjectId: project, CreatedAtUs: created, Id: id}
		},
	}
)

type capabilityEntry struct{ name, value, host string }

func lessCapability(a, b capabilityEntry) bool {
	if a.name != b.name {
		return a.name < b.name
	}
	if a.value != b.value {
		return a.value < b.value
	}
	return a.host < b.host
}

type reservationEntry struct{ reservation, lease string }

func lessReservation(a, b reservationEntry) bool { return a.reservation < b.reservation }

// eventEntry is an UNDONE event in firing order: by time; at equal times
// end_lease, then start_lease, then before_end_lease (Blazar's order, so that
// back-to-back leases hand a host over before the next one starts, and a
// lease's before_end fires after its start when both are due together); then
// by lease and event id.
type eventEntry struct {
	time           int64
	order          int
	lease, eventID string
	ev             *storepb.LeaseEvent
}

func eventOrder(eventType string) int {
	switch eventType {
	case storepb.EventEndLease:
		return 0
	case storepb.EventStartLease:
		return 1
	case storepb.EventBeforeEndLease:
		return 2
	}
	return 3
}

func lessEvent(a, b eventEntry) bool {
	if a.time != b.time {
		return a.time < b.time
	}
	if a.order != b.order {
		return a.order < b.order
	}
	if a.lease != b.lease {
		return a.lease < b.lease
	}
	return a.eventID < b.eventID
}

func lessAllocByHost(a, b *storepb.Allocation) bool {
	if a.HostId != b.HostId {
		return a.HostId < b.HostId
	}
	if a.StartMs != b.StartMs {
		return a.StartMs < b.StartMs
	}
	return a.ReservationId < b.ReservationId
}

func lessAllocByRes(a, b *storepb.Allocation) bool {
	if a.ReservationId != b.ReservationId {
		return a.ReservationId < b.ReservationId
	}
	return a.HostId < b.HostId
}

func lessAllocByLease(a, b *storepb.Allocation) bool {
	if a.LeaseId != b.LeaseId {
		return a.LeaseId < b.LeaseId
	}
	return lessAllocByRes(a, b)
}

func newBlazarTables() blazarTables {
	return blazarTables{
		hosts:         NewTable(hostSchema),
		properties:    NewTable(resourcePropertySchema),
		leases:        NewTable(leaseSchema),
		capabilities:  newTree(lessCapability),
		reservations:  newTree(lessReservation),
		events:        newTree(lessEvent),
		pendingLeases: newTree(func(a, b string) bool { return a < b }),
		allocByHost:   newTree(lessAllocByHost),
		allocByRes:    newTree(lessAllocByRes),
		allocByLease:  newTree(lessAllocByLease),
	}
}

func (b blazarTables) clone() blazarTables {
	return blazarTables{
		hosts:         b.hosts.Clone(),
		properties:    b.properties.Clone(),
		leases:        b.leases.Clone(),
		capabilities:  b.capabilities.Copy(),
		reservations:  b.reservations.Copy(),
		events:        b.events.Copy(),
		pendingLeases: b.pendingLeases.Copy(),
		allocByHost:   b.allocByHost.Copy(),
		allocByRes:    b.allocByRes.Copy(),
		allocByLease:  b.allocByLease.Copy(),
	}
}

// putHost stores h, replacing the host with its id, and indexes its
// capabilities.
func (b *blazarTables) putHost(h *storepb.Host) {
	if old, found := b.hosts.Get(h.Id); found {
		b.unindexCapabilities(old)
	}
	h = internHost(h)
	b.hosts.Put(h)
	for name, value := range h.ExtraCapabilities {
		b.capabilities.Set(capabilityEntry{name: name, value: value, host: h.Id})
	}
}

func (b *blazarTables) deleteHost(id string) {
	if old, found := b.hosts.Get(id); found {
		b.unindexCapabilities(old)
		b.hosts.Delete(id)
	}
}

func (b *blazarTables) unindexCapabilities(h *storepb.Host) {
	for name, value := range h.ExtraCapabilities {
		b.capabilities.Delete(capabilityEntry{name: name, value: value, host: h.Id})
	}
}

// putLease stores l, replacing the lease with its id, and re-indexes its
// reservations and events.
func (b *blazarTables) putLease(l *storepb.Lease) {
	if old, found := b.leases.Get(l.Id); found {
		b.unindexLease(old)
	}
	l = internLease(l)
	b.leases.Put(l)
	pending := false
	for _, r := range l.Reservations {
		b.reservations.Set(reservationEntry{reservation: r.Id, lease: l.Id})
	}
	for _, ev := range l.Events {
		switch ev.Status {
		case storepb.EventUndone:
			b.events.Set(eventKey(l.Id, ev))
			pending = true
		case storepb.EventInProgress:
			pending = true
		}
	}
	if pending {
		b.pendingLeases.Set(l.Id)
	}
}

func (b *blazarTables) deleteLease(id string) {
	if old, found := b.leases.Get(id); found {
		b.unindexLease(old)
		b.leases.Delete(id)
	}
}

func (b *blazarTables) unindexLease(l *storepb.Lease) {
	for _, r := range l.Reservations {
		b.reservations.Delete(reservationEntry{reservation: r.Id})
	}
	for _, ev := range l.Events {
		if ev.Status == storepb.EventUndone {
			b.events.Delete(eventKey(l.Id, ev))
		}
	}
	b.pendingLeases.Delete(l.Id)
}

func eventKey(lease string, ev *storepb.LeaseEvent) eventEntry {
	return eventEntry{time: ev.TimeMs, order: eventOrder(ev.EventType), lease: lease, eventID: ev.Id, ev: ev}
}

// putAllocation stores a, replacing the allocation with its key.
func (b *blazarTables) putAllocation(a *storepb.Allocation) {
	b.deleteAllocation(a.HostId, a.ReservationId)
	a.HostId, a.ReservationId, a.LeaseId = intern(a.HostId), intern(a.ReservationId), intern(a.LeaseId)
	b.allocByHost.Set(a)
	b.allocByRes.Set(a)
	b.allocByLease.Set(a)
}

func (b *blazarTables) deleteAllocation(host, reservation string) {
	old, found := b.allocByRes.Delete(&storepb.Allocation{HostId: host, ReservationId: reservation})
	if found {
		b.allocByHost.Delete(old)
		b.allocByLease.Delete(old)
	}
}

// allocation returns the allocation of host to reservation, or nil.
func (b *blazarTables) allocation(host, reservation string) *storepb.Allocation {
	a, _ := b.allocByRes.Get(&storepb.Allocation{HostId: host, ReservationId: reservation})
	return a
}

// snapshot emits every row of Blazar's tables (the derived indexes are rebuilt
// by putHost, putLease and putAllocation on restore) until emit fails.
func (b *blazarTables) snapshot(emit func(*storepb.SnapshotRecord) bool) {
	okay := true
	b.hosts.All(func(x *storepb.Host) bool {
		okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Host{Host: x}})
		return okay
	})
	if okay {
		b.properties.All(func(x *storepb.ResourceProperty) bool {
			okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_ResourceProperty{ResourceProperty: x}})
			return okay
		})
	}
	if okay {
		b.leases.All(func(x *storepb.Lease) bool {
			okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Lease{Lease: x}})
			return okay
		})
	}
	if okay {
		b.allocByRes.Scan(func(x *storepb.Allocation) bool {
			okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Allocation{Allocation: x}})
			return okay
		})
	}
}

func internHost(x *storepb.Host) *storepb.Host {
	x.HypervisorType = intern(x.HypervisorType)
	x.AvailabilityZone = intern(x.AvailabilityZone)
	x.ServiceName = intern(x.ServiceName)
	return x
}

func internLease(x *storepb.Lease) *storepb.Lease {
	x.ProjectId = intern(x.ProjectId)
	x.UserId = intern(x.UserId)
	x.Status = intern(x.Status)
	for _, r := range x.Reservations {
		r.ResourceType = intern(r.ResourceType)
		r.Status = intern(r.Status)
		r.BeforeEnd = intern(r.BeforeEnd)
	}
	for _, ev := range x.Events {
		ev.EventType = intern(ev.EventType)
		ev.Status = intern(ev.Status)
	}
	return x
}

// Host returns the host with id, or nil.
func (s *State) Host(id string) *storepb.Host {
	h, _ := s.blazar.hosts.Get(id)
	return h
}

// HostByName returns the host created with name, or nil (names are unique).
func (s *State) HostByName(name string) *storepb.Host {
	var out *storepb.Host
	s.blazar.hosts.Equal(IndexName, name, func(h *storepb.Host) bool {
		out = h
		return false
	})
	return out
}

// Hosts returns the inventory in creation order (created_at_us, then id): the
// order Blazar lists hosts and tries them as allocation candidates in.
func (s *State) Hosts() []*storepb.Host {
	out := make([]*storepb.Host, 0, s.blazar.hosts.Len())
	s.blazar.hosts.created.Scan(func(h *storepb.Host) bool {
		out = append(out, h)
		return true
	})
	return out
}

// HostsCount is how many hosts the inventory holds.
func (s *State) HostsCount() int { return s.blazar.hosts.Len() }

// ResourceProperty returns the resource property name, or nil.
func (s *State) ResourceProperty(name string) *storepb.ResourceProperty {
	p, _ := s.blazar.properties.Get(name)
	return p
}

// ResourceProperties returns every resource property, by name.
func (s *State) ResourceProperties() []*storepb.ResourceProperty {
	out := make([]*storepb.ResourceProperty, 0, s.blazar.properties.Len())
	s.blazar.properties.All(func(p *storepb.ResourceProperty) bool {
		out = append(out, p)
		return true
	})
	return out
}

// CapabilityValues returns the distinct values hosts have for the extra
// capability name, sorted (GET /v1/os-hosts/properties?detail=True).
func (s *State) CapabilityValues(name string) []string {
	var out []string
	s.blazar.capabilities.Ascend(capabilityEntry{name: name}, func(c capabilityEntry) bool {
		if c.name != name {
			return false
		}
		if len(out) == 0 || out[len(out)-1] != c.value {
			out = append(out, c.value)
		}
		return true
	})
	return out
}

// CapabilityExists reports whether any host has the extra capability name (a
// filter naming one that none has is refused, as Blazar's BlazarDBNotFound).
func (s *State) CapabilityExists(name string) bool {
	found := false
	s.blazar.capabilities.Ascend(capabilityEntry{name: name}, func(c capabilityEntry) bool {
		found = c.name == name
		return false
	})
	return found
}

// AllocationsOfHost returns a host's allocations by start (then reservation).
func (s *State) AllocationsOfHost(hostID string) []*storepb.Allocation {
	var out []*storepb.Allocation
	s.blazar.allocByHost.Ascend(&storepb.Allocation{HostId: hostID, StartMs: -1 << 63},
		func(a *storepb.Allocation) bool {
			if a.HostId != hostID {
				return false
			}
			out = append(out, a)
			return true
		})
	return out
}

// HostAllocated reports whether a host holds any allocation.
func (s *State) HostAllocated(hostID string) bool {
	found := false
	s.blazar.allocByHost.Ascend(&storepb.Allocation{HostId: hostID, StartMs: -1 << 63},
		func(a *storepb.Allocation) bool {
			found = a.HostId == hostID
			return false
		})
	return found
}

// HostBusyDuring reports whether an allocation of the host overlaps [startMs,
// endMs) kept cleaningMs apart (Overlaps), in O(log n): a host's allocations
// never overlap each other (the FSM refuses it), so they end in the order they
// start, and only the last one starting before endMs + cleaningMs can reach
// back to startMs - cleaningMs.
func (s *State) HostBusyDuring(hostID string, startMs, endMs, cleaningMs int64) bool {
	busy := false
	s.blazar.allocByHost.Descend(&storepb.Allocation{HostId: hostID, StartMs: endMs + cleaningMs - 1, ReservationId: "\xff"},
		func(a *storepb.Allocation) bool {
			busy = a.HostId == hostID && Overlaps(startMs, endMs, a.StartMs, a.EndMs, cleaningMs)
			return false
		})
	return busy
}

// AllocationsOfReservation returns a reservation's allocations, by host id.
func (s *State) AllocationsOfReservation(reservationID string) []*storepb.Allocation {
	var out []*storepb.Allocation
	s.blazar.allocByRes.Ascend(&storepb.Allocation{ReservationId: reservationID},
		func(a *storepb.Allocation) bool {
			if a.ReservationId != reservationID {
				return false
			}
			out = append(out, a)
			return true
		})
	return out
}

// AllocationsOfLease returns a lease's allocations, by reservation then host.
func (s *State) AllocationsOfLease(leaseID string) []*storepb.Allocation {
	var out []*storepb.Allocation
	s.blazar.allocByLease.Ascend(&storepb.Allocation{LeaseId: leaseID},
		func(a *storepb.Allocation) bool {
			if a.LeaseId != leaseID {
				return false
			}
			out = append(out, a)
			return true
		})
	return out
}

// HostAllocations is one host with its allocations, by start.
type HostAllocations struct {
	Host        *storepb.Host
	Allocations []*storepb.Allocation
}

// AllAllocations returns every host of the inventory (creation order), each with
// its allocations by start, hosts without any included: GET
// /v1/os-hosts/allocations.
func (s *State) AllAllocations() []HostAllocations {
	hosts := s.Hosts()
	out := make([]HostAllocations, len(hosts))
	for i, h := range hosts {
		out[i] = HostAllocations{Host: h, Allocations: s.AllocationsOfHost(h.Id)}
	}
	return out
}

// Lease returns the lease with id, or nil.
func (s *State) Lease(id string) *storepb.Lease {
	l, _ := s.blazar.leases.Get(id)
	return l
}

// LeaseOfReservation returns the lease holding reservation id, or nil.
func (s *State) LeaseOfReservation(reservationID string) *storepb.Lease {
	e, found := s.blazar.reservations.Get(reservationEntry{reservation: reservationID})
	if !found {
		return nil
	}
	return s.Lease(e.lease)
}

// Leases returns every lease in creation order (created_at_us, then id).
func (s *State) Leases() []*storepb.Lease {
	out := make([]*storepb.Lease, 0, s.blazar.leases.Len())
	s.blazar.leases.created.Scan(func(l *storepb.Lease) bool {
		out = append(out, l)
		return true
	})
	return out
}

// LeasesOfProject returns a project's leases in creation order.
func (s *State) LeasesOfProject(project string) []*storepb.Lease {
	var out []*storepb.Lease
	t := s.blazar.leases
	t.projectCreated.Ascend(t.schema.Pivot(project, -1<<63, ""), func(l *storepb.Lease) bool {
		if l.ProjectId != project {
			return false
		}
		out = append(out, l)
		return true
	})
	return out
}

// EventsDueBy returns the UNDONE events whose time is at or before t (unix ms),
// in firing order: by time; at equal times end_lease, start_lease,
// before_end_lease (Blazar's order for back-to-back leases); then by lease and
// event id.
func (s *State) EventsDueBy(t int64) []*storepb.LeaseEvent {
	var out []*storepb.LeaseEvent
	s.blazar.events.Scan(func(e eventEntry) bool {
		if e.time > t {
			return false
		}
		out = append(out, e.ev)
		return true
	})
	return out
}

// NextEventTime returns the time of the earliest UNDONE event (unix ms); false
// when no event is waiting (a scheduler's timer).
func (s *State) NextEventTime() (int64, bool) {
	e, found := s.blazar.events.Min()
	return e.time, found
}

// LeasesWithPendingEvents returns, by id, the leases with an UNDONE or
// IN_PROGRESS event: the leases a reconciler re-activates after a node died.
func (s *State) LeasesWithPendingEvents() []string {
	out := make([]string, 0, s.blazar.pendingLeases.Len())
	s.blazar.pendingLeases.Scan(func(id string) bool {
		out = append(out, id)
		return true
	})
	return out
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
