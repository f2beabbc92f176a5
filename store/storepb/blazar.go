package storepb

// What the store's tables index Blazar's rows by (Entity: id, project, creation
// time), and the words of Blazar's event model the store orders events by.

// Hosts and resource properties belong to no project.
func (x *Host) GetProjectId() string             { return "" }
func (x *ResourceProperty) GetProjectId() string { return "" }

// GetCreatedAt is the creation time the tables order by (unix microseconds).
func (x *Host) GetCreatedAt() int64             { return x.GetCreatedAtUs() }
func (x *Lease) GetCreatedAt() int64            { return x.GetCreatedAtUs() }
func (x *ResourceProperty) GetCreatedAt() int64 { return x.GetCreatedAtUs() }

// GetId of a resource property is its name, its key.
func (x *ResourceProperty) GetId() string { return x.GetPropertyName() }

// Lease event types (LeaseEvent.event_type).
const (
	EventStartLease     = "start_lease"
	EventBeforeEndLease = "before_end_lease"
	EventEndLease       = "end_lease"
)

// Lease event statuses (LeaseEvent.status): UNDONE → IN_PROGRESS → DONE | ERROR.
const (
	EventUndone     = "UNDONE"
	EventInProgress = "IN_PROGRESS"
	EventDone       = "DONE"
	EventError      = "ERROR"
)

// Key names an allocation.
func (x *Allocation) Key() *AllocationKey {
	return &AllocationKey{HostId: x.GetHostId(), ReservationId: x.GetReservationId()}
}

// LeaseActive is the status of a lease between its start_lease and end_lease:
// its reservations' hosts serve only their instances.
const LeaseActive = "ACTIVE"
