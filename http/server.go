// Package http owns keel's wire: a fasthttp server with fasthttp/router, one
// handler per endpoint (parse → authorize → one grain call or one store query →
// render), the OpenStack conventions shared by every resource (filters, fields,
// pagination links, sorting, .json, project_id/tenant_id, error bodies), identity
// (noauth or Keystone tokens) and Octavia's policy, and the operator endpoints
// (/healthz, and for administrators /cluster and /debug/*).
package http

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"keel/actors"
	"keel/cluster"
	"keel/cluster/healthreceiver"
	"keel/cluster/metrics"
	"keel/store"
)

// Config wires the server to its node.
type Config struct {
	Store  *store.Node
	Grains *actors.Client
	Status func() cluster.NodeStatus
	Logger *slog.Logger
	// ActiveGrains reports how many grains this node hosts (for /debug/memory).
	ActiveGrains func() int64
	// Placement reports where a grain lives as this node sees it (GET
	// /debug/grains/{kind}/{identity}); nil: the route answers 404.
	Placement func(kind, identity string) (cluster.GrainPlacement, error)
	// Heartbeats reports the heartbeat receiver's counters (GET /debug/heartbeats);
	// nil, or a nil result, while the node runs no receiver (-amphora-driver noop).
	Heartbeats func() *HeartbeatCounters
	// Hosts decides which Host headers are answered (-allowed-hosts); nil: any.
	Hosts *HostPolicy
	// Auth identifies callers and authorizes them (nil: noauth, a caller without
	// X-Roles a project member, Octavia's default policy).
	Auth *Authenticator
}

// HeartbeatCounters are a node's heartbeat counters since it started: the
// receiver's (cluster/healthreceiver) and how many handled heartbeats did not
// reach their amphora's grain.
type HeartbeatCounters struct {
	healthreceiver.Counters
	Undelivered uint64
}

// Server serves the public API of one node.
type Server struct {
	store        *store.Node
	grains       *actors.Client
	status       func() cluster.NodeStatus
	logger       *slog.Logger
	grainsActive func() int64
	placement    func(kind, identity string) (cluster.GrainPlacement, error)
	heartbeats   func() *HeartbeatCounters
	hosts        *HostPolicy
	auth         *Authenticator
	memory       memoryProbe
	// requests records this listener's requests (keel_http_*).
	requests *metrics.HTTPRequests
	// metricsPage renders the node's registry (cluster/metrics) for GET /metrics.
	metricsPage fasthttp.RequestHandler
	srv         *fasthttp.Server
}

func init() { uuid.EnableRandPool() } // request ids on every response: keep them cheap

// NewServer builds the server and its routes.
func NewServer(cfg Config) *Server {
	s := newServerCore(cfg, "octavia")
	s.srv = s.fasthttpServer(s.Handler(), s.transportError)
	return s
}

// newServerCore is what every listener of the node shares: its store, grains,
// logger, authenticator and Host policy; listener names its request metrics.
func newServerCore(cfg Config, listener string) *Server {
	s := &Server{store: cfg.Store, grains: cfg.Grains, status: cfg.Status, logger: cfg.Logger, grainsActive: cfg.ActiveGrains,
		placement: cfg.Placement, heartbeats: cfg.Heartbeats, hosts: cfg.Hosts, auth: cfg.Auth, requests: metrics.NewHTTPRequests(listener)}
	if s.auth == nil {
		s.auth, _ = NewAuthenticator(AuthConfig{}) // noauth cannot fail
	}
	if s.grainsActive == nil {
		s.grainsActive = func() int64 { return 0 }
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.metricsPage = fasthttpadaptor.NewFastHTTPHandler(metrics.Handler(s.logger))
	return s
}

// fasthttpServer is a listener's server: its handler and how it answers what
// it could not read, with the limits every listener keeps.
func (s *Server) fasthttpServer(handler fasthttp.RequestHandler, transportError func(*fasthttp.RequestCtx, error)) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:              handler,
		Name:                 "keel",
		MaxRequestBodySize:   4 * maxBodyBytes,
		ReadBufferSize:       maxHeaderBytes,
		ReadTimeout:          60 * time.Second,
		WriteTimeout:         60 * time.Second,
		IdleTimeout:          120 * time.Second,
		NoDefaultDate:        true,
		NoDefaultContentType: true,
		ErrorHandler:         transportError,
		// fasthttp's errors quote the request's bytes unless told not to; they reach
		// its log (and, before, the client).
		SecureErrorLogMessage: true,
		// Bodies are JSON: a multipart one is refused (415), never parsed.
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{s.logger},
	}
}

