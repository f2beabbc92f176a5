package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/leasepb"
	"keel/actors/reservation"
)

// Blazar v1 (reservations of physical hosts) on its own listener (keeld
// -blazar-addr), as upstream serves it on its own port so catalogs name a
// distinct endpoint. It shares the node's store, grains, authenticator (noauth
// or Keystone), Host policy, header guards and request ids with the Octavia
// listener; it has its own router, error bodies and policy rules (Blazar's,
// named blazar:*, in the same engine: blazar_policy.go).
//
// Handlers are thin: a write checks its body is a JSON object and who may make
// it, makes one call to a Blazar grain (BlazarGrains) and renders the row the
// grain answers; a read renders store rows after the linearizable barrier.
// Every rule about a lease or a host has its home in actors/reservation, which
// the grains apply.
//
// The three error bodies are Blazar's:
//
//   - a refusal of the API's (Blazar exceptions): {"error_code": N,
//     "error_message": "...", "error_name": N}; an unexpected failure's
//     error_name is "INTERNAL_SERVER_ERROR".
//   - what Flask aborts (unknown route, wrong method, unsupported
//     Content-Type, microversion): {"error": N, "error_message": "..."}.
//   - a refused token (keystonemiddleware): {"error": {"code": 401, "title":
//     "Unauthorized", "message": "..."}} with WWW-Authenticate.

// blazarGrains makes the Blazar API's writes, one grain call each: the lease
// grain of the lease's id, or the host inventory grain. Calls that reach no
// decision are retried with the request's id (a retry is answered, not applied
// twice); a grain's refusal is an *actors.Error.
type blazarGrains interface {
	CreateLease(ctx context.Context, id string, req *leasepb.CreateLeaseRequest) (*leasepb.LeaseReply, error)
	UpdateLease(ctx context.Context, id string, req *leasepb.UpdateLeaseRequest) (*leasepb.LeaseReply, error)
	DeleteLease(ctx context.Context, id string, req *leasepb.DeleteLeaseRequest) (*leasepb.LeaseReply, error)
	WriteHosts(ctx context.Context, req *leasepb.HostWriteRequest) (*leasepb.HostWriteReply, error)
}

// clusterGrains are the node's grains (actors.CallLease, CallHostInventory).
type clusterGrains struct{ c *actors.Client }

func (g clusterGrains) CreateLease(ctx context.Context, id string, req *leasepb.CreateLeaseRequest) (*leasepb.LeaseReply, error) {
	return actors.CallLease(ctx, g.c, id, (*leasepb.LeaseGrainClient).Create, req)
}

func (g clusterGrains) UpdateLease(ctx context.Context, id string, req *leasepb.UpdateLeaseRequest) (*leasepb.LeaseReply, error) {
	return actors.CallLease(ctx, g.c, id, (*leasepb.LeaseGrainClient).Update, req)
}

func (g clusterGrains) DeleteLease(ctx context.Context, id string, req *leasepb.DeleteLeaseRequest) (*leasepb.LeaseReply, error) {
	return actors.CallLease(ctx, g.c, id, (*leasepb.LeaseGrainClient).Delete, req)
}

func (g clusterGrains) WriteHosts(ctx context.Context, req *leasepb.HostWriteRequest) (*leasepb.HostWriteReply, error) {
	return actors.CallHostInventory(ctx, g.c, req)
}

// BlazarServer serves Blazar v1 on one node.
type BlazarServer struct {
	*Server
	grains blazarGrains
}

// NewBlazarServer builds the Blazar listener's server from the node's Config,
// the Octavia server's (pass the same Auth: both listeners then share one
// token cache).
func NewBlazarServer(cfg Config) *BlazarServer {
	b := &BlazarServer{Server: newServerCore(cfg, "blazar"), grains: clusterGrains{cfg.Grains}}
	b.srv = b.fasthttpServer(b.Handler(), b.transportError)
	return b
}

// Serve serves on ln until Shutdown.
func (b *BlazarServer) Serve(ln net.Listener) error { return b.srv.Serve(lineGuardListener{ln}) }

// Handler returns the request handler: Blazar's routes behind the shared
// middleware (request id, Host and header guards, HEAD, .json) and the
// authenticator.
func (b *BlazarServer) Handler() fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.SaveMatchedRoutePath = true // the route template labels the request's metrics
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeBlazarError(ctx, &blazarAbort{fasthttp.StatusNotFound,
			"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."})
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeBlazarError(ctx, &blazarAbort{fasthttp.StatusMethodNotAllowed, "The method is not allowed for the requested URL."})
	}
	r.GET("/", b.versions)
	r.GET("/versions", b.versions)

	r.GET("/v1/leases", b.v1(b.listLeases))
	r.POST("/v1/leases", b.v1(b.createLease))
	r.GET("/v1/leases/{id}", b.v1(b.showLease))
	r.PUT("/v1/leases/{id}", b.v1(b.updateLease))
	r.DELETE("/v1/leases/{id}", b.v1(b.deleteLease))

	r.GET("/v1/os-hosts", b.v1(b.listHosts))
	r.POST("/v1/os-hosts", b.v1(b.createHost))
	r.GET("/v1/os-hosts/allocations", b.v1(b.listAllocations))
	r.GET("/v1/os-hosts/properties", b.v1(b.listProperties))
	r.PATCH("/v1/os-hosts/properties/{name}", b.v1(b.updateProperty))
	r.GET("/v1/os-hosts/{id}", b.v1(b.showHost))
	r.PUT("/v1/os-hosts/{id}", b.v1(b.updateHost))
	r.DELETE("/v1/os-hosts/{id}", b.v1(b.deleteHost))
	r.GET("/v1/os-hosts/{id}/allocation", b.v1(b.showAllocation))
	return b.middlewareWith(b.authenticate(r.Handler), writeBlazarError)
}

