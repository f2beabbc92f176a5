package http

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/actorspb"
)

// DefaultProject is the caller's project when X-Project-Id is absent (noauth).
const DefaultProject = "default"

// Auth strategies (Octavia's [api_settings] auth_strategy).
const (
	AuthNoauth   = "noauth"
	AuthKeystone = "keystone"
)

// AuthConfig is how the server identifies callers and what their roles allow.
type AuthConfig struct {
	// Strategy is AuthNoauth ("" too) or AuthKeystone.
	Strategy string
	// NoauthAdmin makes a noauth request without X-Roles an administrator's
	// (development on loopback); otherwise it is a project member's.
	NoauthAdmin bool
	// Keystone validates tokens (Strategy AuthKeystone).
	Keystone KeystoneConfig
	// Policy are oslo.policy's options for Octavia's rules.
	Policy PolicyOptions
}

// Identity is who a request comes from: the token's (keystone) or the headers'
// (noauth) user, scope and roles, with what the policy makes of them. It is
// immutable once built, so a validated token's identity is shared by every
// request that presents the token until the cache drops it.
type Identity struct {
	UserID, UserName, UserDomainID string
	ProjectID, ProjectName         string
	ProjectDomainID                string
	DomainID                       string   // a domain-scoped token's domain
	SystemScope                    string   // "all" for a system-scoped token
	Roles                          []string // lower-case, sorted, as the policy reads them
	ExpiresAt                      time.Time

	policy *Policy
	creds  credentials
	admin  bool // load-balancer:admin: may act on every project's objects
}

// newIdentity completes an identity with the policy's view of it.
func newIdentity(id *Identity, p *Policy) *Identity {
	roles := make(map[string]bool, len(id.Roles))
	for _, r := range id.Roles {
		roles[strings.ToLower(r)] = true // Keystone's role names are case-insensitive
	}
	id.Roles = id.Roles[:0]
	for r := range roles {
		id.Roles = append(id.Roles, r)
	}
	slices.Sort(id.Roles)
	id.policy = p
	id.creds = credentials{roles: roles, project: id.ProjectID, domain: id.DomainID, system: id.SystemScope}
	id.creds.isAdmin = p.contextIsAdmin(&id.creds)
	id.admin = p.Allowed(ruleAdmin, &id.creds, id.ProjectID)
	return id
}

// Allowed reports whether the policy's rule allows this identity on an object
// of project.
func (id *Identity) Allowed(rule, project string) bool {
	return id != nil && id.policy != nil && id.policy.Allowed(rule, &id.creds, project)
}

// Admin reports whether the identity is Octavia's administrator
// (load-balancer:admin): it may act on every project's objects.
func (id *Identity) Admin() bool { return id != nil && id.admin }

const identityKey = "keel.identity"

// identityOf is the request's identity (set by authenticate; nobody's, which
// the policy allows nothing, on a path that needs none).
func identityOf(ctx *fasthttp.RequestCtx) *Identity {
	if id, ok := ctx.UserValue(identityKey).(*Identity); ok {
		return id
	}
	return &Identity{}
}

// callerOf is the request's identity as grains see it: its project, whether it
// acts for every project (load-balancer:admin), and the request's id and
// deadline.
func callerOf(ctx *fasthttp.RequestCtx) *actorspb.Caller {
	id := identityOf(ctx)
	return &actorspb.Caller{ProjectId: id.ProjectID, Admin: id.Admin(), RequestId: requestID(ctx),
		DeadlineUnixMs: actors.RequestDeadline(time.Now())}
}

// actingFor is callerOf for a write the policy has allowed the identity on
// another project's row than its own (a quota administrator's quota write):
// the grain's own check (an administrator or the row's project) is told so.
func actingFor(ctx *fasthttp.RequestCtx) *actorspb.Caller {
	c := callerOf(ctx)
	c.Admin = true
	return c
}

// Identity header limits (noauth): Keystone's ids are at most 64 characters and
// its role names 255; a header past these is a client's mistake or an attack,
// refused before it reaches a grain, a log or the store.
const (
	maxProjectHeader = 64
	maxRoleName      = 255
	maxRolesHeader   = 4096
)

// noauthIdentity identifies a request under noauth, as Octavia's noauth does with
// keel's roles: the project from X-Project-Id (absent: "default"), roles from
// X-Roles, comma-separated (absent: a project member, or an administrator with
// NoauthAdmin). With no Keystone to assign roles, Keystone's default roles stand
// for Octavia's matching personas too: admin for load-balancer_admin, member for
// load-balancer_member, reader for load-balancer_observer; and they imply each
// other as Keystone's bootstrap makes them (admin ⇒ member ⇒ reader). A header
// that is not short printable UTF-8 is a 400.
func noauthIdentity(ctx *fasthttp.RequestCtx, cfg *AuthConfig, p *Policy) (*Identity, error) {
	project := DefaultProject
	if v := ctx.Request.Header.Peek("X-Project-Id"); len(v) > 0 {
		if len(v) > maxProjectHeader || !printableUTF8(v) {
			return nil, badRequest("Invalid X-Project-Id header: at most %d printable UTF-8 characters.", maxProjectHeader)
		}
		project = string(v)
	}
	var roles []string
	if v := ctx.Request.Header.Peek("X-Roles"); v != nil {
		if len(v) > maxRolesHeader || !utf8.Valid(v) {
			return nil, badRequest("Invalid X-Roles header: at most %d bytes of UTF-8.", maxRolesHeader)
		}
		for _, r := range strings.Split(string(v), ",") {
			r = strings.ToLower(strings.TrimSpace(r))
			if r == "" {
				continue
			}
			if len(r) > maxRoleName || !printableUTF8([]byte(r)) {
				return nil, badRequest("Invalid X-Roles header: role names are at most %d printable characters.", maxRoleName)
			}
			roles = append(roles, r)
		}
	} else if cfg.NoauthAdmin {
		roles = []string{"admin"}
	} else {
		roles = []string{"member"}
	}
	for _, r := range roles {
		switch r {
		case "admin":
			roles = append(roles, "load-balancer_admin", "member", "load-balancer_member", "reader", "load-balancer_observer")
		case "member":
			roles = append(roles, "load-balancer_member", "reader", "load-balancer_observer")
		case "reader":
			roles = append(roles, "load-balancer_observer")
		}
	}
	return newIdentity(&Identity{UserID: "noauth", ProjectID: project, Roles: roles}, p), nil
}

