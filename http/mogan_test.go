package http_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// The Mogan v1 listener through a real keeld (-mogan-addr): the version
// documents, Mogan's error body on every refusal, the read side, the policy
// checks made before any grain call, and the body checks of the writes.

func TestMoganVersionsAndErrors(t *testing.T) {
	n := startNode(t)

	t.Run("versions", func(t *testing.T) {
		r := n.MoganMustDo(200, "GET", "/", nil)
		var root struct {
			Name           string
			DefaultVersion struct {
				ID, Status string
				Links      []struct{ Href, Rel string }
			} `json:"default_version"`
			Versions []struct{ ID string }
		}
		if err := json.Unmarshal(r.Body, &root); err != nil || root.DefaultVersion.ID != "v1" || root.DefaultVersion.Status != "CURRENT" ||
			len(root.Versions) != 1 || len(root.DefaultVersion.Links) != 1 || root.DefaultVersion.Links[0].Href != n.MoganURL("/v1/") {
			t.Fatalf("root: %s", r.Body)
		}
		r = n.MoganMustDo(200, "GET", "/v1", nil)
		var v1 map[string]any
		if err := json.Unmarshal(r.Body, &v1); err != nil || v1["id"] != "v1" {
			t.Fatalf("v1: %s", r.Body)
		}
		for _, res := range []string{"instances", "types", "availability_zones"} {
			links, _ := v1[res].([]any)
			if len(links) != 2 {
				t.Fatalf("v1 %s: %s", res, r.Body)
			}
			self, _ := links[0].(map[string]any)
			book, _ := links[1].(map[string]any)
			if self["href"] != n.MoganURL("/v1/"+res) || self["rel"] != "self" || book["href"] != n.MoganURL("/"+res) || book["rel"] != "bookmark" {
				t.Fatalf("v1 %s: %s", res, r.Body)
			}
		}
		if !strings.HasPrefix(r.Header.Get("X-Openstack-Request-Id"), "req-") || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers: %v", r.Header)
		}
	})

	t.Run("routing", func(t *testing.T) {
		r, _ := n.MoganDo("GET", "/v1/nothing", nil)
		systemtest.ExpectMoganError(t, r, 404, "The resource could not be found.")
		r, _ = n.MoganDo("PUT", "/v1/instances", "{}")
		systemtest.ExpectMoganError(t, r, 405, "")
		// Neither Octavia's nor Blazar's API is on this listener.
		r, _ = n.MoganDo("GET", "/v2/lbaas/loadbalancers", nil)
		systemtest.ExpectMoganError(t, r, 404, "")
		r, _ = n.MoganDo("GET", "/v1/leases", nil)
		systemtest.ExpectMoganError(t, r, 404, "")
	})

	t.Run("unknown instance", func(t *testing.T) {
		for _, id := range []string{"0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", "not-a-uuid"} {
			for _, c := range []struct{ method, path, body string }{
				{"GET", "/v1/instances/" + id, ""},
				{"PATCH", "/v1/instances/" + id, `[{"op": "replace", "path": "/name", "value": "x"}]`},
				{"DELETE", "/v1/instances/" + id, ""},
				{"GET", "/v1/instances/" + id + "/states", ""},
				{"PUT", "/v1/instances/" + id + "/states/power", `{"target": "on"}`},
			} {
				var body any
				if c.body != "" {
					body = c.body
				}
				r, _ := n.MoganDo(c.method, c.path, body)
				systemtest.ExpectMoganError(t, r, 404, "Resource could not be found.")
			}
		}
	})

	t.Run("query", func(t *testing.T) {
		r, _ := n.MoganDo("GET", "/v1/instances/detail?fields=name", nil)
		systemtest.ExpectMoganError(t, r, 400, `Unknown argument: "fields"`)
		r, _ = n.MoganDo("GET", "/v1/instances?limit=1", nil)
		systemtest.ExpectMoganError(t, r, 400, `Unknown argument: "limit"`)
		r, _ = n.MoganDo("GET", "/v1/instances?all_tenants=maybe", nil)
		systemtest.ExpectMoganError(t, r, 400, "Invalid input for field/attribute all_tenants. Value: 'maybe'. "+
			"Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
		for _, q := range []string{"", "?all_tenants=1", "?all_tenants=No", "?fields=name,NAME,bogus"} {
			r = n.MoganMustDo(200, "GET", "/v1/instances"+q, nil)
			if string(r.Body) != `{"instances":[]}` {
				t.Fatalf("%s: %s", q, r.Body)
			}
		}
		n.MoganMustDo(200, "GET", "/v1/instances/detail?all_tenants=true", nil)
	})

	t.Run("bodies", func(t *testing.T) {
		for _, body := range []string{"nope", `[1]`, `"x"`} {
			r, _ := n.MoganDo("POST", "/v1/instances", body)
			systemtest.ExpectMoganError(t, r, 400, "Invalid create body: the request body is not valid JSON")
		}
		r, _ := n.MoganDo("POST", "/v1/instances", "name=x", "Content-Type: text/plain")
		systemtest.ExpectMoganError(t, r, 415, "Unsupported Content-Type")
		r, _ = n.MoganDo("POST", "/v1/types", `[]`)
		systemtest.ExpectMoganError(t, r, 400, "Invalid instance type body: the request body is not a JSON object")
	})
}

