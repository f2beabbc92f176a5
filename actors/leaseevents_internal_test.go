package actors

import (
	"testing"

	"keel/store/storepb"
)

// Due events split into phases: one lease's events in order, and a start
// after an end at the same moment waits for the end (back-to-back leases).
func TestEventPhases(t *testing.T) {
	ev := func(lease, typ string) *storepb.LeaseEvent {
		return &storepb.LeaseEvent{Id: lease + "-" + typ, LeaseId: lease, EventType: typ}
	}
	due := []*storepb.LeaseEvent{
		ev("a", storepb.EventEndLease), ev("c", storepb.EventEndLease),
		ev("b", storepb.EventStartLease), ev("d", storepb.EventStartLease), ev("b", storepb.EventBeforeEndLease),
		ev("e", storepb.EventEndLease),
	}
	var got [][]string
	for _, p := range phases(due) {
		var ids []string
		for _, e := range p {
			ids = append(ids, e.Id)
		}
		got = append(got, ids)
	}
	want := "[[a-end_lease c-end_lease] [b-start_lease d-start_lease] [b-before_end_lease e-end_lease]]"
	if s := fmtPhases(got); s != want {
		t.Fatalf("phases %s, want %s", s, want)
	}
	var s LatenessSnapshot
	if s.Quantile(0.99) != 0 {
		t.Fatal("empty quantile")
	}
}

func fmtPhases(p [][]string) string {
	out := "["
	for i, ids := range p {
		if i > 0 {
			out += " "
		}
		out += "["
		for j, id := range ids {
			if j > 0 {
				out += " "
			}
			out += id
		}
		out += "]"
	}
	return out + "]"
}
