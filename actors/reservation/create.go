package reservation

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Decoding. The HTTP layer decodes the body with encoding/json straight into
// LeaseRequest or UpdateRequest; the fields are json.RawMessage so that these
// rules, not the decoder, judge the values and so that absent (nil), null
// ("null") and a value of the wrong JSON type can be told apart (a "min" of
// "1" from 1). Unknown keys, "events" among them, are ignored: Blazar appends
// client events on create and lets them replace the lease's on update, which
// wrecks the lease; keel takes neither. A body that does not decode (not an
// object, "reservations" not a list of objects) is the caller's 400:
// ErrMalformedParameter("reservations") for the latter (Blazar: 500).

// LeaseRequest is the body of POST /v1/leases.
type LeaseRequest struct {
	Name          json.RawMessage      `json:"name"`
	StartDate     json.RawMessage      `json:"start_date"`
	EndDate       json.RawMessage      `json:"end_date"`
	BeforeEndDate json.RawMessage      `json:"before_end_date"`
	Reservations  []ReservationRequest `json:"reservations"`
}

// ReservationRequest is one element of "reservations" (create and update;
// ID is read on update only).
type ReservationRequest struct {
	ID                   json.RawMessage `json:"id"`
	ResourceType         json.RawMessage `json:"resource_type"`
	Min                  json.RawMessage `json:"min"`
	Max                  json.RawMessage `json:"max"`
	HypervisorProperties json.RawMessage `json:"hypervisor_properties"`
	ResourceProperties   json.RawMessage `json:"resource_properties"`
	BeforeEnd            json.RawMessage `json:"before_end"`
}

// ResourcePhysicalHost is the one resource type keel serves.
const ResourcePhysicalHost = "physical:host"

// notServed are Blazar's other resource types: refused with keel's own text
// rather than "not supported", which would say Blazar has no such plugin.
var notServed = map[string]bool{"virtual:instance": true, "virtual:floatingip": true, "flavor:instance": true}

// BeforeEndOptions are the accepted values of a reservation's before_end:
// "default" (the [physical:host] before_end setting), "snapshot", "" (none).
var BeforeEndOptions = []string{"", "snapshot", "default"}

// Plan is a validated lease create: what to store. Reservations still need
// hosts: for each, the caller checks the filter's capability names
// (CheckCapabilities) and chooses hosts (ChooseHosts) against the store.
type Plan struct {
	Name       string
	Start, End time.Time
	// BeforeEnd is the before_end_lease event's time; nil when the lease has
	// none (no before_end_date and minutes_before_end_lease 0).
	BeforeEnd    *time.Time
	Reservations []PlannedReservation
}

// PlannedEvent is one event of a new lease.
type PlannedEvent struct {
	Type string
	Time time.Time
}

// Events are the lease's events in Blazar's order (start, end, before_end),
// all UNDONE.
func (p Plan) Events() []PlannedEvent {
	ev := []PlannedEvent{{EventStartLease, p.Start}, {EventEndLease, p.End}}
	if p.BeforeEnd != nil {
		ev = append(ev, PlannedEvent{EventBeforeEndLease, *p.BeforeEnd})
	}
	return ev
}

// PlannedReservation is a validated physical:host reservation.
type PlannedReservation struct {
	ResourceType string
	Min, Max     int
	// The filters as sent (stored and shown so; null is kept as "").
	HypervisorProperties, ResourceProperties string
	// Filter is both filters parsed, hypervisor_properties first.
	Filter Requirements
	// BeforeEnd is the before_end action, "default" when not sent.
	BeforeEnd string
}

