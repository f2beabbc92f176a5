package keystonetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// verdict is what Octavia's default policy (Zed, enforce_scope and
// enforce_new_defaults off) lets a persona do, by the base rule an API rule
// refers to: for an object of the persona's own project, then of another's.
type verdict map[string]string

var (
	all      = verdict{"read": "YY", "read-global": "YY", "write": "YY", "admin": "YY", "read-quota": "YY", "read-quota-global": "YY", "write-quota": "YY"}
	nothing  = verdict{"read": "NN", "read-global": "NN", "write": "NN", "admin": "NN", "read-quota": "NN", "read-quota-global": "NN", "write-quota": "NN"}
	owner    = verdict{"read": "YN", "read-global": "NN", "write": "YN", "admin": "NN", "read-quota": "YN", "read-quota-global": "NN", "write-quota": "NN"}
	observer = verdict{"read": "YN", "read-global": "NN", "write": "NN", "admin": "NN", "read-quota": "YN", "read-quota-global": "NN", "write-quota": "NN"}
	global   = verdict{"read": "YY", "read-global": "YY", "write": "NN", "admin": "NN", "read-quota": "YY", "read-quota-global": "YY", "write-quota": "NN"}
	quotas   = verdict{"read": "NN", "read-global": "NN", "write": "NN", "admin": "NN", "read-quota": "YY", "read-quota-global": "YY", "write-quota": "YY"}
)

// expected is each persona's verdicts. A Keystone member or reader alone may
// do nothing: Octavia's API needs its load-balancer_* roles; a project's admin
// is an administrator (the deprecated context_is_admin rule, on in Zed).
var expected = map[string]verdict{
	"admin": all, "member": nothing, "reader": nothing, "lb-member": owner, "observer": observer,
	"global-observer": global, "quota-admin": quotas, "lb-admin": all, "system-admin": all, "system-reader": global,
}

// objects are project A's, made for the matrix.
type objects struct {
	lb, listener, pool, member, monitor, policy, rule string
	flavor, flavorProfile, zone, zoneProfile          string
	amphora                                           string
}

// apiCase is one of Octavia's API rules and a request it governs: allowed, the
// request is not refused with 403 (it may be refused later: the tree is held
// PENDING_CREATE, so every write on it is a 409 after authorization); refused,
// it is a 403 with Octavia's message.
type apiCase struct {
	rule, base   string
	method, path string
	body         func(o *objects, persona string) string
	// catalog: the object belongs to no project; the policy is checked against
	// the caller's own (so "other" does not apply).
	catalog bool
	// amphora: asked of the node whose load balancer is ACTIVE (an amphora
	// exists once the provider step ran).
	amphora bool
}

