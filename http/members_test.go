package http_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// memberAttrs are the attributes of Octavia's member response.
var memberAttrs = []string{"id", "name", "operating_status", "provisioning_status", "admin_state_up", "address",
	"protocol_port", "weight", "backup", "subnet_id", "project_id", "created_at", "updated_at", "monitor_address",
	"monitor_port", "tags", "tenant_id"}

func TestMemberAPI(t *testing.T) {
	a := newPoolsAPI(t, "")
	lbID := a.loadBalancer("members")
	web := a.listener(lbID, "HTTP", 80)
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))["id"].(string)
	q := a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":"TCP","lb_algorithm":"ROUND_ROBIN"`, lbID))["id"].(string)
	pm, qm := "/v2/lbaas/pools/"+p+"/members", "/v2/lbaas/pools/"+q+"/members"

	m := a.create(pm, "member", `{"member":{"address":"10.0.0.1","protocol_port":80}}`)
	a.hasAttrs(m, memberAttrs...)
	if m["provisioning_status"] != "PENDING_CREATE" || m["operating_status"] != "NO_MONITOR" || m["name"] != "" ||
		m["weight"] != 1.0 || m["backup"] != false || m["admin_state_up"] != true || m["subnet_id"] != nil ||
		m["monitor_address"] != nil || m["monitor_port"] != nil || len(m["tags"].([]interface{})) != 0 ||
		m["address"] != "10.0.0.1" || m["protocol_port"] != 80.0 || m["project_id"] != "default" || m["tenant_id"] != "default" ||
		m["updated_at"] != nil {
		t.Fatalf("created member: %v", m)
	}
	a.settle(lbID)
	mID := m["id"].(string)
	if got := a.statuses(pm+"/"+mID, "member"); got != "ACTIVE/NO_MONITOR" {
		t.Fatalf("provisioned member: %s", got)
	}
	full := a.create(pm, "member", fmt.Sprintf(`{"member":{"address":"2001:db8::10","protocol_port":8080,"name":"v6","weight":0,
		"backup":true,"admin_state_up":false,"subnet_id":%q,"monitor_address":"192.0.2.9","monitor_port":9000,"tags":["blue"],
		"project_id":"ignored"}}`, subnet))
	if full["address"] != "2001:db8::10" || full["weight"] != 0.0 || full["backup"] != true || full["admin_state_up"] != false ||
		full["subnet_id"] != subnet || full["monitor_address"] != "192.0.2.9" || full["monitor_port"] != 9000.0 ||
		fmt.Sprint(full["tags"]) != "[blue]" || full["name"] != "v6" || full["project_id"] != "default" {
		t.Fatalf("member with every attribute: %v", full)
	}
	a.settle(lbID)
	fullID := full["id"].(string)
	// Operating status is measured: a disabled member of an unmonitored pool stays
	// NO_MONITOR with the noop driver (Octavia; tempest's member update test).
	if got := a.statuses(pm+"/"+fullID, "member"); got != "ACTIVE/NO_MONITOR" {
		t.Fatalf("a disabled member: %s", got)
	}
	a.refusal(409, "POST", pm, `{"member":{"address":"10.0.0.1","protocol_port":80}}`,
		"Another member on this pool is already using ip 10.0.0.1 on protocol_port 80")
	other := a.create(qm, "member", `{"member":{"address":"10.0.0.1","protocol_port":80}}`) // another pool may
	a.settle(lbID)

	// Refusals write nothing.
	cases := []struct{ body, msg string }{
		{`{"member":{"protocol_port":80}}`, "Invalid input for field/attribute address. Value: 'None'. Mandatory field missing."},
		{`{"member":{"address":"10.0.0.9"}}`, "Invalid input for field/attribute protocol_port. Value: 'None'. Mandatory field missing."},
		{`{"member":{"address":"10.0.0.9","protocol_port":0}}`, "Invalid input for field/attribute protocol_port. Value: '0'. Value should be greater or equal to 1"},
		{`{"member":{"address":"10.0.0.9","protocol_port":65536}}`, "Invalid input for field/attribute protocol_port. Value: '65536'. Value should be lower or equal to 65535"},
		{`{"member":{"address":"10.0.0.9","protocol_port":"http"}}`, "Invalid input for field/attribute protocol_port. Value: 'http'. Wrong type. Expected 'int', got 'str'"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"weight":257}}`, "Invalid input for field/attribute weight. Value: '257'. Value should be lower or equal to 256"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"weight":-1}}`, "Invalid input for field/attribute weight. Value: '-1'. Value should be greater or equal to 0"},
		{`{"member":{"address":"10.0.0.300","protocol_port":80}}`, "Invalid input for field/attribute address. Value: '10.0.0.300'. Value should be IPv4 or IPv6 format"},
		{`{"member":{"address":"169.254.169.254","protocol_port":80}}`, "169.254.169.254 is not a valid option for member address"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"subnet_id":"net"}}`, "Invalid input for field/attribute subnet_id. Value: 'net'. Value should be UUID format"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"monitor_port":0}}`, "Invalid input for field/attribute monitor_port. Value: '0'. Value should be greater or equal to 1"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"monitor_address":"here"}}`, "Invalid input for field/attribute monitor_address. Value: 'here'. Value should be IPv4 or IPv6 format"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"backup":"maybe"}}`, "Invalid input for field/attribute backup. Value: 'maybe'. Value should be boolean"},
		{`{"member":{"address":"10.0.0.9","protocol_port":80,"pool_id":"x"}}`, "Unknown attribute for argument member_.member: pool_id"},
		{`{"members":{}}`, "Unknown attribute for argument member_: members"},
	}
	for _, c := range cases {
		a.refusal(400, "POST", pm, c.body, c.msg)
	}
	if got := a.items(pm, "members"); len(got) != 2 {
		t.Fatalf("%d members after refusals, want 2", len(got))
	}

	// A parent missing from the path is Octavia's routing-time 404, on every endpoint.
	missing := "/v2/lbaas/pools/nope/members"
	for _, c := range []struct {
		method, path string
		body         interface{}
	}{{"GET", missing, nil}, {"POST", missing, `{"member":{}}`}, {"PUT", missing, `{"members":[]}`},
		{"GET", missing + "/" + mID, nil}, {"PUT", missing + "/" + mID, `{"member":{}}`}, {"DELETE", missing + "/" + mID, nil}} {
		a.missingParent(c.method, c.path, c.body, "Pool nope not found.")
	}
	// A member is found only under its own pool.
	if got := a.get(pm+"/"+mID+".json", "member"); got["id"] != mID {
		t.Fatalf("show: %v", got)
	}
	for _, method := range []string{"GET", "DELETE"} {
		a.refusal(404, method, qm+"/"+mID, nil, "Member "+mID+" not found.")
	}
	a.refusal(404, "PUT", qm+"/"+mID, `{"member":{"name":"x"}}`, "Member "+mID+" not found.")
	a.refusal(404, "GET", pm+"/nope", nil, "Member nope not found.")

	// Lists are the pool's members, with every list convention.
	third := a.create(pm, "member", `{"member":{"address":"10.0.0.3","protocol_port":80,"name":"c","weight":5,"tags":["blue","green"]}}`)
	a.settle(lbID)
	ids := []string{mID, fullID, third["id"].(string)}
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		if got := a.values(a.items(prefix+"/pools/"+p+"/members", "members"), "id"); !slices.Equal(got, ids) {
			t.Fatalf("%s members of the pool: %v", prefix, got)
		}
	}
	if got := a.values(a.items(qm, "members"), "id"); !slices.Equal(got, []string{other["id"].(string)}) {
		t.Fatalf("members of the other pool: %v", got)
	}
	checks := []struct {
		query string
		want  []string
	}{
		{"?address=10.0.0.1", ids[:1]},
		{"?protocol_port=8080", ids[1:2]},
		{"?weight=5", ids[2:]},
		{"?backup=true", ids[1:2]},
		{"?admin_state_up=false", ids[1:2]},
		{"?monitor_port=9000", ids[1:2]},
		{"?subnet_id=" + subnet, ids[1:2]},
		{"?name=c", ids[2:]},
		{"?tags=blue", ids[1:]},
		{"?tags=blue,green", ids[2:]},
		// The disabled one too: the noop driver measures nothing.
		{"?operating_status=NO_MONITOR", ids},
		{"?operating_status=OFFLINE", []string{}},
		{"?pool_id=" + q, []string{}},
		{"?sort=weight:desc", []string{ids[2], ids[0], ids[1]}},
		{"?sort_key=address&sort_dir=asc", []string{ids[0], ids[2], ids[1]}},
	}
	for _, c := range checks {
		if got := a.values(a.items(pm+c.query, "members"), "id"); !slices.Equal(got, c.want) {
			t.Errorf("members%s: %v, want %v", c.query, got, c.want)
		}
	}
	if got := a.items(pm+"?fields=id&fields=address", "members"); len(got[0]) != 2 || got[0]["address"] != "10.0.0.1" {
		t.Fatalf("fields: %v", got)
	}
	page, links := a.page(pm+"?limit=2", "members")
	if len(page) != 2 || !strings.Contains(links["next"], "/v2/lbaas/pools/"+p+"/members?limit=2") {
		t.Fatalf("first page: %v, links %v", a.values(page, "id"), links)
	}
	page, links = a.follow(links["next"], "members")
	if !slices.Equal(a.values(page, "id"), ids[2:]) || links["previous"] == "" || links["next"] != "" {
		t.Fatalf("second page: %v, links %v", a.values(page, "id"), links)
	}
	a.refusal(400, "GET", pm+"?color=red", nil, "One or more arguments are either duplicate or invalid")
	a.missingParent("GET", missing+"?limit=1", nil, "Pool nope not found.")

	// Updates: the mutable attributes; nulls reset weight and backup to defaults.
	memberPath := pm + "/" + mID
	up := a.obj(a.do(200, "PUT", memberPath, `{"member":{"name":"a","weight":10,"backup":true,"monitor_address":"10.1.1.1",
		"monitor_port":8081,"tags":["t"],"admin_state_up":false}}`), "member")
	if up["provisioning_status"] != "PENDING_UPDATE" || up["name"] != "a" || up["weight"] != 10.0 || up["backup"] != true ||
		up["monitor_address"] != "10.1.1.1" || up["monitor_port"] != 8081.0 || fmt.Sprint(up["tags"]) != "[t]" || up["admin_state_up"] != false {
		t.Fatalf("updated member: %v", up)
	}
	a.settle(lbID)
	if got := a.statuses(memberPath, "member"); got != "ACTIVE/NO_MONITOR" {
		t.Fatalf("disabled member: %s", got)
	}
	up = a.obj(a.do(200, "PUT", memberPath, `{"member":{"weight":null,"backup":null,"monitor_port":null,"monitor_address":null,
		"name":null,"tags":null,"admin_state_up":true}}`), "member")
	if up["weight"] != 1.0 || up["backup"] != false || up["monitor_port"] != nil || up["monitor_address"] != nil ||
		up["name"] != "" || len(up["tags"].([]interface{})) != 0 || up["address"] != "10.0.0.1" {
		t.Fatalf("nulls: %v", up)
	}
	a.settle(lbID)
	if got := a.statuses(memberPath, "member"); got != "ACTIVE/NO_MONITOR" {
		t.Fatalf("re-enabled member: %s", got)
	}
	for body, msg := range map[string]string{
		`{"member":{"address":"10.0.0.2"}}`:         "Unknown attribute for argument member_.member: address",
		`{"member":{"protocol_port":81}}`:           "Unknown attribute for argument member_.member: protocol_port",
		`{"member":{"subnet_id":"` + subnet + `"}}`: "Unknown attribute for argument member_.member: subnet_id",
		`{"member":{"admin_state_up":null}}`:        "Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean",
		`{"member":{"weight":300}}`:                 "Invalid input for field/attribute weight. Value: '300'. Value should be lower or equal to 256",
	} {
		a.refusal(400, "PUT", memberPath, body, msg)
	}

	// Projects: another project's member neither lists nor changes the pool's members.
	stranger := []string{"X-Project-Id: other", "X-Roles: member"}
	deny := "Policy does not allow this request to be performed."
	a.refusal(403, "GET", pm, nil, deny, stranger...)
	a.refusal(403, "GET", memberPath, nil, deny, stranger...)
	a.refusal(403, "POST", pm, `{"member":{"address":"10.0.0.8","protocol_port":80}}`, deny, stranger...)
	a.refusal(403, "PUT", pm, `{"members":[]}`, deny, stranger...)
	a.refusal(403, "DELETE", memberPath, nil, deny, stranger...)

	// Delete.
	thirdPath := pm + "/" + third["id"].(string)
	a.do(204, "DELETE", thirdPath, nil)
	a.settle(lbID)
	a.gone(thirdPath)
	a.refusal(404, "DELETE", thirdPath, nil, "Member "+third["id"].(string)+" not found.")
	if got := a.refs(a.get("/v2/lbaas/pools/"+p, "pool")["members"]); !slices.Equal(got, ids[:2]) {
		t.Fatalf("members of the pool after a delete: %v", got)
	}

	// The amphora provider's rule for UDP pools in use: members of the VIP's IP version.
	udpListener := a.listener(lbID, "UDP", 53)
	udp := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"UDP","lb_algorithm":"ROUND_ROBIN"`, udpListener))["id"].(string)
	mixing := "Provider 'amphora' does not support a requested option: This provider doesn't support mixing IPv4 and IPv6 " +
		"addresses for its VIP and members in UDP load balancers."
	a.refusal(501, "POST", "/v2/lbaas/pools/"+udp+"/members", `{"member":{"address":"2001:db8::1","protocol_port":53}}`, mixing)
	a.refusal(501, "PUT", "/v2/lbaas/pools/"+udp+"/members", `{"members":[{"address":"2001:db8::1","protocol_port":53}]}`, mixing)
	a.create("/v2/lbaas/pools/"+udp+"/members", "member", `{"member":{"address":"10.0.0.53","protocol_port":53}}`)
	a.settle(lbID)
}

func TestMemberBatch(t *testing.T) {
	a := newPoolsAPI(t, "1s")
	lbID := a.loadBalancer("batch")
	web := a.listener(lbID, "HTTP", 80)
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))["id"].(string)
	poolPath, pm := "/v2/lbaas/pools/"+p, "/v2/lbaas/pools/"+p+"/members"
	lockedPool := "Pool " + p + " is immutable and cannot be updated."
	byAddress := func() map[string]map[string]interface{} {
		out := map[string]map[string]interface{}{}
		for _, m := range a.items(pm, "members") {
			out[m["address"].(string)] = m
		}
		return out
	}
	a.create(pm, "member", `{"member":{"address":"10.0.0.1","protocol_port":80,"name":"a","weight":5,"monitor_port":9000,"tags":["t"]}}`)
	a.settle(lbID)
	a.create(pm, "member", `{"member":{"address":"10.0.0.2","protocol_port":80}}`)
	a.settle(lbID)

	// Replace: 10.0.0.1 matches (and takes a POST's defaults where the batch is
	// silent: weight 1, no monitor port; its tags stay), 10.0.0.2 goes, 10.0.0.3 comes.
	r := a.do(202, "PUT", pm, `{"members":[{"address":"10.0.0.1","protocol_port":80,"name":"a2"},
		{"address":"10.0.0.3","protocol_port":80,"name":"c","weight":3}]}`)
	if len(r.Body) != 0 {
		t.Fatalf("batch answered a body: %s", r.Body)
	}
	got := byAddress()
	if got["10.0.0.1"]["provisioning_status"] != "PENDING_UPDATE" || got["10.0.0.1"]["name"] != "a2" || got["10.0.0.1"]["weight"] != 1.0 ||
		got["10.0.0.1"]["monitor_port"] != nil || fmt.Sprint(got["10.0.0.1"]["tags"]) != "[t]" ||
		got["10.0.0.2"]["provisioning_status"] != "PENDING_DELETE" ||
		got["10.0.0.3"]["provisioning_status"] != "PENDING_CREATE" || got["10.0.0.3"]["weight"] != 3.0 || len(got) != 3 {
		t.Fatalf("members during the batch: %v", got)
	}
	for path, key := range map[string]string{poolPath: "pool", "/v2/lbaas/listeners/" + web: "listener", "/v2/lbaas/loadbalancers/" + lbID: "loadbalancer"} {
		if s := a.statuses(path, key); !strings.HasPrefix(s, "PENDING_UPDATE/") {
			t.Fatalf("%s during the batch: %s", key, s)
		}
	}
	a.refusal(409, "PUT", pm, `{"members":[]}`, lockedPool)
	a.settle(lbID)
	got = byAddress()
	if len(got) != 2 || got["10.0.0.1"]["provisioning_status"] != "ACTIVE" || got["10.0.0.3"]["provisioning_status"] != "ACTIVE" {
		t.Fatalf("members after the batch: %v", got)
	}

	// additive_only adds and updates, and leaves the unlisted members alone.
	a.do(202, "PUT", pm+"?additive_only=true", `{"members":[{"address":"10.0.0.4","protocol_port":80}]}`)
	got = byAddress()
	if len(got) != 3 || got["10.0.0.1"]["provisioning_status"] != "ACTIVE" || got["10.0.0.3"]["provisioning_status"] != "ACTIVE" ||
		got["10.0.0.4"]["provisioning_status"] != "PENDING_CREATE" {
		t.Fatalf("additive batch: %v", got)
	}
	a.settle(lbID)
	// A listed member is updated even when nothing changes (Octavia's batch).
	a.do(202, "PUT", pm+"?additive_only=True", `{"members":[{"address":"10.0.0.4","protocol_port":80}]}`)
	if got = byAddress(); got["10.0.0.4"]["provisioning_status"] != "PENDING_UPDATE" || got["10.0.0.1"]["provisioning_status"] != "ACTIVE" {
		t.Fatalf("unchanged listed member: %v", got)
	}
	a.settle(lbID)

	// Refusals write nothing.
	cases := []struct {
		status    int
		body, msg string
	}{
		{409, `{"members":[{"address":"10.0.0.5","protocol_port":80},{"address":"10.0.0.5","protocol_port":80,"name":"twice"}]}`,
			"Another member on this pool is already using ip 10.0.0.5 on protocol_port 80"},
		{400, `{"members":[{"address":"169.254.169.254","protocol_port":80}]}`, "169.254.169.254 is not a valid option for member address"},
		{400, `{}`, "Invalid input for field/attribute members. Value: 'None'. Mandatory field missing."},
		{400, ``, `Missing argument: "members_"`},
		{400, `{"members":[],"extra":1}`, "Unknown attribute for argument members_: extra"},
		{400, `{"members":"all"}`, "Invalid input for field/attribute members. Value: 'all'. Value not a valid list: all"},
		{400, `{"members":[{"address":"10.0.0.9","protocol_port":80,"pool_id":"x"}]}`, "Unknown attribute for argument members_.members: pool_id"},
		{400, `{"members":[{"protocol_port":80}]}`, "Invalid input for field/attribute address. Value: 'None'. Mandatory field missing."},
		{400, `{"members":[{"address":"10.0.0.9","protocol_port":80,"weight":999}]}`, "Invalid input for field/attribute weight. Value: '999'. Value should be lower or equal to 256"},
	}
	for _, c := range cases {
		a.refusal(c.status, "PUT", pm, c.body, c.msg)
	}
	if s := a.statuses("/v2/lbaas/loadbalancers/"+lbID, "loadbalancer"); s != "ACTIVE/OFFLINE" || len(byAddress()) != 3 {
		t.Fatalf("refused batches changed something: %s, %v", s, byAddress())
	}

	// An empty batch deletes every member; on an empty pool it is a no-op that
	// locks nothing.
	a.do(202, "PUT", pm, `{"members":[]}`)
	for addr, m := range byAddress() {
		if m["provisioning_status"] != "PENDING_DELETE" {
			t.Fatalf("%s after an empty batch: %v", addr, m)
		}
	}
	a.settle(lbID)
	if got := a.items(pm, "members"); len(got) != 0 {
		t.Fatalf("members after an empty batch: %v", got)
	}
	a.do(202, "PUT", pm, `{"members":[]}`)
	if s := a.statuses("/v2/lbaas/loadbalancers/"+lbID, "loadbalancer"); s != "ACTIVE/OFFLINE" {
		t.Fatalf("a no-op batch locked the load balancer: %s", s)
	}
	// A locked pool refuses even the no-op (Octavia tests the locks first).
	a.do(200, "PUT", poolPath, `{"pool":{"name":"busy"}}`)
	a.refusal(409, "PUT", pm, `{"members":[]}`, lockedPool)
	a.settle(lbID)
}