// authenticate identifies every request before routing, as keystonemiddleware
// wraps all of Blazar's app (the version document too).
func (b *BlazarServer) authenticate(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	a := b.auth
	return func(ctx *fasthttp.RequestCtx) {
		id, err := a.identify(ctx)
		switch {
		case err == nil:
			ctx.SetUserValue(identityKey, id)
			next(ctx)
		case errors.Is(err, errInvalidToken):
			writeUnauthorized(ctx, a.keystone.cfg.WWWAuthenticateURI)
		case errors.Is(err, errKeystoneUnusable):
			b.logger.Warn("token validation failed", "err", err, "request_id", requestID(ctx))
			writeBlazarError(ctx, &apiError{fasthttp.StatusServiceUnavailable, "The Keystone service is temporarily unavailable."})
		default:
			writeBlazarError(ctx, err)
		}
	}
}

func (b *BlazarServer) transportError(ctx *fasthttp.RequestCtx, err error) {
	writeBlazarError(ctx, transportFailure(err))
}

// versions is GET / and GET /versions: 300 with the version document. keel
// lists v1.0 only (upstream also lists its deprecated v2.0, which keel does not
// serve).
func (b *BlazarServer) versions(ctx *fasthttp.RequestCtx) {
	o := openObject(nil)
	o.key("versions")
	v := openObject(append(o.b, '['))
	v.str("id", "v1.0")
	v.str("status", "CURRENT")
	link := openObject(nil)
	link.str("href", "http://"+string(ctx.Host())+"/v1")
	link.str("rel", "self")
	v.key("links")
	v.b = append(append(append(v.b, '['), link.close()...), ']')
	v.str("min_version", blazarVersion)
	v.str("max_version", blazarVersion)
	o.b = append(v.close(), ']')
	writeBlazarJSON(ctx, fasthttp.StatusMultipleChoices, o.close())
}

// The microversion header: only reservation 1.0 exists.
const (
	blazarVersion        = "1.0"
	apiVersionHeader     = "OpenStack-API-Version"
	blazarServiceType    = "reservation"
	blazarVersionHeader  = blazarServiceType + " " + blazarVersion
	blazarLatestVersion  = "latest"
	blazarMaxRequestBody = maxBodyBytes
)

// versionRE is Blazar's APIVersionRequest format.
var versionRE = regexp.MustCompile(`^([1-9]\d*)\.([1-9]\d*|0)$`)

// requestedVersion is the reservation version the request names in
// OpenStack-API-Version (as microversion_parse reads the header: comma-separated
// "<service type> <version>" entries, every header line), or "" for none.
func requestedVersion(ctx *fasthttp.RequestCtx) string {
	var found string
	ctx.Request.Header.VisitAll(func(k, v []byte) {
		if found != "" || !strings.EqualFold(string(k), apiVersionHeader) {
			return
		}
		for _, entry := range strings.Split(string(v), ",") {
			service, version, _ := strings.Cut(strings.TrimSpace(entry), " ")
			if strings.EqualFold(service, blazarServiceType) {
				found = strings.TrimSpace(version)
				return
			}
		}
	})
	return found
}

// v1 wraps a /v1 handler: the microversion check (malformed 400, another
// version 406), Blazar's headers on every answer past it (Vary and the version
// served, as its after_request hook sets them), and the error body of what the
// handler returns.
func (b *BlazarServer) v1(h func(*fasthttp.RequestCtx) error) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch v := requestedVersion(ctx); {
		case v == "" || strings.EqualFold(v, blazarLatestVersion):
		case !versionRE.MatchString(v):
			writeBlazarError(ctx, abortOf(reservation.ErrVersionMalformed(v)))
			return
		case v != blazarVersion:
			writeBlazarError(ctx, abortOf(reservation.ErrVersionNotSupported(v)))
			return
		}
		ctx.Response.Header.Set("Vary", apiVersionHeader)
		ctx.Response.Header.Set(apiVersionHeader, blazarVersionHeader)
		if err := h(ctx); err != nil {
			if status, _ := blazarStatusOf(err); status >= 500 {
				b.logger.Warn("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err,
					"request_id", requestID(ctx))
			}
			writeBlazarError(ctx, err)
		}
	}
}

