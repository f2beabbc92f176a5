package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/valyala/fasthttp/pprofhandler"

	"keel/store"
)

// Operator endpoints (/cluster, /metrics, /debug/*) show goroutine stacks, profiles, the
// command line, cluster addresses and object counts: an operator's, never a
// project's. Each is authorized with the policy's keel:operator rule (an
// administrator's, as Octavia's load-balancer:admin). /healthz is public.

// operatorOnly refuses (403) a caller the policy does not make an operator.
func operatorOnly(ctx *fasthttp.RequestCtx) error {
	return authorize(ctx, ruleOperator, identityOf(ctx).ProjectID)
}

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
	if err := operatorOnly(ctx); err != nil {
		return err
	}
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

// metrics serves the node's Prometheus metrics (docs/metrics.md) to operators.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	s.metricsPage(ctx)
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
// bytes-per-object figure) and the load balancer count. A collection and
// ReadMemStats stop the world, so they are rate-limited (memoryProbe): callers
// share one measurement, at most one a second, always taken after they asked.
func (s *Server) debugMemory(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	ms := s.memory.read(time.Now())
	o := openObject(nil)
	// The Go runtime's view: live heap after the collection, spans in use,
	// spans held but idle and what of those went back to the OS, everything
	// the runtime mapped, and the settings that bound its growth.
	o.integer("heap_alloc", int64(ms.HeapAlloc))
	o.integer("heap_inuse", int64(ms.HeapInuse))
	o.integer("heap_idle", int64(ms.HeapIdle))
	o.integer("heap_released", int64(ms.HeapReleased))
	o.integer("stack_inuse", int64(ms.StackInuse))
	o.integer("sys", int64(ms.Sys))
	o.integer("next_gc", int64(ms.NextGC))
	o.integer("gogc", gcPercent())
	o.integer("memory_limit", memoryLimit())
	// The kernel's view (/proc/self/status): resident memory, split into
	// anonymous pages (the Go heap, stacks, cgo) and file-backed ones (the
	// binary and bolt's mmapped raft.db: page cache the kernel can drop).
	proc := readProcStatus()
	o.integer("rss", proc.rss)
	o.integer("rss_anon", proc.anon)
	o.integer("rss_file", proc.file)
	o.integer("load_balancers", int64(s.store.State().CountLoadBalancers()))
	o.integer("active_grains", s.grainsActive())
	o.integer("remembered_requests", s.store.State().RememberedRequests())
	o.integer("num_gc", int64(ms.NumGC))
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}

// debugGrain reports where one grain lives as this node sees it:
// {"kind", "identity", "owner" (the member address placement picks), "self"
// (this node's), "hosted" (this node runs an activation of it now)}. It
// activates nothing. Operators (and the system tests that kill the node
// running a grain) ask every node; the one with hosted true runs it.
func (s *Server) debugGrain(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	if s.placement == nil {
		return notFound("This node reports no grain placement.")
	}
	kind, identity := pathParam(ctx, "kind"), pathParam(ctx, "identity")
	p, err := s.placement(kind, identity)
	if err != nil {
		return fmt.Errorf("grain placement of %s/%s: %w", kind, identity, err)
	}
	o := openObject(nil)
	o.str("kind", kind)
	o.str("identity", identity)
	o.str("owner", p.Owner)
	o.str("self", p.Self)
	o.boolean("hosted", p.Hosted)
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}

// debugSnapshot reports this node's last Raft snapshot and last restore (GET),
// or takes a snapshot now and reports it (POST; 409 when nothing was applied
// since the last one). A snapshot compacts the log behind it, so after a bulk
// load it bounds what a restart replays.
func (s *Server) debugSnapshot(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	var st store.SnapshotStats
	if ctx.IsPost() {
		var err error
		st, err = s.store.Snapshot()
		if errors.Is(err, store.ErrNothingToSnapshot) {
			return &apiError{fasthttp.StatusConflict, "Nothing new to snapshot."}
		}
		if err != nil {
			return unavailable(err)
		}
	} else {
		st = s.store.State().SnapshotStats()
	}
	o := openObject(nil)
	o.integer("index", int64(st.Index))
	o.integer("records", int64(st.Records))
	o.integer("bytes", st.Bytes)
	o.integer("persist_ms", st.Persist.Milliseconds())
	if ctx.IsPost() {
		o.integer("took_ms", st.Took.Milliseconds())
	}
	o.integer("restored_index", int64(st.RestoredIndex))
	o.integer("restored_records", int64(st.RestoredRecords))
	o.integer("restore_ms", st.Restore.Milliseconds())
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(o.close())
	return nil
}

// debugHeartbeats reports the heartbeat receiver's counters ({"listening":false}
// while the node runs none): what was read, accepted, rejected by reason, handed
// to grains, and not delivered to them.
func (s *Server) debugHeartbeats(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
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

// procStatus is the resident set of this process by kind, in bytes (0 where
// the kernel does not say: not Linux).
type procStatus struct{ rss, anon, file int64 }

func readProcStatus() procStatus {
	var p procStatus
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return p
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &p.rss
		case "RssAnon":
			dst = &p.anon
		case "RssFile":
			dst = &p.file
		default:
			continue
		}
		if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64); err == nil {
			*dst = kb << 10
		}
	}
	return p
}

