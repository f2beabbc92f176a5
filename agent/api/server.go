// Package api owns the agent's HTTP API, seed 002's v0.1 (plus the unversioned
// /info): routing, thin handlers over the agent's components, the seed's JSON bodies,
// the topology-transition gate (503), body size limits, and the mutual-TLS
// configuration with a server certificate that can be replaced while serving.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/agent/certs"
	"keel/agent/haproxy"
	"keel/agent/keepalived"
	"keel/agent/netif"
	"keel/agent/sysinfo"
	"keel/agent/topology"
)

// Version is the API version served.
const Version = "0.1"

// MaxBodySize bounds every request body (configurations and certificates); larger
// bodies get 413 before any handler runs.
const MaxBodySize = 1 << 20

// TopologyWait is how long POST /topology waits for a transition before answering 202.
const TopologyWait = 2 * time.Second

// Deps are the components the API drives.
type Deps struct {
	AmphoraID  string
	Hostname   string
	Listeners  *haproxy.Manager
	Certs      *certs.Store
	VRRP       *keepalived.Manager
	Net        *netif.Net
	Topology   *topology.Manager
	Sampler    *sysinfo.Sampler
	Packages   *sysinfo.PackageCache
	ServerCert *ServerCert
	Logger     *slog.Logger
}

type server struct{ Deps }

// NewServer returns the fasthttp server of the API (serve it on a TLS listener made
// with TLSConfig).
func NewServer(d Deps) *fasthttp.Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &fasthttp.Server{
		Handler:            NewHandler(d),
		ErrorHandler:       errorHandler,
		Name:               "keel-agent",
		MaxRequestBodySize: MaxBodySize,
		ReadTimeout:        60 * time.Second,
		WriteTimeout:       180 * time.Second,
		IdleTimeout:        120 * time.Second,
		Logger:             fasthttpLogger{d.Logger},
	}
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.l.Info(fmt.Sprintf(format, args...)) }

// errorHandler answers requests fasthttp could not read (e.g. a body over the limit).
func errorHandler(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeJSON(ctx, http.StatusRequestEntityTooLarge, &Error{Message: "Request Entity Too Large",
			Details: fmt.Sprintf("request bodies are limited to %d bytes", MaxBodySize)})
		return
	}
	writeJSON(ctx, http.StatusBadRequest, &Error{Message: "Invalid request", Details: err.Error()})
}

// handler is a thin endpoint: it returns a status and a body (JSON, or []byte sent as
// text), or an error that toError maps.
type handler func(ctx *fasthttp.RequestCtx) (int, any, error)

// NewHandler routes the API.
func NewHandler(d Deps) fasthttp.RequestHandler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &server{d}
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeJSON(ctx, http.StatusNotFound, &Error{Message: "Not Found", Details: "no such endpoint: " + string(ctx.Method()) + " " + string(ctx.Path())})
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeJSON(ctx, http.StatusMethodNotAllowed, &Error{Message: "Method Not Allowed", Details: string(ctx.Method()) + " " + string(ctx.Path())})
	}
	v := "/v" + Version
	r.GET("/info", s.wrap(s.info))
	r.GET(v+"/details", s.wrap(s.details))
	r.GET(v+"/topology", s.wrap(s.getTopology))
	r.POST(v+"/topology", s.wrap(s.setTopology))
	r.GET(v+"/interface/{ip}", s.wrap(s.getInterface))
	r.GET(v+"/listeners", s.wrap(s.listListeners))
	r.GET(v+"/listeners/{listener}", s.wrap(s.getListener))
	r.DELETE(v+"/listeners/{listener}", s.wrap(s.gated(s.deleteListener)))
	r.PUT(v+"/listeners/{listener}/{action}", s.wrap(s.gated(s.listenerAction)))
	r.GET(v+"/listeners/{listener}/haproxy", s.wrap(s.getConfig))
	r.PUT(v+"/listeners/{amphora_id}/{listener2}/haproxy", s.wrap(s.gated(s.uploadConfig)))
	r.PUT(v+"/listeners/{listener}/certificates/{filename}", s.wrap(s.gated(s.putCert)))
	r.GET(v+"/listeners/{listener}/certificates/{filename}", s.wrap(s.getCert))
	r.DELETE(v+"/listeners/{listener}/certificates/{filename}", s.wrap(s.gated(s.deleteCert)))
	r.POST(v+"/plug/vip/{ip}", s.wrap(s.gated(s.plugVIP)))
	r.POST(v+"/plug/network", s.wrap(s.gated(s.plugNetwork)))
	r.PUT(v+"/certificate", s.wrap(s.putServerCert))
	r.PUT(v+"/vrrp/{action}", s.wrap(s.vrrp))
	routed := r.Handler
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("panic in handler", "panic", p, "path", string(ctx.Path()))
				writeJSON(ctx, http.StatusInternalServerError, (&Error{Message: "Internal Server Error", Details: fmt.Sprint(p)}).public())
			}
		}()
		if bytes.Equal(ctx.Path(), []byte(v+"/plug/network/")) { // the seed's spelling
			ctx.URI().SetPath(v + "/plug/network")
		}
		routed(ctx)
	}
}

func (s *server) wrap(h handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		status, body, err := h(ctx)
		if err != nil {
			e := toError(err)
			if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
				s.Logger.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "status", e.Status, "message", e.Message, "details", e.Details)
			}
			// The log keeps the full text; the answer never shows the agent's paths.
			writeJSON(ctx, e.Status, e.public())
			return
		}
		if raw, ok := body.([]byte); ok {
			ctx.SetStatusCode(status)
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBody(raw)
			return
		}
		writeJSON(ctx, status, body)
	}
}

// gated refuses mutating requests while a topology transition runs.
func (s *server) gated(h handler) handler {
	return func(ctx *fasthttp.RequestCtx) (int, any, error) {
		if s.Topology.Changing() {
			return 0, nil, topology.ErrTransitionInProgress
		}
		return h(ctx)
	}
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error","details":"response encoding failed"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}

func param(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	return v
}

// decodeJSON reads a JSON object body strictly.
func decodeJSON(ctx *fasthttp.RequestCtx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidRequest("invalid JSON body: " + err.Error())
	}
	return nil
}

type message struct {
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

var ok = message{Message: "OK"}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func (s *server) host() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	return hostname()
}

func normalizeAction(a string) (string, bool) {
	switch l := strings.ToLower(a); l {
	case "start", "stop", "reload":
		return l, true
	}
	return a, false
}
