package http

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/octaviarules"
	"keel/store"
)

// apiError is a failure with the HTTP status and the user-facing message
// (Octavia's faultstring). Every error reaches the client through writeError.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...interface{}) *apiError {
	return &apiError{fasthttp.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...interface{}) *apiError {
	return &apiError{fasthttp.StatusNotFound, fmt.Sprintf(format, args...)}
}

func forbidden() *apiError {
	return &apiError{fasthttp.StatusForbidden, "Policy does not allow this request to be performed."}
}

func unavailable(err error) *apiError {
	return &apiError{fasthttp.StatusServiceUnavailable, "Service unavailable: " + err.Error()}
}

// statusOf is the one place errors map to HTTP statuses.
func statusOf(err error) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.message
	}
	var inv octaviarules.Invalid
	if errors.As(err, &inv) {
		return fasthttp.StatusBadRequest, inv.Error()
	}
	var unsupported octaviarules.Unsupported
	if errors.As(err, &unsupported) {
		return fasthttp.StatusNotImplemented, unsupported.Error()
	}
	var ge *actors.Error
	if errors.As(err, &ge) {
		switch ge.Kind {
		case actors.KindNotFound:
			return fasthttp.StatusNotFound, ge.Message
		case actors.KindConflict:
			return fasthttp.StatusConflict, ge.Message
		case actors.KindInvalid:
			return fasthttp.StatusBadRequest, ge.Message
		case actors.KindForbidden:
			return fasthttp.StatusForbidden, ge.Message
		case actors.KindUnavailable, actors.KindNotApplied:
			return fasthttp.StatusServiceUnavailable, ge.Message
		case actors.KindUnimplemented:
			return fasthttp.StatusNotImplemented, ge.Message
		default:
			return fasthttp.StatusInternalServerError, ge.Message
		}
	}
	if errors.Is(err, store.ErrNoLeader) || errors.Is(err, store.ErrShutdown) || errors.Is(err, store.ErrAmbiguous) {
		return fasthttp.StatusServiceUnavailable, "Service unavailable: " + err.Error()
	}
	return fasthttp.StatusInternalServerError, err.Error()
}

// writeError renders err in Octavia's (WSME) error body:
// {"faultcode": "Client"|"Server", "faultstring": "...", "debuginfo": null}.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	var pe *parentNotFound
	if errors.As(err, &pe) {
		writeParentNotFound(ctx, pe.message)
		return
	}
	status, msg := statusOf(err)
	code := "Client"
	if status >= 500 {
		code = "Server"
	}
	o := openObject(make([]byte, 0, 96+len(msg)))
	o.str("faultcode", code)
	o.str("faultstring", msg)
	o.null("debuginfo")
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(o.close())
}

// writeRoutingError renders routing failures (unknown path, wrong method) in
// pecan's body shape, as Octavia does for them.
func writeRoutingError(ctx *fasthttp.RequestCtx, status int, title string) {
	o := openObject(nil)
	o.integer("code", int64(status))
	o.str("title", title)
	o.str("description", "")
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(o.close())
}

// parentNotFound is Octavia's 404 for a parent object named in the path that does
// not exist (/l7policies/{missing}/rules): pecan raises it while routing, so its
// body is pecan's, not WSME's.
type parentNotFound struct{ message string }

func (e *parentNotFound) Error() string { return e.message }

func missingParent(format string, args ...interface{}) *parentNotFound {
	return &parentNotFound{fmt.Sprintf(format, args...)}
}

// writeParentNotFound renders it as webob does for Octavia's exceptions (which
// subclass HTTPClientError, hence the title): JSON when the client accepts it,
// else webob's plain-text page.
func writeParentNotFound(ctx *fasthttp.RequestCtx, msg string) {
	ctx.SetStatusCode(fasthttp.StatusNotFound)
	if bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("application/json")) {
		o := openObject(nil)
		o.integer("code", fasthttp.StatusNotFound)
		o.str("title", "Bad Request")
		o.str("description", msg)
		ctx.Response.Header.SetContentType("application/json")
		ctx.SetBody(o.close())
		return
	}
	ctx.Response.Header.SetContentType("text/plain; charset=UTF-8")
	ctx.SetBodyString("404 Bad Request\n\nThe server could not comply with the request since it is either malformed " +
		"or otherwise incorrect.\n\n " + msg + "  ")
}
