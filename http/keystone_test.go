package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKeystone answers the two calls keel makes: a service token (POST) and a
// validation (GET), counting them. Tokens it knows are in valid, by token.
type fakeKeystone struct {
	mu          sync.Mutex
	valid       map[string]string // token → expires_at
	roles       []string
	serviceOK   bool
	svcTokens   []string // issued service tokens; only the last is accepted
	posts, gets atomic.Int32
	fail        bool // validations answer 500
	delay       time.Duration
}

func (f *fakeKeystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.posts.Add(1)
		if !f.serviceOK {
			w.WriteHeader(401)
			return
		}
		tok := fmt.Sprintf("svc-%d", len(f.svcTokens))
		f.svcTokens = append(f.svcTokens, tok)
		w.Header().Set("X-Subject-Token", tok)
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"token":{"expires_at":%q}}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	case http.MethodGet:
		f.gets.Add(1)
		if f.delay > 0 {
			f.mu.Unlock()
			time.Sleep(f.delay)
			f.mu.Lock()
		}
		if f.fail {
			w.WriteHeader(500)
			return
		}
		if len(f.svcTokens) == 0 || r.Header.Get("X-Auth-Token") != f.svcTokens[len(f.svcTokens)-1] {
			w.WriteHeader(401)
			return
		}
		exp, ok := f.valid[r.Header.Get("X-Subject-Token")]
		if !ok {
			w.WriteHeader(404)
			return
		}
		roles := make([]string, len(f.roles))
		for i, role := range f.roles {
			roles[i] = fmt.Sprintf(`{"id":"r%d","name":%q}`, i, role)
		}
		fmt.Fprintf(w, `{"token":{"expires_at":%q,"user":{"id":"u1","name":"alice","domain":{"id":"default"}},
			"project":{"id":"p1","name":"one","domain":{"id":"default"}},"roles":[%s]}}`, exp, strings.Join(roles, ","))
	}
}

