package http_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// poolsAPI drives one keeld node through the pools, members and health monitors
// API, failing its test on anything unexpected.
type poolsAPI struct {
	t *testing.T
	n *systemtest.Node
}

// newPoolsAPI starts a node. provisionDelay ("" for keeld's 100 ms) holds PENDING_*
// states long enough for a test to observe them (under the reconciler's 2 s).
func newPoolsAPI(t *testing.T, provisionDelay string) *poolsAPI {
	n := systemtest.NewNode(t, "pools")
	if provisionDelay != "" {
		n.ExtraArgs = []string{"-provision-delay", provisionDelay}
	}
	n.StartHealthy(60 * time.Second)
	return &poolsAPI{t: t, n: n}
}

func (a *poolsAPI) do(want int, method, path string, body interface{}, headers ...string) *systemtest.Response {
	a.t.Helper()
	r, err := a.n.Do(method, path, body, headers...)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// obj decodes {"<key>": {...}}.
func (a *poolsAPI) obj(r *systemtest.Response, key string) map[string]interface{} {
	a.t.Helper()
	var v map[string]map[string]interface{}
	if err := json.Unmarshal(r.Body, &v); err != nil || v[key] == nil {
		a.t.Fatalf("no %q object in %s", key, r.Body)
	}
	return v[key]
}

func (a *poolsAPI) create(path, key, body string, headers ...string) map[string]interface{} {
	a.t.Helper()
	return a.obj(a.do(201, "POST", path, body, headers...), key)
}

func (a *poolsAPI) get(path, key string) map[string]interface{} {
	a.t.Helper()
	return a.obj(a.do(200, "GET", path, nil), key)
}

// page lists path: the items under key and the links by rel.
func (a *poolsAPI) page(path, key string, headers ...string) ([]map[string]interface{}, map[string]string) {
	a.t.Helper()
	var v map[string]json.RawMessage
	r := a.do(200, "GET", path, nil, headers...)
	if err := json.Unmarshal(r.Body, &v); err != nil {
		a.t.Fatalf("%v: %s", err, r.Body)
	}
	var items []map[string]interface{}
	var links []struct{ Href, Rel string }
	if json.Unmarshal(v[key], &items) != nil || json.Unmarshal(v[key+"_links"], &links) != nil || items == nil {
		a.t.Fatalf("no %q list with links in %s", key, r.Body)
	}
	byRel := map[string]string{}
	for _, l := range links {
		byRel[l.Rel] = l.Href
	}
	return items, byRel
}

func (a *poolsAPI) items(path, key string, headers ...string) []map[string]interface{} {
	a.t.Helper()
	items, _ := a.page(path, key, headers...)
	return items
}

// follow lists a link's target.
func (a *poolsAPI) follow(href, key string) ([]map[string]interface{}, map[string]string) {
	a.t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.page(u.RequestURI(), key)
}

func (a *poolsAPI) values(items []map[string]interface{}, attr string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, fmt.Sprint(it[attr]))
	}
	return out
}

// refusal checks an error response: status and Octavia's exact faultstring.
func (a *poolsAPI) refusal(status int, method, path string, body interface{}, msg string, headers ...string) {
	a.t.Helper()
	systemtest.ExpectFault(a.t, a.do(status, method, path, body, headers...), status, msg)
}

