package http_test

import (
	"encoding/json"
	"fmt"
	"keel/cluster/systemtest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestL7RuleAPI(t *testing.T) {
	n := startNode(t)
	lbID := newLoadBalancer(t, n, "rules")
	// L7 policies serve TERMINATED_HTTPS listeners as well as HTTP ones.
	listenerID := object(t, n.MustDo(201, "POST", "/v2/lbaas/listeners", fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,
		"protocol":"TERMINATED_HTTPS","protocol_port":443,"default_tls_container_ref":"http://barbican/v1/containers/c"}}`, lbID)), "listener")["id"].(string)
	n.WaitActive(lbID, 10*time.Second)
	policy := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT"`, listenerID))
	policyID := policy["id"].(string)
	rules := "/v2/lbaas/l7policies/" + policyID + "/rules"

	newRule := func(body string) map[string]interface{} {
		t.Helper()
		r := object(t, n.MustDo(201, "POST", rules, `{"rule":{`+body+`}}`), "rule")
		n.WaitActive(lbID, 10*time.Second)
		return r
	}

	t.Run("every type", func(t *testing.T) {
		first := newRule(`"type":"PATH","compare_type":"STARTS_WITH","value":"/api","tags":["a"]`)
		want := []string{"id", "type", "compare_type", "key", "value", "invert", "provisioning_status", "operating_status",
			"created_at", "updated_at", "project_id", "admin_state_up", "tags", "tenant_id"}
		if len(first) != len(want) {
			t.Errorf("rule has %d attributes, want %d: %v", len(first), len(want), first)
		}
		for _, k := range want {
			if _, ok := first[k]; !ok {
				t.Errorf("rule lacks %s", k)
			}
		}
		if first["provisioning_status"] != "PENDING_CREATE" || first["operating_status"] != "OFFLINE" || first["key"] != nil ||
			first["invert"] != false || first["admin_state_up"] != true || first["project_id"] != "default" || first["tenant_id"] != "default" {
			t.Fatalf("created rule: %v", first)
		}
		for _, body := range []string{
			`"type":"HOST_NAME","compare_type":"ENDS_WITH","value":".example.com"`,
			`"type":"PATH","compare_type":"REGEX","value":"^/(?:api|v[0-9]+)/(?!internal)"`,
			`"type":"FILE_TYPE","compare_type":"EQUAL_TO","value":"jpg"`,
			`"type":"FILE_TYPE","compare_type":"REGEX","value":"jpe?g|png"`,
			`"type":"HEADER","compare_type":"CONTAINS","key":"User-Agent","value":"\"Mozilla Firefox\""`,
			`"type":"COOKIE","compare_type":"EQUAL_TO","key":"session","value":"abc=","invert":true`,
			`"type":"SSL_CONN_HAS_CERT","compare_type":"EQUAL_TO","value":"TRUE"`,
			`"type":"SSL_VERIFY_RESULT","compare_type":"EQUAL_TO","value":"0"`,
			`"type":"SSL_DN_FIELD","compare_type":"REGEX","key":"CN","value":"^www\\.","admin_state_up":false`,
		} {
			newRule(body)
		}
		list := objects(t, n.MustDo(200, "GET", rules, nil), "rules")
		if len(list) != 10 || list[0]["id"] != first["id"] || list[0]["provisioning_status"] != "ACTIVE" || list[0]["operating_status"] != "ONLINE" {
			t.Fatalf("rules: %v", list)
		}
		if last := list[9]; last["operating_status"] != "OFFLINE" || last["key"] != "CN" {
			t.Fatalf("a disabled rule is OFFLINE once provisioned: %v", last)
		}
		got := object(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+policyID, nil), "l7policy")
		if !slices.Equal(refIDs(got["rules"]), idsOf(list)) {
			t.Fatalf("the policy lists its rules: %v", got["rules"])
		}
		one := object(t, n.MustDo(200, "GET", "/v2.0/l7policies/"+policyID+"/rules/"+first["id"].(string)+".json", nil), "rule")
		if one["value"] != "/api" || one["provisioning_status"] != "ACTIVE" {
			t.Fatalf("show: %v", one)
		}
	})

	t.Run("filters, fields, pagination", func(t *testing.T) {
		for query, want := range map[string]int{
			"?type=FILE_TYPE":               2,
			"?invert=true":                  1,
			"?compare_type=REGEX&type=PATH": 1,
			"?admin_state_up=false":         1,
			"?key=CN":                       1,
			"?tags=a":                       1,
			"?l7policy_id=" + policyID:      10,
		} {
			if got := objects(t, n.MustDo(200, "GET", rules+query, nil), "rules"); len(got) != want {
				t.Errorf("%s: %d rules, want %d", query, len(got), want)
			}
		}
		r := n.MustDo(200, "GET", rules+"?limit=3&fields=id&fields=type&sort=type:asc", nil)
		page := objects(t, r, "rules")
		if len(page) != 3 || len(page[0]) != 2 || page[0]["type"] != "COOKIE" {
			t.Fatalf("page: %s", r.Body)
		}
		var links struct {
			Links []struct{ Href, Rel string } `json:"rules_links"`
		}
		json.Unmarshal(r.Body, &links)
		if len(links.Links) != 1 || links.Links[0].Rel != "next" || !strings.Contains(links.Links[0].Href, "/l7policies/"+policyID+"/rules?limit=3") {
			t.Fatalf("links: %s", r.Body)
		}
	})

	t.Run("validation", func(t *testing.T) {
		before := len(objects(t, n.MustDo(200, "GET", rules, nil), "rules"))
		cases := []struct{ body, msg string }{
			{`{"rule":{"compare_type":"EQUAL_TO","value":"x"}}`, "Invalid input for field/attribute type. Value: 'None'. Mandatory field missing."},
			{`{"rule":{"type":"PATH","value":"x"}}`, "Invalid input for field/attribute compare_type. Value: 'None'. Mandatory field missing."},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO"}}`, "Invalid input for field/attribute value. Value: 'None'. Mandatory field missing."},
			{`{"rule":{"type":"URL","compare_type":"EQUAL_TO","value":"x"}}`,
				"Invalid input for field/attribute type. Value: 'URL'. Value should be one of: HOST_NAME, PATH, FILE_TYPE, HEADER, COOKIE, SSL_CONN_HAS_CERT, SSL_VERIFY_RESULT, SSL_DN_FIELD"},
			{`{"rule":{"type":"PATH","compare_type":"LIKE","value":"x"}}`,
				"Invalid input for field/attribute compare_type. Value: 'LIKE'. Value should be one of: REGEX, STARTS_WITH, ENDS_WITH, CONTAINS, EQUAL_TO"},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"a\nb"}}`, "Invalid input for field/attribute value. Value: 'a\nb'. Value should match the pattern ^[^\\r\\n]*$"},
			{`{"rule":{"type":"HEADER","compare_type":"EQUAL_TO","key":"X\rY","value":"b"}}`, "Invalid input for field/attribute key. Value: 'X\rY'. Value should match the pattern ^[^\\r\\n]*$"},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"` + strings.Repeat("v", 256) + `"}}`,
				"Invalid input for field/attribute value. Value: '" + strings.Repeat("v", 256) + "'. Value should have a maximum character requirement of 255"},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"x","invert":"perhaps"}}`, "Invalid input for field/attribute invert. Value: 'perhaps'. Value should be boolean"},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"x","color":"red"}}`, "Unknown attribute for argument rule_.rule: color"},
			{`{"l7rule":{}}`, "Unknown attribute for argument rule_: l7rule"},
			{`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":""}}`, "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a value"},
			{`{"rule":{"type":"HEADER","compare_type":"EQUAL_TO","value":"x"}}`, "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key"},
			{`{"rule":{"type":"COOKIE","compare_type":"EQUAL_TO","key":"a b","value":"x"}}`, "Error parsing L7Rule: Invalid characters in key"},
			{`{"rule":{"type":"HEADER","compare_type":"EQUAL_TO","key":"X-A","value":"two words"}}`, "Error parsing L7Rule: Invalid characters in header value"},
			{`{"rule":{"type":"COOKIE","compare_type":"EQUAL_TO","key":"s","value":"a;b"}}`, "Error parsing L7Rule: Invalid characters in cookie value"},
			{`{"rule":{"type":"PATH","compare_type":"CONTAINS","value":"a b"}}`, "Error parsing L7Rule: Invalid characters in comparison value"},
			{`{"rule":{"type":"FILE_TYPE","compare_type":"CONTAINS","value":"jpg"}}`, "Error parsing L7Rule: Invalid L7 Rule: invalid comparison type for rule type"},
			{`{"rule":{"type":"PATH","compare_type":"REGEX","value":"/api/(v1"}}`, "Error parsing L7Rule: Unable to parse regular expression: missing ), unterminated subpattern at position 5"},
			{`{"rule":{"type":"HOST_NAME","compare_type":"REGEX","value":"*.example.com"}}`, "Error parsing L7Rule: Unable to parse regular expression: nothing to repeat at position 0"},
			{`{"rule":{"type":"PATH","compare_type":"REGEX","value":"(?<=a+)b"}}`, "Error parsing L7Rule: Unable to parse regular expression: look-behind requires fixed-width pattern"},
			{`{"rule":{"type":"SSL_CONN_HAS_CERT","compare_type":"EQUAL_TO","key":"k","value":"true"}}`, `Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT does not use the "key" field.`},
			{`{"rule":{"type":"SSL_CONN_HAS_CERT","compare_type":"EQUAL_TO","value":"yes"}}`, "Error parsing L7Rule: Invalid L7 Rule: L7rule value yes is not a boolean True string."},
			{`{"rule":{"type":"SSL_CONN_HAS_CERT","compare_type":"STARTS_WITH","value":"true"}}`, "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_CONN_HAS_CERT only supports the EQUAL_TO compare type."},
			{`{"rule":{"type":"SSL_VERIFY_RESULT","compare_type":"EQUAL_TO","value":"-1"}}`, "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT needs a int value, which is >= 0"},
			{`{"rule":{"type":"SSL_VERIFY_RESULT","compare_type":"EQUAL_TO","key":"k","value":"1"}}`, `Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_VERIFY_RESULT does not use the "key" field.`},
			{`{"rule":{"type":"SSL_DN_FIELD","compare_type":"EQUAL_TO","value":"x"}}`, "Error parsing L7Rule: Invalid L7 Rule: L7rule type SSL_DN_FIELD needs to specify a key and a value."},
			{`{"rule":{"type":"SSL_DN_FIELD","compare_type":"EQUAL_TO","key":"C_N","value":"x"}}`, "Error parsing L7Rule: Invalid L7 Rule: Invalid L7rule distinguished name field."},
		}
		for _, c := range cases {
			systemtest.ExpectFault(t, n.MustDo(400, "POST", rules, c.body), 400, c.msg)
		}
		if after := len(objects(t, n.MustDo(200, "GET", rules, nil), "rules")); after != before {
			t.Fatalf("%d rules after refusals, want %d", after, before)
		}
	})

	t.Run("updates are checked as the rule they leave", func(t *testing.T) {
		r := newRule(`"type":"PATH","compare_type":"EQUAL_TO","value":"/x"`)
		path := rules + "/" + r["id"].(string)
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path, `{"rule":{"type":"HEADER"}}`), 400, "Error parsing L7Rule: Invalid L7 Rule: L7 rule type requires a key")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path, `{"rule":{"compare_type":"REGEX","value":"["}}`), 400,
			"Error parsing L7Rule: Unable to parse regular expression: unterminated character set at position 0")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path, `{"rule":{"project_id":"x"}}`), 400, "Unknown attribute for argument l7rule_.rule: project_id")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path, ""), 400, `Missing argument: "l7rule_"`)
		up := object(t, n.MustDo(200, "PUT", path, `{"rule":{"type":"HEADER","key":"X-Env","invert":true,"tags":["u"]}}`), "rule")
		if up["type"] != "HEADER" || up["key"] != "X-Env" || up["value"] != "/x" || up["invert"] != true ||
			up["provisioning_status"] != "PENDING_UPDATE" || !slices.Equal(up["tags"].([]interface{}), []interface{}{"u"}) {
			t.Fatalf("update: %v", up)
		}
		n.WaitActive(lbID, 10*time.Second)
		// A null invert is false, as in Octavia; a null key is no key.
		up = object(t, n.MustDo(200, "PUT", path, `{"rule":{"type":"PATH","key":null,"invert":null}}`), "rule")
		if up["key"] != nil || up["invert"] != false || up["type"] != "PATH" {
			t.Fatalf("nulls: %v", up)
		}
		n.WaitActive(lbID, 10*time.Second)
		n.MustDo(204, "DELETE", path, nil)
		n.WaitActive(lbID, 10*time.Second)
		systemtest.ExpectFault(t, n.MustDo(404, "GET", path, nil), 404, "L7 Rule "+r["id"].(string)+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", path, `{"rule":{"value":"y"}}`), 404, "L7 Rule "+r["id"].(string)+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", path, nil), 404, "L7 Rule "+r["id"].(string)+" not found.")
	})

	t.Run("parents", func(t *testing.T) {
		missing := "5d0a9d77-7dc1-4a34-9d64-0b5d2cb0c2f2"
		// A missing policy in the path is pecan's 404, whatever follows it.
		r := n.MustDo(404, "GET", "/v2/lbaas/l7policies/"+missing+"/rules", nil, "Accept: application/json")
		var pecan struct {
			Code        int    `json:"code"`
			Title       string `json:"title"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(r.Body, &pecan); err != nil || pecan.Code != 404 || pecan.Title != "Bad Request" ||
			pecan.Description != "L7Policy "+missing+" not found." {
			t.Fatalf("pecan JSON body: %s", r.Body)
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/rules", ""}, {"POST", "/rules", `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}}`},
			{"GET", "/rules/" + missing, ""}, {"PUT", "/rules/" + missing, `{"rule":{}}`}, {"DELETE", "/rules/" + missing, ""},
		} {
			var body interface{}
			if c.body != "" {
				body = c.body
			}
			r := n.MustDo(404, c.method, "/v2/lbaas/l7policies/"+missing+c.path, body)
			want := "404 Bad Request\n\nThe server could not comply with the request since it is either malformed or otherwise incorrect.\n\n L7Policy " + missing + " not found.  "
			if string(r.Body) != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("%s %s: pecan text body %q (%s)", c.method, c.path, r.Body, r.Header.Get("Content-Type"))
			}
		}
		// A rule is found only under its own policy.
		other := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","rules":[{"type":"PATH","compare_type":"EQUAL_TO","value":"/o"}]`, listenerID))
		otherRule := refIDs(other["rules"])[0]
		systemtest.ExpectFault(t, n.MustDo(404, "GET", rules+"/"+otherRule, nil), 404, "L7 Rule "+otherRule+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", rules+"/"+otherRule, nil), 404, "L7 Rule "+otherRule+" not found.")
		if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+other["id"].(string)+"/rules", nil), "rules"); len(got) != 1 {
			t.Fatalf("the other policy's rules: %v", got)
		}
		// Another project's member may not see or change rules.
		member := []string{"X-Project-Id: other", "X-Roles: member"}
		forbidden := "Policy does not allow this request to be performed."
		systemtest.ExpectFault(t, n.MustDo(403, "GET", rules, nil, member...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "GET", rules+"/"+refIDs(object(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+policyID, nil), "l7policy")["rules"])[0], nil, member...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", rules, `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/"}}`, member...), 403, forbidden)
		// Deleting a policy deletes its rules.
		n.MustDo(204, "DELETE", "/v2/lbaas/l7policies/"+other["id"].(string), nil)
		n.WaitActive(lbID, 10*time.Second)
		if got := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies/"+policyID+"/rules?id="+otherRule, nil), "rules"); len(got) != 0 {
			t.Fatalf("rule of a deleted policy: %v", got)
		}
	})

	t.Run("at most 50 rules", func(t *testing.T) {
		var fifty []string
		for i := 0; i < 50; i++ {
			fifty = append(fifty, fmt.Sprintf(`{"type":"PATH","compare_type":"EQUAL_TO","value":"/%d"}`, i))
		}
		full := newPolicy(t, n, lbID, fmt.Sprintf(`"listener_id":%q,"action":"REJECT","rules":[%s]`, listenerID, strings.Join(fifty, ",")))
		if len(refIDs(full["rules"])) != 50 {
			t.Fatalf("50 nested rules: %v", full["rules"])
		}
		systemtest.ExpectFault(t, n.MustDo(409, "POST", "/v2/lbaas/l7policies/"+full["id"].(string)+"/rules", `{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/51"}}`), 409,
			"Too many rules on L7 policy "+full["id"].(string))
	})
}
