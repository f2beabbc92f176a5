package http

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors/leasepb"
)

// logCapture is a debug-level text logger whose lines a test reads.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// linesWith returns the captured lines that contain s.
func (c *logCapture) linesWith(s string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range strings.Split(c.buf.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// explodingGrains fail every write as a grain that broke would (a 500).
type explodingGrains struct{}

var errExploded = errors.New("lease grain exploded")

func (explodingGrains) CreateLease(context.Context, string, *leasepb.CreateLeaseRequest) (*leasepb.LeaseReply, error) {
	return nil, errExploded
}
func (explodingGrains) UpdateLease(context.Context, string, *leasepb.UpdateLeaseRequest) (*leasepb.LeaseReply, error) {
	return nil, errExploded
}
func (explodingGrains) DeleteLease(context.Context, string, *leasepb.DeleteLeaseRequest) (*leasepb.LeaseReply, error) {
	return nil, errExploded
}
func (explodingGrains) WriteHosts(context.Context, *leasepb.HostWriteRequest) (*leasepb.HostWriteReply, error) {
	return nil, errExploded
}

func serve(h fasthttp.RequestHandler, method, uri, body string, headers ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if body != "" {
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(body)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&ctx)
	return &ctx
}

// Every log line written while serving a request names the request id its
// response carries: the failure a grain caused (a 500's warning) and the
// access line at debug level, on every listener, 404 and 405 included.
func TestRequestIDInLogs(t *testing.T) {
	var logs logCapture
	cfg := Config{Logger: logs.logger()}
	blazar := NewBlazarServer(cfg)
	blazar.grains = explodingGrains{}
	listeners := map[string]fasthttp.RequestHandler{
		"octavia": NewServer(cfg).Handler(), "blazar": blazar.Handler(), "mogan": NewMoganServer(cfg).Handler()}

	failed := serve(listeners["blazar"], "POST", "http://127.0.0.1:1234/v1/leases", `{"name":"l"}`)
	id := string(failed.Response.Header.Peek(requestIDHeader))
	if failed.Response.StatusCode() != 500 || !strings.HasPrefix(id, "req-") {
		t.Fatalf("a grain's failure: %d %q %s", failed.Response.StatusCode(), id, failed.Response.Body())
	}
	lines := logs.linesWith("request_id=" + id)
	var warned, accessed bool
	for _, l := range lines {
		warned = warned || strings.Contains(l, "level=WARN") && strings.Contains(l, errExploded.Error())
		accessed = accessed || strings.Contains(l, "level=DEBUG msg=request listener=blazar") && strings.Contains(l, "route=/v1/leases") &&
			strings.Contains(l, "status=500") && strings.Contains(l, "method=POST")
	}
	if !warned || !accessed {
		t.Fatalf("lines naming %s: %q\nall:\n%s", id, lines, logs.buf.String())
	}

	for name, h := range listeners {
		for _, c := range []struct {
			method, path string
			status       int
		}{{"GET", "/no/such/path", 404}, {"DELETE", "/", 405}} {
			ctx := serve(h, c.method, "http://127.0.0.1:1"+c.path, "")
			id := string(ctx.Response.Header.Peek(requestIDHeader))
			if ctx.Response.StatusCode() != c.status || !strings.HasPrefix(id, "req-") {
				t.Fatalf("%s %s %s: %d, request id %q", name, c.method, c.path, ctx.Response.StatusCode(), id)
			}
			lines := logs.linesWith("request_id=" + id)
			if len(lines) != 1 || !strings.Contains(lines[0], "route=unmatched") || !strings.Contains(lines[0], "listener="+name) {
				t.Fatalf("%s %s %s: lines naming %s: %q", name, c.method, c.path, id, lines)
			}
		}
	}
}

// /metrics is an operator's (as /debug/*), and shows what was served, by
// listener and route template; a path no route knows is "unmatched".
func TestMetricsOperatorOnly(t *testing.T) {
	cfg := Config{Logger: slog.New(slog.DiscardHandler)}
	h := NewServer(cfg).Handler()
	blazar := NewBlazarServer(cfg)
	blazar.grains = explodingGrains{}
	serve(blazar.Handler(), "POST", "http://127.0.0.1:1234/v1/leases", `{}`)
	serve(h, "GET", "http://127.0.0.1:1/no/such/path", "")
	for _, roles := range []string{"member", "reader", "load-balancer_member", "load-balancer_global_observer"} {
		if ctx := serve(h, "GET", "http://127.0.0.1:1/metrics", "", "X-Roles", roles); ctx.Response.StatusCode() != 403 {
			t.Fatalf("%s scraped /metrics: %d", roles, ctx.Response.StatusCode())
		}
	}
	ctx := serve(h, "GET", "http://127.0.0.1:1/metrics", "", "X-Roles", "admin")
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 200 || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "text/plain") {
		t.Fatalf("operator's scrape: %d %s", ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
	}
	for _, series := range []string{
		`keel_http_requests_total{code="500",listener="blazar",method="POST",route="/v1/leases"}`,
		`keel_http_requests_total{code="404",listener="octavia",method="GET",route="unmatched"}`,
		`keel_http_requests_total{code="403",listener="octavia",method="GET",route="/metrics"}`,
		`keel_http_request_duration_seconds_bucket{code="404",listener="octavia",method="GET",route="unmatched",le="0.001"}`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// BenchmarkMiddleware is the cost middlewareWith adds to every request: the
// request id, the guards, the metrics and (disabled) access log, around a
// handler that only saves its route template as the router does.
func BenchmarkMiddleware(b *testing.B) {
	s := newServerCore(Config{Logger: slog.New(slog.DiscardHandler)}, "bench")
	route := "/v2/lbaas/loadbalancers/{id}"
	h := s.middlewareWith(func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(router.MatchedRoutePathParam, route)
		ctx.SetStatusCode(200)
	}, writeError)
	var req fasthttp.Request
	req.SetRequestURI("http://127.0.0.1:1/v2/lbaas/loadbalancers/x")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil) // sets the request's time, as fasthttp's server does per request
	b.ReportAllocs()
	for b.Loop() {
		ctx.ResetUserValues()
		h(&ctx)
	}
}
