package http_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// --- helpers shared by the L7, status and amphora tests ---

// object decodes {"<key>": {...}} from a response.
func object(t *testing.T, r *systemtest.Response, key string) map[string]interface{} {
	t.Helper()
	var v map[string]map[string]interface{}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	o, ok := v[key]
	if !ok {
		t.Fatalf("no %q in %s", key, r.Body)
	}
	return o
}

// objects decodes {"<key>": [...]} from a response.
func objects(t *testing.T, r *systemtest.Response, key string) []map[string]interface{} {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	var list []map[string]interface{}
	if err := json.Unmarshal(v[key], &list); err != nil {
		t.Fatalf("%q in %s: %v", key, r.Body, err)
	}
	return list
}

func idsOf(list []map[string]interface{}) []string {
	var out []string
	for _, o := range list {
		out = append(out, o["id"].(string))
	}
	return out
}

// refIDs reads a [{"id": ...}] reference list.
func refIDs(v interface{}) []string {
	var out []string
	for _, r := range v.([]interface{}) {
		out = append(out, r.(map[string]interface{})["id"].(string))
	}
	return out
}

// newLoadBalancer creates a load balancer and waits until it is ACTIVE.
func newLoadBalancer(t *testing.T, n *systemtest.Node, name string, headers ...string) string {
	t.Helper()
	id := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers",
		fmt.Sprintf(`{"loadbalancer":{"name":%q,"vip_subnet_id":%q}}`, name, subnet), headers...)).ID
	n.WaitActive(id, 10*time.Second)
	return id
}

// newListener adds a listener to a load balancer and waits until it is ACTIVE.
func newListener(t *testing.T, n *systemtest.Node, lbID, protocol string, port int, headers ...string) string {
	t.Helper()
	body := fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":%q,"protocol_port":%d}}`, lbID, protocol, port)
	id := object(t, n.MustDo(201, "POST", "/v2/lbaas/listeners", body, headers...), "listener")["id"].(string)
	n.WaitActive(lbID, 10*time.Second)
	return id
}

// newPolicy creates an L7 policy from the attributes in body (a JSON object's
// inside) and waits until its load balancer is ACTIVE again.
func newPolicy(t *testing.T, n *systemtest.Node, lbID, body string) map[string]interface{} {
	t.Helper()
	p := object(t, n.MustDo(201, "POST", "/v2/lbaas/l7policies", `{"l7policy":{`+body+`}}`), "l7policy")
	n.WaitActive(lbID, 10*time.Second)
	return p
}

func provisioningStatus(t *testing.T, n *systemtest.Node, path, key string) string {
	t.Helper()
	return object(t, n.MustDo(200, "GET", path, nil), key)["provisioning_status"].(string)
}

// positions lists a listener's policies by position.
func positions(t *testing.T, n *systemtest.Node, listenerID string) []string {
	t.Helper()
	list := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?listener_id="+listenerID+"&sort=position:asc", nil), "l7policies")
	var out []string
	for i, p := range list {
		if int(p["position"].(float64)) != i+1 {
			t.Fatalf("positions are not 1..N: %v", list)
		}
		out = append(out, p["name"].(string))
	}
	return out
}

func startNodeWith(t *testing.T, args ...string) *systemtest.Node {
	n := systemtest.NewNode(t, "api")
	n.ExtraArgs = args
	n.StartHealthy(60 * time.Second)
	return n
}

// --- L7 policies ---