// printableUTF8 reports whether b is valid UTF-8 without control characters
// (header values reach logs, error messages and protobuf strings).
func printableUTF8(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Authenticator identifies the requests of a server: the strategy, the policy,
// and for keystone the token validator and its cache.
type Authenticator struct {
	cfg      AuthConfig
	policy   *Policy
	keystone *keystoneAuth

	// noauth identities by their headers: building one (roles, the policy's
	// verdicts) costs about a microsecond, a lookup a tenth of that.
	noauthMu    sync.RWMutex
	noauthCache map[string]*Identity
}

// maxNoauthIdentities bounds the noauth identity cache (dropped whole when full).
const maxNoauthIdentities = 4096

// noauth identifies a noauth request, from the cache when its headers were seen.
func (a *Authenticator) noauth(ctx *fasthttp.RequestCtx) (*Identity, error) {
	project, roles := ctx.Request.Header.Peek("X-Project-Id"), ctx.Request.Header.Peek("X-Roles")
	key := make([]byte, 0, len(project)+len(roles)+2)
	key = append(append(append(key, project...), 0), roles...)
	if roles != nil {
		key = append(key, 0) // a present, empty X-Roles is not an absent one
	}
	a.noauthMu.RLock()
	id, ok := a.noauthCache[string(key)]
	a.noauthMu.RUnlock()
	if ok {
		return id, nil
	}
	id, err := noauthIdentity(ctx, &a.cfg, a.policy)
	if err != nil {
		return nil, err
	}
	a.noauthMu.Lock()
	if len(a.noauthCache) >= maxNoauthIdentities {
		a.noauthCache = map[string]*Identity{}
	}
	a.noauthCache[string(key)] = id
	a.noauthMu.Unlock()
	return id, nil
}

// identify is the request's identity: its token's (keystone) or its headers'
// (noauth). Every listener of the node authenticates through it.
func (a *Authenticator) identify(ctx *fasthttp.RequestCtx) (*Identity, error) {
	if a.keystone != nil {
		return a.keystone.identify(ctx.Request.Header.Peek("X-Auth-Token"))
	}
	return a.noauth(ctx)
}

// NewAuthenticator checks cfg and builds what it needs (nothing is asked of
// Keystone until the first request).
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	a := &Authenticator{cfg: cfg, policy: NewPolicy(cfg.Policy), noauthCache: map[string]*Identity{}}
	switch cfg.Strategy {
	case "", AuthNoauth:
		a.cfg.Strategy = AuthNoauth
	case AuthKeystone:
		k, err := newKeystoneAuth(cfg.Keystone, a.policy)
		if err != nil {
			return nil, err
		}
		a.keystone = k
	default:
		return nil, fmt.Errorf("unknown auth strategy %q (keystone or noauth)", cfg.Strategy)
	}
	return a, nil
}

// Strategy is the authenticator's strategy (AuthNoauth or AuthKeystone).
func (a *Authenticator) Strategy() string { return a.cfg.Strategy }

// publicPath reports whether path is served to anyone: the version document and
// the health check, as keystonemiddleware lets / and /healthcheck through for
// Octavia.
func publicPath(path []byte) bool {
	return string(path) == "/" || string(path) == "/healthz"
}

// authenticate identifies every request but the public ones before routing (as
// keystonemiddleware does before pecan): no identity, no answer but a 401 (or a
// 400 for unusable noauth headers, a 503 when Keystone cannot be asked).
func (s *Server) authenticate(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	a := s.auth
	return func(ctx *fasthttp.RequestCtx) {
		if publicPath(ctx.Path()) {
			next(ctx)
			return
		}
		id, err := a.identify(ctx)
		switch {
		case err == nil:
			ctx.SetUserValue(identityKey, id)
			next(ctx)
		case errors.Is(err, errInvalidToken):
			ctx.Response.Header.Set("WWW-Authenticate", `Keystone uri="`+a.keystone.cfg.WWWAuthenticateURI+`"`)
			writeError(ctx, &apiError{fasthttp.StatusUnauthorized, "The request you have made requires authentication."})
		case errors.Is(err, errKeystoneUnusable):
			s.logger.Warn("token validation failed", "err", err, "request_id", requestID(ctx))
			writeError(ctx, &apiError{fasthttp.StatusServiceUnavailable, "The Keystone service is temporarily unavailable."})
		default:
			writeError(ctx, err)
		}
	}
}