// Handler returns the request handler: the routes behind the middleware (.json
// suffix, x-openstack-request-id). The server's listener serves it; tests drive
// it without one.
func (s *Server) Handler() fasthttp.RequestHandler {
	r := router.New()
	// No redirects: pecan answers a path as it is, and fasthttp would build the
	// Location from whatever Host the request names.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.SaveMatchedRoutePath = true // the route template labels the request's metrics
	r.NotFound = func(ctx *fasthttp.RequestCtx) { writeRoutingError(ctx, fasthttp.StatusNotFound, "Not Found") }
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeRoutingError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
	}

	r.GET("/", s.wrap(s.versions))
	r.GET("/healthz", s.wrap(s.healthz))
	r.GET("/cluster", s.wrap(s.clusterStatus))
	r.GET("/metrics", s.wrap(s.metrics))
	r.GET("/debug/memory", s.wrap(s.debugMemory))
	r.GET("/debug/heartbeats", s.wrap(s.debugHeartbeats))
	r.GET("/debug/grains/{kind}/{identity}", s.wrap(s.debugGrain))
	r.GET("/debug/snapshot", s.wrap(s.debugSnapshot))
	r.POST("/debug/snapshot", s.wrap(s.debugSnapshot))
	s.networkLookupRoutes(r)
	r.GET("/debug/pprof/{profile:*}", s.wrap(s.debugPprof))

	// Octavia serves every resource under four prefixes.
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		r.GET(prefix+"/loadbalancers", s.wrap(s.listLoadBalancers))
		r.POST(prefix+"/loadbalancers", s.wrap(s.createLoadBalancer))
		r.GET(prefix+"/loadbalancers/{id}", s.wrap(s.showLoadBalancer))
		r.PUT(prefix+"/loadbalancers/{id}", s.wrap(s.updateLoadBalancer))
		r.DELETE(prefix+"/loadbalancers/{id}", s.wrap(s.deleteLoadBalancer))
		r.PUT(prefix+"/loadbalancers/{id}/failover", s.wrap(s.failoverLoadBalancer))
		s.listenerRoutes(r, prefix)
		s.poolRoutes(r, prefix)
		s.l7Routes(r, prefix)
		s.statusRoutes(r, prefix)
		s.catalogRoutes(r, prefix)
	}
	for _, prefix := range []string{"/v2", "/v2.0"} {
		s.amphoraRoutes(r, prefix+"/octavia/amphorae")
	}
	return s.middleware(s.authenticate(r.Handler))
}

// middleware stamps every response with an x-openstack-request-id, refuses what
// no handler may see (a Host this server was not given, header values that are
// not UTF-8 text: guard.go), routes HEAD as GET, and strips a .json suffix
// (remembering the path as requested, for links); authenticate then identifies
// the caller (identity.go) before routing.
func (s *Server) middleware(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return s.middlewareWith(next, writeError)
}

// middlewareWith is middleware answering its refusals with writeErr (each
// listener's error format). Around everything else it stamps the request id,
// and once the response is ready records the request (keel_http_* by route
// template, method and code) and, at debug level, writes its access log line.
func (s *Server) middlewareWith(next fasthttp.RequestHandler, writeErr func(*fasthttp.RequestCtx, error)) fasthttp.RequestHandler {
	guarded := s.guard(next, writeErr)
	return func(ctx *fasthttp.RequestCtx) {
		// fasthttp read the clock once the request was read: one clock read
		// saved per request (zero for a context a test built).
		start := ctx.Time()
		if start.IsZero() {
			start = time.Now()
		}
		stampRequestID(ctx)
		guarded(ctx)
		s.served(ctx, start)
	}
}

// stampRequestID sets the response's x-openstack-request-id: req-<uuid>,
// formatted without allocating.
func stampRequestID(ctx *fasthttp.RequestCtx) {
	var id [4 + 36]byte
	copy(id[:], "req-")
	u := uuid.New()
	hex.Encode(id[4:12], u[0:4])
	id[12] = '-'
	hex.Encode(id[13:17], u[4:6])
	id[17] = '-'
	hex.Encode(id[18:22], u[6:8])
	id[22] = '-'
	hex.Encode(id[23:27], u[8:10])
	id[27] = '-'
	hex.Encode(id[28:], u[10:])
	ctx.Response.Header.SetBytesV(requestIDHeader, id[:])
}

