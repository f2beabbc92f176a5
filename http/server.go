// Package http owns keel's wire: a fasthttp server with fasthttp/router, one
// handler per endpoint (parse → authorize → one grain call or one store query →
// render), the OpenStack conventions shared by every resource (filters, fields,
// pagination links, sorting, .json, project_id/tenant_id, error bodies), noauth
// identity, and the operator endpoints /healthz and /cluster.
package http

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/cluster"
	"keel/store"
)

// Config wires the server to its node.
type Config struct {
	Store  *store.Node
	Grains *actors.Client
	Status func() cluster.NodeStatus
	Logger *slog.Logger
}

// Server serves the public API of one node.
type Server struct {
	store  *store.Node
	grains *actors.Client
	status func() cluster.NodeStatus
	logger *slog.Logger
	srv    *fasthttp.Server
}

func init() { uuid.EnableRandPool() } // request ids on every response: keep them cheap

// NewServer builds the server and its routes.
func NewServer(cfg Config) *Server {
	s := &Server{store: cfg.Store, grains: cfg.Grains, status: cfg.Status, logger: cfg.Logger}
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

// Handler returns the request handler (routes plus the .json and request-id
// middleware), for tests that drive it without a listener.
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

	// Octavia serves every resource under four prefixes.
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		r.GET(prefix+"/loadbalancers", s.wrap(s.listLoadBalancers))
		r.POST(prefix+"/loadbalancers", s.wrap(s.createLoadBalancer))
		r.GET(prefix+"/loadbalancers/{id}", s.wrap(s.showLoadBalancer))
		r.PUT(prefix+"/loadbalancers/{id}", s.wrap(s.updateLoadBalancer))
		r.DELETE(prefix+"/loadbalancers/{id}", s.wrap(s.deleteLoadBalancer))
	}
	return s.middleware(r.Handler)
}

// middleware strips a .json suffix (remembering the path as requested, for links)
// and stamps every response with an x-openstack-request-id.
func (s *Server) middleware(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		id := "req-" + uuid.NewString()
		ctx.SetUserValue(requestIDKey, id)
		ctx.Response.Header.Set("x-openstack-request-id", id)
		path := ctx.Path()
		ctx.SetUserValue(requestPathKey, string(path))
		if bytes.HasSuffix(path, []byte(".json")) {
			ctx.URI().SetPathBytes(path[:len(path)-len(".json")])
		}
		next(ctx)
	}
}

const (
	requestIDKey   = "keel.request_id"
	requestPathKey = "keel.request_path"
)

func requestID(ctx *fasthttp.RequestCtx) string {
	id, _ := ctx.UserValue(requestIDKey).(string)
	return id
}

// requestPath is the path as the client sent it (with .json, if any).
func requestPath(ctx *fasthttp.RequestCtx) string {
	if p, ok := ctx.UserValue(requestPathKey).(string); ok {
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

// barrier makes the next read linearizable (see store.Node.Barrier).
func (s *Server) barrier() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.Barrier(ctx); err != nil {
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
