package http

import (
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/store"
	"keel/store/storepb"
)

// stats are Octavia's traffic counters of a load balancer or listener.
type stats struct {
	BytesIn, BytesOut, ActiveConnections, TotalConnections, RequestErrors int64
}

func (s *stats) add(o stats) {
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.ActiveConnections += o.ActiveConnections
	s.TotalConnections += o.TotalConnections
	s.RequestErrors += o.RequestErrors
}

func statsOf(r *storepb.ListenerStatistics) stats {
	return stats{BytesIn: int64(r.GetBytesIn()), BytesOut: int64(r.GetBytesOut()),
		ActiveConnections: int64(r.GetActiveConnections()), TotalConnections: int64(r.GetTotalConnections()),
		RequestErrors: int64(r.GetRequestErrors())}
}

// The statistics table (store.ListenerStatistics: one row per amphora and
// listener, written from the amphorae's heartbeats) is the one source of traffic
// counters; listener, load balancer and amphora statistics all read it. A
// listener no amphora reported traffic for (every listener with the noop
// amphora driver) has carried nothing: every counter is 0.

// listenerTraffic is what a listener carried, summed over its rows as Octavia's
// get_listener_stats sums them: every counter of every row (also the row of
// amphorae since deleted, amphora_id = listener_id), active connections only
// from that row and from amphorae that are ALLOCATED (a failed or replaced one
// reports stale counts).
func listenerTraffic(st *store.State, listenerID string) stats {
	var total stats
	st.ListenerStatistics.Equal(store.IndexListener, listenerID, func(r *storepb.ListenerStatistics) bool {
		s := statsOf(r)
		if amp, found := st.Amphorae.Get(r.AmphoraId); r.AmphoraId != r.ListenerId && (!found || amp.Status != actors.AmphoraAllocated) {
			s.ActiveConnections = 0
		}
		total.add(s)
		return true
	})
	return total
}

// amphoraTraffic is what one amphora carried for one listener (its row as
// stored, as Octavia's get_amphora_stats shows it).
func amphoraTraffic(st *store.State, amphoraID, listenerID string) stats {
	r, _ := st.ListenerStatistics.Get(store.ListenerStatisticsID(amphoraID, listenerID))
	return statsOf(r)
}

// writeStats renders {"stats": {...}}.
func writeStats(ctx *fasthttp.RequestCtx, s stats) {
	o := openObject(nil)
	o.integer("bytes_in", s.BytesIn)
	o.integer("bytes_out", s.BytesOut)
	o.integer("active_connections", s.ActiveConnections)
	o.integer("total_connections", s.TotalConnections)
	o.integer("request_errors", s.RequestErrors)
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(append(append([]byte(`{"stats":`), o.close()...), '}'))
}
