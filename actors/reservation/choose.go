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

// ChooseHosts is Blazar's _matching_hosts. candidates are the enrolled hosts
// in inventory order; busy(id) returns the windows of every allocation the
// host has, at any time (not only those near req.Window: a host with any
// allocation at all is treated differently from one with none).
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
func ChooseHosts(candidates []Host, busy func(hostID string) []Window, req HostRequest) ([]string, error) {
	var allocated, fresh []string
	for _, h := range candidates {
		if !h.Reservable || req.Exclude[h.ID] || !req.Filter.Match(h) {
			continue
		}
		windows := busy(h.ID)
		if len(windows) == 0 {
			fresh = append(fresh, h.ID)
			continue
		}
		if !anyOverlap(windows, req.Window, req.Cleaning) {
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
