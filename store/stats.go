package store

import (
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// Traffic statistics: one ListenerStatistics row per (amphora, listener), as
// Octavia's listener_statistics table. The rows live outside the load balancer's
// tree: the tree's grain rewrites its rows whole under a compare-and-set on the
// load balancer's version, and counters that change every few seconds would
// either be overwritten by its cached rows or move that version (and make every
// concurrent API write lose its race). RecordAmphoraStats writes them, with no
// version; deleting an amphora, a listener or a load balancer removes them.

// IndexAmphora orders statistics rows by amphora.
const IndexAmphora = "amphora_id"

var listenerStatisticsSchema = &Schema[*storepb.ListenerStatistics]{
	Name: "listener_statistics",
	Pivot: func(project string, created int64, id string) *storepb.ListenerStatistics {
		return &storepb.ListenerStatistics{Id: id}
	},
	Exact: map[string]ExactIndex[*storepb.ListenerStatistics]{
		IndexAmphora:      exact((*storepb.ListenerStatistics).GetAmphoraId),
		IndexListener:     exact((*storepb.ListenerStatistics).GetListenerId),
		IndexLoadBalancer: exact((*storepb.ListenerStatistics).GetLoadbalancerId),
	},
}

// ListenerStatisticsID is the id of the row of a listener's traffic on an amphora.
// The row of a listener's traffic on amphorae that were deleted is
// ListenerStatisticsID(listenerID, listenerID).
func ListenerStatisticsID(amphoraID, listenerID string) string { return amphoraID + "/" + listenerID }

// applyRecordAmphoraStats stores a batch of totals: per row the larger of each
// counter, and the active connections of the newer heartbeat. Rows of objects
// that are gone (a batch flushed just before a delete applied) are skipped.
func (f *FSM) applyRecordAmphoraStats(st *State, c *storepb.RecordAmphoraStats) *storepb.CommandResult {
	for _, r := range c.GetStats() {
		if r.GetAmphoraId() == "" || r.GetListenerId() == "" {
			return invalid("statistics row without its amphora or listener")
		}
	}
	for _, r := range c.GetStats() {
		amp, found := st.Amphorae.Get(r.AmphoraId)
		if !found {
			continue
		}
		l, found := st.Listeners.Get(r.ListenerId)
		if !found || l.LoadbalancerId != amp.LoadbalancerId {
			continue
		}
		id := ListenerStatisticsID(r.AmphoraId, r.ListenerId)
		cur, _ := st.ListenerStatistics.Get(id)
		next := mergeStatistics(cur, r)
		next.Id, next.LoadbalancerId = id, amp.LoadbalancerId
		if cur != nil && proto.Equal(cur, next) {
			continue
		}
		st.ListenerStatistics.Put(internStatistics(next))
	}
	return ok(0)
}

// mergeStatistics is what a row becomes when totals r arrive for it (cur may be
// nil): counters never go back, and the newest heartbeat's active connections win.
func mergeStatistics(cur, r *storepb.ListenerStatistics) *storepb.ListenerStatistics {
	if cur == nil {
		return proto.Clone(r).(*storepb.ListenerStatistics)
	}
	next := proto.Clone(cur).(*storepb.ListenerStatistics)
	next.BytesIn = max(cur.BytesIn, r.BytesIn)
	next.BytesOut = max(cur.BytesOut, r.BytesOut)
	next.TotalConnections = max(cur.TotalConnections, r.TotalConnections)
	next.RequestErrors = max(cur.RequestErrors, r.RequestErrors)
	if HeartbeatAfter(r.HeartbeatBoot, r.HeartbeatSeq, cur.HeartbeatBoot, cur.HeartbeatSeq) ||
		(r.HeartbeatBoot == cur.HeartbeatBoot && r.HeartbeatSeq == cur.HeartbeatSeq) {
		next.ActiveConnections = r.ActiveConnections
		next.HeartbeatBoot, next.HeartbeatSeq = r.HeartbeatBoot, r.HeartbeatSeq
	}
	return next
}

// HeartbeatAfter reports whether heartbeat (boot, seq) is newer than (boot0,
// seq0): a later agent process, or a later message of the same one.
func HeartbeatAfter(boot int64, seq uint64, boot0 int64, seq0 uint64) bool {
	return boot > boot0 || (boot == boot0 && seq > seq0)
}

func internStatistics(x *storepb.ListenerStatistics) *storepb.ListenerStatistics {
	x.LoadbalancerId = intern(x.LoadbalancerId)
	x.ListenerId = intern(x.ListenerId)
	x.AmphoraId = intern(x.AmphoraId)
	return x
}

// dropStatistics removes the statistics of what a tree write deletes: a deleted
// listener's rows go; a deleted amphora's rows are added into its listeners' own
// rows (amphora_id = listener_id) when the listener lives on, so the listener's
// and the load balancer's totals do not go back when a failover replaces an
// amphora (Octavia never removes the rows of a deleted amphora; keel folds them,
// so rows do not pile up with failovers).
func dropStatistics(st *State, w *storepb.TreeWrite) {
	t := st.ListenerStatistics
	if t.Len() == 0 {
		return
	}
	for _, id := range w.DeleteListeners {
		for _, r := range Collect(t, IndexListener, id) {
			t.Delete(r.Id)
		}
	}
	for _, id := range w.DeleteAmphorae {
		for _, r := range Collect(t, IndexAmphora, id) {
			t.Delete(r.Id)
			if _, lives := st.Listeners.Get(r.ListenerId); !lives {
				continue
			}
			rid := ListenerStatisticsID(r.ListenerId, r.ListenerId)
			retired := &storepb.ListenerStatistics{Id: rid, AmphoraId: r.ListenerId, ListenerId: r.ListenerId,
				LoadbalancerId: r.LoadbalancerId}
			if cur, found := t.Get(rid); found {
				retired = proto.Clone(cur).(*storepb.ListenerStatistics)
			}
			retired.BytesIn += r.BytesIn
			retired.BytesOut += r.BytesOut
			retired.TotalConnections += r.TotalConnections
			retired.RequestErrors += r.RequestErrors
			t.Put(internStatistics(retired))
		}
	}
}

// purgeStatistics removes every statistics row of a purged load balancer.
func purgeStatistics(st *State, lbID string) {
	t := st.ListenerStatistics
	for _, r := range Collect(t, IndexLoadBalancer, lbID) {
		t.Delete(r.Id)
	}
}
