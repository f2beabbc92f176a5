package reservation

import (
	"slices"
	"sort"
	"time"
)

// Lease statuses (Blazar's status.py). The stable ones are where a lease
// rests; a transitional one marks an operation under way, and any other
// operation on the lease meanwhile is refused with ErrInvalidStatus.
const (
	LeasePending    = "PENDING"
	LeaseActive     = "ACTIVE"
	LeaseTerminated = "TERMINATED"
	LeaseError      = "ERROR"

	LeaseCreating    = "CREATING"
	LeaseStarting    = "STARTING"
	LeaseUpdating    = "UPDATING"
	LeaseTerminating = "TERMINATING"
	LeaseDeleting    = "DELETING"
)

// leaseTransitions is Blazar's table: from → the statuses it may go to.
var leaseTransitions = map[string][]string{
	LeaseCreating:    {LeasePending, LeaseDeleting},
	LeasePending:     {LeaseStarting, LeaseUpdating, LeaseDeleting},
	LeaseStarting:    {LeaseActive, LeaseError, LeaseDeleting},
	LeaseActive:      {LeaseTerminating, LeaseUpdating, LeaseDeleting},
	LeaseTerminating: {LeaseTerminated, LeaseError, LeaseDeleting},
	LeaseTerminated:  {LeaseUpdating, LeaseDeleting},
	LeaseError:       {LeaseTerminating, LeaseUpdating, LeaseDeleting},
	LeaseUpdating:    {LeasePending, LeaseActive, LeaseTerminated, LeaseError, LeaseDeleting},
	LeaseDeleting:    {LeaseError},
}

// IsStableLeaseStatus reports whether a lease in status s is at rest.
func IsStableLeaseStatus(s string) bool {
	switch s {
	case LeasePending, LeaseActive, LeaseTerminated, LeaseError:
		return true
	}
	return false
}

// LeaseTransitionAllowed reports whether a lease may go from one status to
// another. An operation on a lease whose status cannot go to the operation's
// transitional status is refused with ErrInvalidStatus.
func LeaseTransitionAllowed(from, to string) bool {
	return slices.Contains(leaseTransitions[from], to)
}

// CheckLeaseTransition is ErrInvalidStatus unless from → to is allowed.
func CheckLeaseTransition(from, to string) error {
	if !LeaseTransitionAllowed(from, to) {
		return ErrInvalidStatus()
	}
	return nil
}

// Event statuses and types.
const (
	EventUndone     = "UNDONE"
	EventInProgress = "IN_PROGRESS"
	EventDone       = "DONE"
	EventError      = "ERROR"

	EventStartLease     = "start_lease"
	EventEndLease       = "end_lease"
	EventBeforeEndLease = "before_end_lease"
)

// eventTransitions: an event runs UNDONE → IN_PROGRESS → DONE or ERROR; it
// goes back to UNDONE for a retry (IN_PROGRESS) and when an update re-arms a
// before_end event that had fired (DONE).
var eventTransitions = map[string][]string{
	EventUndone:     {EventInProgress},
	EventInProgress: {EventDone, EventError, EventUndone},
	EventDone:       {EventUndone},
}

// EventTransitionAllowed reports whether an event may go from one status to
// another.
func EventTransitionAllowed(from, to string) bool {
	return slices.Contains(eventTransitions[from], to)
}

// DeriveStatus is the stable status a lease settles in after an operation,
// from its start and end events: UNDONE/UNDONE is PENDING, DONE/UNDONE ACTIVE,
// DONE/DONE TERMINATED, anything else ERROR.
func DeriveStatus(startEvent, endEvent string) string {
	switch {
	case startEvent == EventUndone && endEvent == EventUndone:
		return LeasePending
	case startEvent == EventDone && endEvent == EventUndone:
		return LeaseActive
	case startEvent == EventDone && endEvent == EventDone:
		return LeaseTerminated
	}
	return LeaseError
}

// Reservation statuses.
const (
	ReservationPending = "pending"
	ReservationActive  = "active"
	ReservationDeleted = "deleted"
	ReservationError   = "error"
)

var reservationTransitions = map[string][]string{
	ReservationPending: {ReservationActive, ReservationDeleted, ReservationError},
	ReservationActive:  {ReservationDeleted, ReservationError},
	ReservationError:   {ReservationDeleted},
}

// ReservationTransitionAllowed reports whether a reservation may go from one
// status to another (deleted is final).
func ReservationTransitionAllowed(from, to string) bool {
	return slices.Contains(reservationTransitions[from], to)
}

// A DueEvent is an event the scheduler is about to run.
type DueEvent struct {
	LeaseID string
	Type    string
	Time    time.Time
}

// eventRank orders events due at the same moment: every end_lease first (the
// host a back-to-back lease starts on is freed by the lease ending then), then
// start_lease, then before_end_lease (a short lease's before_end is clamped to
// its start and must run after it).
var eventRank = map[string]int{EventEndLease: 0, EventStartLease: 1, EventBeforeEndLease: 2}

// EventBefore reports whether a must run before b: by time, then by type as
// eventRank says, then by lease id (a stable order for the rest).
func EventBefore(a, b DueEvent) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if ra, rb := eventRank[a.Type], eventRank[b.Type]; ra != rb {
		return ra < rb
	}
	return a.LeaseID < b.LeaseID
}

// EventOrder sorts due events into the order they run in (EventBefore).
func EventOrder(events []DueEvent) {
	sort.SliceStable(events, func(i, j int) bool { return EventBefore(events[i], events[j]) })
}