func TestL7PolicyAPI(t *testing.T) {
	n := startNode(t)
	lbID := newLoadBalancer(t, n, "l7")
	listenerID := newListener(t, n, lbID, "HTTP", 80)

	t.Run("create, show, defaults", func(t *testing.T) {
		r := n.MustDo(201, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT","name":"reject","tags":["t"]}}`, listenerID))
		p := object(t, r, "l7policy")
		want := []string{"id", "name", "description", "provisioning_status", "operating_status", "admin_state_up", "project_id",
			"action", "listener_id", "redirect_pool_id", "redirect_url", "redirect_prefix", "position", "rules", "created_at",
			"updated_at", "tags", "redirect_http_code", "tenant_id"}
		if len(p) != len(want) {
			t.Errorf("policy has %d attributes, want %d: %v", len(p), len(want), p)
		}
		for _, k := range want {
			if _, ok := p[k]; !ok {
				t.Errorf("policy lacks %s", k)
			}
		}
		if p["provisioning_status"] != "PENDING_CREATE" || p["operating_status"] != "OFFLINE" || p["position"] != 1.0 ||
			p["admin_state_up"] != true || p["description"] != "" || p["redirect_url"] != nil || p["redirect_pool_id"] != nil ||
			p["redirect_prefix"] != nil || p["redirect_http_code"] != nil || p["updated_at"] != nil || p["project_id"] != "default" ||
			p["tenant_id"] != "default" || len(p["rules"].([]interface{})) != 0 || p["listener_id"] != listenerID {
			t.Fatalf("created policy: %v", p)
		}
		n.WaitActive(lbID, 10*time.Second)
		got := object(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+p["id"].(string), nil), "l7policy")
		if got["provisioning_status"] != "ACTIVE" || got["operating_status"] != "ONLINE" {
			t.Fatalf("after provisioning: %v", got)
		}
		// Every prefix, and .json.
		for _, prefix := range []string{"/v2.0/lbaas", "/v2", "/v2.0"} {
			n.MustDo(200, "GET", prefix+"/l7policies/"+p["id"].(string)+".json", nil)
		}
		n.MustDo(204, "DELETE", "/v2/lbaas/l7policies/"+p["id"].(string), nil)
		n.WaitActive(lbID, 10*time.Second)
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/l7policies/"+p["id"].(string), nil), 404, "L7 Policy "+p["id"].(string)+" not found.")
	})

	t.Run("actions and their arguments", func(t *testing.T) {
		url := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REDIRECT_TO_URL","redirect_url":"https://example.com/a?b=c#d"`, listenerID))
		if url["redirect_url"] != "https://example.com/a?b=c#d" || url["redirect_http_code"] != 302.0 {
			t.Fatalf("URL redirect defaults to 302: %v", url)
		}
		prefix := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REDIRECT_PREFIX","redirect_prefix":"http://[2001:db8::1]:8080","redirect_http_code":308`, listenerID))
		if prefix["redirect_prefix"] != "http://[2001:db8::1]:8080" || prefix["redirect_http_code"] != 308.0 || prefix["redirect_url"] != nil {
			t.Fatalf("prefix redirect: %v", prefix)
		}
		// A redirect argument implies its action (Octavia's sanitize).
		implied := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","redirect_prefix":"http://example.com"`, listenerID))
		if implied["action"] != "REDIRECT_PREFIX" || implied["redirect_http_code"] != 302.0 {
			t.Fatalf("redirect_prefix implies REDIRECT_PREFIX: %v", implied)
		}
		id := url["id"].(string)
		up := object(t, n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+id, `{"l7policy":{"redirect_prefix":"https://other.example.com","name":"moved"}}`), "l7policy")
		if up["action"] != "REDIRECT_PREFIX" || up["redirect_url"] != nil || up["redirect_prefix"] != "https://other.example.com" ||
			up["redirect_http_code"] != 302.0 || up["name"] != "moved" || up["provisioning_status"] != "PENDING_UPDATE" {
			t.Fatalf("update to a prefix redirect: %v", up)
		}
		n.WaitActive(lbID, 10*time.Second)
		up = object(t, n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+id, `{"l7policy":{"action":"REJECT"}}`), "l7policy")
		if up["action"] != "REJECT" || up["redirect_prefix"] != nil || up["redirect_http_code"] != nil {
			t.Fatalf("REJECT clears the redirect: %v", up)
		}
		n.WaitActive(lbID, 10*time.Second)
		up = object(t, n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+id, `{"l7policy":{"action":"REDIRECT_TO_URL","redirect_url":"http://a.example","redirect_http_code":307,"admin_state_up":false}}`), "l7policy")
		if up["action"] != "REDIRECT_TO_URL" || up["redirect_http_code"] != 307.0 || up["admin_state_up"] != false {
			t.Fatalf("update to a URL redirect: %v", up)
		}
		n.WaitActive(lbID, 10*time.Second)
		if got := object(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+id, nil), "l7policy"); got["operating_status"] != "OFFLINE" {
			t.Fatalf("a disabled policy is OFFLINE once provisioned: %v", got)
		}
		for _, p := range []map[string]interface{}{url, prefix, implied} {
			n.MustDo(204, "DELETE", "/v2/lbaas/l7policies/"+p["id"].(string), nil)
			n.WaitActive(lbID, 10*time.Second)
		}
	})

	t.Run("positions stay contiguous", func(t *testing.T) {
		var ids []string
		for _, name := range []string{"a", "b", "c"} {
			ids = append(ids, newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","name":%q`, listenerID, name))["id"].(string))
		}
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("appended: %v", got)
		}
		d := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","name":"d","position":1`, listenerID))
		if d["position"] != 1.0 {
			t.Fatalf("inserted at 1: %v", d)
		}
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"d", "a", "b", "c"}) {
			t.Fatalf("insert shifts: %v", got)
		}
		newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","name":"e","position":2147483647`, listenerID))
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"d", "a", "b", "c", "e"}) {
			t.Fatalf("past the end appends: %v", got)
		}
		n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+ids[2], `{"l7policy":{"position":1}}`)
		n.WaitActive(lbID, 10*time.Second)
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"c", "d", "a", "b", "e"}) {
			t.Fatalf("move to the front: %v", got)
		}
		n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+ids[2], `{"l7policy":{"position":4}}`)
		n.WaitActive(lbID, 10*time.Second)
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"d", "a", "b", "c", "e"}) {
			t.Fatalf("move back: %v", got)
		}
		n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+ids[2], `{"l7policy":{"position":null,"name":"c2"}}`)
		n.WaitActive(lbID, 10*time.Second)
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"d", "a", "b", "c2", "e"}) {
			t.Fatalf("a null position does not move: %v", got)
		}
		n.MustDo(204, "DELETE", "/v2/lbaas/l7policies/"+d["id"].(string), nil)
		n.WaitActive(lbID, 10*time.Second)
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"a", "b", "c2", "e"}) {
			t.Fatalf("delete closes the gap: %v", got)
		}
		// Lists are in creation order, not position order.
		list := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?listener_id="+listenerID, nil), "l7policies")
		var byCreation []string
		for _, p := range list {
			byCreation = append(byCreation, p["name"].(string))
		}
		if !slices.Equal(byCreation, []string{"a", "b", "c2", "e"}) {
			t.Fatalf("list order %v", byCreation)
		}
		// A listener shows its policies by position, as Octavia's Listener.l7policies
		// (a relationship ordered by position) does, not in creation order.
		n.MustDo(200, "PUT", "/v2/lbaas/l7policies/"+idsOf(list)[3], `{"l7policy":{"position":1}}`)
		n.WaitActive(lbID, 10*time.Second)
		if got := positions(t, n, listenerID); !slices.Equal(got, []string{"e", "a", "b", "c2"}) {
			t.Fatalf("move e to the front: %v", got)
		}
		byPosition := idsOf(objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?listener_id="+listenerID+"&sort=position:asc", nil), "l7policies"))
		shown := refIDs(object(t, n.MustDo(200, "GET", "/v2/lbaas/listeners/"+listenerID, nil), "listener")["l7policies"])
		if !slices.Equal(shown, byPosition) {
			t.Fatalf("the listener's l7policies %v, want position order %v", shown, byPosition)
		}
	})

	t.Run("nested rules, filters, pagination", func(t *testing.T) {
		p := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REDIRECT_TO_URL","redirect_url":"http://x.example","redirect_http_code":301,"name":"withrules","rules":[
			{"type":"PATH","compare_type":"STARTS_WITH","value":"/api"},
			{"type":"HEADER","compare_type":"EQUAL_TO","key":"X-Env","value":"prod","invert":true,"tags":["r"]}]`, listenerID))
		ruleIDs := refIDs(p["rules"])
		if len(ruleIDs) != 2 {
			t.Fatalf("nested rules: %v", p)
		}
		rules := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+p["id"].(string)+"/rules", nil), "rules")
		if !slices.Equal(idsOf(rules), ruleIDs) || rules[1]["invert"] != true || rules[1]["key"] != "X-Env" ||
			rules[0]["provisioning_status"] != "ACTIVE" || rules[0]["operating_status"] != "ONLINE" {
			t.Fatalf("nested rules as listed: %v", rules)
		}
		for path, want := range map[string]int{
			"?redirect_http_code=301":                   1,
			"?action=REJECT":                            4,
			"?name=withrules&listener_id=" + listenerID: 1,
			"?position=1":                               1,
			"?tags=t":                                   0,
		} {
			if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies"+path, nil), "l7policies"); len(got) != want {
				t.Errorf("%s: %d policies, want %d", path, len(got), want)
			}
		}
		page := n.MustDo(200, "GET", "/v2/lbaas/l7policies?limit=2&fields=id&fields=position", nil)
		first := objects(t, page, "l7policies")
		if len(first) != 2 || len(first[0]) != 2 {
			t.Fatalf("first page: %s", page.Body)
		}
		var links struct {
			Links []struct{ Href, Rel string } `json:"l7policies_links"`
		}
		json.Unmarshal(page.Body, &links)
		if len(links.Links) != 1 || links.Links[0].Rel != "next" || !strings.Contains(links.Links[0].Href, "marker="+first[1]["id"].(string)) {
			t.Fatalf("links: %s", page.Body)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/l7policies?color=red", nil), 400, "One or more arguments are either duplicate or invalid")
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/l7policies?sort=rules", nil), 400, "Supplied sort key 'rules' is not valid.")
	})

	t.Run("validation", func(t *testing.T) {
		tcp := newListener(t, n, lbID, "TCP", 81)
		prom := newListener(t, n, lbID, "PROMETHEUS", 82)
		before := len(objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies", nil), "l7policies"))
		lid := fmt.Sprintf(`"listener_id":%q`, listenerID)
		missing := "2c8e2c55-25c9-4b0c-a3c4-38c5a6a2a5d1"
		cases := []struct {
			status    int
			body, msg string
		}{
			{400, `{"l7policy":{` + lid + `}}`, "Invalid input for field/attribute action. Value: 'None'. Mandatory field missing."},
			{400, `{"l7policy":{"action":"REJECT"}}`, "Invalid input for field/attribute listener_id. Value: 'None'. Mandatory field missing."},
			{400, `{"l7policy":{` + lid + `,"action":"DROP"}}`, "Invalid input for field/attribute action. Value: 'DROP'. Value should be one of: REJECT, REDIRECT_TO_URL, REDIRECT_TO_POOL, REDIRECT_PREFIX"},
			{400, `{"l7policy":{"listener_id":"nope","action":"REJECT"}}`, "Invalid input for field/attribute listener_id. Value: 'nope'. Value should be UUID format"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL"}}`, "Invalid L7 Policy arguments: redirect_url must not be None"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_PREFIX"}}`, "Invalid L7 Policy arguments: redirect_prefix must not be None"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_POOL"}}`, "Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_POOL","redirect_pool_id":"` + missing + `","redirect_prefix":"http://a.example"}}`,
				"Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL","redirect_url":"ftp://example.com"}}`, "Invalid input for field/attribute redirect_url. Value: 'ftp://example.com'. Value must be a valid URL string"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL","redirect_url":"http://exa mple.com"}}`, "Invalid input for field/attribute redirect_url. Value: 'http://exa mple.com'. Value must be a valid URL string"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL","redirect_url":"http://example.com/\u0007"}}`, "Invalid input for field/attribute redirect_url. Value: 'http://example.com/\a'. Value must be a valid URL string"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL","redirect_url":"http://"}}`, "Invalid input for field/attribute redirect_url. Value: 'http://'. Value must be a valid URL string"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_PREFIX","redirect_prefix":"example.com"}}`, "Invalid input for field/attribute redirect_prefix. Value: 'example.com'. Value must be a valid URL string"},
			{400, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_URL","redirect_url":"http://a.example","redirect_http_code":300}}`, "Invalid input for field/attribute redirect_http_code. Value: '300'. Value should be one of: 301, 302, 303, 307, 308"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","position":0}}`, "Invalid input for field/attribute position. Value: '0'. Value should be greater or equal to 1"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","position":2147483648}}`, "Invalid input for field/attribute position. Value: '2147483648'. Value should be lower or equal to 2147483647"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","name":"` + strings.Repeat("n", 256) + `"}}`, "Invalid input for field/attribute name. Value: '" + strings.Repeat("n", 256) + "'. Value should have a maximum character requirement of 255"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","color":"red"}}`, "Unknown attribute for argument l7policy_.l7policy: color"},
			{400, `{"policy":{}}`, "Unknown attribute for argument l7policy_: policy"},
			{400, ``, `Missing argument: "l7policy_"`},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","rules":[{"type":"HEADER","compare_type":"EQUAL_TO","value":"x"}]}}`,
				"Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","rules":[{"type":"PATH","compare_type":"EQUAL_TO","value":"a\rb"}]}}`,
				"Error parsing L7Rule: Invalid input for field/attribute value. Value: 'a\rb'. Value should match the pattern ^[^\\r\\n]*$"},
			{400, `{"l7policy":{` + lid + `,"action":"REJECT","rules":[{"type":"PATH","value":"/"}]}}`,
				"Invalid input for field/attribute compare_type. Value: 'None'. Mandatory field missing."},
			{404, `{"l7policy":{"listener_id":"` + missing + `","action":"REJECT"}}`, "Listener " + missing + " not found."},
			{404, `{"l7policy":{` + lid + `,"action":"REDIRECT_TO_POOL","redirect_pool_id":"` + missing + `"}}`, "Pool " + missing + " not found."},
			{501, `{"l7policy":{"listener_id":"` + tcp + `","action":"REJECT"}}`, "Provider 'amphora' does not support a requested option: TCP protocol listeners do not support L7 policies"},
			{400, `{"l7policy":{"listener_id":"` + prom + `","action":"REJECT"}}`, "Protocol PROMETHEUS listeners cannot have child objects."},
		}
		for _, c := range cases {
			systemtest.ExpectFault(t, n.MustDo(c.status, "POST", "/v2/lbaas/l7policies", c.body), c.status, c.msg)
		}
		var many []string
		for i := 0; i < 51; i++ {
			many = append(many, fmt.Sprintf(`{"type":"PATH","compare_type":"EQUAL_TO","value":"/%d"}`, i))
		}
		r := n.MustDo(409, "POST", "/v2/lbaas/l7policies", `{"l7policy":{`+lid+`,"action":"REJECT","rules":[`+strings.Join(many, ",")+`]}}`)
		var f systemtest.Fault
		json.Unmarshal(r.Body, &f)
		if !strings.HasPrefix(f.FaultString, "Too many rules on L7 policy ") {
			t.Fatalf("51 rules: %s", r.Body)
		}

		p := newPolicy(t, n, lbID, lid+`,"action":"REJECT","name":"target"`)
		path := "/v2/lbaas/l7policies/" + p["id"].(string)
		for body, msg := range map[string]string{
			`{"l7policy":{}}`: "Invalid L7 Policy arguments: Invalid update options",
			`{"l7policy":{"listener_id":"` + listenerID + `"}}`:   "Unknown attribute for argument l7policy_.l7policy: listener_id",
			`{"l7policy":{"action":"REDIRECT_TO_URL"}}`:           "Invalid L7 Policy arguments: redirect_url must not be None",
			`{"l7policy":{"action":null}}`:                        "Invalid L7 Policy action specified: None",
			`{"l7policy":{"admin_state_up":null}}`:                "Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean",
			`{"l7policy":{"redirect_http_code":"x"}}`:             "Invalid input for field/attribute redirect_http_code. Value: 'x'. Wrong type. Expected 'int', got 'str'",
			`{"l7policy":{"redirect_pool_id":"` + missing + `"}}`: "Pool " + missing + " not found.",
			`{"l7policy":{"redirect_url":"javascript:alert(1)"}}`: "Invalid input for field/attribute redirect_url. Value: 'javascript:alert(1)'. Value must be a valid URL string",
			`{"l7policy":{"tags":"a"}}`:                           "Invalid input for field/attribute tags. Value: 'a'. Value not a valid list: a",
		} {
			status := 400
			if strings.HasPrefix(msg, "Pool ") {
				status = 404
			}
			systemtest.ExpectFault(t, n.MustDo(status, "PUT", path, body), status, msg)
		}
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/lbaas/l7policies/"+missing, `{"l7policy":{"name":"x"}}`), 404, "L7 Policy "+missing+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", "/v2/lbaas/l7policies/"+missing, nil), 404, "L7 Policy "+missing+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/l7policies/nope", nil), 404, "L7 Policy nope not found.")
		// Nothing was written by any refusal.
		if after := len(objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies", nil), "l7policies")); after != before+1 {
			t.Fatalf("%d policies after refusals, want %d", after, before+1)
		}
		if got := object(t, n.MustDo(200, "GET", path, nil), "l7policy"); got["name"] != "target" || got["action"] != "REJECT" {
			t.Fatalf("refused updates changed the policy: %v", got)
		}
	})

	t.Run("projects", func(t *testing.T) {
		member := func(p string) []string { return []string{"X-Project-Id: " + p, "X-Roles: member"} }
		p := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","name":"mine","project_id":"someone-else"`, listenerID))
		if p["project_id"] != "default" {
			t.Fatalf("a policy belongs to its load balancer's project: %v", p)
		}
		path := "/v2/lbaas/l7policies/" + p["id"].(string)
		forbidden := "Policy does not allow this request to be performed."
		systemtest.ExpectFault(t, n.MustDo(403, "GET", path, nil, member("other")...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", path, `{"l7policy":{"name":"x"}}`, member("other")...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", path, nil, member("other")...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, listenerID), member("other")...), 403, forbidden)
		if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies", nil, member("other")...), "l7policies"); len(got) != 0 {
			t.Fatalf("another project sees %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/l7policies?project_id=default", nil, member("other")...), 403, forbidden)
		if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?name=mine", nil, member("default")...), "l7policies"); len(got) != 1 {
			t.Fatalf("the owner's member sees %v", got)
		}
	})
}

