package http

import (
	"context"
	"runtime"
	"time"

	"github.com/valyala/fasthttp"
)

// healthz answers 200 {"status":"ok"} while the node can serve linearizable
// reads — a leader is reachable and a read barrier completes within 1 s — and 503
// otherwise, so a load balancer in front of keeld steers away from a node cut
// off from its quorum.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) error {
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ctx.Response.Header.SetContentType("application/json")
	if err := s.store.Barrier(c); err != nil {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		o := openObject(nil)
		o.str("status", "unavailable")
		o.str("reason", err.Error())
		ctx.SetBody(o.close())
		return nil
	}
	ctx.SetBodyString(`{"status":"ok"}`)
	return nil
}

// clusterStatus reports this node, the leader, the members and Raft's indexes.
func (s *Server) clusterStatus(ctx *fasthttp.RequestCtx) error {
	st := s.status()
	o := openObject(make([]byte, 0, 512))
	o.str("node", st.Node)
	o.str("leader", st.Leader)
	o.key("members")
	o.b = append(o.b, '[')
	for i, m := range st.Members {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		mo := openObject(o.b)
		mo.str("name", m.Name)
		mo.str("status", m.Status)
		mo.str("raft", m.Raft)
		mo.str("gossip_addr", m.GossipAddr)
		mo.str("raft_addr", m.RaftAddr)
		mo.str("http_addr", m.HTTPAddr)
		o.b = mo.close()
	}
	o.b = append(o.b, ']')
	ro := openObject(nil)
	ro.str("state", st.Raft.State)
	ro.integer("term", int64(st.Raft.Term))
	ro.integer("commit_index", int64(st.Raft.CommitIndex))
	ro.integer("applied_index", int64(st.Raft.AppliedIndex))
	ro.integer("fsm_index", int64(st.Raft.FSMIndex))
	ro.integer("last_index", int64(st.Raft.LastIndex))
	o.raw("raft", ro.close())
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}

// octaviaVersions are the API versions GET / lists (Octavia 11: v2.0 … v2.26).
var octaviaVersions = []struct{ id, updated string }{
	{"v2.0", "2016-12-11T00:00:00Z"}, {"v2.1", "2018-04-20T00:00:00Z"}, {"v2.2", "2018-07-31T00:00:00Z"},
	{"v2.3", "2018-12-18T00:00:00Z"}, {"v2.4", "2018-12-19T00:00:00Z"}, {"v2.5", "2019-01-21T00:00:00Z"},
	{"v2.6", "2019-01-25T00:00:00Z"}, {"v2.7", "2018-01-25T12:00:00Z"}, {"v2.8", "2019-02-12T00:00:00Z"},
	{"v2.9", "2019-03-04T00:00:00Z"}, {"v2.10", "2019-03-05T00:00:00Z"}, {"v2.11", "2019-06-24T00:00:00Z"},
	{"v2.12", "2019-09-11T00:00:00Z"}, {"v2.13", "2019-09-13T00:00:00Z"}, {"v2.14", "2019-11-10T00:00:00Z"},
	{"v2.15", "2020-03-10T00:00:00Z"}, {"v2.16", "2020-03-15T00:00:00Z"}, {"v2.17", "2020-04-29T00:00:00Z"},
	{"v2.18", "2020-04-29T01:00:00Z"}, {"v2.19", "2020-05-12T00:00:00Z"}, {"v2.20", "2020-08-02T00:00:00Z"},
	{"v2.21", "2020-09-03T00:00:00Z"}, {"v2.22", "2020-09-04T00:00:00Z"}, {"v2.23", "2020-09-07T00:00:00Z"},
	{"v2.24", "2020-10-15T00:00:00Z"}, {"v2.25", "2021-10-02T00:00:00Z"}, {"v2.26", "2022-08-29T00:00:00Z"},
}

// versions renders Octavia's version document; every entry links to /v2.
func (s *Server) versions(ctx *fasthttp.RequestCtx) error {
	href := "http://" + string(ctx.Host()) + "/v2"
	b := []byte(`{"versions":[`)
	for i, v := range octaviaVersions {
		if i > 0 {
			b = append(b, ',')
		}
		status := "SUPPORTED"
		if i == len(octaviaVersions)-1 {
			status = "CURRENT"
		}
		o := openObject(b)
		o.str("id", v.id)
		o.str("status", status)
		o.str("updated", v.updated)
		o.raw("links", []byte(`[{"href":`+string(appendJSONString(nil, href))+`,"rel":"self"}]`))
		b = o.close()
	}
	b = append(b, ']', '}')
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(b)
	return nil
}

// debugMemory collects garbage, then reports the Go heap (for the benchmark's
// bytes-per-object figure) and the load balancer count.
func (s *Server) debugMemory(ctx *fasthttp.RequestCtx) error {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	o := openObject(nil)
	o.integer("heap_alloc", int64(ms.HeapAlloc))
	o.integer("heap_inuse", int64(ms.HeapInuse))
	o.integer("sys", int64(ms.Sys))
	o.integer("load_balancers", int64(s.store.State().CountLoadBalancers()))
	o.integer("active_grains", s.grainsActive())
	o.integer("remembered_requests", s.store.State().RememberedRequests())
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}

// debugHeartbeats reports the heartbeat receiver's counters ({"listening":false}
// while the node runs none): what was read, accepted, rejected by reason, handed
// to grains, and not delivered to them.
func (s *Server) debugHeartbeats(ctx *fasthttp.RequestCtx) error {
	o := openObject(nil)
	var c *HeartbeatCounters
	if s.heartbeats != nil {
		c = s.heartbeats()
	}
	o.boolean("listening", c != nil)
	if c != nil {
		for _, kv := range []struct {
			k string
			v uint64
		}{{"received", c.Received}, {"accepted", c.Accepted}, {"forged", c.Forged}, {"replayed", c.Replayed},
			{"stale", c.Stale}, {"malformed", c.Malformed}, {"dropped", c.Dropped}, {"late", c.Late},
			{"handled", c.Handled}, {"undelivered", c.Undelivered}} {
			o.integer(kv.k, int64(kv.v))
		}
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}
