package store

import (
	"container/heap"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// requestTable is the FSM's memory of requests: the one home of idempotency.
// Every request applied with a result of OK (and every request resolved as not
// applied) is remembered until the FSM's clock passes the request's deadline; a
// command of a remembered request is answered with the remembered result and
// writes nothing. After the deadline no copy of the request can apply anyway (the
// FSM refuses expired commands), so forgetting it then is safe. Only the FSM
// goroutine touches the table.
type requestTable struct {
	byID   map[string]*storepb.AppliedRequest
	expiry expiryHeap
}

func newRequestTable() *requestTable {
	return &requestTable{byID: map[string]*storepb.AppliedRequest{}}
}

// lookup returns the remembered outcome of request id, if any.
func (t *requestTable) lookup(id string) (*storepb.AppliedRequest, bool) {
	r, ok := t.byID[id]
	return r, ok
}

// remember records request id's result until deadline.
func (t *requestTable) remember(id string, res *storepb.CommandResult, deadline int64) {
	if _, ok := t.byID[id]; ok {
		return
	}
	r := &storepb.AppliedRequest{RequestId: id, Result: res, DeadlineUnixMs: deadline}
	t.byID[id] = r
	heap.Push(&t.expiry, r)
}

// forgetBefore drops every request whose deadline is before now.
func (t *requestTable) forgetBefore(now int64) {
	for len(t.expiry) > 0 && t.expiry[0].DeadlineUnixMs < now {
		r := heap.Pop(&t.expiry).(*storepb.AppliedRequest)
		delete(t.byID, r.RequestId)
	}
	if len(t.expiry) == 0 && cap(t.expiry) > 1024 {
		// Drained after a burst: a Go map keeps the buckets of its largest
		// size, and the heap its array (~56 bytes per request of the burst).
		t.byID, t.expiry = map[string]*storepb.AppliedRequest{}, nil
	}
}

// nextDeadline is the earliest deadline remembered (0: none).
func (t *requestTable) nextDeadline() int64 {
	if len(t.expiry) == 0 {
		return 0
	}
	return t.expiry[0].DeadlineUnixMs
}

// len reports how many requests are remembered.
func (t *requestTable) len() int { return len(t.byID) }

// all returns copies of the remembered requests (for a snapshot, which is
// persisted while the FSM goes on applying).
func (t *requestTable) all() []*storepb.AppliedRequest {
	out := make([]*storepb.AppliedRequest, 0, len(t.expiry))
	for _, r := range t.expiry {
		out = append(out, proto.Clone(r).(*storepb.AppliedRequest))
	}
	return out
}

// expiryHeap orders remembered requests by deadline, soonest first.
type expiryHeap []*storepb.AppliedRequest

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].DeadlineUnixMs < h[j].DeadlineUnixMs }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(*storepb.AppliedRequest)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

// applyRequest is the FSM's idempotency and deadline rule around one command:
//   - a remembered request is answered with its remembered result (replayed for
//     OK), and nothing is written;
//   - ResolveRequest remembers an unapplied request as ABORTED, so no copy still
//     in flight applies after it;
//   - a command past its deadline is refused (EXPIRED);
//   - otherwise the command is applied, and an OK result remembered.
func (f *FSM) applyRequest(st *State, cmd *storepb.Command) *storepb.CommandResult {
	id, deadline := cmd.RequestId, cmd.DeadlineUnixMs
	if id != "" {
		if r, ok := f.requests.lookup(id); ok {
			res := proto.Clone(r.Result).(*storepb.CommandResult)
			res.Replayed = res.Code == storepb.CommandResult_OK
			return res
		}
	}
	if _, resolve := cmd.Op.(*storepb.Command_ResolveRequest); resolve {
		res := &storepb.CommandResult{Code: storepb.CommandResult_ABORTED,
			Message: "request " + id + " was not applied"}
		if id != "" && deadline >= f.clock {
			f.requests.remember(id, res, deadline)
		}
		return res
	}
	if deadline != 0 && deadline < f.clock {
		return &storepb.CommandResult{Code: storepb.CommandResult_EXPIRED,
			Message: "request " + id + " arrived after its deadline"}
	}
	res := f.applyCommand(st, cmd)
	if id != "" && res.Code == storepb.CommandResult_OK && !res.Replayed {
		if deadline == 0 {
			deadline = f.clock + int64(defaultRequestLifetime.Milliseconds())
		}
		f.requests.remember(id, &storepb.CommandResult{Code: res.Code, Version: res.Version}, deadline)
	}
	return res
}