// ValidateCreate applies Blazar's create checks in its order; the first
// refusal wins:
//
//  1. name, start_date, end_date present (null counts as absent): "Missing
//     parameter name, end_date" lists every one missing;
//  2. every reservation has a resource_type;
//  3. the dates parse (ParseDate), start first;
//  4. start not before the current minute;
//  5. end after start (equal refused);
//  6. per reservation in order: a resource type keel serves, then min, max,
//     the filters' presence, before_end, then the filters' syntax;
//  7. before_end_date, if given (non-empty): a date strictly inside the lease.
//
// Blazar checks 7 after choosing hosts; keel checks it before (the caller
// chooses hosts after ValidateCreate), so when both fail keel names the date.
// minutesBeforeEnd is [manager] minutes_before_end_lease (Blazar's default
// 60): without before_end_date the before_end event is that long before the
// end, but not before the start; 0 means no before_end event.
func ValidateCreate(req LeaseRequest, now time.Time, minutesBeforeEnd int) (Plan, error) {
	var missing []string
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"name", req.Name}, {"start_date", req.StartDate}, {"end_date", req.EndDate}} {
		if absent(f.raw) {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Plan{}, ErrMissingParameter(missing...)
	}
	for _, r := range req.Reservations {
		if absent(r.ResourceType) {
			return Plan{}, ErrMissingParameter("resource_type")
		}
	}
	name, ok := jsonString(req.Name)
	if !ok {
		return Plan{}, ErrMalformedParameter("name")
	}
	start, err := parseRawDate(req.StartDate, now, true)
	if err != nil {
		return Plan{}, err
	}
	end, err := parseRawDate(req.EndDate, now, true)
	if err != nil {
		return Plan{}, err
	}
	if start.Before(currentMinute(now)) {
		return Plan{}, ErrStartInPast()
	}
	if !end.After(start) {
		return Plan{}, ErrEndNotAfterStart()
	}
	p := Plan{Name: name, Start: start, End: end, Reservations: []PlannedReservation{}}
	for _, r := range req.Reservations {
		pr, err := validateReservation(r)
		if err != nil {
			return Plan{}, err
		}
		p.Reservations = append(p.Reservations, pr)
	}
	var beforeEnd time.Time
	if given(req.BeforeEndDate) {
		if beforeEnd, err = parseRawDate(req.BeforeEndDate, now, false); err != nil {
			return Plan{}, err
		}
		if err := checkInside(beforeEnd, start, end); err != nil {
			return Plan{}, err
		}
	} else if minutesBeforeEnd > 0 {
		beforeEnd = end.Add(-time.Duration(minutesBeforeEnd) * time.Minute)
	}
	if !beforeEnd.IsZero() {
		t := clampUp(beforeEnd, start)
		p.BeforeEnd = &t
	}
	return p, nil
}

// validateReservation is steps 6: the resource type, then the physical:host
// parameters (Blazar's _check_params) and filters.
func validateReservation(r ReservationRequest) (PlannedReservation, error) {
	rt, ok := jsonString(r.ResourceType)
	if !ok {
		return PlannedReservation{}, ErrUnsupportedResourceType(shownRaw(r.ResourceType))
	}
	if notServed[rt] {
		return PlannedReservation{}, ErrResourceTypeNotServed(rt)
	}
	if rt != ResourcePhysicalHost {
		return PlannedReservation{}, ErrUnsupportedResourceType(rt)
	}
	minHosts, maxHosts, err := checkMinMax(r.Min, r.Max, 0, 0, false)
	if err != nil {
		return PlannedReservation{}, err
	}
	if r.HypervisorProperties == nil {
		return PlannedReservation{}, ErrMissingParameter("hypervisor_properties")
	}
	if r.ResourceProperties == nil {
		return PlannedReservation{}, ErrMissingParameter("resource_properties")
	}
	beforeEnd := "default"
	if r.BeforeEnd != nil {
		s, ok := jsonString(r.BeforeEnd)
		if !ok || !slices.Contains(BeforeEndOptions, s) {
			return PlannedReservation{}, ErrMalformedParameter("before_end")
		}
		beforeEnd = s
	}
	hyp, err := filterText(r.HypervisorProperties)
	if err != nil {
		return PlannedReservation{}, err
	}
	res, err := filterText(r.ResourceProperties)
	if err != nil {
		return PlannedReservation{}, err
	}
	filter, err := ParseFilters(hyp, res)
	if err != nil {
		return PlannedReservation{}, err
	}
	return PlannedReservation{ResourceType: rt, Min: minHosts, Max: maxHosts,
		HypervisorProperties: hyp, ResourceProperties: res, Filter: filter, BeforeEnd: beforeEnd}, nil
}

