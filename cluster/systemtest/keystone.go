package systemtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Keystone is a real OpenStack Keystone for tests: Debian's python3-keystone
// (make deps installs it), set up from scratch in a scratch directory (sqlite,
// Fernet tokens, keystone-manage db_sync and bootstrap) and served on a free
// loopback port by Python's wsgiref. Every wait is
// bounded, and the process never outlives the test binary (Pdeathsig).
//
// Setting one up takes about ten seconds, so a test package shares one
// (SharedKeystone), stopped when systemtest.Main returns.
type Keystone struct {
	// URL is Keystone's root (the identity API is URL + "/v3").
	URL string
	// AdminPassword is the password of "admin", bootstrap's administrator (admin
	// of project "admin" and of the system).
	AdminPassword string

	dir     string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	hc      *http.Client
}

// keystoneServer runs keystone's public WSGI application with wsgiref, one
// request at a time, on one sqlite connection: oslo.db gives a file database a
// connection per session, and Keystone nests sessions, so a write waits for a
// read of the same request to end and fails after sqlite's timeout ("database is
// locked"). Keystone's own tests use one shared connection (an in-memory
// database); so does this, through the pool class oslo.db picks for it.
const keystoneServer = `
import sys, wsgiref.simple_server as wss
port = int(sys.argv[1]); sys.argv[1:] = []
from sqlalchemy import pool
from sqlalchemy.dialects.sqlite import pysqlite
pysqlite.SQLiteDialect_pysqlite.get_pool_class = classmethod(lambda cls, url: pool.SingletonThreadPool)
from keystone.server.wsgi import initialize_public_application
class Quiet(wss.WSGIRequestHandler):
    def log_message(self, *args): pass
app = initialize_public_application()
srv = wss.make_server('127.0.0.1', port, app, handler_class=Quiet)
print("keystone listening on", port, flush=True)
srv.serve_forever()
`

const keystoneConf = `[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///{dir}/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = {dir}/fernet-keys
[fernet_receipts]
key_repository = {dir}/fernet-receipts
[credential]
key_repository = {dir}/credential-keys
[identity]
# bcrypt's least work factor: tests issue many tokens.
password_hash_rounds = 4
[cache]
enabled = false
`

// KeystoneInstalled reports whether Debian's python3-keystone is installed.
func KeystoneInstalled() bool {
	_, err := os.Stat("/usr/bin/keystone-manage")
	return err == nil
}

