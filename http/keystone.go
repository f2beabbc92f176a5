package http

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Keystone authentication, as keystonemiddleware's auth_token does it for
// Octavia: the request's X-Auth-Token is validated against Keystone v3 (GET
// /v3/auth/tokens?nocatalog with the token in X-Subject-Token), authenticated
// with a service token keel obtains with its own service credentials; each
// validation is cached (token_cache_time, default 300 s; bounded in size) and
// never past the token's expiry; the identity is the token's user, its scope
// (project, domain or system) and its roles. A request without a valid token is
// a 401 with WWW-Authenticate: Keystone uri="<www_authenticate_uri>"; when
// Keystone cannot be asked, a 503.
//
// As with keystonemiddleware, a token revoked in Keystone stays accepted until
// its cached validation expires (CacheTTL): lower it where that matters.

// KeystoneConfig is keystonemiddleware's [keystone_authtoken] as keel needs it.
type KeystoneConfig struct {
	// URL is Keystone's identity endpoint (auth_url), with or without /v3.
	URL string
	// WWWAuthenticateURI is what a 401 tells clients to authenticate with
	// (www_authenticate_uri); default URL.
	WWWAuthenticateURI string
	// The service credentials keel validates tokens with (password method,
	// project-scoped). Domains are names; default "Default".
	User, Password, Project   string
	UserDomain, ProjectDomain string
	// CacheTTL is how long a validation is reused (token_cache_time; 0: 300 s;
	// negative: never cached); CacheSize bounds the cache (0: 10000 tokens).
	CacheTTL  time.Duration
	CacheSize int
	// Timeout bounds each call to Keystone (0: 5 s).
	Timeout time.Duration
	// CAFile is a PEM bundle of the CAs that sign Keystone's certificate
	// (cafile; default: the system's).
	CAFile string
}

const (
	defaultTokenCacheTTL  = 300 * time.Second
	defaultTokenCacheSize = 10000
	// maxTokenBytes bounds X-Auth-Token: Fernet tokens are under 255 bytes and
	// JWS ones under 1 KiB; anything far longer is refused without asking Keystone.
	maxTokenBytes = 8192
)

var (
	errInvalidToken     = errors.New("invalid token")
	errKeystoneUnusable = errors.New("keystone unavailable")
)

// keystoneAuth validates tokens for one server.
type keystoneAuth struct {
	cfg    KeystoneConfig
	base   string // .../v3
	hc     *http.Client
	policy *Policy
	now    func() time.Time

	svcMu      sync.Mutex
	svcToken   string
	svcExpires time.Time

	cache *tokenCache

	flightMu sync.Mutex
	flights  map[[32]byte]*flight
}

// flight is one validation in progress: callers presenting the same token wait
// for it instead of asking Keystone again.
type flight struct {
	done chan struct{}
	id   *Identity
	err  error
}

func newKeystoneAuth(cfg KeystoneConfig, p *Policy) (*keystoneAuth, error) {
	if cfg.URL == "" {
		return nil, errors.New("keystone: the Keystone URL is required")
	}
	if cfg.User == "" || cfg.Password == "" || cfg.Project == "" {
		return nil, errors.New("keystone: the service user, password and project are required")
	}
	if cfg.UserDomain == "" {
		cfg.UserDomain = "Default"
	}
	if cfg.ProjectDomain == "" {
		cfg.ProjectDomain = "Default"
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = defaultTokenCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = defaultTokenCacheSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	base := strings.TrimRight(cfg.URL, "/")
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	if cfg.WWWAuthenticateURI == "" {
		cfg.WWWAuthenticateURI = strings.TrimSuffix(base, "/v3")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("keystone: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("keystone: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &keystoneAuth{cfg: cfg, base: base, policy: p, now: time.Now,
		hc:    &http.Client{Transport: transport, Timeout: cfg.Timeout},
		cache: newTokenCache(cfg.CacheSize), flights: map[[32]byte]*flight{}}, nil
}

// identify returns the identity of a token: errInvalidToken when Keystone does
// not accept it (401), errKeystoneUnusable when Keystone cannot be asked (503).
func (k *keystoneAuth) identify(token []byte) (*Identity, error) {
	if len(token) == 0 || len(token) > maxTokenBytes || !visibleASCII(token) {
		return nil, errInvalidToken
	}
	key := sha256.Sum256(token) // tokens are secrets: only their digests are kept
	now := k.now()
	if id, found := k.cache.get(key, now); found {
		if id == nil {
			return nil, errInvalidToken
		}
		return id, nil
	}
	k.flightMu.Lock()
	if f, ok := k.flights[key]; ok {
		k.flightMu.Unlock()
		<-f.done
		return f.id, f.err
	}
	f := &flight{done: make(chan struct{})}
	k.flights[key] = f
	k.flightMu.Unlock()

	f.id, f.err = k.validate(string(token))
	switch {
	case k.cfg.CacheTTL < 0:
	case f.err == nil:
		until := now.Add(k.cfg.CacheTTL)
		if f.id.ExpiresAt.Before(until) {
			until = f.id.ExpiresAt
		}
		k.cache.put(key, f.id, until)
	case errors.Is(f.err, errInvalidToken):
		k.cache.put(key, nil, now.Add(k.cfg.CacheTTL))
	}
	k.flightMu.Lock()
	delete(k.flights, key)
	k.flightMu.Unlock()
	close(f.done)
	return f.id, f.err
}

// validate asks Keystone about one token, with a fresh service token once if
// Keystone refused the cached one.
func (k *keystoneAuth) validate(token string) (*Identity, error) {
	for attempt := 0; ; attempt++ {
		svc, err := k.serviceToken(attempt > 0)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.Timeout)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.base+"/auth/tokens?nocatalog", nil)
		req.Header.Set("X-Auth-Token", svc)
		req.Header.Set("X-Subject-Token", token)
		req.Header.Set("Accept", "application/json")
		resp, err := k.hc.Do(req)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%w: validating a token: %v", errKeystoneUnusable, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: validating a token: %v", errKeystoneUnusable, err)
		case resp.StatusCode == http.StatusOK:
			return k.identityOfToken(body)
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			continue // the service token expired or was revoked
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest:
			// 404: not a token Keystone issued, expired or revoked; 400: not even
			// shaped like one (e.g. longer than max_token_size).
			return nil, errInvalidToken
		default:
			return nil, fmt.Errorf("%w: validating a token: Keystone answered %d: %.200s", errKeystoneUnusable, resp.StatusCode, body)
		}
	}
}