// blazarBody is the JSON object of a POST, PUT or PATCH: {} for an empty body
// (as Blazar reads one). A Content-Type other than JSON is Blazar's 400; a body
// that is not a JSON object is keel's 400 (Blazar answers 500).
func blazarBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	body := ctx.PostBody()
	if len(body) == 0 {
		return []byte("{}"), nil
	}
	if ct := string(ctx.Request.Header.ContentType()); ct != "" {
		mimetype, _, _ := strings.Cut(ct, ";")
		if mimetype = strings.ToLower(strings.TrimSpace(mimetype)); mimetype != "application/json" {
			return nil, &blazarAbort{fasthttp.StatusBadRequest, "Content type '" + bounded(mimetype, 255) + "' isn't supported"}
		}
	}
	if len(body) > blazarMaxRequestBody {
		return nil, blazarBadRequest("Request is too large.")
	}
	if err := checkJSONText(body); err != nil {
		return nil, err // not UTF-8, a lone surrogate, a NUL: keel's 400 and its text
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || !json.Valid(body) {
			return nil, blazarBadRequest("The request body is not valid JSON.")
		}
		return nil, blazarBadRequest("The request body must be a JSON object.")
	}
	if obj == nil {
		return nil, blazarBadRequest("The request body must be a JSON object.")
	}
	return body, nil
}

// blazarCaller is the caller as the Blazar grains see it: its project, whether
// Blazar's policy makes it an administrator, the request's id and deadline.
func blazarCaller(ctx *fasthttp.RequestCtx) *actorspb.Caller {
	id := identityOf(ctx)
	return &actorspb.Caller{ProjectId: id.ProjectID, Admin: id.Allowed(ruleBlazarAdmin, id.ProjectID),
		RequestId: requestID(ctx), DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}

// blazarAuthorize refuses (Blazar's 403, naming the rule) a request whose
// identity rule does not allow on an object of project.
func blazarAuthorize(ctx *fasthttp.RequestCtx, rule, project string) error {
	if !identityOf(ctx).Allowed(rule, project) {
		return reservation.ErrPolicy(rule)
	}
	return nil
}

// --- errors ---

// blazarAbort is what Blazar's Flask app aborts with: {"error": N,
// "error_message": "..."}.
type blazarAbort struct {
	status  int
	message string
}

func (e *blazarAbort) Error() string { return e.message }

func abortOf(e *reservation.Error) *blazarAbort { return &blazarAbort{e.Code, e.Message} }

func blazarBadRequest(msg string) *reservation.Error {
	return &reservation.Error{Code: fasthttp.StatusBadRequest, Message: msg}
}

// blazarStatusOf is the one place the Blazar listener maps errors to statuses:
// a reservation refusal carries its own, everything else maps as on the
// Octavia listener (grain error kinds, store availability).
func blazarStatusOf(err error) (int, string) {
	var re *reservation.Error
	if errors.As(err, &re) {
		return re.Code, re.Message
	}
	var ab *blazarAbort
	if errors.As(err, &ab) {
		return ab.status, ab.message
	}
	return statusOf(err)
}

// writeBlazarError renders err in the body Blazar gives it.
func writeBlazarError(ctx *fasthttp.RequestCtx, err error) {
	status, msg := blazarStatusOf(err)
	o := openObject(make([]byte, 0, 80+len(msg)))
	var ab *blazarAbort
	switch {
	case errors.As(err, &ab):
		o.integer("error", int64(status))
		o.str("error_message", msg)
	case status >= 500 && status != fasthttp.StatusServiceUnavailable:
		// Blazar hides an unexpected failure's text (the log has it).
		o.integer("error_code", int64(status))
		o.str("error_message", "Internal Server Error")
		o.str("error_name", "INTERNAL_SERVER_ERROR")
	default:
		o.integer("error_code", int64(status))
		o.str("error_message", msg)
		o.integer("error_name", int64(status))
	}
	writeBlazarJSON(ctx, status, o.close())
}

// writeUnauthorized is keystonemiddleware's 401.
func writeUnauthorized(ctx *fasthttp.RequestCtx, uri string) {
	ctx.Response.Header.Set("WWW-Authenticate", `Keystone uri="`+uri+`"`)
	inner := openObject(nil)
	inner.integer("code", fasthttp.StatusUnauthorized)
	inner.str("title", "Unauthorized")
	inner.str("message", "The request you have made requires authentication.")
	o := openObject(nil)
	o.raw("error", inner.close())
	writeBlazarJSON(ctx, fasthttp.StatusUnauthorized, o.close())
}

func writeBlazarJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(body)
}

// truthy reads a query flag (?detail=, ?all=): any non-empty value but a false
// one (false, 0, no, off).
func truthy(ctx *fasthttp.RequestCtx, name string) bool {
	v := ctx.QueryArgs().Peek(name)
	if len(v) == 0 {
		return false
	}
	switch string(bytes.ToLower(v)) {
	case "false", "0", "no", "off":
		return false
	}
	return true
}
