package reservation

import (
	"encoding/json"
	"slices"
	"time"
)

// LeaseView is what ValidateUpdate reads of the stored lease.
type LeaseView struct {
	Status       string
	Start, End   time.Time
	Reservations []ReservationView
	Events       []EventView
}

// ReservationView is a stored reservation.
type ReservationView struct {
	ID, ResourceType, Status                 string
	Min, Max                                 int
	HypervisorProperties, ResourceProperties string
}

// EventView is a stored event.
type EventView struct {
	Type   string
	Time   time.Time
	Status string
}

// UpdateRequest is the body of PUT /v1/leases/{id} (decoded as LeaseRequest
// is: absent fields are nil). Reservations is nil when the key was not sent or
// was null, and empty (not nil) for [].
type UpdateRequest struct {
	Name          json.RawMessage      `json:"name"`
	StartDate     json.RawMessage      `json:"start_date"`
	EndDate       json.RawMessage      `json:"end_date"`
	BeforeEndDate json.RawMessage      `json:"before_end_date"`
	Reservations  []ReservationRequest `json:"reservations"`
}

// UpdatePlan is a validated lease update: what to store.
type UpdatePlan struct {
	// Name is the new name; nil keeps it.
	Name *string
	// NameOnly: nothing else changes (a rename, or an empty body). The
	// remaining fields then hold the lease's current values.
	NameOnly bool
	// Start and End are the new dates, and the new times of the start_lease
	// and end_lease events.
	Start, End time.Time
	// BeforeEnd is the before_end_lease event's new time; nil when the lease
	// has no such event and gets none.
	BeforeEnd *time.Time
	// AddBeforeEnd: the lease had no before_end event and before_end_date
	// asks for one; create it (UNDONE) at BeforeEnd. Blazar ignores the date
	// then; keel does what was asked.
	AddBeforeEnd bool
	// RearmBeforeEnd: the before_end event had fired (DONE) and goes back to
	// UNDONE, so it fires again at its new time (Blazar also notifies
	// lease.event.before_end_lease.stop).
	RearmBeforeEnd bool
	// Reservations has one entry per reservation of the lease, in its order.
	Reservations []ReservationUpdate
}

// ReservationUpdate is the outcome for one reservation.
type ReservationUpdate struct {
	ID string
	// Recheck: its hosts must be checked again (Reallocate) because
	// parameters were sent or the window grew. Otherwise the allocations stay
	// as they are and the fields below are the current values.
	Recheck  bool
	Min, Max int
	// The filters as they are to be stored, and parsed.
	HypervisorProperties, ResourceProperties string
	Filter                                   Requirements
}

// ValidateUpdate applies Blazar's update checks in its order; the first
// refusal wins:
//
//  1. the lease must be able to go to UPDATING (a stable status), else
//     ErrInvalidStatus, whatever the body;
//  2. a body with nothing but a name (or nothing at all) is a rename, allowed
//     in every stable status. Unknown keys and a null or "" before_end_date
//     do not count (Blazar counts every key);
//  3. dates: a date not sent, or null, is the current one; then, with now
//     the current minute: a started lease cannot move its start; a lease not
//     started cannot start in the past; a terminated lease cannot change
//     (any terminated lease: Blazar only tests end < now, so for the minute
//     in which a lease ends it lets dates move); the end must be after now
//     and after the start (Blazar lets end == start through; keel refuses it,
//     as create does). A lease has started once its start_lease event is no
//     longer UNDONE or its start is before now; terminated once its status is
//     TERMINATED, its end_lease event is no longer UNDONE or its end before now;
//  4. before_end_date, if given, strictly inside the new window (403);
//  5. reservation entries: each has an id, every id is the lease's, and none
//     changes resource_type;
//  6. per reservation (lease order) that must be re-checked: min/max (sent or
//     current) as on create, then the filters (sent or current).
//
// The events move with the dates: before_end to before_end_date, or the same
// distance before the new end as before the old one, never before the start;
// a fired before_end is re-armed.
func ValidateUpdate(current LeaseView, req UpdateRequest, now time.Time) (UpdatePlan, error) {
	if err := CheckLeaseTransition(current.Status, LeaseUpdating); err != nil {
		return UpdatePlan{}, err
	}
	plan := UpdatePlan{Start: current.Start, End: current.End}
	if req.Name != nil {
		name, ok := jsonString(req.Name)
		if !ok {
			return UpdatePlan{}, ErrMalformedParameter("name")
		}
		plan.Name = &name
	}
	beforeEndEvent := findEvent(current.Events, EventBeforeEndLease)
	if beforeEndEvent != nil {
		t := beforeEndEvent.Time
		plan.BeforeEnd = &t
	}
	if absent(req.StartDate) && absent(req.EndDate) && !given(req.BeforeEndDate) && req.Reservations == nil {
		plan.NameOnly = true
		plan.Reservations = currentReservations(current.Reservations)
		return plan, nil
	}

	start, end := current.Start, current.End
	var err error
	if !absent(req.StartDate) {
		if start, err = parseRawDate(req.StartDate, now, true); err != nil {
			return UpdatePlan{}, err
		}
	}
	if !absent(req.EndDate) {
		if end, err = parseRawDate(req.EndDate, now, true); err != nil {
			return UpdatePlan{}, err
		}
	}
	minute := currentMinute(now)
	started := eventFired(current.Events, EventStartLease) || current.Start.Before(minute)
	if started && !start.Equal(current.Start) {
		return UpdatePlan{}, ErrStartOfStartedLease()
	}
	if !started && start.Before(minute) {
		return UpdatePlan{}, ErrStartInPast()
	}
	if current.Status == LeaseTerminated || eventFired(current.Events, EventEndLease) || current.End.Before(minute) {
		return UpdatePlan{}, ErrTerminated()
	}
	if end.Before(minute) || !end.After(start) {
		return UpdatePlan{}, ErrEndInPast()
	}
	plan.Start, plan.End = start, end

	var beforeEndDate *time.Time
	if given(req.BeforeEndDate) {
		t, err := parseRawDate(req.BeforeEndDate, now, false)
		if err != nil {
			return UpdatePlan{}, err
		}
		if err := checkInside(t, start, end); err != nil {
			return UpdatePlan{}, err
		}
		beforeEndDate = &t
	}

	entries, err := reservationEntries(current.Reservations, req.Reservations)
	if err != nil {
		return UpdatePlan{}, err
	}
	extended := start.Before(current.Start) || end.After(current.End)
	for _, cur := range current.Reservations {
		u, err := updateReservation(cur, entries[cur.ID], extended)
		if err != nil {
			return UpdatePlan{}, err
		}
		plan.Reservations = append(plan.Reservations, u)
	}

	switch {
	case beforeEndEvent != nil:
		t := end.Add(-current.End.Sub(beforeEndEvent.Time))
		if beforeEndDate != nil {
			t = *beforeEndDate
		}
		t = clampUp(t, start)
		plan.BeforeEnd = &t
		plan.RearmBeforeEnd = beforeEndEvent.Status == EventDone
	case beforeEndDate != nil:
		t := clampUp(*beforeEndDate, start)
		plan.BeforeEnd, plan.AddBeforeEnd = &t, true
	}
	return plan, nil
}

