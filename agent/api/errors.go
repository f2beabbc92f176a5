package api

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"

	"keel/agent/certs"
	"keel/agent/haproxy"
	"keel/agent/ident"
	"keel/agent/keepalived"
	"keel/agent/netif"
	"keel/agent/topology"
)

// Error is an API error: the status and the seed's {"message", "details"} body.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Message + ": " + e.Details }

func invalidRequest(details string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "Invalid request", Details: details}
}

func listenerNotFound(id string) *Error {
	return &Error{Status: http.StatusNotFound, Message: "Listener Not Found", Details: "No listener with UUID: " + id}
}

// toError is the one place that maps the agent's errors to HTTP statuses and bodies.
func toError(err error) *Error {
	var (
		apiErr   *Error
		topoInv  *topology.InvalidError
		lnf      *haproxy.NotFoundError
		hcfg     *haproxy.ConfigError
		hact     *haproxy.ActionError
		hconf    *haproxy.ConflictError
		pemErr   *certs.InvalidPEMError
		certNF   *certs.NotFoundError
		kcfg     *keepalived.ConfigError
		kupload  *keepalived.UploadError
		kact     *keepalived.ActionError
		netInv   *netif.InvalidError
		netCmd   *netif.CommandError
		status   int
		msg, det string
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, topology.ErrTransitionInProgress):
		status, msg = http.StatusServiceUnavailable, "Topology transition in progress"
	case errors.As(err, &topoInv):
		status, msg, det = http.StatusBadRequest, "Invalid request", topoInv.Details
	case errors.As(err, &lnf):
		return listenerNotFound(lnf.ID)
	case errors.As(err, &hcfg):
		status, msg, det = http.StatusBadRequest, "Invalid request", hcfg.Output
	case errors.As(err, &hconf):
		// 409, not the seed's 500 for a failed start: nothing failed, the request
		// conflicts with another listener's state (as Octavia's API answers 409 for a
		// second listener on a port), and succeeds once that listener is stopped.
		status, msg, det = http.StatusConflict, hconf.Error(), hconf.Details()
	case errors.As(err, &hact):
		status, msg, det = http.StatusInternalServerError, hact.Error(), hact.Details
	case errors.As(err, &pemErr):
		status, msg, det = http.StatusBadRequest, pemErr.Kind.Error(), pemErr.Details
	case errors.Is(err, certs.ErrBadFilename):
		status, msg, det = http.StatusBadRequest, certs.ErrBadFilename.Error(),
			fmt.Sprintf("a certificate file name is at most %d characters: letters, digits, _ . - (not first), ending in .pem", ident.MaxCertFilename)
	case errors.As(err, &certNF):
		status, msg, det = http.StatusNotFound, "Certificate Not Found", certNF.Error()
	case errors.As(err, &kcfg):
		status, msg, det = http.StatusBadRequest, "Invalid request", kcfg.Output
	case errors.As(err, &kupload):
		status, msg, det = http.StatusInternalServerError, kupload.Error(), kupload.Err.Error()
	case errors.As(err, &kact):
		status, msg, det = http.StatusInternalServerError, kact.Error(), kact.Details
	case errors.Is(err, netif.ErrBadIP):
		status, msg = http.StatusBadRequest, netif.ErrBadIP.Error()
	case errors.Is(err, netif.ErrInterfaceNotFound):
		status, msg = http.StatusNotFound, netif.ErrInterfaceNotFound.Error()
	case errors.Is(err, netif.ErrNoSuitableInterface):
		status, msg = http.StatusNotFound, netif.ErrNoSuitableInterface.Error()
	case errors.As(err, &netInv):
		status, msg, det = http.StatusBadRequest, netInv.Message, netInv.Details
	case errors.As(err, &netCmd):
		status, msg, det = http.StatusInternalServerError, "Error plugging "+netCmd.What, netCmd.Command+": "+netCmd.Output
		if netCmd.What == "" {
			msg = "Error reading network interfaces"
		}
	default:
		status, msg, det = http.StatusInternalServerError, "Internal Server Error", err.Error()
	}
	return &Error{Status: status, Message: msg, Details: det}
}

// absPath is an absolute file system path inside an error text: a '/' at the start or
// after a separator (so CIDRs such as 10.0.0.0/24 or 2001:db8::/32 and relative names
// are left alone), up to the next separator or ':' (haproxy's "[file:line]").
var absPath = regexp.MustCompile(`(^|[\s\[\](){}<>'"=,;])(/[^\s\[\](){}<>'"=,;:]+)`)

// scrubPaths replaces every absolute path in an error text by its last element, so an
// answer never shows where the agent keeps its state, certificates or keys
// ("open /var/lib/keel-agent/listeners/<id>/haproxy.cfg: ..." becomes
// "open haproxy.cfg: ...", haproxy's "[/.../haproxy.cfg:4]" becomes "[haproxy.cfg:4]").
// The full text stays in the agent's log.
func scrubPaths(s string) string {
	if !strings.Contains(s, "/") {
		return s
	}
	return absPath.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '/')
		return m[:i] + filepath.Base(m[i:])
	})
}

// public is the body an error is answered with: e with paths scrubbed.
func (e *Error) public() *Error {
	return &Error{Status: e.Status, Message: scrubPaths(e.Message), Details: scrubPaths(e.Details)}
}
