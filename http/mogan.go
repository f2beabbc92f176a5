package http

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/baremetal"
	"keel/actors/instancepb"
)

// Mogan v1 (bare-metal instances, seed era) on its own listener (keeld
// -mogan-addr, Mogan's port 6688), as Blazar's is: it shares the node's store,
// grains, authenticator, Host policy, header guards and request ids with the
// Octavia listener; it has its own router, Mogan's error body and Mogan's
// policy rules (named mogan:*, in the same engine: mogan_policy.go).
//
// Handlers are thin: a write checks its body is JSON and who may make it,
// makes one call to a Mogan grain (the instance grain of the instance's uuid,
// which the API makes on create; the instance type grain) and renders the row
// the grain answers; a read renders store rows after the linearizable
// barrier. Every rule about an instance (create schema, JSON Patch, status and
// power machines) has its home in actors/baremetal, which the grains apply.
//
// Every error, 404 and 405 included, is Mogan's (Ironic's parsable-error)
// body: {"error_message": "<WSME fault as a JSON string>"} (baremetal.Body).

// moganGrains makes the Mogan API's writes, one grain call each. A grain's
// refusal is a *baremetal.Error or an *actors.Error whose message is Mogan's.
type moganGrains interface {
	CreateInstance(ctx context.Context, id string, req *instancepb.CreateInstanceRequest) (*instancepb.InstanceReply, error)
	PatchInstance(ctx context.Context, id string, req *instancepb.PatchInstanceRequest) (*instancepb.InstanceReply, error)
	DeleteInstance(ctx context.Context, id string, req *instancepb.DeleteInstanceRequest) (*instancepb.InstanceReply, error)
	SetPower(ctx context.Context, id string, req *instancepb.SetPowerRequest) (*instancepb.InstanceReply, error)
	WriteType(ctx context.Context, id string, req *instancepb.TypeWriteRequest) (*instancepb.TypeWriteReply, error)
}

// MoganServer serves Mogan v1 on one node.
type MoganServer struct {
	*Server
	grains moganGrains
}

// NewMoganServer builds the Mogan listener's server from the node's Config
// (the same Auth as the other listeners: one token cache).
func NewMoganServer(cfg Config) *MoganServer {
	m := &MoganServer{Server: newServerCore(cfg, "mogan"), grains: clusterMoganGrains{cfg.Grains}}
	m.srv = m.fasthttpServer(m.Handler(), m.transportError)
	return m
}

// Serve serves on ln until Shutdown.
func (m *MoganServer) Serve(ln net.Listener) error { return m.srv.Serve(lineGuardListener{ln}) }

// Handler returns the request handler: Mogan's routes behind the shared
// middleware and the authenticator (keystonemiddleware wraps all of Mogan).
func (m *MoganServer) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.SaveMatchedRoutePath = true // the route template labels the request's metrics
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeMoganError(ctx, moganRefusal(fasthttp.StatusNotFound, "The resource could not be found."))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeMoganError(ctx, moganRefusal(fasthttp.StatusMethodNotAllowed, "The server could not comply with the request since it is either malformed or otherwise incorrect."))
	}
	r.GET("/", m.root)
	r.GET("/v1", m.v1Doc)

	r.GET("/v1/instances", m.handle(m.listInstances))
	r.POST("/v1/instances", m.handle(m.createInstance))
	r.GET("/v1/instances/detail", m.handle(m.detailInstances))
	r.GET("/v1/instances/{uuid}", m.handle(m.showInstance))
	r.PATCH("/v1/instances/{uuid}", m.handle(m.patchInstance))
	r.DELETE("/v1/instances/{uuid}", m.handle(m.deleteInstance))
	r.GET("/v1/instances/{uuid}/states", m.handle(m.instanceStates))
	r.PUT("/v1/instances/{uuid}/states/power", m.handle(m.setPower))

	r.GET("/v1/types", m.handle(m.listTypes))
	r.POST("/v1/types", m.handle(m.createType))
	r.GET("/v1/types/{uuid}", m.handle(m.showType))
	r.PUT("/v1/types/{uuid}", m.handle(m.updateType))
	r.DELETE("/v1/types/{uuid}", m.handle(m.deleteType))
	r.GET("/v1/types/{uuid}/extraspecs", m.handle(m.showExtraSpecs))
	r.PATCH("/v1/types/{uuid}/extraspecs", m.handle(m.setExtraSpecs))
	r.DELETE("/v1/types/{uuid}/extraspecs/{key}", m.handle(m.unsetExtraSpec))

	r.GET("/v1/availability_zones", m.handle(m.listAvailabilityZones))
	return m.middlewareWith(m.authenticate(r.Handler), writeMoganError)
}

// authenticate identifies every request before routing.
func (m *MoganServer) authenticate(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	a := m.auth
	return func(ctx *fasthttp.RequestCtx) {
		id, err := a.identify(ctx)
		switch {
		case err == nil:
			ctx.SetUserValue(identityKey, id)
			next(ctx)
		case errors.Is(err, errInvalidToken):
			writeUnauthorized(ctx, a.keystone.cfg.WWWAuthenticateURI)
		case errors.Is(err, errKeystoneUnusable):
			m.logger.Warn("token validation failed", "err", err, "request_id", requestID(ctx))
			writeMoganError(ctx, moganRefusal(fasthttp.StatusServiceUnavailable, "The Keystone service is temporarily unavailable."))
		default:
			writeMoganError(ctx, err)
		}
	}
}