// reservationEntries checks the request's reservation entries (step 5) and
// returns them by id (a repeated id: the last entry wins, as in Blazar).
func reservationEntries(current []ReservationView, req []ReservationRequest) (map[string]*ReservationRequest, error) {
	ids := make([]string, len(req))
	for i, r := range req {
		if absent(r.ID) {
			return nil, ErrMissingReservationID()
		}
		id, ok := jsonString(r.ID)
		if !ok {
			id = shownRaw(r.ID)
		}
		ids[i] = id
	}
	known := make(map[string]ReservationView, len(current))
	for _, c := range current {
		known[c.ID] = c
	}
	var invalid []string
	for _, id := range ids {
		if _, ok := known[id]; !ok && !slices.Contains(invalid, id) {
			invalid = append(invalid, id)
		}
	}
	if len(invalid) > 0 {
		return nil, ErrInvalidReservationIDs(invalid)
	}
	out := make(map[string]*ReservationRequest, len(req))
	for i := range req {
		if !absent(req[i].ResourceType) {
			rt, ok := jsonString(req[i].ResourceType)
			if !ok || rt != known[ids[i]].ResourceType {
				return nil, ErrResourceTypeNotUpdatable()
			}
		}
		out[ids[i]] = &req[i]
	}
	return out, nil
}

// updateReservation is step 6 for one reservation: Blazar's
// update_reservation decides whether to re-check (parameters sent, or the
// window grew), and _update_allocations validates what it then uses.
func updateReservation(cur ReservationView, entry *ReservationRequest, extended bool) (ReservationUpdate, error) {
	u := ReservationUpdate{ID: cur.ID, Min: cur.Min, Max: cur.Max,
		HypervisorProperties: cur.HypervisorProperties, ResourceProperties: cur.ResourceProperties}
	var e ReservationRequest
	if entry != nil {
		e = *entry
	}
	paramsGiven := e.Min != nil || e.Max != nil || e.HypervisorProperties != nil || e.ResourceProperties != nil
	u.Recheck = paramsGiven || extended
	if !u.Recheck {
		f, err := ParseFilters(u.HypervisorProperties, u.ResourceProperties)
		if err != nil { // stored filters were validated on create; keep them as they are
			f = nil
		}
		u.Filter = f
		return u, nil
	}
	minHosts, maxHosts, err := checkMinMax(e.Min, e.Max, cur.Min, cur.Max, true)
	if err != nil {
		return ReservationUpdate{}, err
	}
	u.Min, u.Max = minHosts, maxHosts
	if e.HypervisorProperties != nil {
		if u.HypervisorProperties, err = filterText(e.HypervisorProperties); err != nil {
			return ReservationUpdate{}, err
		}
	}
	if e.ResourceProperties != nil {
		if u.ResourceProperties, err = filterText(e.ResourceProperties); err != nil {
			return ReservationUpdate{}, err
		}
	}
	if u.Filter, err = ParseFilters(u.HypervisorProperties, u.ResourceProperties); err != nil {
		return ReservationUpdate{}, err
	}
	return u, nil
}

// currentReservations is every reservation unchanged (a rename).
func currentReservations(rs []ReservationView) []ReservationUpdate {
	out := make([]ReservationUpdate, 0, len(rs))
	for _, r := range rs {
		u, _ := updateReservation(r, nil, false)
		out = append(out, u)
	}
	return out
}

func findEvent(events []EventView, typ string) *EventView {
	for i := range events {
		if events[i].Type == typ {
			return &events[i]
		}
	}
	return nil
}

// eventFired: the lease has the event and it is no longer UNDONE.
func eventFired(events []EventView, typ string) bool {
	e := findEvent(events, typ)
	return e != nil && e.Status != EventUndone
}