func TestMoganReadsAndPolicy(t *testing.T) {
	n := startNode(t)
	newBlazarHost(t, n, "h1", map[string]any{"availability_zone": "zone-b", "power_driver": "fake"})
	newBlazarHost(t, n, "h2", map[string]any{"availability_zone": "zone-a", "power_driver": "fake"})
	newBlazarHost(t, n, "h3", map[string]any{"availability_zone": "zone-b", "power_driver": "fake"})
	newBlazarHost(t, n, "h4", map[string]any{"power_driver": "fake"})

	t.Run("availability zones", func(t *testing.T) {
		r := n.MoganMustDo(200, "GET", "/v1/availability_zones", nil, member("p1")...)
		if string(r.Body) != `{"availability_zones":["zone-a","zone-b"]}` {
			t.Fatalf("%s", r.Body)
		}
	})

	t.Run("types", func(t *testing.T) {
		r := n.MoganMustDo(200, "GET", "/v1/types", nil, member("p1")...)
		if string(r.Body) != `{"types":[]}` {
			t.Fatalf("%s", r.Body)
		}
		r, _ = n.MoganDo("GET", "/v1/types/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", nil)
		systemtest.ExpectMoganError(t, r, 404, "InstanceType 0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11 could not be found")
		// Writing types is the administrator's, refused before any lookup.
		for _, c := range []struct{ method, path, rule string }{
			{"POST", "/v1/types", "mogan:instance_type:create"},
			{"PUT", "/v1/types/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", "mogan:instance_type:update"},
			{"DELETE", "/v1/types/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", "mogan:instance_type:delete"},
		} {
			for _, roles := range [][]string{member("p1"), {"X-Project-Id: p1", "X-Roles: load-balancer_admin"}} {
				r, _ := n.MoganDo(c.method, c.path, `{"name": "t"}`, roles...)
				systemtest.ExpectMoganError(t, r, 403, "Access was denied to the following resource: "+c.rule)
			}
		}
	})
}

// --- instances through the grains (fake power driver) ---

const (
	moganImage = "7b4f5b46-0d5c-4a3c-9a5a-2f2b1c1e0d01"
	moganNet   = "c1a3e1a2-3b4c-4d5e-8f60-718293a4b5c6"
)

func newMoganType(t *testing.T, n *systemtest.Node, name string, extra ...map[string]string) string {
	t.Helper()
	body := map[string]any{"name": name, "description": "bare metal"}
	if len(extra) > 0 {
		body["extra_specs"] = extra[0]
	}
	r := n.MoganMustDo(201, "POST", "/v1/types", body)
	var ty map[string]any
	if err := json.Unmarshal(r.Body, &ty); err != nil {
		t.Fatal(err)
	}
	id, _ := ty["uuid"].(string)
	if id == "" || r.Header.Get("Location") != n.MoganURL("/v1/types/"+id) || ty["is_public"] != true {
		t.Fatalf("type: %s %v", r.Body, r.Header)
	}
	return id
}

