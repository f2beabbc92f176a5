package reservation

import "time"

// Reallocation is one physical:host reservation under a lease update: its
// status and hosts now, and what the update asks (a ReservationUpdate with
// Recheck set, and the lease's old and new windows).
type Reallocation struct {
	Status string
	// Hosts are the hosts allocated now, in allocation order.
	Hosts    []string
	Old, New Window
	Min, Max int
	Filter   Requirements
	Cleaning time.Duration
}

// ReallocationPlan says what becomes of the reservation's hosts: Keep stay,
// Remove lose their allocation, Add gain one (in that order of choice).
type ReallocationPlan struct {
	Keep, Remove, Add []string
}

// Reallocate is Blazar's _update_allocations, for a reservation whose
// ReservationUpdate has Recheck set (without it, nothing is re-checked and
// the hosts stay: no parameters sent and the new window inside the old one).
// inventory is every enrolled
// host in inventory order; busy(id) returns the windows of the host's
// allocations to OTHER reservations (the one being updated is described by
// r.Hosts and r.Old).
//
// A host is removed when it no longer matches the filter (reservable or not),
// or when the window grew and another allocation on it Overlaps the new
// window; then, if more than Max remain, the first ones (allocation order)
// beyond what Max allows. An active reservation may gain hosts but never
// lose one: any removal is ErrNotEnoughHosts. If fewer than Max remain, more
// are chosen for the new window (ChooseHosts, excluding the current hosts)
// asking for at least Min − kept; too few is ErrNotEnoughHosts.
//
// Blazar does not apply cleaning_time when it checks a kept host against the
// grown window; keel does, so that the store, which refuses with Overlaps,
// accepts what this plans.
func Reallocate(r Reallocation, inventory []Host, busy func(hostID string) []Window) (ReallocationPlan, error) {
	byID := make(map[string]Host, len(inventory))
	for _, h := range inventory {
		byID[h.ID] = h
	}
	grown := r.New.Start.Before(r.Old.Start) || r.New.End.After(r.Old.End)
	var plan ReallocationPlan
	removed := map[string]bool{}
	for _, id := range r.Hosts {
		h, ok := byID[id]
		if !ok || !r.Filter.Match(h) || (grown && anyOverlap(busy(id), r.New, r.Cleaning)) {
			removed[id] = true
		}
	}
	kept := len(r.Hosts) - len(removed)
	for _, id := range r.Hosts {
		if kept <= r.Max {
			break
		}
		if !removed[id] {
			removed[id] = true
			kept--
		}
	}
	for _, id := range r.Hosts {
		if removed[id] {
			plan.Remove = append(plan.Remove, id)
		} else {
			plan.Keep = append(plan.Keep, id)
		}
	}
	if len(plan.Remove) > 0 && r.Status == ReservationActive {
		return ReallocationPlan{}, ErrNotEnoughHosts()
	}
	if kept < r.Max {
		exclude := make(map[string]bool, len(r.Hosts))
		for _, id := range r.Hosts {
			exclude[id] = true
		}
		add, err := ChooseHosts(inventory, Windows(busy), HostRequest{
			Window: r.New, Cleaning: r.Cleaning,
			Min: max(r.Min-kept, 0), Max: r.Max - kept,
			Filter: r.Filter, Exclude: exclude,
		})
		if err != nil {
			return ReallocationPlan{}, err
		}
		plan.Add = add
	}
	return plan, nil
}
