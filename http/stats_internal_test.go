package http

import (
	"testing"

	"keel/store"
	"keel/store/storepb"
)

// Listener statistics sum the listener's rows as Octavia does: every counter,
// active connections only from ALLOCATED amphorae; an amphora's statistics are
// its own row.
func TestListenerTraffic(t *testing.T) {
	st := store.NewState()
	st.Amphorae.Put(&storepb.Amphora{Id: "a1", LoadbalancerId: "lb", Status: "ALLOCATED"})
	st.Amphorae.Put(&storepb.Amphora{Id: "a2", LoadbalancerId: "lb", Status: "PENDING_DELETE"})
	row := func(amp, l string, in, out, active, total, errs uint64) {
		st.ListenerStatistics.Put(&storepb.ListenerStatistics{Id: store.ListenerStatisticsID(amp, l), AmphoraId: amp,
			ListenerId: l, LoadbalancerId: "lb", BytesIn: in, BytesOut: out, ActiveConnections: active,
			TotalConnections: total, RequestErrors: errs})
	}
	row("a1", "l1", 100, 1000, 3, 10, 1)
	row("a2", "l1", 50, 500, 7, 5, 2) // replaced: its active connections are stale
	row("l1", "l1", 20, 200, 0, 2, 0) // amphorae deleted since
	row("a1", "l2", 1, 1, 1, 1, 1)

	if got, want := listenerTraffic(st, "l1"), (stats{BytesIn: 170, BytesOut: 1700, ActiveConnections: 3, TotalConnections: 17, RequestErrors: 3}); got != want {
		t.Fatalf("l1: %+v, want %+v", got, want)
	}
	if got := listenerTraffic(st, "l3"); got != (stats{}) {
		t.Fatalf("a listener nothing reported: %+v", got)
	}
	if got, want := amphoraTraffic(st, "a2", "l1"), (stats{BytesIn: 50, BytesOut: 500, ActiveConnections: 7, TotalConnections: 5, RequestErrors: 2}); got != want {
		t.Fatalf("a2 on l1: %+v, want %+v", got, want)
	}
	if got := amphoraTraffic(st, "a2", "l2"); got != (stats{}) {
		t.Fatalf("a2 on l2: %+v", got)
	}
}
