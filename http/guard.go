package http

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// What is refused before any handler runs, and why (docs/ARCHITECTURE.md, "http/ —
// the wire"):
//
//   - a Host that names this server by a name it was not given (-allowed-hosts):
//     a web page can make a browser send requests to a server on loopback or on
//     the local network under a name the page's own site resolves (DNS
//     rebinding); the Host it sends is then that name. IP literals and
//     "localhost" are always accepted (no page can rebind them).
//   - header values that are not valid UTF-8 or hold control characters: they
//     would reach identity parsing, logs and protobuf strings (which must be
//     UTF-8) as they are.
//   - a body whose Content-Type is not JSON (wrap, per handler, as WSME does per
//     controller method): a browser sends text/plain, form encodings and
//     multipart bodies cross-site without asking, never application/json.
//   - header blocks larger than maxHeaderBytes (431), malformed requests (400,
//     never echoed), and header lines ended by a bare LF (400 at once; fasthttp
//     would wait for a CRLF until the read timeout).

// maxHeaderBytes bounds a request's header block (request line and headers):
// fasthttp's read buffer, which must hold it whole. Keystone tokens and the
// headers keystonemiddleware-style proxies add stay well below it.
const maxHeaderBytes = 32 << 10

// jsonMimetypes are the Content-Types WSME reads as JSON (wsme.rest.json's
// accept_content_types).
var jsonMimetypes = []string{"application/json", "text/javascript", "application/javascript"}

// checkContentType refuses a request body that is not JSON, as WSME does for a
// controller method: 415 "Unknown mimetype: <type>" (the type without its
// parameters; empty when the request names none). A request without a body
// passes whatever it says. keel also refuses form encodings, which WSME would
// ignore in favour of form fields keel does not read.
func checkContentType(ctx *fasthttp.RequestCtx) error {
	if len(ctx.Request.Body()) == 0 {
		return nil
	}
	ct := string(ctx.Request.Header.ContentType())
	mimetype, _, _ := strings.Cut(ct, ";")
	mimetype = strings.TrimSpace(mimetype)
	for _, m := range jsonMimetypes {
		if strings.EqualFold(mimetype, m) {
			return nil
		}
	}
	return &apiError{fasthttp.StatusUnsupportedMediaType, "Unknown mimetype: " + bounded(mimetype, 255)}
}

// HostPolicy decides which Host headers the server answers.
type HostPolicy struct {
	any   bool
	names map[string]bool
}

// NewHostPolicy builds the policy from -allowed-hosts: names (case-insensitive,
// without port) besides IP literals and localhost, or "*" for any Host.
func NewHostPolicy(allowed []string) (*HostPolicy, error) {
	p := &HostPolicy{names: map[string]bool{}}
	for _, n := range allowed {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "":
		case n == "*":
			p.any = true
		case strings.ContainsAny(n, ":/[] ") || !utf8.ValidString(n):
			return nil, fmt.Errorf("allowed host %q: give a host name without port or scheme", n)
		default:
			p.names[strings.TrimSuffix(n, ".")] = true
		}
	}
	return p, nil
}

// Allows reports whether a request naming host (the Host header: name or
// address, optionally with a port) is answered. An empty Host (HTTP/1.0) is.
func (p *HostPolicy) Allows(host string) bool {
	if p == nil || p.any || host == "" {
		return true
	}
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
		name = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
	}
	if addr, err := netip.ParseAddr(name); err == nil {
		return addr.Zone() == "" // an address: nothing to rebind
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	return name == "localhost" || p.names[name]
}

// checkHeaders refuses header values a handler must not see: invalid UTF-8 or
// control characters (tab aside). fasthttp has already refused CR and LF.
func checkHeaders(h *fasthttp.RequestHeader) error {
	var bad []byte
	h.VisitAll(func(k, v []byte) {
		if bad == nil && !headerValueOK(v) {
			bad = k
		}
	})
	if bad != nil {
		return badRequest("Invalid value for header %s: header values must be UTF-8 text without control characters.",
			bounded(string(bad), 64))
	}
	return nil
}

func headerValueOK(v []byte) bool {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f {
			return false
		}
		i += size
	}
	return true
}