func newFake(t *testing.T) (*fakeKeystone, *keystoneAuth) {
	f := &fakeKeystone{valid: map[string]string{}, serviceOK: true, roles: []string{"Load-Balancer_Member", "member"}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	k, err := newKeystoneAuth(KeystoneConfig{URL: srv.URL, User: "keel", Password: "pw", Project: "service"}, NewPolicy(PolicyOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	return f, k
}

func TestKeystoneIdentity(t *testing.T) {
	f, k := newFake(t)
	f.valid["good"] = time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
	id, err := k.identify([]byte("good"))
	if err != nil {
		t.Fatal(err)
	}
	if id.ProjectID != "p1" || id.UserID != "u1" || !id.Allowed(rbacLoadBalancer+actPost, "p1") || id.Allowed(rbacLoadBalancer+actPost, "p2") || id.Admin() {
		t.Fatalf("identity %+v", id)
	}
	// Cached: no second validation.
	if _, err := k.identify([]byte("good")); err != nil || f.gets.Load() != 1 || f.posts.Load() != 1 {
		t.Fatalf("cached: %v, %d validations, %d service tokens", err, f.gets.Load(), f.posts.Load())
	}
	// Unknown, malformed and oversized tokens: 401; the malformed ones are not
	// even sent to Keystone; a refusal is cached too.
	for _, tok := range []string{"bad", "", "has space", "caf\xc3\xa9", strings.Repeat("x", maxTokenBytes+1)} {
		if _, err := k.identify([]byte(tok)); !errors.Is(err, errInvalidToken) {
			t.Fatalf("%q: %v", tok, err)
		}
	}
	if _, err := k.identify([]byte("bad")); !errors.Is(err, errInvalidToken) || f.gets.Load() != 2 {
		t.Fatalf("refusal not cached: %v, %d validations", err, f.gets.Load())
	}
}

// A cached validation never outlives the token.
func TestKeystoneCacheHonoursExpiry(t *testing.T) {
	f, k := newFake(t)
	now := time.Now()
	k.now = func() time.Time { return now }
	f.valid["soon"] = now.Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	if _, err := k.identify([]byte("soon")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if _, err := k.identify([]byte("soon")); err != nil || f.gets.Load() != 1 {
		t.Fatalf("%v %d", err, f.gets.Load())
	}
	now = now.Add(2 * time.Second) // past expires_at, well within the TTL
	if _, err := k.identify([]byte("soon")); !errors.Is(err, errInvalidToken) {
		t.Fatalf("an expired token: %v", err)
	}
	// The cached validation was dropped and Keystone asked again; its answer (a
	// body whose expires_at has passed) is refused too.
	if f.gets.Load() != 2 {
		t.Fatalf("expired: asked Keystone %d times, want 2", f.gets.Load())
	}
}

// Past its TTL, a validation is asked again (a revoked token is then refused).
func TestKeystoneCacheTTL(t *testing.T) {
	f, k := newFake(t)
	now := time.Now()
	k.now = func() time.Time { return now }
	f.valid["t"] = now.Add(time.Hour).UTC().Format(time.RFC3339Nano)
	if _, err := k.identify([]byte("t")); err != nil {
		t.Fatal(err)
	}
	delete(f.valid, "t") // revoked
	now = now.Add(defaultTokenCacheTTL - time.Second)
	if _, err := k.identify([]byte("t")); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := k.identify([]byte("t")); !errors.Is(err, errInvalidToken) {
		t.Fatalf("past the TTL: %v", err)
	}
}

// The cache is bounded: the least recently used validation goes.
func TestKeystoneCacheBounded(t *testing.T) {
	c := newTokenCache(3)
	until := time.Now().Add(time.Hour)
	for i := 0; i < 5; i++ {
		c.put([32]byte{byte(i)}, &Identity{}, until)
		c.get([32]byte{0}, time.Now()) // 0 stays the most recently used
	}
	if c.len() != 3 {
		t.Fatalf("%d entries", c.len())
	}
	for i, want := range []bool{true, false, false, true, true} {
		if _, found := c.get([32]byte{byte(i)}, time.Now()); found != want {
			t.Fatalf("entry %d: %v", i, found)
		}
	}
}

// Keystone's refusal of the service token (expired, revoked) gets a new one,
// once; Keystone failing or refusing keel's credentials is a 503, not a 401.
func TestKeystoneServiceToken(t *testing.T) {
	f, k := newFake(t)
	f.valid["a"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	f.valid["b"] = f.valid["a"]
	if _, err := k.identify([]byte("a")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.svcTokens = append(f.svcTokens, "rotated-elsewhere") // keel's token no longer accepted
	f.mu.Unlock()
	if _, err := k.identify([]byte("b")); err != nil || f.posts.Load() != 2 {
		t.Fatalf("%v, %d service tokens", err, f.posts.Load())
	}
	f.mu.Lock()
	f.fail = true
	f.mu.Unlock()
	if _, err := k.identify([]byte("c")); !errors.Is(err, errKeystoneUnusable) {
		t.Fatalf("Keystone failing: %v", err)
	}
	f2, k2 := newFake(t)
	f2.serviceOK = false
	if _, err := k2.identify([]byte("a")); !errors.Is(err, errKeystoneUnusable) {
		t.Fatalf("credentials refused: %v", err)
	}
	// A failure is not cached: the next request asks again.
	f.mu.Lock()
	f.fail = false
	f.valid["c"] = f.valid["a"]
	f.mu.Unlock()
	if _, err := k.identify([]byte("c")); err != nil {
		t.Fatalf("after Keystone recovered: %v", err)
	}
}

// Concurrent requests with one new token make one validation.
func TestKeystoneOneValidationPerToken(t *testing.T) {
	f, k := newFake(t)
	f.valid["t"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	f.delay = 100 * time.Millisecond
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := k.identify([]byte("t")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if f.gets.Load() != 1 {
		t.Fatalf("%d validations", f.gets.Load())
	}
}