func moganCreateBody(name, typeID string, more map[string]any) map[string]any {
	body := map[string]any{"name": name, "image_uuid": moganImage, "instance_type_uuid": typeID,
		"networks": []any{map[string]any{"net_id": moganNet}}}
	for k, v := range more {
		body[k] = v
	}
	return body
}

type moganInstance map[string]any

func decodeInstance(t *testing.T, r *systemtest.Response) moganInstance {
	t.Helper()
	var x moganInstance
	if err := json.Unmarshal(r.Body, &x); err != nil || x == nil {
		t.Fatalf("not an instance: %s", r.Body)
	}
	return x
}

// newMoganInstance creates an instance (201, Location) and returns it.
func newMoganInstance(t *testing.T, n *systemtest.Node, body map[string]any, headers ...string) moganInstance {
	t.Helper()
	r := n.MoganMustDo(201, "POST", "/v1/instances", body, headers...)
	x := decodeInstance(t, r)
	id, _ := x["uuid"].(string)
	if id == "" || r.Header.Get("Location") != n.MoganURL("/v1/instances/"+id) {
		t.Fatalf("create: %s %v", r.Body, r.Header)
	}
	return x
}

// waitInstance polls the instance until cond holds (bounded).
func waitInstance(t *testing.T, n *systemtest.Node, id string, within time.Duration, what string, cond func(moganInstance) bool, headers ...string) moganInstance {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *systemtest.Response
	for time.Now().Before(deadline) {
		r, err := n.MoganDo("GET", "/v1/instances/"+id, nil, headers...)
		if err == nil && r.Status == 200 {
			if x := decodeInstance(t, r); cond(x) {
				return x
			}
		}
		last = r
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("instance %s not %s within %v: %d %s", id, what, within, last.Status, last.Body)
	}
	t.Fatalf("instance %s not %s within %v", id, what, within)
	return nil
}

func statusIs(s string) func(moganInstance) bool {
	return func(x moganInstance) bool { return x["status"] == s }
}

// waitGone polls until the instance is 404 (purged after a delete).
func waitGone(t *testing.T, n *systemtest.Node, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r, err := n.MoganDo("GET", "/v1/instances/"+id, nil); err == nil && r.Status == 404 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("instance %s still there after %v", id, within)
}

func states(t *testing.T, n *systemtest.Node, id string) (power, target any) {
	t.Helper()
	r := n.MoganMustDo(200, "GET", "/v1/instances/"+id+"/states", nil)
	var s map[string]any
	if err := json.Unmarshal(r.Body, &s); err != nil || len(s) != 2 {
		t.Fatalf("states: %s", r.Body)
	}
	return s["power_state"], s["target_power_state"]
}