// missingParent checks Octavia's routing-time 404 for a parent object in the path:
// pecan's JSON body when the client accepts JSON, webob's text page otherwise.
func (a *poolsAPI) missingParent(method, path string, body interface{}, msg string) {
	a.t.Helper()
	r := a.do(404, method, path, body, "Accept: application/json")
	var v struct {
		Code        int    `json:"code"`
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Code != 404 || v.Title != "Bad Request" || v.Description != msg {
		a.t.Fatalf("%s %s: pecan body %s, want description %q", method, path, r.Body, msg)
	}
	r = a.do(404, method, path, body)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") || !strings.HasPrefix(string(r.Body), "404 Bad Request\n") ||
		!strings.Contains(string(r.Body), " "+msg+"  ") {
		a.t.Fatalf("%s %s: plain-text 404 %q (%s)", method, path, r.Body, r.Header.Get("Content-Type"))
	}
}

func (a *poolsAPI) loadBalancer(name string, headers ...string) string {
	a.t.Helper()
	id := a.create("/v2/lbaas/loadbalancers", "loadbalancer",
		fmt.Sprintf(`{"loadbalancer":{"name":%q,"vip_subnet_id":%q}}`, name, subnet), headers...)["id"].(string)
	a.settle(id)
	return id
}

func (a *poolsAPI) listener(lbID, protocol string, port int) string {
	a.t.Helper()
	id := a.create("/v2/lbaas/listeners", "listener",
		fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":%q,"protocol_port":%d}}`, lbID, protocol, port))["id"].(string)
	a.settle(lbID)
	return id
}

// pool creates a pool from the attributes in body and waits for its load balancer.
func (a *poolsAPI) pool(lbID, body string) map[string]interface{} {
	a.t.Helper()
	p := a.create("/v2/lbaas/pools", "pool", `{"pool":{`+body+`}}`)
	a.settle(lbID)
	return p
}

// settle waits until the load balancer is ACTIVE (the provider step done).
func (a *poolsAPI) settle(lbID string) {
	a.t.Helper()
	a.n.WaitActive(lbID, 10*time.Second)
}

// statuses returns "provisioning/operating" of the object at path.
func (a *poolsAPI) statuses(path, key string) string {
	a.t.Helper()
	o := a.get(path, key)
	return fmt.Sprintf("%v/%v", o["provisioning_status"], o["operating_status"])
}

// gone waits until path answers 404.
func (a *poolsAPI) gone(path string) {
	a.t.Helper()
	systemtest.Eventually(a.t, 10*time.Second, path+" gone", func() bool {
		r, err := a.n.Do("GET", path, nil)
		return err == nil && r.Status == 404
	})
}

// hasAttrs checks an object carries exactly these attributes.
func (a *poolsAPI) hasAttrs(o map[string]interface{}, attrs ...string) {
	a.t.Helper()
	var got []string
	for k := range o {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Clone(attrs)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		a.t.Fatalf("attributes %v, want %v", got, want)
	}
}

// refs returns the ids of a [{"id": ...}] reference list.
func (a *poolsAPI) refs(v interface{}) []string {
	out := []string{}
	list, _ := v.([]interface{})
	for _, x := range list {
		out = append(out, x.(map[string]interface{})["id"].(string))
	}
	return out
}

// poolAttrs are the attributes of Octavia's pool response when the pool has a
// health monitor (without one, healthmonitor_id is left out).
var poolAttrs = []string{"id", "name", "description", "provisioning_status", "operating_status", "admin_state_up",
	"protocol", "lb_algorithm", "session_persistence", "project_id", "loadbalancers", "listeners", "created_at",
	"updated_at", "healthmonitor_id", "members", "tags", "tls_container_ref", "ca_tls_container_ref",
	"crl_container_ref", "tls_enabled", "tls_ciphers", "tls_versions", "alpn_protocols", "tenant_id"}

func TestPoolAPI(t *testing.T) {
	a := newPoolsAPI(t, "")
	lbID := a.loadBalancer("pools")
	web := a.listener(lbID, "HTTP", 80)

	// A pool created on a listener is its default pool.
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))
	a.hasAttrs(p, slices.DeleteFunc(slices.Clone(poolAttrs), func(s string) bool { return s == "healthmonitor_id" })...)
	if p["provisioning_status"] != "PENDING_CREATE" || p["operating_status"] != "OFFLINE" || p["name"] != "" ||
		p["description"] != "" || p["admin_state_up"] != true || p["session_persistence"] != nil || p["tls_enabled"] != false ||
		p["tls_ciphers"] != nil || p["tls_versions"] != nil || p["alpn_protocols"] != nil || p["tls_container_ref"] != nil ||
		p["project_id"] != "default" || p["tenant_id"] != "default" || p["updated_at"] != nil ||
		!slices.Equal(a.refs(p["loadbalancers"]), []string{lbID}) || !slices.Equal(a.refs(p["listeners"]), []string{web}) ||
		len(a.refs(p["members"])) != 0 || len(p["tags"].([]interface{})) != 0 {
		t.Fatalf("created pool: %v", p)
	}
	poolPath := "/v2/lbaas/pools/" + p["id"].(string)
	// Operating status is measured: the noop driver leaves a pool OFFLINE (Octavia).
	if got := a.statuses(poolPath, "pool"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("provisioned pool: %s", got)
	}
	if l := a.get("/v2/lbaas/listeners/"+web, "listener"); l["default_pool_id"] != p["id"] {
		t.Fatalf("listener's default pool: %v", l["default_pool_id"])
	}
	a.refusal(409, "POST", "/v2/lbaas/pools", fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, web),
		"This listener already has a default pool")

	// Every attribute set on a load balancer's pool; TLS defaults when tls_enabled.
	full := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"HTTPS","lb_algorithm":"LEAST_CONNECTIONS","name":"tls",
		"description":"backend tls","admin_state_up":false,"tags":["a","b"],"tls_enabled":true,"tls_container_ref":"cert",
		"ca_tls_container_ref":"ca","crl_container_ref":"crl","session_persistence":{"type":"HTTP_COOKIE"},"tenant_id":"ignored"`, lbID))
	sp, _ := full["session_persistence"].(map[string]interface{})
	if full["name"] != "tls" || full["description"] != "backend tls" || full["admin_state_up"] != false ||
		full["tls_enabled"] != true || full["tls_container_ref"] != "cert" || full["ca_tls_container_ref"] != "ca" ||
		full["crl_container_ref"] != "crl" || !strings.HasPrefix(full["tls_ciphers"].(string), "TLS_AES_256_GCM_SHA384:") ||
		fmt.Sprint(full["tls_versions"]) != "[TLSv1.2 TLSv1.3]" || fmt.Sprint(full["alpn_protocols"]) != "[h2 http/1.1 http/1.0]" ||
		fmt.Sprint(full["tags"]) != "[a b]" || len(a.refs(full["listeners"])) != 0 || full["project_id"] != "default" ||
		fmt.Sprint(sp) != "map[cookie_name:<nil> persistence_granularity:<nil> persistence_timeout:<nil> type:HTTP_COOKIE]" {
		t.Fatalf("pool with every attribute: %v", full)
	}
	fullPath := "/v2/lbaas/pools/" + full["id"].(string)
	if got := a.statuses(fullPath, "pool"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("a disabled pool: %s", got)
	}
	if lb := a.get("/v2/lbaas/loadbalancers/"+lbID, "loadbalancer"); !slices.Equal(a.refs(lb["pools"]), []string{p["id"].(string), full["id"].(string)}) {
		t.Fatalf("pools of the load balancer: %v", lb["pools"])
	}
	// UDP pools take a source-IP persistence with timeout and granularity.
	udp := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"UDP","lb_algorithm":"SOURCE_IP",
		"session_persistence":{"type":"SOURCE_IP","persistence_timeout":60,"persistence_granularity":"255.255.255.0"}`, lbID))
	if fmt.Sprint(udp["session_persistence"]) != "map[cookie_name:<nil> persistence_granularity:255.255.255.0 persistence_timeout:60 type:SOURCE_IP]" {
		t.Fatalf("UDP persistence: %v", udp["session_persistence"])
	}
	app := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"SOURCE_IP",
		"session_persistence":{"type":"APP_COOKIE","cookie_name":"JSESSIONID"}`, lbID))
	appPath := "/v2/lbaas/pools/" + app["id"].(string)

	// Updates (TestPoolLocking follows the statuses they go through).
	up := a.obj(a.do(200, "PUT", poolPath, `{"pool":{"name":"web","description":"d","lb_algorithm":"SOURCE_IP","tags":["x"],
		"session_persistence":{"type":"APP_COOKIE","cookie_name":"sid"}}}`), "pool")
	if up["provisioning_status"] != "PENDING_UPDATE" || up["name"] != "web" || up["lb_algorithm"] != "SOURCE_IP" ||
		fmt.Sprint(up["tags"]) != "[x]" || up["session_persistence"].(map[string]interface{})["cookie_name"] != "sid" {
		t.Fatalf("updated pool: %v", up)
	}
	a.settle(lbID)
	if got := a.statuses("/v2/lbaas/listeners/"+web, "listener"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("listener after the update: %s", got)
	}
	// A persistence without a type keeps the current type.
	up = a.obj(a.do(200, "PUT", appPath, `{"pool":{"session_persistence":{"cookie_name":"other"}}}`), "pool")
	if fmt.Sprint(up["session_persistence"]) != "map[cookie_name:other persistence_granularity:<nil> persistence_timeout:<nil> type:APP_COOKIE]" {
		t.Fatalf("persistence keeps its type: %v", up["session_persistence"])
	}
	a.settle(lbID)
	// Null resets: tls_ciphers and tls_versions to their defaults, persistence to none.
	up = a.obj(a.do(200, "PUT", appPath, `{"pool":{"session_persistence":null,"tls_ciphers":null,"tls_versions":null,"name":null}}`), "pool")
	if up["session_persistence"] != nil || !strings.HasPrefix(up["tls_ciphers"].(string), "TLS_AES_256_GCM_SHA384:") ||
		fmt.Sprint(up["tls_versions"]) != "[TLSv1.2 TLSv1.3]" || up["name"] != "" || up["tls_enabled"] != false {
		t.Fatalf("null resets: %v", up)
	}
	a.settle(lbID)
	up = a.obj(a.do(200, "PUT", fullPath, `{"pool":{"admin_state_up":true,"tls_enabled":false,"alpn_protocols":null,"crl_container_ref":null}}`), "pool")
	if up["admin_state_up"] != true || up["tls_enabled"] != false || up["alpn_protocols"] != nil || up["crl_container_ref"] != nil {
		t.Fatalf("update of a TLS pool: %v", up)
	}
	a.settle(lbID)
	if got := a.statuses(fullPath, "pool"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("an enabled pool: %s", got)
	}

	// Shows, the four prefixes and .json.
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		if got := a.get(prefix+"/pools/"+udp["id"].(string)+".json", "pool"); got["id"] != udp["id"] || got["protocol"] != "UDP" {
			t.Fatalf("%s: %v", prefix, got)
		}
	}
	var one map[string]map[string]interface{}
	json.Unmarshal(a.do(200, "GET", poolPath+"?fields=name&fields=listeners", nil).Body, &one)
	if len(one["pool"]) != 2 || one["pool"]["name"] != "web" {
		t.Fatalf("fields on show: %v", one)
	}

	// Lists: filters, sorting, pagination.
	all := []string{"web", "tls", "", ""}
	checks := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?name=tls", []string{"tls"}},
		{"?protocol=UDP", []string{""}},
		{"?lb_algorithm=SOURCE_IP&protocol=HTTP", []string{"web"}},
		{"?loadbalancer_id=" + lbID, all},
		{"?loadbalancer_id=" + subnet, []string{}},
		{"?tls_enabled=false&admin_state_up=true&description=d", []string{"web"}},
		{"?tags=x", []string{"web"}},
		{"?not-tags-any=a,x", []string{"", ""}},
		{"?provisioning_status=ACTIVE&operating_status=OFFLINE", all},
		{"?operating_status=ONLINE", []string{}},
		{"?sort=lb_algorithm:desc,name", []string{"", "", "web", "tls"}},
		{"?sort_key=protocol&sort_dir=desc", []string{"", "", "tls", "web"}},
	}
	for _, c := range checks {
		if got := a.values(a.items("/v2/lbaas/pools"+c.query, "pools"), "name"); !slices.Equal(got, c.want) {
			t.Errorf("pools%s: %q, want %q", c.query, got, c.want)
		}
	}
	items, links := a.page("/v2/lbaas/pools?limit=3", "pools")
	if len(items) != 3 || links["next"] == "" || links["previous"] != "" {
		t.Fatalf("first page: %d items, links %v", len(items), links)
	}
	items, links = a.follow(links["next"], "pools")
	if len(items) != 1 || items[0]["id"] != app["id"] || links["previous"] == "" || links["next"] != "" {
		t.Fatalf("second page: %v, links %v", a.values(items, "id"), links)
	}
	for query, msg := range map[string]string{
		"?listener_id=" + web: "One or more arguments are either duplicate or invalid",
		"?healthmonitor_id=x": "One or more arguments are either duplicate or invalid",
		"?sort=members":       "Supplied sort key 'members' is not valid.",
		"?marker=" + subnet:   "Supplied pagination marker '" + subnet + "' is not valid.",
	} {
		a.refusal(400, "GET", "/v2/lbaas/pools"+query, nil, msg)
	}

	// Projects: a member of another project neither sees nor changes the pools.
	other := []string{"X-Project-Id: other", "X-Roles: member"}
	if got := a.items("/v2/lbaas/pools", "pools", other...); len(got) != 0 {
		t.Fatalf("another project lists %v", got)
	}
	a.refusal(403, "GET", poolPath, nil, "Policy does not allow this request to be performed.", other...)
	a.refusal(403, "PUT", poolPath, `{"pool":{"name":"x"}}`, "Policy does not allow this request to be performed.", other...)
	a.refusal(403, "DELETE", poolPath, nil, "Policy does not allow this request to be performed.", other...)
	a.refusal(403, "POST", "/v2/lbaas/pools", fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, lbID),
		"Policy does not allow this request to be performed.", other...)
	mine := a.loadBalancer("mine", other...)
	own := a.pool(mine, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN","project_id":"someone"`, mine))
	if own["project_id"] != "other" {
		t.Fatalf("a pool's project is its load balancer's: %v", own["project_id"])
	}
	if got := a.values(a.items("/v2/lbaas/pools", "pools", other...), "id"); !slices.Equal(got, []string{own["id"].(string)}) {
		t.Fatalf("the other project's pools: %v", got)
	}

	// Delete: the listener loses its default pool; the pool is gone once provisioned.
	a.do(204, "DELETE", poolPath, nil)
	a.settle(lbID)
	a.gone(poolPath)
	if l := a.get("/v2/lbaas/listeners/"+web, "listener"); l["default_pool_id"] != nil {
		t.Fatalf("listener kept a deleted default pool: %v", l["default_pool_id"])
	}
	for _, m := range []string{"GET", "DELETE"} {
		a.refusal(404, m, poolPath, nil, "Pool "+p["id"].(string)+" not found.")
	}
	a.refusal(404, "PUT", "/v2/lbaas/pools/nope", `{"pool":{}}`, "Pool nope not found.")
}