// served records a request whose response is ready: its metrics, and its
// access log line when the logger takes debug lines.
func (s *Server) served(ctx *fasthttp.RequestCtx, start time.Time) {
	elapsed := time.Since(start)
	route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
	code := ctx.Response.StatusCode()
	s.requests.Observe(route, ctx.Method(), code, elapsed)
	if s.logger.Enabled(context.Background(), slog.LevelDebug) {
		if route == "" {
			route = metrics.UnmatchedRoute
		}
		s.logger.LogAttrs(context.Background(), slog.LevelDebug, "request",
			slog.String("listener", s.requests.Listener()), slog.String("method", string(ctx.Method())),
			slog.String("route", route), slog.Int("status", code),
			slog.Duration("duration", elapsed), slog.String("request_id", requestID(ctx)))
	}
}

// guard refuses what no handler may see, routes HEAD as GET and strips .json
// (see middleware).
func (s *Server) guard(next fasthttp.RequestHandler, writeErr func(*fasthttp.RequestCtx, error)) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if g, ok := ctx.Conn().(*lineGuard); ok {
			bodyLen := len(ctx.Request.Body())
			if ctx.Request.Header.ContentLength() == -1 {
				bodyLen = -1 // chunked: its framing was read too
			}
			defer g.requestDone(bodyLen)
		}
		if !s.hosts.Allows(string(ctx.Host())) {
			writeErr(ctx, badRequest("Host %s is not a name of this server (keeld -allowed-hosts).",
				strconv.Quote(bounded(string(ctx.Host()), 255))))
			return
		}
		if err := checkHeaders(&ctx.Request.Header); err != nil {
			writeErr(ctx, err)
			return
		}
		if isHead(ctx) {
			ctx.Request.Header.SetMethod(fasthttp.MethodGet)
			defer ctx.Request.Header.SetMethod(fasthttp.MethodHead) // fasthttp then skips the body
		}
		if path := ctx.Path(); bytes.HasSuffix(path, []byte(".json")) {
			ctx.SetUserValue(jsonPathKey, string(path))
			// The router matches the path as sent (route parameters are decoded
			// after): strip the suffix from that one.
			orig := ctx.URI().PathOriginal()
			ctx.URI().SetPathBytes(append([]byte(nil), bytes.TrimSuffix(orig, []byte(".json"))...))
		}
		next(ctx)
	}
}

const (
	requestIDHeader = "x-openstack-request-id"
	jsonPathKey     = "keel.json_path" // the path as sent, when it ended in .json
)

// requestID is the id stamped on the response (req-<uuid>).
func requestID(ctx *fasthttp.RequestCtx) string {
	return string(ctx.Response.Header.Peek(requestIDHeader))
}

// requestPath is the path as the client sent it (with .json, if any).
func requestPath(ctx *fasthttp.RequestCtx) string {
	if p, ok := ctx.UserValue(jsonPathKey).(string); ok {
		return p
	}
	return string(ctx.Path())
}

// wrap refuses a body that is not JSON (as WSME does before a controller method
// runs) and turns a handler's error into Octavia's error body.
func (s *Server) wrap(h func(*fasthttp.RequestCtx) error) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		err := checkContentType(ctx)
		if err == nil {
			err = h(ctx)
		}
		if err != nil {
			status, _ := statusOf(err)
			if status >= 500 {
				s.logger.Warn("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err,
					"request_id", requestID(ctx))
			}
			writeError(ctx, err)
		}
	}
}

// barrier makes the next read linearizable (see store.Node.Barrier; its rounds are
// bounded, so no per-request deadline is needed).
func (s *Server) barrier() error {
	if err := s.store.Barrier(context.Background()); err != nil {
		return unavailable(err)
	}
	return nil
}

// Handlers call grains with context.Background(), as barrier reads: the grain
// client bounds every call itself (actors.RequestLifetime, retries included),
// so a per-request deadline only repeated it, at a timer, a context and a
// channel per request.

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(lineGuardListener{ln}) }

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.srv.ShutdownWithContext(ctx)
}