// keystoneToken is the part of a v3 token body keel reads.
type keystoneToken struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID string `json:"id"`
			} `json:"domain"`
		} `json:"project"`
		Domain *struct {
			ID string `json:"id"`
		} `json:"domain"`
		System map[string]bool `json:"system"`
		Roles  []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"token"`
}

func (k *keystoneAuth) identityOfToken(body []byte) (*Identity, error) {
	var t keystoneToken
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("%w: a token body that is not JSON: %v", errKeystoneUnusable, err)
	}
	expires, err := time.Parse(time.RFC3339Nano, t.Token.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("%w: a token without a valid expires_at: %q", errKeystoneUnusable, t.Token.ExpiresAt)
	}
	if !expires.After(k.now()) {
		return nil, errInvalidToken
	}
	id := &Identity{UserID: t.Token.User.ID, UserName: t.Token.User.Name, UserDomainID: t.Token.User.Domain.ID,
		ExpiresAt: expires}
	switch {
	case t.Token.Project != nil:
		id.ProjectID, id.ProjectName, id.ProjectDomainID = t.Token.Project.ID, t.Token.Project.Name, t.Token.Project.Domain.ID
	case t.Token.Domain != nil:
		id.DomainID = t.Token.Domain.ID
	case t.Token.System["all"]:
		id.SystemScope = "all"
	}
	for _, r := range t.Token.Roles {
		id.Roles = append(id.Roles, strings.ToLower(r.Name))
	}
	return newIdentity(id, k.policy), nil
}

// serviceToken returns keel's own token, obtained with the service credentials
// and reused until a minute before it expires (or refresh says Keystone
// refused it).
func (k *keystoneAuth) serviceToken(refresh bool) (string, error) {
	k.svcMu.Lock()
	defer k.svcMu.Unlock()
	if !refresh && k.svcToken != "" && k.now().Before(k.svcExpires.Add(-time.Minute)) {
		return k.svcToken, nil
	}
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string            `json:"name"`
						Domain   map[string]string `json:"domain"`
						Password string            `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project struct {
					Name   string            `json:"name"`
					Domain map[string]string `json:"domain"`
				} `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	body.Auth.Identity.Methods = []string{"password"}
	u := &body.Auth.Identity.Password.User
	u.Name, u.Domain, u.Password = k.cfg.User, map[string]string{"name": k.cfg.UserDomain}, k.cfg.Password
	body.Auth.Scope.Project.Name = k.cfg.Project
	body.Auth.Scope.Project.Domain = map[string]string{"name": k.cfg.ProjectDomain}
	b, _ := json.Marshal(&body)
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/auth/tokens?nocatalog", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := k.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: service token: %v", errKeystoneUnusable, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%w: service token for %s: Keystone answered %d: %.200s", errKeystoneUnusable, k.cfg.User, resp.StatusCode, rb)
	}
	var t keystoneToken
	if err := json.Unmarshal(rb, &t); err != nil {
		return "", fmt.Errorf("%w: service token body: %v", errKeystoneUnusable, err)
	}
	expires, err := time.Parse(time.RFC3339Nano, t.Token.ExpiresAt)
	token := resp.Header.Get("X-Subject-Token")
	if err != nil || token == "" {
		return "", fmt.Errorf("%w: service token without X-Subject-Token or expires_at", errKeystoneUnusable)
	}
	k.svcToken, k.svcExpires = token, expires
	return token, nil
}

func visibleASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// tokenCache is a bounded LRU of validations by token digest: an identity (nil:
// Keystone refused the token) and until when it may be reused.
type tokenCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	byKey map[[32]byte]*list.Element
}

type cachedToken struct {
	key   [32]byte
	id    *Identity
	until time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func (c *tokenCache) get(key [32]byte, now time.Time) (*Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	ct := e.Value.(*cachedToken)
	if !now.Before(ct.until) {
		c.order.Remove(e)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(e)
	return ct.id, true
}

func (c *tokenCache) put(key [32]byte, id *Identity, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value = &cachedToken{key: key, id: id, until: until}
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&cachedToken{key: key, id: id, until: until})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cachedToken).key)
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