func TestPoolValidation(t *testing.T) {
	a := newPoolsAPI(t, "")
	lbID := a.loadBalancer("validation")
	otherLB := a.loadBalancer("other")
	web := a.listener(lbID, "HTTP", 80)
	elsewhere := a.listener(otherLB, "TCP", 81)
	prom := a.listener(lbID, "PROMETHEUS", 9100)
	before := len(a.items("/v2/lbaas/pools", "pools"))

	onLB := func(attrs string) string {
		return fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",%s}}`, lbID, attrs)
	}
	onLBWith := func(protocol, attrs string) string {
		return fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":%q,"lb_algorithm":"ROUND_ROBIN",%s}}`, lbID, protocol, attrs)
	}
	missing := "2c946bfc-1804-43ab-a2ff-58f6a762b505"
	cases := []struct {
		status    int
		body, msg string
	}{
		{400, `{"pool":{"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, "Validation failure: Must provide at least one of: loadbalancer_id, listener_id"},
		{400, fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"lb_algorithm":"ROUND_ROBIN"}}`, lbID), "Invalid input for field/attribute protocol. Value: 'None'. Mandatory field missing."},
		{400, fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP"}}`, lbID), "Invalid input for field/attribute lb_algorithm. Value: 'None'. Mandatory field missing."},
		{400, onLBWith("FOO", `"name":"x"`), "Invalid input for field/attribute protocol. Value: 'FOO'. Value should be one of: HTTP, HTTPS, PROXY, PROXYV2, TCP, UDP, SCTP"},
		{400, fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"RANDOM"}}`, lbID),
			"Invalid input for field/attribute lb_algorithm. Value: 'RANDOM'. Value should be one of: ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT"},
		{400, `{"pool":{"loadbalancer_id":"lb","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, "Invalid input for field/attribute loadbalancer_id. Value: 'lb'. Value should be UUID format"},
		{400, onLB(`"color":"red"`), "Unknown attribute for argument pool_.pool: color"},
		{400, `{"pools":{}}`, "Unknown attribute for argument pool_: pools"},
		{400, ``, `Missing argument: "pool_"`},
		{400, onLB(`"name":` + fmt.Sprintf("%q", strings.Repeat("n", 256))), "Invalid input for field/attribute name. Value: '" + strings.Repeat("n", 256) + "'. Value should have a maximum character requirement of 255"},
		{400, onLB(`"admin_state_up":"maybe"`), "Invalid input for field/attribute admin_state_up. Value: 'maybe'. Value should be boolean"},
		{400, onLB(`"session_persistence":{}`), "Invalid input for field/attribute type. Value: 'None'. Mandatory field missing."},
		{400, onLB(`"session_persistence":{"type":"COOKIE"}`), "Invalid input for field/attribute type. Value: 'COOKIE'. Value should be one of: SOURCE_IP, HTTP_COOKIE, APP_COOKIE"},
		{400, onLB(`"session_persistence":{"type":"APP_COOKIE","cookie_name":"a b"}`), `Invalid input for field/attribute cookie_name. Value: 'a b'. Value should match the pattern ^[^\s,;\\]+$`},
		{400, onLB(`"session_persistence":{"type":"APP_COOKIE","color":"red"}`), "Unknown attribute for argument pool_.pool.session_persistence: color"},
		{400, onLB(`"session_persistence":{"type":"APP_COOKIE"}`), `Validation failure: Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence type.`},
		{400, onLB(`"session_persistence":{"type":"HTTP_COOKIE","cookie_name":"c"}`), `Validation failure: Field "cookie_name" can only be specified with session persistence of type "APP_COOKIE".`},
		{400, onLB(`"session_persistence":{"type":"APP_COOKIE","cookie_name":"a(b)"}`), `Validation failure: Supplied "cookie_name" is invalid.`},
		{400, onLB(`"session_persistence":{"type":"SOURCE_IP","persistence_timeout":60}`), "Validation failure: persistence_timeout and persistence_granularity is only for UDP and SCTP protocol pools."},
		{400, onLB(`"session_persistence":{"type":"SOURCE_IP","persistence_granularity":"255.0.0.0.0"}`), "Invalid input for field/attribute persistence_granularity. Value: '255.0.0.0.0'. Value should be IPv4 or IPv6 format"},
		{400, onLBWith("UDP", `"session_persistence":{"type":"HTTP_COOKIE"}`), "Validation failure: Session persistence of type HTTP_COOKIE is not supported for UDP/SCTP protocol pools."},
		{400, onLBWith("SCTP", `"session_persistence":{"type":"SOURCE_IP","cookie_name":"c"}`), "Validation failure: session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: type, persistence_timeout, persistence_granularity."},
		{400, onLBWith("UDP", `"session_persistence":{"type":"APP_COOKIE","cookie_name":"c"}`), "Validation failure: Cookie names are not supported for UDP/SCTP pools."},
		{400, onLB(`"crl_container_ref":"crl"`), "Validation failure: A CA certificate reference is required to specify a revocation list."},
		{400, onLB(`"tls_enabled":true,"tls_versions":[]`), "Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default."},
		{400, onLB(`"tls_enabled":true,"tls_versions":["TLSv1.2","TLSv9"]`), "Validation failure: Invalid TLS versions: TLSv9"},
		{400, onLB(`"tls_enabled":true,"alpn_protocols":[]`), "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default."},
		{400, onLB(`"alpn_protocols":["h2","h3"]`), "Invalid input for field/attribute alpn_protocols. Value: '['h2', 'h3']'. Value should be a valid ALPN protocol ID"},
		{400, onLB(`"members":[{"address":"10.0.0.1","protocol_port":80}]`), "Validation failure: A pool's members and health monitor can only be created with it in a fully populated load balancer."},
		{404, fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, missing), "Load Balancer " + missing + " not found."},
		{404, fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, missing), "Listener " + missing + " not found."},
		{400, fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, lbID, elsewhere),
			"Validation failure: Listener " + elsewhere + " is not on load balancer " + lbID + "."},
		{400, fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"UDP","lb_algorithm":"ROUND_ROBIN"}}`, web),
			"Validation failure: The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'."},
		{400, fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, prom), "Protocol PROMETHEUS listeners cannot have child objects."},
		{501, fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"SOURCE_IP_PORT"}}`, web),
			"Provider 'amphora' does not support a requested option: Amphora provider does not support SOURCE_IP_PORT algorithm."},
	}
	for _, c := range cases {
		a.refusal(c.status, "POST", "/v2/lbaas/pools", c.body, c.msg)
	}
	if after := len(a.items("/v2/lbaas/pools", "pools")); after != before {
		t.Fatalf("%d pools after refused requests, want %d", after, before)
	}
	if got := a.statuses("/v2/lbaas/loadbalancers/"+lbID, "loadbalancer"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("refusals touched the load balancer: %s", got)
	}

	// PUT: the mutable attributes only, checked against the pool as it is.
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","ca_tls_container_ref":"ca","crl_container_ref":"crl"`, web))
	udp := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"UDP","lb_algorithm":"ROUND_ROBIN"`, lbID))
	path, udpPath := "/v2/lbaas/pools/"+p["id"].(string), "/v2/lbaas/pools/"+udp["id"].(string)
	puts := []struct {
		status          int
		path, body, msg string
	}{
		{400, path, `{"pool":{"protocol":"TCP"}}`, "Unknown attribute for argument pool_.pool: protocol"},
		{400, path, `{"pool":{"loadbalancer_id":"` + lbID + `"}}`, "Unknown attribute for argument pool_.pool: loadbalancer_id"},
		{400, path, `{"pool":{"admin_state_up":null}}`, "Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"},
		{400, path, `{"pool":{"lb_algorithm":null}}`, "Invalid input for field/attribute lb_algorithm. Value: 'None'. Value should be one of: ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP, SOURCE_IP_PORT"},
		{400, path, `{"pool":{"session_persistence":{"cookie_name":"c"}}}`, `Validation failure: Invalid session_persistence provided.`},
		{400, path, `{"pool":{"session_persistence":{"type":"SOURCE_IP","persistence_timeout":5}}}`, "Validation failure: persistence_timeout and persistence_granularity is only for UDP protocol pools."},
		{400, udpPath, `{"pool":{"session_persistence":{"type":"APP_COOKIE","cookie_name":"c"}}}`, "Validation failure: Cookie names are not supported for UDP/SCTP pools."},
		{400, path, `{"pool":{"ca_tls_container_ref":null}}`, "Validation failure: A CA reference cannot be removed when a certificate revocation list is present."},
		{400, udpPath, `{"pool":{"crl_container_ref":"crl"}}`, "Validation failure: A CA reference is required to specify a certificate revocation list."},
		{400, udpPath, `{"pool":{"crl_container_ref":"crl","ca_tls_container_ref":null}}`, "Validation failure: A CA reference is required to specify a certificate revocation list."},
		{400, path, `{"pool":{"tls_versions":[]}}`, "Validation failure: Empty TLS version list. Either specify at least one TLS version or remove this parameter to use the default."},
		{400, path, `{"pool":{"tls_versions":["SSLv2"]}}`, "Validation failure: Invalid TLS versions: SSLv2"},
		{400, path, `{"pool":{"alpn_protocols":[]}}`, "Validation failure: Empty ALPN protocol list. Either specify at least one ALPN protocol or remove this parameter to use the default."},
		{501, path, `{"pool":{"lb_algorithm":"SOURCE_IP_PORT"}}`, "Provider 'amphora' does not support a requested option: Amphora provider does not support SOURCE_IP_PORT algorithm."},
	}
	for _, c := range puts {
		a.refusal(c.status, "PUT", c.path, c.body, c.msg)
	}
	if got := a.get(path, "pool"); got["provisioning_status"] != "ACTIVE" || got["lb_algorithm"] != "ROUND_ROBIN" {
		t.Fatalf("refused updates changed the pool: %v", got)
	}
	// Removing the CRL and the CA together is fine.
	a.do(200, "PUT", path, `{"pool":{"ca_tls_container_ref":null,"crl_container_ref":null}}`)
	a.settle(lbID)
	if got := a.get(path, "pool"); got["ca_tls_container_ref"] != nil || got["crl_container_ref"] != nil {
		t.Fatalf("CA and CRL removed: %v", got)
	}
}

// TestPoolLocking follows Octavia's locking table (§2.1) for pools, members and
// monitors, with a 1 s provider step so every PENDING_* state can be observed:
// what each write locks, the 409 a second write gets meanwhile (the pool's
// message while the pool is not ACTIVE, else the load balancer's), and the
// statuses once the provider step is done.
func TestPoolLocking(t *testing.T) {
	a := newPoolsAPI(t, "1s")
	lbID := a.loadBalancer("locking")
	web := a.listener(lbID, "HTTP", 80)
	lbPath, webPath := "/v2/lbaas/loadbalancers/"+lbID, "/v2/lbaas/listeners/"+web
	lockedLB := "Load Balancer " + lbID + " is immutable and cannot be updated."
	keyOf := func(path string) string {
		switch {
		case path == lbPath:
			return "loadbalancer"
		case path == webPath:
			return "listener"
		case strings.Contains(path, "/members/"):
			return "member"
		case strings.Contains(path, "/healthmonitors/"):
			return "healthmonitor"
		}
		return "pool"
	}
	// expect checks "provisioning/operating" statuses; a want ending in "/" checks
	// the provisioning status only.
	expect := func(when string, want map[string]string) {
		t.Helper()
		for path, status := range want {
			got := a.statuses(path, keyOf(path))
			if got != status && !(strings.HasSuffix(status, "/") && strings.HasPrefix(got, status)) {
				t.Fatalf("%s: %s is %s, want %s", when, keyOf(path), got, status)
			}
		}
	}

	// Pool create: the pool PENDING_CREATE, its listener and the load balancer
	// PENDING_UPDATE; anything else on the load balancer waits.
	p := a.create("/v2/lbaas/pools", "pool", fmt.Sprintf(`{"pool":{"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}`, web))
	poolPath := "/v2/lbaas/pools/" + p["id"].(string)
	members := poolPath + "/members"
	lockedPool := "Pool " + p["id"].(string) + " is immutable and cannot be updated."
	expect("pool create", map[string]string{poolPath: "PENDING_CREATE/OFFLINE", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.refusal(409, "POST", "/v2/lbaas/pools", fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}}`, lbID), lockedLB)
	a.refusal(409, "PUT", poolPath, `{"pool":{"name":"x"}}`, lockedLB)
	a.refusal(409, "POST", members, `{"member":{"address":"10.0.0.1","protocol_port":80}}`, lockedPool)
	a.settle(lbID)
	// Operating statuses are measured; the noop driver measures nothing (Octavia:
	// "no-op will not go online"), so they stay as created throughout.
	expect("pool created", map[string]string{poolPath: "ACTIVE/OFFLINE", webPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})

	// Member create: the member PENDING_CREATE, its pool, the pool's listener and the
	// load balancer PENDING_UPDATE; member and monitor writes get the pool's 409,
	// pool writes the load balancer's.
	m := a.create(members, "member", `{"member":{"address":"10.0.0.1","protocol_port":80}}`)
	memberPath := members + "/" + m["id"].(string)
	expect("member create", map[string]string{memberPath: "PENDING_CREATE/NO_MONITOR", poolPath: "PENDING_UPDATE/",
		webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.refusal(409, "POST", members, `{"member":{"address":"10.0.0.2","protocol_port":80}}`, lockedPool)
	a.refusal(409, "PUT", memberPath, `{"member":{"weight":2}}`, lockedPool)
	a.refusal(409, "DELETE", memberPath, nil, lockedPool)
	a.refusal(409, "PUT", members, `{"members":[]}`, lockedPool)
	a.refusal(409, "POST", "/v2/lbaas/healthmonitors", fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"TCP","delay":1,"timeout":1,"max_retries":1}}`, p["id"]), lockedPool)
	a.refusal(409, "PUT", poolPath, `{"pool":{"name":"x"}}`, lockedLB)
	a.refusal(409, "DELETE", poolPath, nil, lockedLB)
	a.settle(lbID)
	expect("member created", map[string]string{memberPath: "ACTIVE/NO_MONITOR", poolPath: "ACTIVE/OFFLINE", webPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})

	// With the pool ACTIVE but the load balancer busy, member writes get the load
	// balancer's 409.
	a.do(200, "PUT", lbPath, `{"loadbalancer":{"name":"busy"}}`)
	expect("load balancer update", map[string]string{poolPath: "ACTIVE/OFFLINE", lbPath: "PENDING_UPDATE/"})
	a.refusal(409, "POST", members, `{"member":{"address":"10.0.0.2","protocol_port":80}}`, lockedLB)
	a.refusal(409, "PUT", members, `{"members":[]}`, lockedLB)
	a.settle(lbID)

	// Monitor create: the monitor PENDING_CREATE/OFFLINE, pool, listener and load
	// balancer PENDING_UPDATE; then ONLINE (Octavia's flow sets it); the members
	// keep their status until heartbeats measure them.
	hm := a.create("/v2/lbaas/healthmonitors", "healthmonitor",
		fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"HTTP","delay":1,"timeout":1,"max_retries":1}}`, p["id"]))
	hmPath := "/v2/lbaas/healthmonitors/" + hm["id"].(string)
	expect("monitor create", map[string]string{hmPath: "PENDING_CREATE/OFFLINE", poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.refusal(409, "POST", "/v2/lbaas/healthmonitors", fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"TCP","delay":1,"timeout":1,"max_retries":1}}`, p["id"]), lockedPool)
	a.refusal(409, "PUT", memberPath, `{"member":{"weight":2}}`, lockedPool)
	a.settle(lbID)
	expect("monitor created", map[string]string{hmPath: "ACTIVE/ONLINE", memberPath: "ACTIVE/NO_MONITOR", poolPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})
	a.refusal(409, "POST", "/v2/lbaas/healthmonitors", fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"TCP","delay":1,"timeout":1,"max_retries":1}}`, p["id"]),
		"This pool already has a health monitor")

	// Member update: PENDING_UPDATE with its parents; disabling it changes no
	// operating status (a heartbeat would).
	a.do(200, "PUT", memberPath, `{"member":{"admin_state_up":false}}`)
	expect("member update", map[string]string{memberPath: "PENDING_UPDATE/NO_MONITOR", poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.settle(lbID)
	expect("member disabled", map[string]string{memberPath: "ACTIVE/NO_MONITOR", poolPath: "ACTIVE/OFFLINE", webPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})
	a.do(200, "PUT", memberPath, `{"member":{"admin_state_up":true}}`)
	a.settle(lbID)

	// Monitor update: a disabled monitor is OFFLINE.
	a.do(200, "PUT", hmPath, `{"healthmonitor":{"admin_state_up":false}}`)
	expect("monitor update", map[string]string{hmPath: "PENDING_UPDATE/ONLINE", poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.settle(lbID)
	expect("monitor disabled", map[string]string{hmPath: "ACTIVE/OFFLINE", memberPath: "ACTIVE/NO_MONITOR"})

	// Monitor delete: PENDING_DELETE, then gone, and the pool's members NO_MONITOR
	// (Octavia's delete flow), the one created under the monitor (OFFLINE) too.
	a.do(200, "PUT", hmPath, `{"healthmonitor":{"admin_state_up":true}}`)
	a.settle(lbID)
	expect("monitor enabled", map[string]string{hmPath: "ACTIVE/ONLINE", memberPath: "ACTIVE/NO_MONITOR"})
	monitored := members + "/" + a.create(members, "member", `{"member":{"address":"10.0.0.2","protocol_port":80}}`)["id"].(string)
	expect("monitored member create", map[string]string{monitored: "PENDING_CREATE/OFFLINE"})
	a.settle(lbID)
	expect("monitored member created", map[string]string{monitored: "ACTIVE/OFFLINE"})
	a.do(204, "DELETE", hmPath, nil)
	expect("monitor delete", map[string]string{hmPath: "PENDING_DELETE/", poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.settle(lbID)
	a.gone(hmPath)
	expect("monitor deleted", map[string]string{memberPath: "ACTIVE/NO_MONITOR", monitored: "ACTIVE/NO_MONITOR", poolPath: "ACTIVE/OFFLINE"})

	// Member delete.
	a.do(204, "DELETE", memberPath, nil)
	expect("member delete", map[string]string{memberPath: "PENDING_DELETE/", poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.settle(lbID)
	a.gone(memberPath)
	a.do(204, "DELETE", monitored, nil)
	a.settle(lbID)
	a.gone(monitored)

	// Pool update: the pool and the listeners using it PENDING_UPDATE.
	a.do(200, "PUT", poolPath, `{"pool":{"admin_state_up":false}}`)
	expect("pool update", map[string]string{poolPath: "PENDING_UPDATE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.refusal(409, "POST", members, `{"member":{"address":"10.0.0.2","protocol_port":80}}`, lockedPool)
	a.settle(lbID)
	expect("pool disabled", map[string]string{poolPath: "ACTIVE/OFFLINE", webPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})

	// Pool delete: PENDING_DELETE, its listener PENDING_UPDATE; then gone.
	a.do(204, "DELETE", poolPath, nil)
	expect("pool delete", map[string]string{poolPath: "PENDING_DELETE/", webPath: "PENDING_UPDATE/", lbPath: "PENDING_UPDATE/"})
	a.settle(lbID)
	a.gone(poolPath)
	a.missingParent("GET", members, nil, "Pool "+p["id"].(string)+" not found.")
	expect("pool deleted", map[string]string{webPath: "ACTIVE/OFFLINE", lbPath: "ACTIVE/OFFLINE"})
}

// TestPoolListenersOfL7Policies checks Octavia's Pool.listeners: the listeners with
// the pool as default pool, and those with an enabled L7 policy that redirects to
// it and has a rule. Those are the listeners a pool's changes lock.
func TestPoolListenersOfL7Policies(t *testing.T) {
	a := newPoolsAPI(t, "1s")
	lbID := a.loadBalancer("l7")
	web, api := a.listener(lbID, "HTTP", 80), a.listener(lbID, "HTTP", 81)
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))["id"].(string)
	images := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, lbID))["id"].(string)
	policy := a.create("/v2/lbaas/l7policies", "l7policy",
		fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REDIRECT_TO_POOL","redirect_pool_id":%q}}`, api, images))["id"].(string)
	a.settle(lbID)
	listenersOf := func(pool string) []string {
		t.Helper()
		return a.refs(a.get("/v2/lbaas/pools/"+pool, "pool")["listeners"])
	}
	if got := listenersOf(images); len(got) != 0 {
		t.Fatalf("a policy without rules uses its pool: %v", got)
	}
	a.create("/v2/lbaas/l7policies/"+policy+"/rules", "rule", `{"rule":{"type":"PATH","compare_type":"STARTS_WITH","value":"/img"}}`)
	a.settle(lbID)
	if got := listenersOf(images); !slices.Equal(got, []string{api}) {
		t.Fatalf("listeners of the redirect pool: %v", got)
	}
	if got := listenersOf(p); !slices.Equal(got, []string{web}) {
		t.Fatalf("listeners of the default pool: %v", got)
	}
	// A member change locks the listeners using the pool, and only those.
	a.create("/v2/lbaas/pools/"+images+"/members", "member", `{"member":{"address":"10.0.0.1","protocol_port":80}}`)
	if got, other := a.statuses("/v2/lbaas/listeners/"+api, "listener"), a.statuses("/v2/lbaas/listeners/"+web, "listener"); !strings.HasPrefix(got, "PENDING_UPDATE/") || other != "ACTIVE/OFFLINE" {
		t.Fatalf("listeners during a member change: using the pool %s, not using it %s", got, other)
	}
	a.settle(lbID)
	a.refusal(409, "DELETE", "/v2/lbaas/pools/"+images, nil, "Pool "+images+" is in use by L7 policy "+policy)
	// A disabled policy does not use its pool.
	a.do(200, "PUT", "/v2/lbaas/l7policies/"+policy, `{"l7policy":{"admin_state_up":false}}`)
	a.settle(lbID)
	if got := listenersOf(images); len(got) != 0 {
		t.Fatalf("a disabled policy uses its pool: %v", got)
	}
	a.create("/v2/lbaas/pools/"+images+"/members", "member", `{"member":{"address":"10.0.0.2","protocol_port":80}}`)
	if got := a.statuses("/v2/lbaas/listeners/"+api, "listener"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("listener of a disabled policy during a member change: %s", got)
	}
	a.settle(lbID)
}
