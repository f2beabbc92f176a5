package http_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// monitorAttrs are the attributes of Octavia's health monitor response.
var monitorAttrs = []string{"id", "name", "type", "delay", "timeout", "max_retries", "max_retries_down", "http_method",
	"url_path", "expected_codes", "admin_state_up", "project_id", "pools", "provisioning_status", "operating_status",
	"created_at", "updated_at", "tags", "http_version", "domain_name", "tenant_id"}

func TestHealthMonitorAPI(t *testing.T) {
	a := newPoolsAPI(t, "")
	lbID := a.loadBalancer("monitors")
	newPool := func(protocol string) string {
		return a.pool(lbID, fmt.Sprintf(`"loadbalancer_id":%q,"protocol":%q,"lb_algorithm":"ROUND_ROBIN"`, lbID, protocol))["id"].(string)
	}
	httpPool, tcpPool, udpPool, sctpPool := newPool("HTTP"), newPool("TCP"), newPool("UDP"), newPool("SCTP")
	tcp2Pool, udp2Pool := newPool("TCP"), newPool("UDP")
	const hms = "/v2/lbaas/healthmonitors"
	monitor := func(pool, attrs string) map[string]interface{} {
		t.Helper()
		hm := a.create(hms, "healthmonitor", fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,%s}}`, pool, attrs))
		a.settle(lbID)
		return hm
	}
	remove := func(id string) {
		t.Helper()
		a.do(204, "DELETE", hms+"/"+id, nil)
		a.settle(lbID)
		a.gone(hms + "/" + id)
	}

	// An HTTP monitor gets the HTTP defaults; its pool shows its id.
	hm := monitor(httpPool, `"type":"HTTP","delay":5,"timeout":3,"max_retries":2`)
	a.hasAttrs(hm, monitorAttrs...)
	if hm["provisioning_status"] != "PENDING_CREATE" || hm["operating_status"] != "OFFLINE" || hm["name"] != "" ||
		hm["http_method"] != "GET" || hm["url_path"] != "/" || hm["expected_codes"] != "200" || hm["max_retries_down"] != 3.0 ||
		hm["max_retries"] != 2.0 || hm["delay"] != 5.0 || hm["timeout"] != 3.0 || hm["admin_state_up"] != true ||
		hm["http_version"] != nil || hm["domain_name"] != nil || !slices.Equal(a.refs(hm["pools"]), []string{httpPool}) ||
		hm["project_id"] != "default" || hm["tenant_id"] != "default" || hm["updated_at"] != nil {
		t.Fatalf("created monitor: %v", hm)
	}
	hmID := hm["id"].(string)
	hmPath := hms + "/" + hmID
	if got := a.statuses(hmPath, "healthmonitor"); got != "ACTIVE/ONLINE" {
		t.Fatalf("provisioned monitor: %s", got)
	}
	pool := a.get("/v2/lbaas/pools/"+httpPool, "pool")
	a.hasAttrs(pool, poolAttrs...)
	if pool["healthmonitor_id"] != hmID {
		t.Fatalf("pool's monitor: %v", pool["healthmonitor_id"])
	}
	a.refusal(409, "POST", hms, fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,"type":"TCP","delay":5,"timeout":3,"max_retries":2}}`, httpPool),
		"This pool already has a health monitor")

	// Every type, on a pool of a protocol it suits; non-HTTP types have no HTTP options.
	for _, c := range []struct{ pool, attrs string }{
		{tcpPool, `"type":"HTTPS","delay":1,"timeout":1,"max_retries":1,"http_method":"HEAD","url_path":"/health?full=1","expected_codes":"200-204"`},
		{tcpPool, `"type":"PING","delay":1,"timeout":1,"max_retries":10,"max_retries_down":1`},
		{tcpPool, `"type":"TCP","delay":0,"timeout":0,"max_retries":1`},
		{tcpPool, `"type":"TLS-HELLO","delay":1,"timeout":1,"max_retries":1,"name":"hello","admin_state_up":false,"tags":["x"]`},
		{udpPool, `"type":"UDP-CONNECT","delay":3,"timeout":1,"max_retries":1`},
		{udpPool, `"type":"SCTP","delay":1,"timeout":1,"max_retries":1`},
		{udpPool, `"type":"HTTP","delay":1,"timeout":1,"max_retries":1,"expected_codes":"200, 202"`},
		{sctpPool, `"type":"TCP","delay":1,"timeout":1,"max_retries":1`},
	} {
		m := monitor(c.pool, c.attrs)
		httpType := m["type"] == "HTTP" || m["type"] == "HTTPS"
		if httpType != (m["http_method"] != nil && m["url_path"] != nil && m["expected_codes"] != nil) {
			t.Fatalf("%v monitor's HTTP options: %v", m["type"], m)
		}
		want := "ACTIVE/ONLINE"
		if m["admin_state_up"] == false {
			want = "ACTIVE/OFFLINE"
		}
		if got := a.statuses(hms+"/"+m["id"].(string), "healthmonitor"); got != want {
			t.Fatalf("%v monitor: %s, want %s", m["type"], got, want)
		}
		switch m["type"] {
		case "HTTPS":
			if m["http_method"] != "HEAD" || m["url_path"] != "/health?full=1" || m["expected_codes"] != "200-204" {
				t.Fatalf("HTTPS options: %v", m)
			}
		case "PING":
			if m["max_retries"] != 10.0 || m["max_retries_down"] != 1.0 {
				t.Fatalf("PING retries: %v", m)
			}
		}
		remove(m["id"].(string))
	}
	if _, ok := a.get("/v2/lbaas/pools/"+tcpPool, "pool")["healthmonitor_id"]; ok {
		t.Fatalf("a pool without monitor shows healthmonitor_id")
	}

	// http_version renders as a number; a domain name needs HTTP/1.1.
	v11 := monitor(tcpPool, `"type":"HTTP","delay":5,"timeout":3,"max_retries":2,"http_version":1.1,"domain_name":"www.example.com"`)
	r := a.do(200, "GET", hms+"/"+v11["id"].(string), nil)
	if !strings.Contains(string(r.Body), `"http_version":1.1,`) || !strings.Contains(string(r.Body), `"domain_name":"www.example.com"`) {
		t.Fatalf("HTTP/1.1 monitor: %s", r.Body)
	}
	v10 := monitor(udpPool, `"type":"HTTP","delay":5,"timeout":3,"max_retries":2,"http_version":1`)
	if r := a.do(200, "GET", hms+"/"+v10["id"].(string), nil); !strings.Contains(string(r.Body), `"http_version":1.0,`) {
		t.Fatalf("HTTP/1.0 monitor: %s", r.Body)
	}

	// Refusals write nothing.
	before := len(a.items(hms, "healthmonitors"))
	on := func(pool, attrs string) string {
		return fmt.Sprintf(`{"healthmonitor":{"pool_id":%q,%s}}`, pool, attrs)
	}
	basic := `"delay":5,"timeout":3,"max_retries":2`
	missing := "2c946bfc-1804-43ab-a2ff-58f6a762b505"
	cases := []struct {
		status    int
		body, msg string
	}{
		{400, on(sctpPool, `"type":"TCP","timeout":3,"max_retries":2`), "Invalid input for field/attribute delay. Value: 'None'. Mandatory field missing."},
		{400, on(sctpPool, `"type":"TCP","delay":3,"max_retries":2`), "Invalid input for field/attribute timeout. Value: 'None'. Mandatory field missing."},
		{400, on(sctpPool, `"type":"TCP","delay":3,"timeout":2`), "Invalid input for field/attribute max_retries. Value: 'None'. Mandatory field missing."},
		{400, on(sctpPool, basic), "Invalid input for field/attribute type. Value: 'None'. Mandatory field missing."},
		{400, `{"healthmonitor":{"type":"TCP",` + basic + `}}`, "Invalid input for field/attribute pool_id. Value: 'None'. Mandatory field missing."},
		{400, on(sctpPool, `"type":"ICMP",`+basic), "Invalid input for field/attribute type. Value: 'ICMP'. Value should be one of: HTTP, HTTPS, PING, TCP, TLS-HELLO, UDP-CONNECT, SCTP"},
		{400, on(sctpPool, `"type":"TCP","delay":-1,"timeout":3,"max_retries":2`), "Invalid input for field/attribute delay. Value: '-1'. Value should be greater or equal to 0"},
		{400, on(sctpPool, `"type":"TCP","delay":1,"timeout":-3,"max_retries":2`), "Invalid input for field/attribute timeout. Value: '-3'. Value should be greater or equal to 0"},
		{400, on(sctpPool, `"type":"TCP","delay":1,"timeout":3,"max_retries":0`), "Invalid input for field/attribute max_retries. Value: '0'. Value should be greater or equal to 1"},
		{400, on(sctpPool, `"type":"TCP","delay":1,"timeout":3,"max_retries":11`), "Invalid input for field/attribute max_retries. Value: '11'. Value should be lower or equal to 10"},
		{400, on(sctpPool, `"type":"TCP","max_retries_down":11,`+basic), "Invalid input for field/attribute max_retries_down. Value: '11'. Value should be lower or equal to 10"},
		{400, on(tcpPool, `"type":"HTTP","http_method":"FETCH",`+basic), "Invalid input for field/attribute http_method. Value: 'FETCH'. Value should be one of: GET, HEAD, POST, PUT, DELETE, TRACE, OPTIONS, CONNECT, PATCH"},
		{400, on(tcpPool, `"type":"HTTP","url_path":"health",`+basic), "Invalid input for field/attribute url_path. Value: 'health'. Value must be a valid URL Path string"},
		{400, on(tcpPool, `"type":"HTTP","url_path":"//host/health",`+basic), "Invalid input for field/attribute url_path. Value: '//host/health'. Value must be a valid URL Path string"},
		{400, on(tcpPool, `"type":"HTTP","url_path":"/a b",`+basic), "Invalid input for field/attribute url_path. Value: '/a b'. Value must be a valid URL Path string"},
		{400, on(tcpPool, `"type":"HTTP","expected_codes":"2xx",`+basic), `Invalid input for field/attribute expected_codes. Value: '2xx'. Value should match the pattern ^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$`},
		{400, on(tcpPool, `"type":"HTTP","expected_codes":"200-",`+basic), `Invalid input for field/attribute expected_codes. Value: '200-'. Value should match the pattern ^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$`},
		{400, on(tcpPool, `"type":"HTTP","http_version":2,`+basic), "Invalid input for field/attribute http_version. Value: '2'. Value should be one of: 1.0, 1.1"},
		{400, on(tcpPool, `"type":"HTTP","domain_name":"-bad.example.com","http_version":1.1,`+basic),
			`Invalid input for field/attribute domain_name. Value: '-bad.example.com'. Value should match the pattern ^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$`},
		{400, on(tcpPool, `"type":"HTTP","domain_name":"a_b.example.com","http_version":1.1,`+basic),
			`Invalid input for field/attribute domain_name. Value: 'a_b.example.com'. Value should match the pattern ^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$`},
		{400, on(tcpPool, `"type":"HTTP","domain_name":"",`+basic), "Invalid input for field/attribute domain_name. Value: ''. Value should have a minimum character requirement of 1"},
		{400, on(tcpPool, `"type":"HTTP","domain_name":"example.com",`+basic), "Validation failure: 'http_version' must be specified when 'domain_name' is provided."},
		{400, on(tcpPool, `"type":"HTTP","domain_name":"example.com","http_version":1.0,`+basic), "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check"},
		{400, on(tcpPool, `"type":"TCP","http_method":"GET",`+basic), "http_method is not a valid option for health monitors of type TCP"},
		{400, on(tcpPool, `"type":"TCP","url_path":"/",`+basic), "url_path is not a valid option for health monitors of type TCP"},
		{400, on(tcpPool, `"type":"PING","expected_codes":"200",`+basic), "expected_codes is not a valid option for health monitors of type PING"},
		{400, on(udpPool, `"type":"PING",`+basic), "Validation failure: The associated pool protocol is UDP, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."},
		{400, on(sctpPool, `"type":"HTTPS",`+basic), "Validation failure: The associated pool protocol is SCTP, so only a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported."},
		{400, on(sctpPool, `"type":"UDP-CONNECT","delay":2,"timeout":1,"max_retries":1`), "Validation failure: The request delay value 2 should be larger than 3 for UDP-CONNECT health monitor type."},
		{400, on(tcpPool, `"type":"UDP-CONNECT",`+basic), "Validation failure: The UDP-CONNECT type is only supported for pools of type UDP/SCTP."},
		{400, on(tcpPool, `"type":"SCTP",`+basic), "Validation failure: The SCTP type is only supported for pools of type UDP/SCTP."},
		{400, on(tcpPool, `"type":"TCP","color":"red",`+basic), "Unknown attribute for argument health_monitor_.healthmonitor: color"},
		{400, `{"monitor":{}}`, "Unknown attribute for argument health_monitor_: monitor"},
		{404, on(missing, `"type":"TCP",`+basic), "Pool " + missing + " not found."},
	}
	for _, c := range cases {
		a.refusal(c.status, "POST", hms, c.body, c.msg)
	}
	if after := len(a.items(hms, "healthmonitors")); after != before {
		t.Fatalf("%d monitors after refusals, want %d", after, before)
	}

	// Updates: the mutable attributes; nulls reset HTTP options and max_retries_down.
	up := a.obj(a.do(200, "PUT", hmPath, `{"healthmonitor":{"name":"web","delay":10,"timeout":5,"max_retries":4,"max_retries_down":5,
		"http_method":"POST","url_path":"/check","expected_codes":"200-299","tags":["t"],"http_version":1.1,"domain_name":"example.com"}}`), "healthmonitor")
	if up["provisioning_status"] != "PENDING_UPDATE" || up["name"] != "web" || up["delay"] != 10.0 || up["timeout"] != 5.0 ||
		up["max_retries"] != 4.0 || up["max_retries_down"] != 5.0 || up["http_method"] != "POST" || up["url_path"] != "/check" ||
		up["expected_codes"] != "200-299" || fmt.Sprint(up["tags"]) != "[t]" || up["http_version"] != 1.1 || up["domain_name"] != "example.com" {
		t.Fatalf("updated monitor: %v", up)
	}
	a.settle(lbID)
	up = a.obj(a.do(200, "PUT", hmPath, `{"healthmonitor":{"http_method":null,"url_path":null,"expected_codes":null,"max_retries_down":null,
		"domain_name":null,"name":null}}`), "healthmonitor")
	if up["http_method"] != "GET" || up["url_path"] != "/" || up["expected_codes"] != "200" || up["max_retries_down"] != 3.0 ||
		up["domain_name"] != nil || up["http_version"] != 1.1 || up["name"] != "" {
		t.Fatalf("nulls: %v", up)
	}
	a.settle(lbID)
	tcpHM := monitor(tcp2Pool, `"type":"TCP",`+basic)["id"].(string)
	for _, c := range []struct{ path, body, msg string }{
		{hmPath, `{"healthmonitor":{"type":"TCP"}}`, "Unknown attribute for argument health_monitor_.healthmonitor: type"},
		{hmPath, `{"healthmonitor":{"pool_id":"` + tcpPool + `"}}`, "Unknown attribute for argument health_monitor_.healthmonitor: pool_id"},
		{hmPath, `{"healthmonitor":{"delay":null}}`, "None is not a valid option for delay"},
		{hmPath, `{"healthmonitor":{"timeout":null}}`, "None is not a valid option for timeout"},
		{hmPath, `{"healthmonitor":{"max_retries":null}}`, "None is not a valid option for max_retries"},
		{hmPath, `{"healthmonitor":{"admin_state_up":null}}`, "Invalid input for field/attribute admin_state_up. Value: 'None'. Value should be boolean"},
		{hmPath, `{"healthmonitor":{"http_version":1.0,"domain_name":"example.org"}}`, "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check"},
		{hms + "/" + v10["id"].(string), `{"healthmonitor":{"http_version":1.0,"domain_name":"example.org"}}`, "http_version 1.0 is not a valid option for health monitors HTTP 1.1 domain name health check"},
		{hms + "/" + tcpHM, `{"healthmonitor":{"url_path":"/"}}`, "url_path is not a valid option for health monitors of type TCP"},
		{hms + "/" + tcpHM, `{"healthmonitor":{"http_method":null}}`, "http_method is not a valid option for health monitors of type TCP"},
		{hms + "/" + tcpHM, `{"healthmonitor":{"domain_name":"example.org"}}`, "Validation failure: 'http_version' must be specified when 'domain_name' is provided."},
	} {
		a.refusal(400, "PUT", c.path, c.body, c.msg)
	}
	// A UDP pool's monitor keeps the UDP-CONNECT delay rule on update.
	udpHM := monitor(udp2Pool, `"type":"UDP-CONNECT","delay":3,"timeout":1,"max_retries":1`)["id"].(string)
	a.refusal(400, "PUT", hms+"/"+udpHM, `{"healthmonitor":{"delay":1}}`,
		"Validation failure: The request delay value 1 should be larger than 3 for UDP-CONNECT health monitor type.")

	// Shows and lists.
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		if got := a.get(prefix+"/healthmonitors/"+hmID+".json", "healthmonitor"); got["id"] != hmID {
			t.Fatalf("%s: %v", prefix, got)
		}
	}
	ids := []string{hmID, v11["id"].(string), v10["id"].(string), tcpHM, udpHM}
	checks := []struct {
		query string
		want  []string
	}{
		{"", ids},
		{"?pool_id=" + udpPool, ids[2:3]},
		{"?type=HTTP", ids[:3]},
		{"?type=UDP-CONNECT&delay=3", ids[4:]},
		{"?http_version=1.1", ids[:2]},
		{"?max_retries=4", ids[:1]},
		{"?domain_name=www.example.com", ids[1:2]},
		{"?name=web", []string{}},
		{"?tags=t", ids[:1]},
		{"?sort=delay:desc,type", []string{ids[0], ids[1], ids[2], ids[3], ids[4]}},
		{"?sort=type:desc", []string{ids[4], ids[3], ids[0], ids[1], ids[2]}},
	}
	for _, c := range checks {
		if got := a.values(a.items(hms+c.query, "healthmonitors"), "id"); !slices.Equal(got, c.want) {
			t.Errorf("healthmonitors%s: %v, want %v", c.query, got, c.want)
		}
	}
	page, links := a.page(hms+"?limit=2&sort=created_at", "healthmonitors")
	var paged []string
	for hops := 0; ; hops++ {
		paged = append(paged, a.values(page, "id")...)
		if links["next"] == "" || hops > 5 {
			break
		}
		page, links = a.follow(links["next"], "healthmonitors")
	}
	if !slices.Equal(paged, ids) {
		t.Fatalf("paged: %v", paged)
	}
	if got := a.items(hms+"?fields=type&fields=pools", "healthmonitors"); len(got[0]) != 2 {
		t.Fatalf("fields: %v", got[0])
	}

	// Projects.
	stranger := []string{"X-Project-Id: other", "X-Roles: member"}
	deny := "Policy does not allow this request to be performed."
	if got := a.items(hms, "healthmonitors", stranger...); len(got) != 0 {
		t.Fatalf("another project lists %v", got)
	}
	a.refusal(403, "GET", hmPath, nil, deny, stranger...)
	a.refusal(403, "PUT", hmPath, `{"healthmonitor":{"name":"x"}}`, deny, stranger...)
	a.refusal(403, "DELETE", hmPath, nil, deny, stranger...)
	a.refusal(403, "POST", hms, on(httpPool, `"type":"TCP",`+basic), deny, stranger...)

	// Deleting a monitor makes its pool's members NO_MONITOR.
	member := a.create("/v2/lbaas/pools/"+httpPool+"/members", "member", `{"member":{"address":"10.0.0.1","protocol_port":80}}`)
	if member["operating_status"] != "OFFLINE" {
		t.Fatalf("a new member of a monitored pool: %v", member["operating_status"])
	}
	a.settle(lbID)
	memberPath := "/v2/lbaas/pools/" + httpPool + "/members/" + member["id"].(string)
	// Only heartbeats measure a member: with the noop driver it stays OFFLINE.
	if got := a.statuses(memberPath, "member"); got != "ACTIVE/OFFLINE" {
		t.Fatalf("monitored member: %s", got)
	}
	remove(hmID)
	if got := a.statuses(memberPath, "member"); got != "ACTIVE/NO_MONITOR" {
		t.Fatalf("member of a pool that lost its monitor: %s", got)
	}
	if _, ok := a.get("/v2/lbaas/pools/"+httpPool, "pool")["healthmonitor_id"]; ok {
		t.Fatalf("the pool still shows a deleted monitor")
	}
	for _, m := range []string{"GET", "DELETE"} {
		a.refusal(404, m, hmPath, nil, "Health Monitor "+hmID+" not found.")
	}
	a.refusal(404, "PUT", hms+"/nope", `{"healthmonitor":{}}`, "Health Monitor nope not found.")
}
