package http

import (
	"github.com/valyala/fasthttp"
)

// stats are Octavia's traffic counters of a load balancer or listener.
type stats struct {
	BytesIn, BytesOut, ActiveConnections, TotalConnections, RequestErrors int64
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