// TestL7Locking checks Octavia's locking (§2.1) with a provider step slow enough
// to observe: a policy change puts the policy PENDING_*, its listener and the load
// balancer PENDING_UPDATE; a rule change also locks the policy; everything is
// ACTIVE again after the provider step.
func TestL7Locking(t *testing.T) {
	n := startNodeWith(t, "-provision-delay", "1500ms")
	lbID := newLoadBalancer(t, n, "locks")
	listenerID := newListener(t, n, lbID, "HTTP", 80)
	lbPath, listenerPath := "/v2/lbaas/loadbalancers/"+lbID, "/v2/lbaas/listeners/"+listenerID
	immutableLB := "Load Balancer " + lbID + " is immutable and cannot be updated."
	// locked checks the provisioning status of objects, by path.
	locked := func(what string, paths map[string]string) {
		t.Helper()
		for path, want := range paths {
			key := "l7policy"
			switch {
			case path == lbPath:
				key = "loadbalancer"
			case path == listenerPath:
				key = "listener"
			case strings.Contains(path, "/rules/"):
				key = "rule"
			}
			if got := provisioningStatus(t, n, path, key); got != want {
				t.Fatalf("%s: %s is %s, want %s", what, path, got, want)
			}
		}
	}

	r := n.MustDo(201, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, listenerID))
	policyID := object(t, r, "l7policy")["id"].(string)
	policyPath := "/v2/lbaas/l7policies/" + policyID
	locked("policy create", map[string]string{policyPath: "PENDING_CREATE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	systemtest.ExpectFault(t, n.MustDo(409, "POST", "/v2/lbaas/l7policies", fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, listenerID)), 409, immutableLB)
	systemtest.ExpectFault(t, n.MustDo(409, "PUT", policyPath, `{"l7policy":{"name":"x"}}`), 409, immutableLB)
	systemtest.ExpectFault(t, n.MustDo(409, "DELETE", policyPath, nil), 409, immutableLB)
	systemtest.ExpectFault(t, n.MustDo(409, "POST", policyPath+"/rules", `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}}`), 409,
		"L7Policy "+policyID+" is immutable and cannot be updated.")
	n.WaitActive(lbID, 10*time.Second)
	locked("provisioned", map[string]string{policyPath: "ACTIVE", listenerPath: "ACTIVE", lbPath: "ACTIVE"})

	n.MustDo(200, "PUT", policyPath, `{"l7policy":{"name":"renamed"}}`)
	locked("policy update", map[string]string{policyPath: "PENDING_UPDATE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	n.WaitActive(lbID, 10*time.Second)

	r = n.MustDo(201, "POST", policyPath+"/rules", `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}}`)
	ruleID := object(t, r, "rule")["id"].(string)
	rulePath := policyPath + "/rules/" + ruleID
	locked("rule create", map[string]string{rulePath: "PENDING_CREATE", policyPath: "PENDING_UPDATE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	systemtest.ExpectFault(t, n.MustDo(409, "PUT", rulePath, `{"rule":{"value":"/x"}}`), 409, "L7Policy "+policyID+" is immutable and cannot be updated.")
	n.WaitActive(lbID, 10*time.Second)
	locked("rule provisioned", map[string]string{rulePath: "ACTIVE", policyPath: "ACTIVE", listenerPath: "ACTIVE"})

	n.MustDo(200, "PUT", rulePath, `{"rule":{"value":"/x"}}`)
	locked("rule update", map[string]string{rulePath: "PENDING_UPDATE", policyPath: "PENDING_UPDATE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	n.WaitActive(lbID, 10*time.Second)

	n.MustDo(204, "DELETE", rulePath, nil)
	locked("rule delete", map[string]string{rulePath: "PENDING_DELETE", policyPath: "PENDING_UPDATE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	n.WaitActive(lbID, 10*time.Second)
	systemtest.ExpectFault(t, n.MustDo(404, "GET", rulePath, nil), 404, "L7 Rule "+ruleID+" not found.")

	n.MustDo(204, "DELETE", policyPath, nil)
	locked("policy delete", map[string]string{policyPath: "PENDING_DELETE", listenerPath: "PENDING_UPDATE", lbPath: "PENDING_UPDATE"})
	// A rule change on a policy being deleted is refused as immutable.
	systemtest.ExpectFault(t, n.MustDo(409, "POST", policyPath+"/rules", `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}}`), 409,
		"L7Policy "+policyID+" is immutable and cannot be updated.")
	n.WaitActive(lbID, 10*time.Second)
	systemtest.ExpectFault(t, n.MustDo(404, "GET", policyPath, nil), 404, "L7 Policy "+policyID+" not found.")
	locked("after delete", map[string]string{listenerPath: "ACTIVE", lbPath: "ACTIVE"})
}
