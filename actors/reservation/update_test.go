package reservation

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func decodeUpdate(t *testing.T, body string) UpdateRequest {
	t.Helper()
	var req UpdateRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return req
}

// leaseView is a lease from start to end with one physical:host reservation
// "r1" (1-1, no filter) and its three events, in status st with the events
// as that status implies.
func leaseView(st, start, end string) LeaseView {
	ev := map[string][2]string{
		LeasePending:    {EventUndone, EventUndone},
		LeaseActive:     {EventDone, EventUndone},
		LeaseTerminated: {EventDone, EventDone},
		LeaseError:      {EventError, EventUndone},
		LeaseStarting:   {EventInProgress, EventUndone},
		LeaseUpdating:   {EventUndone, EventUndone},
	}[st]
	resStatus := map[string]string{LeasePending: ReservationPending, LeaseActive: ReservationActive,
		LeaseTerminated: ReservationDeleted}[st]
	s, e := at(start), at(end)
	beStatus := EventUndone
	if st == LeaseActive || st == LeaseTerminated {
		beStatus = EventDone
	}
	return LeaseView{Status: st, Start: s, End: e,
		Reservations: []ReservationView{{ID: "r1", ResourceType: ResourcePhysicalHost, Status: resStatus, Min: 1, Max: 1}},
		Events: []EventView{{EventStartLease, s, ev[0]}, {EventEndLease, e, ev[1]},
			{EventBeforeEndLease, e.Add(-time.Hour), beStatus}}}
}