// gcPercent and memoryLimit read GOGC and GOMEMLIMIT as the runtime applies
// them (keeld's -gogc and -memory-limit, or the environment).
func gcPercent() int64 { return runtimeMetric("/gc/gogc:percent") }

func memoryLimit() int64 { return runtimeMetric("/gc/gomemlimit:bytes") }

func runtimeMetric(name string) int64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// memoryProbe rate-limits /debug/memory's garbage collections: a caller takes
// the last measurement if it was taken after the caller asked, else waits until
// a second has passed since the last one and takes a new one for everyone
// waiting. Eight callers in a loop thus cost one collection a second, not eight
// back to back, and no caller gets a figure older than its question.
type memoryProbe struct {
	mu    sync.Mutex
	at    time.Time // when the last measurement was taken
	stats runtime.MemStats
}

// memoryInterval is the least time between two measurements.
const memoryInterval = time.Second

func (m *memoryProbe) read(asked time.Time) runtime.MemStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at.After(asked) {
		return m.stats
	}
	if wait := memoryInterval - time.Since(m.at); wait > 0 {
		time.Sleep(wait)
	}
	runtime.GC()
	m.at = time.Now()
	runtime.ReadMemStats(&m.stats)
	return m.stats
}

// Profiles that run for a while (a CPU profile, a trace, a delta profile with
// ?seconds=) are bounded and end when their client leaves.
const (
	maxProfileSeconds     = 60
	defaultProfileSeconds = 30 // net/http/pprof's for /profile
	maxProfilesInProgress = 2
)

var (
	profileSlots = make(chan struct{}, maxProfilesInProgress)
	pprofIndex   = fasthttpadaptor.NewFastHTTPHandlerFunc(pprof.Index)
)

// debugPprof serves net/http/pprof for operators. Instant pages go through
// fasthttp's adaptor; a profile that runs for ?seconds= (at most 60; /profile
// and /trace default to 30) is served on the hijacked connection, with a
// request context that ends when the client closes it, so the profile stops
// then rather than running on for nobody. At most two run at once (429).
func (s *Server) debugPprof(ctx *fasthttp.RequestCtx) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	name := pathParam(ctx, "profile")
	secs := 0
	if v := ctx.QueryArgs().Peek("seconds"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxProfileSeconds {
			return badRequest("seconds must be an integer from 1 to %d.", maxProfileSeconds)
		}
		secs = n
	}
	var h http.Handler
	switch {
	case name == "profile":
		h = http.HandlerFunc(pprof.Profile)
	case name == "trace":
		h = http.HandlerFunc(pprof.Trace)
	case secs > 0:
		h = pprof.Handler(name)
	case name == "":
		pprofIndex(ctx) // fasthttp's handler answers 404 for the index's trailing slash
		return nil
	default:
		pprofhandler.PprofHandler(ctx)
		return nil
	}
	if secs == 0 {
		secs = defaultProfileSeconds
	}
	select {
	case profileSlots <- struct{}{}:
	default:
		return &apiError{fasthttp.StatusTooManyRequests, "Too many profiles in progress; try again later."}
	}
	query := url.Values{"seconds": {strconv.Itoa(secs)}}
	for k, v := range ctx.QueryArgs().All() {
		if string(k) != "seconds" {
			query.Add(string(k), string(v))
		}
	}
	uri := "/debug/pprof/" + url.PathEscape(name) + "?" + query.Encode()
	reqID := requestID(ctx)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer func() { <-profileSlots }()
		serveProfile(c, h, uri, reqID)
	})
	return nil
}

// serveProfile runs h for uri on a hijacked connection and writes its answer
// (Connection: close). Any read on the connection — the client closing it, or
// sending another request it should not have — ends the profile.
func serveProfile(c net.Conn, h http.Handler, uri, reqID string) {
	rc, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = c.SetDeadline(time.Time{})
	// The watcher reads the raw connection: fasthttp's hijacked one drops its
	// reader once this returns, and a watcher scheduled after that crashed
	// keeld (nil dereference). The raw one is closed then, so the read ends.
	watched := c
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		watched = u.UnsafeConn()
	}
	go func() {
		var b [1]byte
		_, _ = watched.Read(b[:])
		cancel()
	}()
	req, err := http.NewRequestWithContext(rc, http.MethodGet, uri, nil)
	if err != nil {
		return
	}
	w := &profileWriter{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	if rc.Err() != nil {
		return // the client left
	}
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	bw := bufio.NewWriter(c)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Connection", "close")
	w.header.Set(requestIDHeader, reqID)
	w.header.Set("Server", "keel")
	_ = w.header.Write(bw)
	bw.WriteString("\r\n")
	_, _ = bw.Write(w.body.Bytes())
	_ = bw.Flush()
}

// profileWriter buffers a net/http handler's answer.
type profileWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *profileWriter) Header() http.Header         { return w.header }
func (w *profileWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *profileWriter) WriteHeader(status int)      { w.status = status }