// checkMinMax is Blazar's _validate_min_max_range: min present and an
// integer, then max, then both at least 1, then max ≥ min. On update a value
// not sent is the current one (useCurrent). A JSON string is refused as
// malformed even when it holds an integer: Blazar lets "1" through its
// int-like test and then fails comparing it with 0 (a 500).
func checkMinMax(rawMin, rawMax json.RawMessage, curMin, curMax int, useCurrent bool) (int, int, error) {
	read := func(raw json.RawMessage, name string, cur int) (int, error) {
		if raw == nil && useCurrent {
			return cur, nil
		}
		if absent(raw) {
			return 0, ErrMissingParameter(name)
		}
		n, ok := jsonInt(raw)
		if !ok {
			return 0, ErrMalformedParameter(name)
		}
		return n, nil
	}
	minHosts, err := read(rawMin, "min", curMin)
	if err != nil {
		return 0, 0, err
	}
	maxHosts, err := read(rawMax, "max", curMax)
	if err != nil {
		return 0, 0, err
	}
	if minHosts <= 0 || maxHosts <= 0 {
		return 0, 0, ErrMinMaxBelowOne()
	}
	if maxHosts < minHosts {
		return 0, 0, ErrInvalidRange()
	}
	return minHosts, maxHosts, nil
}

// filterText is a filter as sent: a JSON string, or null (no filter, kept as
// ""). Another JSON value is refused as a malformed requirement (Blazar would
// evaluate it and then fail storing it in a text column: a 500).
func filterText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if s, ok := jsonString(raw); ok {
		return s, nil
	}
	return "", ErrMalformedRequirements(shownRaw(raw))
}

// parseRawDate reads a date field: a JSON string for ParseDate ("now" only
// if allowNow). Another JSON value is refused as an invalid date showing the
// JSON text (Blazar: a 500 from strptime).
func parseRawDate(raw json.RawMessage, now time.Time, allowNow bool) (time.Time, error) {
	s, ok := jsonString(raw)
	if !ok {
		return time.Time{}, ErrInvalidDate(string(bytes.TrimSpace(raw)))
	}
	if allowNow {
		return ParseDate(s, now)
	}
	return parseDateOnly(s)
}

// checkInside refuses a before_end_date not strictly between start and end.
func checkInside(t, start, end time.Time) error {
	if !(start.Before(t) && t.Before(end)) {
		return ErrOutOfLeaseLimits()
	}
	return nil
}

func clampUp(t, floor time.Time) time.Time {
	if t.Before(floor) {
		return floor
	}
	return t
}

// absent: the key was not sent, or was null.
func absent(raw json.RawMessage) bool { return raw == nil || isNull(raw) }

// given: a before_end_date-like optional value that counts (Blazar's
// truthiness: not absent, null or "").
func given(raw json.RawMessage) bool {
	if absent(raw) {
		return false
	}
	s, ok := jsonString(raw)
	return !ok || s != ""
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil || isNull(raw) {
		return "", false
	}
	return s, true
}

// jsonInt reads a JSON integer (no fraction, no exponent: Blazar's int-like
// test refuses 1.0, and true).
func jsonInt(raw json.RawMessage) (int, bool) {
	t := string(bytes.TrimSpace(raw))
	if t == "" || strings.ContainsAny(t, ".eE\"") || t == "true" || t == "false" || t == "null" {
		return 0, false
	}
	n, err := strconv.Atoi(t)
	return n, err == nil
}

// shownRaw is a JSON value as Python's str() shows it.
func shownRaw(raw json.RawMessage) string {
	v, err := decodeJSON(string(raw))
	if err != nil {
		return string(raw)
	}
	return pyStr(v)
}