func (m *MoganServer) transportError(ctx *fasthttp.RequestCtx, err error) {
	writeMoganError(ctx, transportFailure(err))
}

// handle wraps a handler: the error body of what it returns, the log of a
// server failure.
func (m *MoganServer) handle(h func(*fasthttp.RequestCtx) error) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if err := h(ctx); err != nil {
			if e := moganErrorOf(err); e.Code >= 500 {
				m.logger.Warn("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err,
					"request_id", requestID(ctx))
			}
			writeMoganError(ctx, err)
		}
	}
}

// --- version documents ---

// root is GET /: Mogan's root document naming v1, its only version.
func (m *MoganServer) root(ctx *fasthttp.RequestCtx) {
	base := moganBase(ctx)
	v := openObject(nil)
	v.str("id", "v1")
	v.key("links")
	v.b = appendMoganLink(append(v.b, '['), base+"/v1/", "self")
	v.b = append(v.b, ']')
	v.str("status", "CURRENT")
	ver := v.close()
	o := openObject(nil)
	o.str("name", "OpenStack Mogan API")
	o.str("description", "Mogan is an OpenStack project which aims to provide baremetal as a service.")
	o.raw("default_version", ver)
	o.raw("versions", append(append([]byte{'['}, ver...), ']'))
	writeMoganJSON(ctx, fasthttp.StatusOK, o.close())
}

// v1Doc is GET /v1: {"id": "v1", "instances": [links], "types": [links],
// "availability_zones": [links]}.
func (m *MoganServer) v1Doc(ctx *fasthttp.RequestCtx) {
	base := moganBase(ctx)
	o := openObject(nil)
	o.str("id", "v1")
	for _, res := range []string{"instances", "types", "availability_zones"} {
		o.key(res)
		o.b = appendMoganLinks(o.b, base, res, "")
	}
	writeMoganJSON(ctx, fasthttp.StatusOK, o.close())
}

// --- requests ---

// moganBody is a write's JSON body: JSON text (keel's own 400 otherwise) of
// the kind want ("object" or "array"), else refuse.
func moganBody(ctx *fasthttp.RequestCtx, want string, refuse *baremetal.Error) ([]byte, error) {
	body := ctx.PostBody()
	if len(body) > maxBodyBytes {
		return nil, moganRefusal(fasthttp.StatusRequestEntityTooLarge, "Request is too large.")
	}
	if ct := string(ctx.Request.Header.ContentType()); ct != "" && len(body) > 0 {
		mimetype, _, _ := strings.Cut(ct, ";")
		if mimetype = strings.ToLower(strings.TrimSpace(mimetype)); mimetype != "application/json" {
			return nil, moganRefusal(fasthttp.StatusUnsupportedMediaType, "Unsupported Content-Type")
		}
	}
	if err := checkJSONText(body); err != nil {
		return nil, refuse
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil, refuse
	}
	switch v.(type) {
	case map[string]any:
		if want == "object" {
			return body, nil
		}
	case []any:
		if want == "array" {
			return body, nil
		}
	}
	return nil, refuse
}

// moganCaller is the caller as the Mogan grains see it.
func moganCaller(ctx *fasthttp.RequestCtx) *actorspb.Caller {
	id := identityOf(ctx)
	return &actorspb.Caller{ProjectId: id.ProjectID, Admin: id.Allowed(ruleMoganAdmin, id.ProjectID),
		RequestId: requestID(ctx), DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}

// moganAuthorize refuses (Mogan's 403, naming the rule) a request whose
// identity the rule does not allow on an object of project.
func moganAuthorize(ctx *fasthttp.RequestCtx, rule, project string) error {
	if !identityOf(ctx).Allowed(rule, project) {
		return baremetal.ErrPolicy(rule)
	}
	return nil
}

// moganQuery refuses a query parameter the route does not take (WSME's
// Unknown argument), in the order sent.
func moganQuery(ctx *fasthttp.RequestCtx, allowed ...string) error {
	var bad string
	ctx.QueryArgs().VisitAll(func(k, _ []byte) {
		if bad != "" {
			return
		}
		for _, a := range allowed {
			if string(k) == a {
				return
			}
		}
		bad = string(k)
	})
	if bad != "" {
		return baremetal.ErrUnknownArgument(bad)
	}
	return nil
}

// --- errors ---

func moganRefusal(code int, msg string) *baremetal.Error {
	return &baremetal.Error{Code: code, Message: msg}
}

// moganErrorOf is the one place the Mogan listener maps errors to statuses: a
// baremetal refusal carries its own; anything else maps as on the Octavia
// listener. An unexpected failure's text is hidden (the log has it).
func moganErrorOf(err error) *baremetal.Error {
	var be *baremetal.Error
	if errors.As(err, &be) {
		return be
	}
	status, msg := statusOf(err)
	if status >= 500 && status != fasthttp.StatusServiceUnavailable {
		msg = "An unknown exception occurred."
	}
	return moganRefusal(status, msg)
}

// writeMoganError renders err in Mogan's body.
func writeMoganError(ctx *fasthttp.RequestCtx, err error) {
	e := moganErrorOf(err)
	writeMoganJSON(ctx, e.Code, baremetal.Body(e))
}

func writeMoganJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(body)
}