func TestValidateUpdate(t *testing.T) {
	now := at("2026-11-25 12:00:30")
	pending := leaseView(LeasePending, "2026-11-26 00:00:00", "2026-11-26 05:00:00")
	active := leaseView(LeaseActive, "2026-11-25 10:00:00", "2026-11-25 15:00:00")
	// Ended in the current minute: Blazar's end < now is false, keel refuses anyway.
	terminated := leaseView(LeaseTerminated, "2026-11-25 10:00:00", "2026-11-25 12:00:00")
	errored := leaseView(LeaseError, "2026-11-25 10:00:00", "2026-11-25 15:00:00")
	starting := leaseView(LeaseStarting, "2026-11-25 12:00:00", "2026-11-25 15:00:00")
	for _, c := range []struct {
		name  string
		lease LeaseView
		body  string
		want  string
	}{
		{"empty body", pending, `{}`, "name-only 2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 keep]"},
		{"rename pending", pending, `{"name": "x"}`, "name=x name-only 2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 keep]"},
		{"rename terminated", terminated, `{"name": "x"}`, "name=x name-only 2026-11-25 10:00:00..2026-11-25 12:00:00 be=2026-11-25 11:00:00 [r1 keep]"},
		{"rename error", errored, `{"name": "x", "events": [], "foo": 1, "before_end_date": null}`,
			"name=x name-only 2026-11-25 10:00:00..2026-11-25 15:00:00 be=2026-11-25 14:00:00 [r1 keep]"},
		{"rename while starting", starting, `{"name": "x"}`, "409 Invalid lease status."},
		{"empty body while updating", leaseView(LeaseUpdating, "2026-11-26 00:00:00", "2026-11-26 05:00:00"), `{}`,
			"409 Invalid lease status."},
		{"name not a string", pending, `{"name": 1}`, "400 Malformed parameter name"},

		// Dates.
		{"prolong pending", pending, `{"end_date": "2026-11-26 07:00"}`,
			"2026-11-26 00:00:00..2026-11-26 07:00:00 be=2026-11-26 06:00:00 [r1 recheck 1-1 []]"},
		{"shorten pending: nothing to re-check", pending, `{"end_date": "2026-11-26 04:00"}`,
			"2026-11-26 00:00:00..2026-11-26 04:00:00 be=2026-11-26 03:00:00 [r1 keep]"},
		{"defer start: nothing to re-check", pending, `{"start_date": "2026-11-26 01:00"}`,
			"2026-11-26 01:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 keep]"},
		{"advance start to now", pending, `{"start_date": "now"}`,
			"2026-11-25 12:00:30..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 recheck 1-1 []]"},
		{"start in the past", pending, `{"start_date": "2026-11-25 11:59"}`, "400 Start date must be later than current date"},
		{"start in the current minute", pending, `{"start_date": "2026-11-25 12:00"}`,
			"2026-11-25 12:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 recheck 1-1 []]"},
		{"bad date", pending, `{"end_date": "2026-11-26T07:00"}`,
			"400 2026-11-26T07:00 is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"move start of active", active, `{"start_date": "2026-11-25 13:00"}`,
			"400 Cannot modify the start date of already started leases"},
		{"same start of active is fine", active, `{"start_date": "2026-11-25 10:00", "end_date": "2026-11-25 16:00"}`,
			"2026-11-25 10:00:00..2026-11-25 16:00:00 be=2026-11-25 15:00:00 rearm [r1 recheck 1-1 []]"},
		// keel's events fire to the second: a lease that started this minute has started.
		{"start event fired this minute", leaseView(LeaseActive, "2026-11-25 12:00:10", "2026-11-25 15:00:00"),
			`{"start_date": "2026-11-25 13:00"}`, "400 Cannot modify the start date of already started leases"},
		{"prolong terminated", terminated, `{"end_date": "2026-11-25 13:00"}`, "400 Terminated leases can only be renamed"},
		{"reservations on terminated", terminated, `{"reservations": []}`, "400 Terminated leases can only be renamed"},
		{"end in the past", active, `{"end_date": "2026-11-25 11:00"}`, "400 End date must be later than current and start date"},
		{"end before start", pending, `{"end_date": "2026-11-25 23:00"}`, "400 End date must be later than current and start date"},
		{"end equals start", pending, `{"end_date": "2026-11-26 00:00"}`, "400 End date must be later than current and start date"},
		{"end now on active", active, `{"end_date": "now"}`,
			"2026-11-25 10:00:00..2026-11-25 12:00:30 be=2026-11-25 11:00:30 rearm [r1 keep]"},
		{"shorten active into the past", active, `{"end_date": "2026-11-25 10:30"}`,
			"400 End date must be later than current and start date"},

		// before_end_date.
		{"before_end_date", pending, `{"before_end_date": "2026-11-26 02:00"}`,
			"2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 02:00:00 [r1 keep]"},
		{"before_end_date outside the new window", pending, `{"end_date": "2026-11-26 03:00", "before_end_date": "2026-11-26 04:00"}`,
			"403 Datetime is out of lease limits"},
		{"before_end_date at the start", pending, `{"before_end_date": "2026-11-26 00:00"}`, "403 Datetime is out of lease limits"},
		{"before_end_date malformed", pending, `{"before_end_date": "soon"}`,
			"400 soon is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"before_end moves with the end", pending, `{"start_date": "2026-11-26 06:00", "end_date": "2026-11-26 09:00"}`,
			"2026-11-26 06:00:00..2026-11-26 09:00:00 be=2026-11-26 08:00:00 [r1 recheck 1-1 []]"},
		{"before_end clamped to the new start", pending, `{"start_date": "2026-11-26 04:30", "end_date": "2026-11-26 05:00"}`,
			"2026-11-26 04:30:00..2026-11-26 05:00:00 be=2026-11-26 04:30:00 [r1 keep]"},

		// Reservations.
		{"new max", pending, `{"reservations": [{"id": "r1", "max": 3}]}`,
			"2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 recheck 1-3 []]"},
		{"new filter", pending, `{"reservations": [{"id": "r1", "resource_properties": "[\"==\", \"$gpu\", \"yes\"]"}]}`,
			"2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 recheck 1-1 [{gpu == yes}]]"},
		{"same resource_type is fine", pending, `{"reservations": [{"id": "r1", "resource_type": "physical:host"}]}`,
			"2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 04:00:00 [r1 keep]"},
		{"missing id", pending, `{"reservations": [{"id": "nope"}, {"max": 2}]}`, "400 Missing parameter reservation ID"},
		{"unknown id", pending, `{"reservations": [{"id": "nope"}, {"id": "r1"}, {"id": "nope"}]}`,
			"400 Please enter valid reservation IDs. Invalid reservation IDs are: nope"},
		{"resource_type change", pending, `{"reservations": [{"id": "r1", "resource_type": "virtual:instance"}]}`,
			"409 resource_type cannot be updated"},
		{"bad min", pending, `{"reservations": [{"id": "r1", "min": "2"}]}`, "400 Malformed parameter min"},
		{"min above current max", pending, `{"reservations": [{"id": "r1", "min": 2}]}`,
			"400 Invalid values for min/max of hosts. Max must be equal to or larger than min."},
		{"bad filter", pending, `{"reservations": [{"id": "r1", "hypervisor_properties": "[\"==\", \"$vcpus\", 8]"}]}`,
			"400 Malformed requirements ['==', '$vcpus', 8]"},
		{"reservation checks come after the dates", pending,
			`{"end_date": "2026-11-25 23:00", "reservations": [{"id": "nope"}]}`,
			"400 End date must be later than current and start date"},
	} {
		p, err := ValidateUpdate(c.lease, decodeUpdate(t, c.body), now)
		got := errText(err)
		if err == nil {
			got = updateText(p)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func updateText(p UpdatePlan) string {
	const f = "2006-01-02 15:04:05"
	var parts []string
	if p.Name != nil {
		parts = append(parts, "name="+*p.Name)
	}
	if p.NameOnly {
		parts = append(parts, "name-only")
	}
	parts = append(parts, p.Start.Format(f)+".."+p.End.Format(f))
	if p.BeforeEnd != nil {
		parts = append(parts, "be="+p.BeforeEnd.Format(f))
	}
	if p.AddBeforeEnd {
		parts = append(parts, "add")
	}
	if p.RearmBeforeEnd {
		parts = append(parts, "rearm")
	}
	for _, r := range p.Reservations {
		if r.Recheck {
			parts = append(parts, fmt.Sprintf("[%s recheck %d-%d %s]", r.ID, r.Min, r.Max, fmtReqs(r.Filter)))
		} else {
			parts = append(parts, "["+r.ID+" keep]")
		}
	}
	return strings.Join(parts, " ")
}

// TestUpdateAddsBeforeEnd: a lease created without a before_end event
// (minutes_before_end_lease 0) gets one when before_end_date is sent.
func TestUpdateAddsBeforeEnd(t *testing.T) {
	l := leaseView(LeasePending, "2026-11-26 00:00:00", "2026-11-26 05:00:00")
	l.Events = l.Events[:2]
	p, err := ValidateUpdate(l, decodeUpdate(t, `{"before_end_date": "2026-11-26 03:00"}`), at("2026-11-25 12:00:00"))
	if err != nil || updateText(p) != "2026-11-26 00:00:00..2026-11-26 05:00:00 be=2026-11-26 03:00:00 add [r1 keep]" {
		t.Errorf("%s %v", updateText(p), err)
	}
	p, err = ValidateUpdate(l, decodeUpdate(t, `{"end_date": "2026-11-26 06:00"}`), at("2026-11-25 12:00:00"))
	if err != nil || p.BeforeEnd != nil {
		t.Errorf("no before_end event, none asked for: %s %v", updateText(p), err)
	}
}