// StartKeystone sets up and runs a fresh Keystone; Stop ends it and removes its
// directory.
func StartKeystone() (*Keystone, error) {
	if !KeystoneInstalled() {
		return nil, fmt.Errorf("systemtest: Keystone is not installed (make deps installs python3-keystone)")
	}
	dir, err := os.MkdirTemp("", "keel-keystone-")
	if err != nil {
		return nil, err
	}
	port, err := freeTCPPort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	k := &Keystone{URL: fmt.Sprintf("http://127.0.0.1:%d", port), AdminPassword: "keel-admin-secret", dir: dir,
		logPath: filepath.Join(dir, "keystone.log"), hc: &http.Client{Timeout: 30 * time.Second}}
	fail := func(err error) (*Keystone, error) {
		k.Stop()
		return nil, err
	}
	conf := filepath.Join(dir, "keystone.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(keystoneConf, "{dir}", dir)), 0o600); err != nil {
		return fail(err)
	}
	for _, sub := range []string{"fernet-keys", "fernet-receipts", "credential-keys"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fail(err)
		}
	}
	manage := func(args ...string) error {
		cmd := exec.Command("/usr/bin/keystone-manage", append([]string{"--config-file", conf}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		timer := time.AfterFunc(2*time.Minute, func() {
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
		})
		defer timer.Stop()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemtest: keystone-manage %s: %v\n%s", args[0], err, tail(out, 3000))
		}
		return nil
	}
	uid := fmt.Sprint(os.Getuid())
	gid := fmt.Sprint(os.Getgid())
	v3 := k.URL + "/v3"
	for _, args := range [][]string{
		{"db_sync"},
		{"fernet_setup", "--keystone-user", uid, "--keystone-group", gid},
		{"credential_setup", "--keystone-user", uid, "--keystone-group", gid},
		{"bootstrap", "--bootstrap-password", k.AdminPassword, "--bootstrap-region-id", "RegionOne",
			"--bootstrap-admin-url", v3, "--bootstrap-public-url", v3, "--bootstrap-internal-url", v3},
	} {
		if err := manage(args...); err != nil {
			return fail(err)
		}
	}
	logf, err := os.Create(k.logPath)
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", keystoneServer, fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "OS_KEYSTONE_CONFIG_FILES="+conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fail(err)
	}
	k.cmd, k.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(k.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := k.hc.Get(v3)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return k, nil
			}
		}
		select {
		case <-k.exited:
			return fail(fmt.Errorf("systemtest: keystone exited before it served:\n%s", k.LogTail()))
		default:
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("systemtest: keystone not serving within 60s:\n%s", k.LogTail()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LogTail is the end of Keystone's log.
func (k *Keystone) LogTail() string {
	b, _ := os.ReadFile(k.logPath)
	return string(tail(b, 4000))
}

// Stop kills Keystone, reaps it and removes its directory.
func (k *Keystone) Stop() {
	if k.cmd != nil && k.cmd.Process != nil {
		_ = k.cmd.Process.Kill()
		select {
		case <-k.exited:
		case <-time.After(10 * time.Second):
		}
	}
	if k.dir != "" {
		os.RemoveAll(k.dir)
	}
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	sharedKeystoneMu  sync.Mutex
	sharedKeystone    *Keystone
	sharedKeystoneErr error
)

// SharedKeystone is the test binary's one Keystone, started on first use
// (tests that need none never pay for it) and stopped when Main returns.
func SharedKeystone(t T) *Keystone {
	t.Helper()
	sharedKeystoneMu.Lock()
	defer sharedKeystoneMu.Unlock()
	if sharedKeystone == nil && sharedKeystoneErr == nil {
		start := time.Now()
		sharedKeystone, sharedKeystoneErr = StartKeystone()
		if sharedKeystoneErr == nil {
			t.Logf("keystone at %s, set up and started in %v", sharedKeystone.URL, time.Since(start).Round(time.Millisecond))
		}
	}
	if sharedKeystoneErr != nil {
		t.Fatal(sharedKeystoneErr)
	}
	return sharedKeystone
}

func stopSharedKeystone() {
	sharedKeystoneMu.Lock()
	defer sharedKeystoneMu.Unlock()
	if sharedKeystone != nil {
		sharedKeystone.Stop()
		sharedKeystone = nil
	}
}

// --- the identity API, for tests ---

// KeystoneResponse is one answer of Keystone's API.
type KeystoneResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do calls Keystone's API (path under /v3) with token (none if "") and a JSON
// body (none if nil).
func (k *Keystone) Do(method, path, token string, body any, headers ...string) (*KeystoneResponse, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, k.URL+"/v3"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &KeystoneResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// must calls Do and wants status; it returns the body decoded.
func (k *Keystone) must(want int, method, path, token string, body any) (map[string]any, error) {
	r, err := k.Do(method, path, token, body)
	if err != nil {
		return nil, err
	}
	if r.Status != want {
		return nil, fmt.Errorf("keystone %s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	out := map[string]any{}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Scope is what a token is scoped to: a project (by name, in the Default
// domain), the system, or nothing.
type Scope struct {
	Project string
	System  bool
}

// Token authenticates user (Default domain) with password and returns the
// token and its body.
func (k *Keystone) Token(user, password string, scope Scope) (string, error) {
	auth := map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"name": user, "domain": map[string]string{"name": "Default"},
			"password": password}}}}
	switch {
	case scope.System:
		auth["scope"] = map[string]any{"system": map[string]bool{"all": true}}
	case scope.Project != "":
		auth["scope"] = map[string]any{"project": map[string]any{"name": scope.Project,
			"domain": map[string]string{"name": "Default"}}}
	}
	return k.issue(map[string]any{"auth": auth})
}

func (k *Keystone) issue(body any) (string, error) {
	r, err := k.Do("POST", "/auth/tokens?nocatalog", "", body)
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusCreated {
		return "", fmt.Errorf("keystone token: %d: %s", r.Status, r.Body)
	}
	return r.Header.Get("X-Subject-Token"), nil
}

// AdminToken is a system-scoped token of bootstrap's admin.
func (k *Keystone) AdminToken() (string, error) {
	return k.Token("admin", k.AdminPassword, Scope{System: true})
}

func idOf(v map[string]any, root string) string {
	if o, ok := v[root].(map[string]any); ok {
		if id, ok := o["id"].(string); ok {
			return id
		}
	}
	return ""
}

// CreateProject creates a project in the Default domain and returns its id.
func (k *Keystone) CreateProject(admin, name string) (string, error) {
	v, err := k.must(201, "POST", "/projects", admin, map[string]any{"project": map[string]any{"name": name, "domain_id": "default"}})
	return idOf(v, "project"), err
}

// CreateUser creates a user in the Default domain and returns its id.
func (k *Keystone) CreateUser(admin, name, password string) (string, error) {
	v, err := k.must(201, "POST", "/users", admin, map[string]any{"user": map[string]any{"name": name, "domain_id": "default",
		"password": password}})
	return idOf(v, "user"), err
}

// RoleID returns the id of role name, creating the role if there is none
// (Keystone compares role names case-insensitively: "Admin" is "admin").
func (k *Keystone) RoleID(admin, name string) (string, error) {
	var list struct {
		Roles []struct{ ID, Name string } `json:"roles"`
	}
	r, err := k.Do("GET", "/roles", admin, nil)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		return "", err
	}
	for _, role := range list.Roles {
		if strings.EqualFold(role.Name, name) {
			return role.ID, nil
		}
	}
	v, err := k.must(201, "POST", "/roles", admin, map[string]any{"role": map[string]any{"name": name}})
	return idOf(v, "role"), err
}

// Grant gives user role on project.
func (k *Keystone) Grant(admin, projectID, userID, roleID string) error {
	_, err := k.must(204, "PUT", "/projects/"+projectID+"/users/"+userID+"/roles/"+roleID, admin, nil)
	return err
}

// CreateEndpoints registers a service of type typ with its public, internal and
// admin endpoints at url (region RegionOne).
func (k *Keystone) CreateEndpoints(admin, typ, name, url string) error {
	v, err := k.must(201, "POST", "/services", admin, map[string]any{"service": map[string]any{"type": typ, "name": name}})
	if err != nil {
		return err
	}
	for _, iface := range []string{"public", "internal", "admin"} {
		if _, err := k.must(201, "POST", "/endpoints", admin, map[string]any{"endpoint": map[string]any{
			"service_id": idOf(v, "service"), "interface": iface, "url": url, "region_id": "RegionOne"}}); err != nil {
			return err
		}
	}
	return nil
}

// Revoke revokes token (DELETE /v3/auth/tokens).
func (k *Keystone) Revoke(admin, token string) error {
	r, err := k.Do("DELETE", "/auth/tokens", admin, nil, "X-Subject-Token: "+token)
	if err != nil {
		return err
	}
	if r.Status != http.StatusNoContent {
		return fmt.Errorf("keystone revoke: %d: %s", r.Status, r.Body)
	}
	return nil
}

// ShortLivedToken returns a token of user (password, project-scoped) that
// expires ttl after its application credential is made, and that expiry:
// Keystone caps a token at its application credential's expiry, so the token
// comes from an application credential made for it. The expiry is taken at
// that moment, not before the calls that lead to it, so a slow Keystone (one
// request at a time, a loaded machine) cannot hand out a token already expired.
func (k *Keystone) ShortLivedToken(user, password, project string, ttl time.Duration) (string, time.Time, error) {
	var expires time.Time
	userToken, err := k.Token(user, password, Scope{Project: project})
	if err != nil {
		return "", expires, err
	}
	r, err := k.Do("GET", "/auth/tokens", userToken, nil, "X-Subject-Token: "+userToken)
	if err != nil {
		return "", expires, err
	}
	var t struct {
		Token struct {
			User struct{ ID string } `json:"user"`
		} `json:"token"`
	}
	if err := json.Unmarshal(r.Body, &t); err != nil {
		return "", expires, err
	}
	expires = time.Now().Add(ttl)
	v, err := k.must(201, "POST", "/users/"+t.Token.User.ID+"/application_credentials", userToken, map[string]any{
		"application_credential": map[string]any{"name": fmt.Sprintf("short-%d", time.Now().UnixNano()),
			"expires_at": expires.UTC().Format("2006-01-02T15:04:05.000000")}})
	if err != nil {
		return "", expires, err
	}
	ac := v["application_credential"].(map[string]any)
	token, err := k.issue(map[string]any{"auth": map[string]any{"identity": map[string]any{
		"methods":                []string{"application_credential"},
		"application_credential": map[string]any{"id": ac["id"], "secret": ac["secret"]}}}})
	return token, expires, err
}