// bounded cuts s to at most n bytes (on a rune boundary) for a message or a log.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// errBareLF is a header line that ends in LF without CR (see lineGuard).
var errBareLF = errors.New("header line ended by a bare LF; HTTP/1.1 lines end with CRLF")

// transportError answers requests fasthttp could not read, without echoing any
// of their bytes.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	writeError(ctx, transportFailure(err))
	// fasthttp logs the error itself (fasthttpLogger).
}

// transportFailure is the refusal of a request fasthttp could not read.
func transportFailure(err error) *apiError {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		return &apiError{fasthttp.StatusRequestHeaderFieldsTooLarge,
			fmt.Sprintf("Request header fields too large: at most %d bytes of headers are read.", maxHeaderBytes)}
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return badRequest("Request is too large.")
	case errors.Is(err, errBareLF):
		return badRequest("Malformed request: %s.", errBareLF)
	case errors.As(err, &netErr) && netErr.Timeout():
		return &apiError{fasthttp.StatusRequestTimeout, "Request timeout."}
	default:
		return badRequest("Malformed request.")
	}
}

// fasthttpLogger sends fasthttp's own messages (connection errors; their request
// bytes are left out: SecureErrorLogMessage) to the node's log, bounded.
type fasthttpLogger struct{ logger *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.logger.Debug("fasthttp", "detail", strconv.Quote(bounded(fmt.Sprintf(format, args...), 300)))
}

// lineGuardListener wraps each accepted connection in a lineGuard.
type lineGuardListener struct{ net.Listener }

func (l lineGuardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lineGuard{Conn: c, armed: true, header: true}, nil
}

// lineGuard fails the read of a request header block that holds a line ended by
// a bare LF, so the request is answered (400) at once: fasthttp only ends a
// header block at CRLFCRLF and would wait for one until its read timeout. It
// scans only while it knows the stream is at a header block: from the start of
// the connection to the block's CRLFCRLF, and again after a request whose body
// ended exactly where the bytes read so far end (a client that pipelines, or
// sends a chunked body, is no longer scanned: its next header block may already
// sit in fasthttp's buffer). Reads and the handler run on the connection's one
// goroutine, so the state needs no lock.
type lineGuard struct {
	net.Conn
	armed  bool  // false once the stream position is no longer known
	header bool  // the bytes being read belong to a header block
	tail   uint8 // header: how much of CRLFCRLF the last bytes matched
	prevCR bool  // the last byte read was CR
	body   int64 // bytes read since the header block ended
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	if !g.armed || !g.header {
		g.body += int64(n)
		g.prevCR = p[n-1] == '\r'
		return n, err
	}
	for i := 0; i < n; i++ {
		c := p[i]
		if c == '\n' && !g.prevCR {
			return i, errBareLF
		}
		g.prevCR = c == '\r'
		switch {
		case c == '\r' && (g.tail == 0 || g.tail == 2):
			g.tail++
		case c == '\n' && (g.tail == 1 || g.tail == 3):
			g.tail++
		default:
			g.tail = 0
		}
		if g.tail == 4 {
			g.header, g.tail, g.body = false, 0, int64(n-i-1)
			g.prevCR = p[n-1] == '\r'
			break
		}
	}
	return n, err
}

// requestDone re-arms the scan for the next header block when the request's body
// (of bodyLen bytes, -1 when chunked) ended where the bytes read end.
func (g *lineGuard) requestDone(bodyLen int) {
	if !g.armed {
		return
	}
	if g.header || bodyLen < 0 || g.body != int64(bodyLen) {
		g.armed = false
		return
	}
	g.header, g.body, g.prevCR = true, 0, false
}

// decodePathParam percent-decodes a route parameter as a WSGI server decodes
// PATH_INFO for pecan ("my%20az" names "my az"); the router matches on the path
// as sent, so "%2F" stays inside its segment and decodes to "/". A malformed
// escape leaves the parameter as sent.
func decodePathParam(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return v
	}
	return d
}

// isHead reports a HEAD request, which is routed as a GET (pecan answers HEAD
// wherever it answers GET); fasthttp then sends the headers without the body.
func isHead(ctx *fasthttp.RequestCtx) bool {
	return bytes.Equal(ctx.Method(), []byte(fasthttp.MethodHead))
}
