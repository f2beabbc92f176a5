package http_test

import (
	"encoding/json"
	"strings"
	"testing"

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
		systemtest.ExpectMoganError(t, r, 400, "Invalid input for field/attribute instance_type. Value: ''. Value should be a JSON object")
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
		systemtest.ExpectMoganError(t, r, 404, "InstanceType 0b8a0f4e-46cf-4a4f-9f2e-3e2e7c1d2a11 could not be found.")
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