func cases(o *objects) []apiCase {
	lbs, ls, ps := "/v2/lbaas/loadbalancers", "/v2/lbaas/listeners", "/v2/lbaas/pools"
	hms, l7s := "/v2/lbaas/healthmonitors", "/v2/lbaas/l7policies"
	members, rules := ps+"/"+o.pool+"/members", l7s+"/"+o.policy+"/rules"
	amps := "/v2/octavia/amphorae"
	fixed := func(s string) func(*objects, string) string { return func(*objects, string) string { return s } }
	c := []apiCase{
		{rule: "loadbalancer:get_one", base: "read", method: "GET", path: lbs + "/" + o.lb},
		{rule: "loadbalancer:post", base: "write", method: "POST", path: lbs, body: func(o *objects, _ string) string {
			return fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"project_id":"%s"}}`, systemtest.Subnet, "{A}")
		}},
		{rule: "loadbalancer:put", base: "write", method: "PUT", path: lbs + "/" + o.lb, body: fixed(`{"loadbalancer":{"name":"x"}}`)},
		{rule: "loadbalancer:delete", base: "write", method: "DELETE", path: lbs + "/" + o.lb},
		{rule: "loadbalancer:get_stats", base: "read", method: "GET", path: lbs + "/" + o.lb + "/stats"},
		{rule: "loadbalancer:get_status", base: "read", method: "GET", path: lbs + "/" + o.lb + "/status"},
		{rule: "loadbalancer:put_failover", base: "admin", method: "PUT", path: lbs + "/" + o.lb + "/failover"},
		{rule: "listener:get_one", base: "read", method: "GET", path: ls + "/" + o.listener},
		{rule: "listener:post", base: "write", method: "POST", path: ls,
			body: fixed(fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"TCP","protocol_port":81}}`, o.lb))},
		{rule: "listener:put", base: "write", method: "PUT", path: ls + "/" + o.listener, body: fixed(`{"listener":{"name":"x"}}`)},
		{rule: "listener:delete", base: "write", method: "DELETE", path: ls + "/" + o.listener},
		{rule: "listener:get_stats", base: "read", method: "GET", path: ls + "/" + o.listener + "/stats"},
		{rule: "pool:get_one", base: "read", method: "GET", path: ps + "/" + o.pool},
		{rule: "pool:post", base: "write", method: "POST", path: ps,
			body: fixed(fmt.Sprintf(`{"pool":{"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}}`, o.lb))},
		{rule: "pool:put", base: "write", method: "PUT", path: ps + "/" + o.pool, body: fixed(`{"pool":{"name":"x"}}`)},
		{rule: "pool:delete", base: "write", method: "DELETE", path: ps + "/" + o.pool},
		{rule: "member:get_all", base: "read", method: "GET", path: members},
		{rule: "member:get_one", base: "read", method: "GET", path: members + "/" + o.member},
		{rule: "member:post", base: "write", method: "POST", path: members, body: fixed(`{"member":{"address":"10.0.0.9","protocol_port":80}}`)},
		{rule: "member:put", base: "write", method: "PUT", path: members + "/" + o.member, body: fixed(`{"member":{"name":"x"}}`)},
		{rule: "member:put (batch)", base: "write", method: "PUT", path: members, body: fixed(`{"members":[]}`)},
		{rule: "member:delete", base: "write", method: "DELETE", path: members + "/" + o.member},
		{rule: "healthmonitor:get_one", base: "read", method: "GET", path: hms + "/" + o.monitor},
		{rule: "healthmonitor:post", base: "write", method: "POST", path: hms,
			body: fixed(fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"TCP","delay":5,"timeout":3,"max_retries":3}}`, o.pool))},
		{rule: "healthmonitor:put", base: "write", method: "PUT", path: hms + "/" + o.monitor, body: fixed(`{"healthmonitor":{"name":"x"}}`)},
		{rule: "healthmonitor:delete", base: "write", method: "DELETE", path: hms + "/" + o.monitor},
		{rule: "l7policy:get_one", base: "read", method: "GET", path: l7s + "/" + o.policy},
		{rule: "l7policy:post", base: "write", method: "POST", path: l7s,
			body: fixed(fmt.Sprintf(`{"l7policy":{"listener_id":%q,"action":"REJECT"}}`, o.listener))},
		{rule: "l7policy:put", base: "write", method: "PUT", path: l7s + "/" + o.policy, body: fixed(`{"l7policy":{"name":"x"}}`)},
		{rule: "l7policy:delete", base: "write", method: "DELETE", path: l7s + "/" + o.policy},
		{rule: "l7rule:get_all", base: "read", method: "GET", path: rules},
		{rule: "l7rule:get_one", base: "read", method: "GET", path: rules + "/" + o.rule},
		{rule: "l7rule:post", base: "write", method: "POST", path: rules, body: fixed(`{"rule":{"type":"PATH","compare_type":"EQUAL_TO","value":"/y"}}`)},
		{rule: "l7rule:put", base: "write", method: "PUT", path: rules + "/" + o.rule, body: fixed(`{"rule":{"value":"/z"}}`)},
		{rule: "l7rule:delete", base: "write", method: "DELETE", path: rules + "/" + o.rule},
		{rule: "quota:get_one", base: "read-quota", method: "GET", path: "/v2/lbaas/quotas/{A}"},
		{rule: "quota:get_defaults", base: "read-quota", method: "GET", path: "/v2/lbaas/quotas/{A}/default"},
		{rule: "quota:put", base: "write-quota", method: "PUT", path: "/v2/lbaas/quotas/{A}", body: fixed(`{"quota":{"pool":100}}`)},
		{rule: "quota:delete", base: "write-quota", method: "DELETE", path: "/v2/lbaas/quotas/{A}"},
		// The catalog belongs to no project.
		{rule: "provider:get_all", base: "read", method: "GET", path: "/v2/lbaas/providers", catalog: true},
		{rule: "provider-flavor:get_all", base: "admin", method: "GET", path: "/v2/lbaas/providers/amphora/flavor_capabilities", catalog: true},
		{rule: "provider-availability-zone:get_all", base: "admin", method: "GET", path: "/v2/lbaas/providers/amphora/availability_zone_capabilities", catalog: true},
		{rule: "flavor:get_all", base: "read", method: "GET", path: "/v2/lbaas/flavors", catalog: true},
		{rule: "flavor:get_one", base: "read", method: "GET", path: "/v2/lbaas/flavors/" + o.flavor, catalog: true},
		{rule: "flavor:post", base: "admin", method: "POST", path: "/v2/lbaas/flavors", catalog: true, body: func(o *objects, who string) string {
			return fmt.Sprintf(`{"flavor":{"name":"f-%s-%d","flavor_profile_id":%q}}`, who, time.Now().UnixNano(), o.flavorProfile)
		}},
		{rule: "flavor:put", base: "admin", method: "PUT", path: "/v2/lbaas/flavors/" + o.flavor, catalog: true, body: fixed(`{"flavor":{"description":"d"}}`)},
		{rule: "flavor:delete", base: "admin", method: "DELETE", path: "/v2/lbaas/flavors/4a1e0ba5-8b56-4f0b-9bbd-6a5ea3c1d2e7", catalog: true},
		{rule: "flavor-profile:get_all", base: "admin", method: "GET", path: "/v2/lbaas/flavorprofiles", catalog: true},
		{rule: "flavor-profile:get_one", base: "admin", method: "GET", path: "/v2/lbaas/flavorprofiles/" + o.flavorProfile, catalog: true},
		{rule: "flavor-profile:post", base: "admin", method: "POST", path: "/v2/lbaas/flavorprofiles", catalog: true,
			body: fixed(`{"flavorprofile":{"name":"fp","provider_name":"amphora","flavor_data":"{}"}}`)},
		{rule: "flavor-profile:put", base: "admin", method: "PUT", path: "/v2/lbaas/flavorprofiles/" + o.flavorProfile, catalog: true,
			body: fixed(`{"flavorprofile":{"name":"fp2"}}`)},
		{rule: "flavor-profile:delete", base: "admin", method: "DELETE", path: "/v2/lbaas/flavorprofiles/4a1e0ba5-8b56-4f0b-9bbd-6a5ea3c1d2e7", catalog: true},
		{rule: "availability-zone:get_all", base: "read", method: "GET", path: "/v2/lbaas/availabilityzones", catalog: true},
		{rule: "availability-zone:get_one", base: "read", method: "GET", path: "/v2/lbaas/availabilityzones/" + o.zone, catalog: true},
		{rule: "availability-zone:post", base: "admin", method: "POST", path: "/v2/lbaas/availabilityzones", catalog: true, body: func(o *objects, who string) string {
			return fmt.Sprintf(`{"availability_zone":{"name":"z-%s-%d","availability_zone_profile_id":%q}}`, who, time.Now().UnixNano(), o.zoneProfile)
		}},
		{rule: "availability-zone:put", base: "admin", method: "PUT", path: "/v2/lbaas/availabilityzones/" + o.zone, catalog: true,
			body: fixed(`{"availability_zone":{"description":"d"}}`)},
		{rule: "availability-zone:delete", base: "admin", method: "DELETE", path: "/v2/lbaas/availabilityzones/no-such-zone", catalog: true},
		{rule: "availability-zone-profile:get_all", base: "admin", method: "GET", path: "/v2/lbaas/availabilityzoneprofiles", catalog: true},
		{rule: "availability-zone-profile:get_one", base: "admin", method: "GET", path: "/v2/lbaas/availabilityzoneprofiles/" + o.zoneProfile, catalog: true},
		{rule: "availability-zone-profile:post", base: "admin", method: "POST", path: "/v2/lbaas/availabilityzoneprofiles", catalog: true,
			body: fixed(`{"availability_zone_profile":{"name":"zp","provider_name":"amphora","availability_zone_data":"{}"}}`)},
		{rule: "availability-zone-profile:put", base: "admin", method: "PUT", path: "/v2/lbaas/availabilityzoneprofiles/" + o.zoneProfile, catalog: true,
			body: fixed(`{"availability_zone_profile":{"name":"zp2"}}`)},
		{rule: "availability-zone-profile:delete", base: "admin", method: "DELETE", path: "/v2/lbaas/availabilityzoneprofiles/4a1e0ba5-8b56-4f0b-9bbd-6a5ea3c1d2e7", catalog: true},
		// Amphorae: administrators only, checked against the caller's project.
		{rule: "amphora:get_all", base: "admin", amphora: true, method: "GET", path: amps, catalog: true},
		{rule: "amphora:get_one", base: "admin", amphora: true, method: "GET", path: amps + "/" + o.amphora, catalog: true},
		{rule: "amphora:get_stats", base: "admin", amphora: true, method: "GET", path: amps + "/" + o.amphora + "/stats", catalog: true},
		{rule: "amphora:put_config", base: "admin", amphora: true, method: "PUT", path: amps + "/" + o.amphora + "/config", catalog: true},
		{rule: "amphora:put_failover", base: "admin", amphora: true, method: "PUT", path: amps + "/" + o.amphora + "/failover", catalog: true},
		{rule: "amphora:delete", base: "admin", amphora: true, method: "DELETE", path: amps + "/" + o.amphora, catalog: true},
		// keel's operator endpoints: an administrator's.
		{rule: "keel:operator /cluster", base: "admin", method: "GET", path: "/cluster", catalog: true},
		{rule: "keel:operator /debug/memory", base: "admin", method: "GET", path: "/debug/memory", catalog: true},
		{rule: "keel:operator /debug/heartbeats", base: "admin", method: "GET", path: "/debug/heartbeats", catalog: true},
		{rule: "keel:operator /debug/pprof/goroutine", base: "admin", method: "GET", path: "/debug/pprof/goroutine?debug=1", catalog: true},
		{rule: "keel:operator /debug/pprof/cmdline", base: "admin", method: "GET", path: "/debug/pprof/cmdline", catalog: true},
	}
	return c
}

// listCase is a get_all rule with its get_all-global: the list of project A's
// objects as each persona gets it.
type listCase struct{ rule, path, root, id string }

func listCases(o *objects) []listCase {
	return []listCase{
		{"loadbalancer", "/v2/lbaas/loadbalancers", "loadbalancers", o.lb},
		{"listener", "/v2/lbaas/listeners", "listeners", o.listener},
		{"pool", "/v2/lbaas/pools", "pools", o.pool},
		{"healthmonitor", "/v2/lbaas/healthmonitors", "healthmonitors", o.monitor},
		{"l7policy", "/v2/lbaas/l7policies", "l7policies", o.policy},
		{"quota", "/v2/lbaas/quotas", "quotas", "{A}"},
	}
}

// caller is one persona's token in one project ("" for a system-scoped one).
type caller struct {
	persona, project, token string
}

// TestKeystonePolicyMatrix checks every rule of Octavia's default policy with a
// real Keystone token of each persona, in the objects' project and in another,
// through the API: the verdict is Octavia's, and so is a refusal's body.
func TestKeystonePolicyMatrix(t *testing.T) {
	w := keystone(t)
	// Writes stay PENDING_CREATE: a write the policy allows is then a 409 on the
	// tree, after authorization, and changes nothing.
	n := w.keeld(t, "-provision-delay", "1h")
	var callers []caller
	for _, p := range []string{projectA, projectB} {
		for _, who := range personas {
			callers = append(callers, caller{who.name, p, w.token(t, who.name, p)})
		}
	}
	sysAdmin, err := w.ks.AdminToken()
	if err != nil {
		t.Fatal(err)
	}
	sysReader, err := w.ks.Token(w.systemReader, password, systemtest.Scope{System: true})
	if err != nil {
		t.Fatal(err)
	}
	callers = append(callers, caller{"system-admin", "", sysAdmin}, caller{"system-reader", "", sysReader})
	as := func(token string) string { return "X-Auth-Token: " + token }
	lbMember := w.token(t, "lb-member", projectA)
	admin := sysAdmin

	// Project A's tree, in one call, by its load-balancer member.
	r := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"name":"a","vip_subnet_id":%q,
		"listeners":[{"name":"l","protocol":"HTTP","protocol_port":80,
			"default_pool":{"name":"p","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
				"members":[{"address":"10.0.0.1","protocol_port":80}],
				"healthmonitor":{"type":"HTTP","delay":5,"timeout":3,"max_retries":3}},
			"l7policies":[{"action":"REJECT","rules":[{"type":"PATH","compare_type":"EQUAL_TO","value":"/x"}]}]}]}}`,
		systemtest.Subnet), as(lbMember))
	var created struct {
		LB struct {
			ID        string `json:"id"`
			ProjectID string `json:"project_id"`
		} `json:"loadbalancer"`
	}
	if err := json.Unmarshal(r.Body, &created); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	if created.LB.ProjectID != w.projectAID {
		t.Fatalf("the load balancer's project is %q, want the token's %q", created.LB.ProjectID, w.projectAID)
	}
	// The ids of the tree, as the administrator lists them.
	first := func(path, root string) string {
		t.Helper()
		var list map[string][]struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(n.MustDo(200, "GET", path, nil, as(admin)).Body, &list)
		if len(list[root]) != 1 {
			t.Fatalf("%s: %s", path, list)
		}
		return list[root][0].ID
	}
	o := &objects{lb: created.LB.ID}
	o.listener = first("/v2/lbaas/listeners?loadbalancer_id="+o.lb, "listeners")
	o.pool = first("/v2/lbaas/pools?loadbalancer_id="+o.lb, "pools")
	o.member = first("/v2/lbaas/pools/"+o.pool+"/members", "members")
	o.monitor = first("/v2/lbaas/healthmonitors?pool_id="+o.pool, "healthmonitors")
	o.policy = first("/v2/lbaas/l7policies?listener_id="+o.listener, "l7policies")
	o.rule = first("/v2/lbaas/l7policies/"+o.policy+"/rules", "rules")
	// The catalog, by the administrator; a quota row for project A.
	id := func(r *systemtest.Response, root string) string {
		return r.JSON()[root].(map[string]any)["id"].(string)
	}
	o.flavorProfile = id(n.MustDo(201, "POST", "/v2/lbaas/flavorprofiles", `{"flavorprofile":{"name":"fp","provider_name":"amphora","flavor_data":"{}"}}`, as(admin)), "flavorprofile")
	o.flavor = id(n.MustDo(201, "POST", "/v2/lbaas/flavors", fmt.Sprintf(`{"flavor":{"name":"gold","flavor_profile_id":%q}}`, o.flavorProfile), as(admin)), "flavor")
	o.zoneProfile = id(n.MustDo(201, "POST", "/v2/lbaas/availabilityzoneprofiles", `{"availability_zone_profile":{"name":"zp","provider_name":"amphora","availability_zone_data":"{}"}}`, as(admin)), "availability_zone_profile")
	o.zone = "zone-a"
	n.MustDo(201, "POST", "/v2/lbaas/availabilityzones", fmt.Sprintf(`{"availability_zone":{"name":"zone-a","availability_zone_profile_id":%q}}`, o.zoneProfile), as(admin))
	n.MustDo(202, "PUT", "/v2/lbaas/quotas/"+w.projectAID, `{"quota":{"member":50}}`, as(admin))
	// Amphorae exist once the provider step ran: another node, whose load
	// balancer becomes ACTIVE (an allowed write there changes what it changes;
	// the amphora API is an administrator's).
	ampNode := w.keeld(t)
	ampLB := ampNode.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, systemtest.Subnet),
		as(lbMember)).JSON()["loadbalancer"].(map[string]any)["id"].(string)
	waitActive(t, ampNode, ampLB, admin)
	var amps struct {
		Amphorae []struct{ ID string } `json:"amphorae"`
	}
	_ = json.Unmarshal(ampNode.MustDo(200, "GET", "/v2/octavia/amphorae?loadbalancer_id="+ampLB, nil, as(admin)).Body, &amps)
	if len(amps.Amphorae) == 0 {
		t.Fatalf("no amphora for %s", ampLB)
	}
	o.amphora = amps.Amphorae[0].ID

	checked := 0
	for _, c := range cases(o) {
		for _, who := range callers {
			v := expected[who.persona][c.base]
			if v == "" {
				t.Fatalf("no verdict for %s %s", who.persona, c.base)
			}
			want := v[0] == 'Y'
			if !c.catalog && who.project == projectB {
				want = v[1] == 'Y'
			}
			body := ""
			if c.body != nil {
				body = strings.ReplaceAll(c.body(o, who.persona+"-"+who.project), "{A}", w.projectAID)
			}
			path := strings.ReplaceAll(c.path, "{A}", w.projectAID)
			var b any
			if body != "" {
				b = body
			}
			node := n
			if c.amphora {
				node = ampNode
			}
			r, err := node.Do(c.method, path, b, as(who.token))
			if err != nil {
				t.Fatal(err)
			}
			checked++
			switch {
			case r.Status == 401 || r.Status >= 500:
				t.Errorf("%s: %s of %s: %d %s", c.rule, who.persona, who.project, r.Status, r.Body)
			case want && r.Status == 403:
				t.Errorf("%s: %s of %q refused, Octavia allows: %s", c.rule, who.persona, who.project, r.Body)
			case !want && r.Status != 403:
				t.Errorf("%s: %s of %q got %d, Octavia refuses (403): %s", c.rule, who.persona, who.project, r.Status, r.Body)
			case !want:
				systemtest.ExpectFault(t, r, 403, "Policy does not allow this request to be performed.")
			}
		}
	}
	// get_all and get_all-global: a list shows project A's object to a global
	// reader and to A's readers, is empty for B's, and is refused to a caller who
	// may read nothing of its own project.
	for _, lc := range listCases(o) {
		base, global := "read", "read-global"
		if lc.rule == "quota" {
			base, global = "read-quota", "read-quota-global"
		}
		objectID := strings.ReplaceAll(lc.id, "{A}", w.projectAID)
		for _, who := range callers {
			v := expected[who.persona]
			ownRead := v[base][0] == 'Y'
			sees := v[global][0] == 'Y' || who.project == projectA && ownRead
			r, err := n.Do("GET", lc.path, nil, as(who.token))
			if err != nil {
				t.Fatal(err)
			}
			checked++
			if !ownRead && !sees {
				if r.Status != 403 {
					t.Errorf("%s:get_all: %s of %q got %d, want 403", lc.rule, who.persona, who.project, r.Status)
				}
				continue
			}
			if r.Status != 200 {
				t.Errorf("%s:get_all: %s of %q got %d: %s", lc.rule, who.persona, who.project, r.Status, r.Body)
				continue
			}
			var list map[string]json.RawMessage
			_ = json.Unmarshal(r.Body, &list)
			key := `"id":"` + objectID + `"`
			if lc.rule == "quota" {
				key = `"project_id":"` + objectID + `"`
			}
			if got := strings.Contains(string(list[lc.root]), key); got != sees {
				t.Errorf("%s:get_all(-global): %s of %q sees project A's: %v, want %v", lc.rule, who.persona, who.project, got, sees)
			}
			// Naming project A: allowed for A's readers and global readers.
			r, _ = n.Do("GET", lc.path+"?project_id="+w.projectAID, nil, as(who.token))
			checked++
			if want := sees; (r.Status == 200) != want {
				t.Errorf("%s:get_all?project_id=A: %s of %q got %d (want allowed=%v)", lc.rule, who.persona, who.project, r.Status, want)
			}
		}
	}
	t.Logf("%d requests checked against Octavia's policy", checked)
}