func TestMoganInstancesFakeDriver(t *testing.T) {
	n := startNode(t)
	newBlazarHost(t, n, "h1", map[string]any{"availability_zone": "zone-a", "power_driver": "fake"})
	newBlazarHost(t, n, "h2", map[string]any{"availability_zone": "zone-a"}) // no bmc: fake
	typeID := newMoganType(t, n, "small")

	p1, p2 := member("p1"), member("p2")
	x := newMoganInstance(t, n, moganCreateBody("one", typeID, map[string]any{"description": "first", "extra": map[string]any{"k": "v"}}), p1...)
	id := x["uuid"].(string)
	if x["status"] != "building" || x["name"] != "one" || x["project_id"] != "p1" || x["image_uuid"] != moganImage || x["instance_type_uuid"] != typeID {
		t.Fatalf("created: %v", x)
	}
	for _, f := range []string{"uuid", "name", "description", "project_id", "user_id", "status", "power_state", "instance_type_uuid",
		"image_uuid", "availability_zone", "network_info", "launched_at", "extra", "created_at", "updated_at", "links"} {
		if _, ok := x[f]; !ok {
			t.Fatalf("created: no %s: %v", f, x)
		}
	}
	x = waitInstance(t, n, id, 20*time.Second, "active", statusIs("active"), p1...)
	if x["power_state"] != "power on" || !isoUTC(x["launched_at"]) || !isoUTC(x["created_at"]) || !isoUTC(x["updated_at"]) {
		t.Fatalf("active: %v", x)
	}
	// keel creates no Neutron ports: network_info is the network asked for,
	// keyed by its id, with no MAC and no addresses (docs/mogan-deviations.md).
	if ni, _ := json.Marshal(x["network_info"]); string(ni) != `{"`+moganNet+`":{"fixed_ips":[],"mac_address":null,"network":"`+moganNet+`"}}` {
		t.Fatalf("network_info: %s", ni)
	}

	t.Run("create refused", func(t *testing.T) {
		r, _ := n.MoganDo("POST", "/v1/instances", map[string]any{"name": "x"}, p1...)
		systemtest.ExpectMoganError(t, r, 400, "Invalid create body: 'image_uuid' is a required property")
		r, _ = n.MoganDo("POST", "/v1/instances", moganCreateBody("x", "0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11", nil), p1...)
		systemtest.ExpectMoganError(t, r, 400, "InstanceType 0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11 could not be found")
		r, _ = n.MoganDo("POST", "/v1/instances", moganCreateBody("x", typeID, map[string]any{"availability_zone": "nowhere"}), p1...)
		systemtest.ExpectMoganError(t, r, 400, "The requested availability zone is not available")
	})

	t.Run("list detail show fields all_tenants", func(t *testing.T) {
		y := newMoganInstance(t, n, moganCreateBody("two", typeID, nil), p2...)
		waitInstance(t, n, y["uuid"].(string), 20*time.Second, "active", statusIs("active"), p2...)

		list := func(path string, headers ...string) []moganInstance {
			r := n.MoganMustDo(200, "GET", path, nil, headers...)
			var v struct{ Instances []moganInstance }
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatalf("%s: %s", path, r.Body)
			}
			return v.Instances
		}
		keys := func(x moganInstance) string {
			var ks []string
			for k := range x {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			return strings.Join(ks, ",")
		}
		if xs := list("/v1/instances", p1...); len(xs) != 1 || xs[0]["uuid"] != id || keys(xs[0]) != "description,links,name,status,uuid" {
			t.Fatalf("list: %v", xs)
		}
		// all_tenants widens the list only for an administrator (ignored for others, no 403).
		if xs := list("/v1/instances?all_tenants=1", p1...); len(xs) != 1 {
			t.Fatalf("member all_tenants: %v", xs)
		}
		if xs := list("/v1/instances?all_tenants=yes", "X-Project-Id: p3", "X-Roles: admin"); len(xs) != 2 {
			t.Fatalf("admin all_tenants: %v", xs)
		}
		if xs := list("/v1/instances", "X-Project-Id: p3", "X-Roles: admin"); len(xs) != 0 {
			t.Fatalf("admin without all_tenants: %v", xs)
		}
		if xs := list("/v1/instances?fields=NAME,+power_state,name,bogus", p1...); len(xs) != 1 || keys(xs[0]) != "links,name,power_state" {
			t.Fatalf("fields: %v", xs)
		}
		if xs := list("/v1/instances/detail", p1...); len(xs) != 1 || len(xs[0]) != 16 {
			t.Fatalf("detail: %v", xs)
		}
		r := n.MoganMustDo(200, "GET", "/v1/instances/"+id+"?fields=status", nil, p1...)
		if s := decodeInstance(t, r); keys(s) != "links,status" {
			t.Fatalf("show fields: %s", r.Body)
		}
		// Another project's instance is 403 naming the rule; an admin's is fine.
		r, _ = n.MoganDo("GET", "/v1/instances/"+id, nil, p2...)
		systemtest.ExpectMoganError(t, r, 403, "Access was denied to the following resource: mogan:instance:get")
		r, _ = n.MoganDo("PUT", "/v1/instances/"+id+"/states/power", `{"target": "off"}`, p2...)
		systemtest.ExpectMoganError(t, r, 403, "Access was denied to the following resource: mogan:instance:set_power_state")
		r, _ = n.MoganDo("DELETE", "/v1/instances/"+id, nil, p2...)
		systemtest.ExpectMoganError(t, r, 403, "Access was denied to the following resource: mogan:instance:delete")
		n.MoganMustDo(200, "GET", "/v1/instances/"+id, nil, "X-Project-Id: p3", "X-Roles: admin")
		n.MoganMustDo(204, "DELETE", "/v1/instances/"+y["uuid"].(string), nil, p2...)
		waitGone(t, n, y["uuid"].(string), 20*time.Second)
	})

	t.Run("json patch", func(t *testing.T) {
		r := n.MoganMustDo(200, "PATCH", "/v1/instances/"+id, `[{"op": "replace", "path": "/name", "value": "renamed"},
			{"op": "add", "path": "/extra/k2", "value": "v2"}, {"op": "remove", "path": "/description"}]`, p1...)
		if x := decodeInstance(t, r); x["name"] != "renamed" || x["description"] != nil || len(x["extra"].(map[string]any)) != 2 {
			t.Fatalf("patched: %s", r.Body)
		}
		for _, c := range []struct{ body, msg string }{
			{`{"op": "replace"}`, "Invalid input for field/attribute patch. Value: ''. Value should be a list of JSON patch operations"},
			{`[{"op": "move", "from": "/name", "path": "/description"}]`, "Invalid input for field/attribute op. Value: 'move'. Value should be one of: add, remove, replace"},
			{`[{"op": "replace", "path": "/status", "value": "active"}]`, "'/status' is an internal attribute and can not be updated"},
			{`[{"op": "replace", "path": "/image_uuid", "value": "` + moganImage + `"}]`, "'/image_uuid' is an internal attribute and can not be updated"},
			{`[{"op": "remove", "path": "/name"}]`, "'/name' is a mandatory attribute and can not be removed"},
			{`[{"op": "add", "path": "/foo", "value": "x"}]`, "Adding a new attribute (/foo) to the root of the resource is not allowed"},
			{`[{"op": "replace", "path": "/name"}]`, "'add' and 'replace' operations need a value"},
			{`[{"op": "replace", "path": "name", "value": "x"}]`, `Invalid input for field/attribute path. Value: 'name'. Value should match the pattern ^(/[\w-]+)+$`},
		} {
			r, _ := n.MoganDo("PATCH", "/v1/instances/"+id, c.body, p1...)
			systemtest.ExpectMoganError(t, r, 400, c.msg)
		}
	})

	t.Run("power", func(t *testing.T) {
		r := n.MoganMustDo(202, "PUT", "/v1/instances/"+id+"/states/power", `{"target": "off"}`, p1...)
		if len(r.Body) != 0 || r.Header.Get("Location") != n.MoganURL("/v1/instances/"+id+"/states") {
			t.Fatalf("power off: %q %v", r.Body, r.Header)
		}
		waitInstance(t, n, id, 20*time.Second, "stopped", func(x moganInstance) bool {
			return x["status"] == "stopped" && x["power_state"] == "power off"
		}, p1...)
		if ps, tps := states(t, n, id); ps != "power off" || tps != nil {
			t.Fatalf("states: %v %v", ps, tps)
		}
		r, _ = n.MoganDo("PUT", "/v1/instances/"+id+"/states/power", `{"target": "off"}`, p1...)
		systemtest.ExpectMoganError(t, r, 400, "Can not transition from state 'stopped' on event 'stop' (no defined transition)")
		for _, body := range []string{`{"target": "sideways"}`, `{}`, `{"target": 1}`} {
			r, _ = n.MoganDo("PUT", "/v1/instances/"+id+"/states/power", body, p1...)
			systemtest.ExpectMoganError(t, r, 400, "Unacceptable parameters.")
		}
		n.MoganMustDo(202, "PUT", "/v1/instances/"+id+"/states/power", `{"target": "on"}`, p1...)
		waitInstance(t, n, id, 20*time.Second, "active", func(x moganInstance) bool {
			return x["status"] == "active" && x["power_state"] == "power on"
		}, p1...)
		n.MoganMustDo(202, "PUT", "/v1/instances/"+id+"/states/power", `{"target": "reboot"}`, p1...)
		waitInstance(t, n, id, 20*time.Second, "active after reboot", func(x moganInstance) bool {
			return x["status"] == "active" && x["power_state"] == "power on"
		}, p1...)
	})

	t.Run("types", func(t *testing.T) {
		r := n.MoganMustDo(200, "PUT", "/v1/types/"+typeID, `{"description": "renamed", "extra_specs": {"cpu": "x86"}}`)
		var ty map[string]any
		if err := json.Unmarshal(r.Body, &ty); err != nil || ty["description"] != "renamed" || ty["name"] != "small" || !isoUTC(ty["updated_at"]) {
			t.Fatalf("type update: %s", r.Body)
		}
		n.MoganMustDo(200, "GET", "/v1/types/"+typeID, nil, p1...)
		r, _ = n.MoganDo("DELETE", "/v1/types/"+typeID, nil)
		systemtest.ExpectMoganError(t, r, 409, "")
		private := n.MoganMustDo(201, "POST", "/v1/types", `{"name": "hidden", "is_public": false}`)
		var pt map[string]any
		_ = json.Unmarshal(private.Body, &pt)
		if r := n.MoganMustDo(200, "GET", "/v1/types", nil, p1...); strings.Contains(string(r.Body), "hidden") {
			t.Fatalf("a member sees a private type: %s", r.Body)
		}
		r, _ = n.MoganDo("GET", "/v1/types/"+pt["uuid"].(string), nil, p1...)
		systemtest.ExpectMoganError(t, r, 404, "")
		n.MoganMustDo(204, "DELETE", "/v1/types/"+pt["uuid"].(string), nil)
	})

	t.Run("delete", func(t *testing.T) {
		n.MoganMustDo(204, "DELETE", "/v1/instances/"+id, nil, p1...)
		waitGone(t, n, id, 20*time.Second)
		if r := n.MoganMustDo(200, "GET", "/v1/instances/detail", nil, p1...); string(r.Body) != `{"instances":[]}` {
			t.Fatalf("after delete: %s", r.Body)
		}
		n.MoganMustDo(204, "DELETE", "/v1/types/"+typeID, nil)
	})
}

var isoUTCRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)

func isoUTC(v any) bool { s, _ := v.(string); return isoUTCRE.MatchString(s) }

// /v1/types/{uuid}/extraspecs: the type's extra_specs alone (GET anyone who
// may see the type; PATCH merges, 202; DELETE one key, 204; writes the
// administrator's), and they are what the scheduler matches against the
// hosts' properties.
func TestMoganTypeExtraSpecs(t *testing.T) {
	n := startNode(t)
	newBlazarHost(t, n, "gpu-host", map[string]any{"power_driver": "fake", "gpu": "a100"})
	typeID := newMoganType(t, n, "gpu")
	specs := "/v1/types/" + typeID + "/extraspecs"
	p1 := member("p1")
	unknown := "/v1/types/0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11/extraspecs"

	if r := n.MoganMustDo(200, "GET", specs, nil, p1...); string(r.Body) != `{"extra_specs":{}}` {
		t.Fatalf("no specs: %s", r.Body)
	}
	r := n.MoganMustDo(202, "PATCH", specs, `{"gpu": "h100", "capabilities:cpu_arch": "x86_64"}`)
	if string(r.Body) != `{"extra_specs":{"capabilities:cpu_arch":"x86_64","gpu":"h100"}}` {
		t.Fatalf("patch: %s", r.Body)
	}
	// The type shows the same map.
	var ty struct {
		ExtraSpecs map[string]string `json:"extra_specs"`
	}
	if err := json.Unmarshal(n.MoganMustDo(200, "GET", "/v1/types/"+typeID, nil, p1...).Body, &ty); err != nil ||
		len(ty.ExtraSpecs) != 2 || ty.ExtraSpecs["gpu"] != "h100" {
		t.Fatalf("type after the patch: %v %v", ty, err)
	}

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct{ method, path, rule string }{
			{"PATCH", specs, "mogan:instance_type:extra_specs:update"},
			{"DELETE", specs + "/gpu", "mogan:instance_type:extra_specs:delete"},
			{"PATCH", unknown, "mogan:instance_type:extra_specs:update"}, // before any lookup
		} {
			r, _ := n.MoganDo(c.method, c.path, `{"gpu": "x"}`, p1...)
			systemtest.ExpectMoganError(t, r, 403, "Access was denied to the following resource: "+c.rule)
		}
		for _, body := range []string{`[]`, `{"gpu": 1}`, `{"": "x"}`, `"gpu"`} {
			r, _ := n.MoganDo("PATCH", specs, body)
			systemtest.ExpectMoganError(t, r, 400, "")
		}
		r, _ := n.MoganDo("PATCH", specs, `{"gpu": 1}`)
		systemtest.ExpectMoganError(t, r, 400, "Invalid extra specs body: the request body is not a JSON object of strings")
		r, _ = n.MoganDo("DELETE", specs+"/nothing", nil)
		systemtest.ExpectMoganError(t, r, 404, "InstanceType "+typeID+" has no extra specs with key nothing")
		for _, c := range []struct{ method, path string }{{"GET", unknown}, {"PATCH", unknown}, {"DELETE", unknown + "/gpu"}} {
			r, _ := n.MoganDo(c.method, c.path, `{"gpu": "x"}`)
			systemtest.ExpectMoganError(t, r, 404, "InstanceType 0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11 could not be found")
		}
		private := n.MoganMustDo(201, "POST", "/v1/types", `{"name": "hidden", "is_public": false}`)
		var pt map[string]any
		_ = json.Unmarshal(private.Body, &pt)
		r, _ = n.MoganDo("GET", "/v1/types/"+pt["uuid"].(string)+"/extraspecs", nil, p1...)
		systemtest.ExpectMoganError(t, r, 404, "")
		n.MoganMustDo(200, "GET", "/v1/types/"+pt["uuid"].(string)+"/extraspecs", nil)
	})

	t.Run("the scheduler matches them", func(t *testing.T) {
		// gpu=h100: no host has it.
		x := newMoganInstance(t, n, moganCreateBody("no-gpu", typeID, nil), p1...)
		waitInstance(t, n, x["uuid"].(string), 20*time.Second, "error", statusIs("error"), p1...)
		n.MoganMustDo(204, "DELETE", "/v1/instances/"+x["uuid"].(string), nil, p1...)
		waitGone(t, n, x["uuid"].(string), 20*time.Second)
		// A key removed no longer constrains; a key changed to the host's
		// value matches (capabilities: is dropped, as Nova writes it).
		n.MoganMustDo(204, "DELETE", specs+"/capabilities:cpu_arch", nil)
		r := n.MoganMustDo(202, "PATCH", specs, `{"capabilities:gpu": "a100"}`)
		n.MoganMustDo(204, "DELETE", specs+"/gpu", nil)
		if r = n.MoganMustDo(200, "GET", specs, nil); string(r.Body) != `{"extra_specs":{"capabilities:gpu":"a100"}}` {
			t.Fatalf("specs: %s", r.Body)
		}
		y := newMoganInstance(t, n, moganCreateBody("gpu", typeID, nil), p1...)
		waitInstance(t, n, y["uuid"].(string), 20*time.Second, "active", statusIs("active"), p1...)
	})
}
