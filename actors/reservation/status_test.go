package reservation

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLeaseTransitions checks every pair against the reference's table (A.4),
// written out again here.
func TestLeaseTransitions(t *testing.T) {
	table := map[string]string{
		LeaseCreating:    "PENDING DELETING",
		LeasePending:     "STARTING UPDATING DELETING",
		LeaseStarting:    "ACTIVE ERROR DELETING",
		LeaseActive:      "TERMINATING UPDATING DELETING",
		LeaseTerminating: "TERMINATED ERROR DELETING",
		LeaseTerminated:  "UPDATING DELETING",
		LeaseError:       "TERMINATING UPDATING DELETING",
		LeaseUpdating:    "PENDING ACTIVE TERMINATED ERROR DELETING",
		LeaseDeleting:    "ERROR",
	}
	all := []string{LeasePending, LeaseActive, LeaseTerminated, LeaseError,
		LeaseCreating, LeaseStarting, LeaseUpdating, LeaseTerminating, LeaseDeleting}
	for _, from := range all {
		for _, to := range all {
			want := slices.Contains(strings.Fields(table[from]), to)
			if got := LeaseTransitionAllowed(from, to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		stable := from == LeasePending || from == LeaseActive || from == LeaseTerminated || from == LeaseError
		if IsStableLeaseStatus(from) != stable {
			t.Errorf("%s stable: %v", from, !stable)
		}
		// Updates (and deletes) are refused exactly in the transitional statuses,
		// CREATING aside, which may only be deleted.
		if (CheckLeaseTransition(from, LeaseUpdating) == nil) != stable {
			t.Errorf("update from %s", from)
		}
	}
	if got := errText(CheckLeaseTransition(LeaseStarting, LeaseUpdating)); got != "409 Invalid lease status." {
		t.Errorf("%s", got)
	}
}

func TestDeriveStatus(t *testing.T) {
	for _, c := range []struct{ start, end, want string }{
		{EventUndone, EventUndone, LeasePending},
		{EventDone, EventUndone, LeaseActive},
		{EventDone, EventDone, LeaseTerminated},
		{EventError, EventUndone, LeaseError},
		{EventDone, EventError, LeaseError},
		{EventInProgress, EventUndone, LeaseError},
		{EventUndone, EventDone, LeaseError},
	} {
		if got := DeriveStatus(c.start, c.end); got != c.want {
			t.Errorf("%s/%s: %s, want %s", c.start, c.end, got, c.want)
		}
	}
}

func TestReservationAndEventTransitions(t *testing.T) {
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{ReservationPending, ReservationActive, true},
		{ReservationPending, ReservationDeleted, true},
		{ReservationPending, ReservationError, true},
		{ReservationActive, ReservationDeleted, true},
		{ReservationActive, ReservationError, true},
		{ReservationActive, ReservationPending, false},
		{ReservationError, ReservationDeleted, true},
		{ReservationError, ReservationActive, false},
		{ReservationDeleted, ReservationActive, false},
	} {
		if got := ReservationTransitionAllowed(c.from, c.to); got != c.want {
			t.Errorf("reservation %s → %s: %v", c.from, c.to, got)
		}
	}
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{EventUndone, EventInProgress, true},
		{EventInProgress, EventDone, true},
		{EventInProgress, EventError, true},
		{EventInProgress, EventUndone, true}, // retry
		{EventDone, EventUndone, true},       // before_end re-armed
		{EventUndone, EventDone, false},
		{EventError, EventUndone, false},
	} {
		if got := EventTransitionAllowed(c.from, c.to); got != c.want {
			t.Errorf("event %s → %s: %v", c.from, c.to, got)
		}
	}
}

func TestEventOrder(t *testing.T) {
	t0 := at("2026-01-01 10:00:00")
	events := []DueEvent{
		{"b", EventBeforeEndLease, t0},                   // b's before_end, clamped to its start
		{"b", EventStartLease, t0},                       // b starts where a ends (back to back)
		{"c", EventStartLease, t0.Add(-time.Second)},     // earlier: first
		{"a", EventEndLease, t0},                         // frees the host b starts on
		{"d", EventEndLease, t0.Add(time.Second)},        // later: last
		{"a", EventBeforeEndLease, t0.Add(-time.Minute)}, // earliest
	}
	EventOrder(events)
	var got []string
	for _, e := range events {
		got = append(got, e.LeaseID+":"+e.Type)
	}
	want := "a:before_end_lease c:start_lease a:end_lease b:start_lease b:before_end_lease d:end_lease"
	if strings.Join(got, " ") != want {
		t.Errorf("%s\nwant %s", strings.Join(got, " "), want)
	}
}
