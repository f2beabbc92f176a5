package http

import (
	"errors"
	"testing"

	"keel/actors"
	"keel/store"
	"keel/store/storepb"
)

// replicaTables stands in for a node's tables and its read barrier: tables()
// answers what the node has applied, barrier() applies everything acknowledged
// (fresh) and counts itself.
type replicaTables struct {
	local, fresh *store.State
	barrierErr   error
	barriers     int
}

func (r *replicaTables) tables() *store.State { return r.local }

func (r *replicaTables) barrier() error {
	r.barriers++
	if r.barrierErr != nil {
		return r.barrierErr
	}
	r.local = r.fresh
	return nil
}

// grainCall records the calls made and answers with err.
type grainCall struct {
	err   error
	calls int
}

func (g *grainCall) call() error {
	g.calls++
	return g.err
}

func TestRouteThenCall(t *testing.T) {
	const lbID, listenerID, project = "lb-1", "listener-1", "project-1"
	withListener := store.StateOf(&storepb.Tree{LoadBalancer: &storepb.LoadBalancer{Id: lbID, ProjectId: project},
		Listeners: []*storepb.Listener{{Id: listenerID, LoadbalancerId: lbID, ProjectId: project}}})
	empty := store.StateOf(nil)
	ctx := requestAs(project, "load-balancer_member")
	var routedTo string
	route := func(st *store.State) error {
		l, err := childIn(ctx, st, listeners, listenerID, rbacListener+actPut)
		routedTo = l.GetLoadbalancerId()
		return err
	}
	listenerGone := "Listener " + listenerID + " not found."
	grainRefusal := &actors.Error{Kind: actors.KindConflict, Message: "Load Balancer lb-1 is immutable and cannot be updated."}
	unavailableErr := errors.New("no leader")

	for _, tc := range []struct {
		name         string
		local, fresh *store.State
		barrierErr   error
		grainErr     error
		wantErr      string // "" for success
		wantBarriers int
		wantCalls    int
	}{
		{name: "found here: no barrier", local: withListener, fresh: withListener, wantBarriers: 0, wantCalls: 1},
		{name: "written through another node, not applied here yet: found after a barrier",
			local: empty, fresh: withListener, wantBarriers: 1, wantCalls: 1},
		{name: "missing after the barrier too: 404, no call", local: empty, fresh: empty,
			wantErr: listenerGone, wantBarriers: 1},
		{name: "no barrier possible: 503", local: empty, fresh: withListener, barrierErr: unavailableErr,
			wantErr: "Service unavailable: no leader", wantBarriers: 1},
		{name: "the grain refuses: a fresh route that still lets it through leaves the grain's answer",
			local: withListener, fresh: withListener, grainErr: grainRefusal,
			wantErr: grainRefusal.Message, wantBarriers: 1, wantCalls: 1},
		{name: "the grain refuses what is gone: the fresh route's 404 is the answer",
			local: withListener, fresh: empty, grainErr: &actors.Error{Kind: actors.KindNotFound, Message: "Load Balancer lb-1 not found."},
			wantErr: listenerGone, wantBarriers: 1, wantCalls: 1},
		{name: "the grain refuses and no barrier is possible: its refusal is definite",
			local: withListener, fresh: empty, grainErr: grainRefusal, barrierErr: unavailableErr,
			wantErr: grainRefusal.Message, wantBarriers: 1, wantCalls: 1},
		{name: "the grain is unavailable: no barrier", local: withListener, fresh: withListener,
			grainErr: &actors.Error{Kind: actors.KindUnavailable, Message: "Service unavailable: x"},
			wantErr:  "Service unavailable: x", wantBarriers: 0, wantCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &replicaTables{local: tc.local, fresh: tc.fresh, barrierErr: tc.barrierErr}
			barrier := func() error {
				if err := r.barrier(); err != nil {
					return unavailable(err)
				}
				return nil
			}
			g := &grainCall{err: tc.grainErr}
			routedTo = ""
			err := routeThenCall(r.tables, barrier, route, g.call)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v, want success", err)
			case tc.wantErr != "":
				if _, msg := statusOf(err); msg != tc.wantErr {
					t.Fatalf("answer %q, want %q", msg, tc.wantErr)
				}
			}
			if r.barriers != tc.wantBarriers || g.calls != tc.wantCalls {
				t.Fatalf("%d barriers and %d grain calls, want %d and %d", r.barriers, g.calls, tc.wantBarriers, tc.wantCalls)
			}
			if tc.wantCalls > 0 && tc.wantErr == "" && routedTo != lbID {
				t.Fatalf("routed to %q, want %q", routedTo, lbID)
			}
		})
	}
}

// Another project's object is refused with Octavia's 403, and only once the
// refusal was confirmed on fresh tables (it may have been deleted meanwhile: 404).
func TestRouteThenCallForbidden(t *testing.T) {
	st := store.StateOf(&storepb.Tree{LoadBalancer: &storepb.LoadBalancer{Id: "lb-1", ProjectId: "p1"},
		Listeners: []*storepb.Listener{{Id: "l1", LoadbalancerId: "lb-1", ProjectId: "p1"}}})
	gone := store.StateOf(nil)
	ctx := requestAs("p2", "load-balancer_member")
	route := func(st *store.State) error {
		_, err := childIn(ctx, st, listeners, "l1", rbacListener+actPut)
		return err
	}
	for _, tc := range []struct {
		fresh      *store.State
		wantStatus int
		wantMsg    string
	}{
		{st, 403, "Policy does not allow this request to be performed."},
		{gone, 404, "Listener l1 not found."},
	} {
		r := &replicaTables{local: st, fresh: tc.fresh}
		g := &grainCall{}
		err := routeThenCall(r.tables, r.barrier, route, g.call)
		if status, msg := statusOf(err); status != tc.wantStatus || msg != tc.wantMsg {
			t.Fatalf("answer %d %q, want %d %q", status, msg, tc.wantStatus, tc.wantMsg)
		}
		if r.barriers != 1 || g.calls != 0 {
			t.Fatalf("%d barriers, %d grain calls; want 1 and 0", r.barriers, g.calls)
		}
	}
}
