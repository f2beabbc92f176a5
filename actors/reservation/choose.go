package reservation

import "time"

// A Window is a reservation's time: its lease's [Start, End), half-open, so a
// lease ending at 10:00 and one starting at 10:00 do not meet.
type Window struct {
	Start, End time.Time
}

// Overlaps reports whether two windows share a moment once each is kept
// cleaning apart from the other: a.Start − cleaning < b.End and
// b.Start < a.End + cleaning. Windows that touch (one ends exactly when the
// other starts, cleaning 0) do not overlap: Blazar allows back-to-back leases
// on a host. Widening either window by cleaning on both sides gives the same
// answer, so the relation is symmetric. This is the one definition of a
// double booking: the host choice uses it, and the store refuses with it.
func Overlaps(a, b Window, cleaning time.Duration) bool {
	return a.Start.Add(-cleaning).Before(b.End) && b.Start.Before(a.End.Add(cleaning))
}

// HostRequest is what ChooseHosts is asked: hosts for Window, kept Cleaning
// ([DEFAULT] cleaning_time) away from other allocations, between Min and Max
// of them, matching Filter, none of Exclude (hosts the reservation already
// holds, or hosts a caller retries without after losing a race for them).
type HostRequest struct {
	Window   Window
	Cleaning time.Duration
	Min, Max int
	Filter   Requirements
	Exclude  map[string]bool
}

// Availability is what the host choice asks of the hosts' allocations.
type Availability interface {
	// Allocated reports whether the host has any allocation, at any time (a
	// host with none is treated differently from one with some).
	Allocated(hostID string) bool
	// Busy reports whether an allocation of the host Overlaps w, cleaning
	// apart.
	Busy(hostID string, w Window, cleaning time.Duration) bool
}

// Windows is an Availability from every window each host is allocated for
// (tests, and the update's re-allocation, which moves the lease's own).
type Windows func(hostID string) []Window

// Allocated reports whether hostID has any window.
func (f Windows) Allocated(hostID string) bool { return len(f(hostID)) > 0 }

// Busy reports whether a window of hostID overlaps w.
func (f Windows) Busy(hostID string, w Window, cleaning time.Duration) bool {
	return anyOverlap(f(hostID), w, cleaning)
}

// ChooseHosts is Blazar's _matching_hosts. candidates are the enrolled hosts
// in inventory order; avail answers for their allocations.
//
// Only reservable hosts matching the filter and not excluded are considered.
// A host with no allocation is free; a host with allocations is usable if
// none Overlaps the window (cleaning included). If the never-allocated hosts
// alone number at least Min, the answer is the first Max of those only — even
// when usable allocated hosts could bring it closer to Max (Blazar's
// preference, kept: it spreads leases over fresh hosts first). Otherwise it
// is the first Max of the usable allocated hosts followed by the
// never-allocated ones. Fewer than Min is ErrNotEnoughHosts. With Min 0 the
// answer may be empty.
//
// The scan stops once Max never-allocated hosts are found: the answer is
// then those, whatever follows.
func ChooseHosts(candidates []Host, avail Availability, req HostRequest) ([]string, error) {
	var allocated, fresh []string
	for _, h := range candidates {
		if !h.Reservable || req.Exclude[h.ID] || !req.Filter.Match(h) {
			continue
		}
		if !avail.Allocated(h.ID) {
			fresh = append(fresh, h.ID)
			if len(fresh) >= req.Max && len(fresh) >= req.Min {
				break
			}
			continue
		}
		if !avail.Busy(h.ID, req.Window, req.Cleaning) {
			allocated = append(allocated, h.ID)
		}
	}
	if len(fresh) >= req.Min {
		return firstN(fresh, req.Max), nil
	}
	all := append(allocated, fresh...)
	if len(all) >= req.Min {
		return firstN(all, req.Max), nil
	}
	return nil, ErrNotEnoughHosts()
}

func anyOverlap(windows []Window, w Window, cleaning time.Duration) bool {
	for _, b := range windows {
		if Overlaps(w, b, cleaning) {
			return true
		}
	}
	return false
}

func firstN(ids []string, n int) []string {
	if n < 0 {
		n = 0
	}
	if len(ids) > n {
		ids = ids[:n]
	}
	return append([]string{}, ids...)
}
