package http

import (
	"github.com/valyala/fasthttp"

	"keel/store"
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

// listenerTraffic is the one source of traffic counters (listener, load balancer
// and amphora statistics all read it): what a listener carried, summed over the
// amphorae serving it. Amphorae report no statistics to keel yet, so a listener
// has carried nothing and every counter is 0.
func listenerTraffic(_ *store.State, _ string) stats { return stats{} }

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
