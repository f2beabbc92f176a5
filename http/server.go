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
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/cluster"
	"keel/cluster/healthreceiver"
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
	// Heartbeats reports the heartbeat receiver's counters (GET /debug/heartbeats);
	// nil, or a nil result, while the node runs no receiver (-amphora-driver noop).
	Heartbeats func() *HeartbeatCounters
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
	heartbeats   func() *HeartbeatCounters
	auth         *Authenticator
	memory       memoryProbe
	srv          *fasthttp.Server
}

func init() { uuid.EnableRandPool() } // request ids on every response: keep them cheap

// NewServer builds the server and its routes.
func NewServer(cfg Config) *Server {
	s := &Server{store: cfg.Store, grains: cfg.Grains, status: cfg.Status, logger: cfg.Logger, grainsActive: cfg.ActiveGrains,
		heartbeats: cfg.Heartbeats, auth: cfg.Auth}
	if s.auth == nil {
		s.auth, _ = NewAuthenticator(AuthConfig{}) // noauth cannot fail
	}
	if s.grainsActive == nil {
		s.grainsActive = func() int64 { return 0 }
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.srv = &fasthttp.Server{
		Handler:              s.Handler(),
		Name:                 "keel",
		MaxRequestBodySize:   4 * maxBodyBytes,
		ReadTimeout:          60 * time.Second,
		WriteTimeout:         60 * time.Second,
		IdleTimeout:          120 * time.Second,
		NoDefaultDate:        true,
		NoDefaultContentType: true,
		ErrorHandler:         s.transportError,
	}
	return s
}

// Handler returns the request handler: the routes behind the middleware (.json
// suffix, x-openstack-request-id). The server's listener serves it; tests drive
// it without one.
func (s *Server) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	r.NotFound = func(ctx *fasthttp.RequestCtx) { writeRoutingError(ctx, fasthttp.StatusNotFound, "Not Found") }
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeRoutingError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
	}

	r.GET("/", s.wrap(s.versions))
	r.GET("/healthz", s.wrap(s.healthz))
	r.GET("/cluster", s.wrap(s.clusterStatus))
	r.GET("/debug/memory", s.wrap(s.debugMemory))
	r.GET("/debug/heartbeats", s.wrap(s.debugHeartbeats))
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

// middleware strips a .json suffix (remembering the path as requested, for links)
// and stamps every response with an x-openstack-request-id; authenticate then
// identifies the caller (identity.go) before routing.
func (s *Server) middleware(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
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
		if path := ctx.Path(); bytes.HasSuffix(path, []byte(".json")) {
			ctx.SetUserValue(jsonPathKey, string(path))
			ctx.URI().SetPathBytes(path[:len(path)-len(".json")])
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

// wrap turns a handler's error into Octavia's error body.
func (s *Server) wrap(h func(*fasthttp.RequestCtx) error) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			status, _ := statusOf(err)
			if status >= 500 {
				s.logger.Warn("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
			}
			writeError(ctx, err)
		}
	}
}

// transportError answers requests fasthttp could not parse (too large, malformed).
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeError(ctx, badRequest("Request is too large."))
		return
	}
	writeError(ctx, badRequest("Malformed request: %v", err))
}

// barrier makes the next read linearizable (see store.Node.Barrier; its rounds are
// bounded, so no per-request deadline is needed).
func (s *Server) barrier() error {
	if err := s.store.Barrier(context.Background()); err != nil {
		return unavailable(err)
	}
	return nil
}

// grainContext bounds one grain call made on behalf of a request.
func grainContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 15*time.Second)
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for requests in flight.
func (s *Server) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.srv.ShutdownWithContext(ctx)
}
