package http_test

import (
	"fmt"
	"keel/cluster/systemtest"
	"testing"
	"time"
)

// TestFullyPopulatedCreate covers what gophercloud cannot send: pools referenced
// by name from a listener and from an L7 policy's redirect_pool, and the
// single-call create's own validation errors, each refused before anything is
// written.
func TestFullyPopulatedCreate(t *testing.T) {
	n := startNode(t)
	vip := `"vip_subnet_id":"` + subnet + `"`
	body := `{"loadbalancer":{"name":"graph",` + vip + `,
	  "listeners":[{"name":"http","protocol":"HTTP","protocol_port":80,
	    "default_pool":{"name":"web"},
	    "l7policies":[
	      {"action":"REJECT","position":2,"rules":[{"type":"PATH","compare_type":"STARTS_WITH","value":"/admin"}]},
	      {"action":"REDIRECT_TO_POOL","position":1,
	       "redirect_pool":{"name":"api","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","members":[{"address":"192.0.2.20","protocol_port":8080}]},
	       "rules":[{"type":"PATH","compare_type":"STARTS_WITH","value":"/api"}]}]},
	   {"name":"other","protocol":"HTTP","protocol_port":81,"default_pool":{"name":"api"}}],
	  "pools":[{"name":"web","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN",
	    "members":[{"address":"192.0.2.10","protocol_port":80}],
	    "healthmonitor":{"type":"HTTP","delay":5,"timeout":3,"max_retries":2}}]}}`
	lb := object(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body), "loadbalancer")
	pools := map[string]string{}
	for _, p := range lb["pools"].([]interface{}) {
		p := p.(map[string]interface{})
		pools[p["name"].(string)] = p["id"].(string)
		if _, ok := p["healthmonitor_id"]; ok {
			t.Fatalf("a fully populated pool shows its monitor expanded, not its id: %v", p)
		}
	}
	if len(pools) != 2 {
		t.Fatalf("pools: %v", lb["pools"])
	}
	ls := lb["listeners"].([]interface{})
	if len(ls) != 2 {
		t.Fatalf("listeners: %v", ls)
	}
	for _, l := range ls {
		l := l.(map[string]interface{})
		want := map[string]string{"http": pools["web"], "other": pools["api"]}[l["name"].(string)]
		if l["default_pool_id"] != want {
			t.Fatalf("listener %v: default pool %v, want %s", l["name"], l["default_pool_id"], want)
		}
	}
	n.WaitActive(lb["id"].(string), 10*time.Second)

	// The policies were numbered by the positions asked for.
	http := ls[0].(map[string]interface{})["id"].(string)
	pols := objects(t, n.MustDo(200, "GET", "/v2/lbaas/l7policies?listener_id="+http+"&sort=position:asc", nil), "l7policies")
	if len(pols) != 2 || pols[0]["action"] != "REDIRECT_TO_POOL" || pols[0]["redirect_pool_id"] != pools["api"] ||
		pols[1]["action"] != "REJECT" || pols[1]["redirect_pool_id"] != nil || pols[1]["position"] != 2.0 {
		t.Fatalf("policies: %v", pols)
	}
	if rules := objects(t, n.MustDo(200, "GET", fmt.Sprintf("/v2/lbaas/l7policies/%s/rules", pols[0]["id"]), nil), "rules"); len(rules) != 1 || rules[0]["value"] != "/api" {
		t.Fatalf("rules: %v", rules)
	}

	for _, c := range []struct {
		body   string
		status int
		fault  string
	}{
		{`"listeners":[{"protocol":"HTTP","protocol_port":80,"default_pool":{"name":"nowhere"}}]`, 400,
			"Pool 'nowhere' was referenced but no full definition was found."},
		{`"listeners":[{"protocol":"HTTP","protocol_port":80,"default_pool":{"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}]`, 400,
			"Validation failure: Pools must be named when creating a fully populated loadbalancer."},
		{`"listeners":[{"protocol":"HTTP","protocol_port":80,"default_pool":{"name":"a","protocol":"HTTP"}}]`, 400,
			"Validation failure: Pool definition for 'a' missing required attribute: lb_algorithm"},
		{`"pools":[{"name":"a","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"},{"name":"a","protocol":"TCP","lb_algorithm":"ROUND_ROBIN"}]`, 400,
			"Validation failure: Pool names must be unique when creating a fully populated loadbalancer."},
		{`"listeners":[{"protocol":"HTTP","protocol_port":80,"loadbalancer_id":"` + subnet + `"}]`, 400,
			"Unknown attribute for argument load_balancer.loadbalancer.listeners: loadbalancer_id"},
		{`"listeners":[{"protocol":"HTTP","protocol_port":80},{"protocol":"HTTP","protocol_port":80}]`, 409,
			"Another Listener on this Load Balancer is already using protocol HTTP and protocol_port 80"},
		{`"listeners":[{"protocol":"UDP","protocol_port":53,"default_pool":{"name":"a","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"}}]`, 400,
			"Validation failure: The pool protocol 'HTTP' is invalid while the listener protocol is 'UDP'."},
		{`"pools":[{"name":"a","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","members":[{"address":"192.0.2.1","protocol_port":80},{"address":"192.0.2.1","protocol_port":80}]}]`, 409,
			"Another member on this pool is already using ip 192.0.2.1 on protocol_port 80"},
		{`"pools":[{"name":"a","protocol":"HTTP","lb_algorithm":"ROUND_ROBIN","healthmonitor":{"type":"HTTP","delay":5,"timeout":3}}]`, 400,
			"Invalid input for field/attribute max_retries. Value: 'None'. Mandatory field missing."},
		{`"listeners":5`, 400, "Invalid input for field/attribute listeners. Value: '5'. Value not a valid list: 5"},
	} {
		r := n.MustDo(c.status, "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":{"name":"refused",`+vip+`,`+c.body+`}}`)
		systemtest.ExpectFault(t, r, c.status, c.fault)
	}
	if got := list(t, n, "/v2/lbaas/loadbalancers?name=refused"); len(got.LoadBalancers) != 0 {
		t.Fatalf("refused creates wrote %v", got.LoadBalancers)
	}
}
