package http_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// The Blazar v1 listener through a real keeld (-blazar-addr).

var (
	blazarDateRE      = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)
	blazarTimestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)
)

func member(project string) []string { return []string{"X-Project-Id: " + project, "X-Roles: member"} }

// blazarMinute is t in Blazar's date format.
func blazarMinute(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func TestBlazarVersionsAndErrors(t *testing.T) {
	n := startNode(t)

	t.Run("versions", func(t *testing.T) {
		for _, path := range []string{"/", "/versions"} {
			r := n.BlazarMustDo(300, "GET", path, nil)
			var doc struct {
				Versions []struct {
					ID, Status string
					MinVersion string `json:"min_version"`
					MaxVersion string `json:"max_version"`
					Links      []struct{ Href, Rel string }
				}
			}
			if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc.Versions) != 1 {
				t.Fatalf("%s: %s", path, r.Body)
			}
			v := doc.Versions[0]
			if v.ID != "v1.0" || v.Status != "CURRENT" || v.MinVersion != "1.0" || v.MaxVersion != "1.0" || len(v.Links) != 1 || v.Links[0].Href != n.BlazarURL("/v1") || v.Links[0].Rel != "self" {
				t.Fatalf("%s: %s", path, r.Body)
			}
		}
	})

	t.Run("microversion", func(t *testing.T) {
		for _, h := range []string{"", "OpenStack-API-Version: reservation 1.0", "OpenStack-API-Version: reservation latest",
			"OpenStack-API-Version: compute 2.70"} {
			var headers []string
			if h != "" {
				headers = []string{h}
			}
			r := n.BlazarMustDo(200, "GET", "/v1/leases", nil, headers...)
			if r.Header.Get("Vary") != "OpenStack-API-Version" || r.Header.Get("OpenStack-API-Version") != "reservation 1.0" ||
				!strings.HasPrefix(r.Header.Get("X-Openstack-Request-Id"), "req-") {
				t.Fatalf("%q: headers %v", h, r.Header)
			}
		}
		r, _ := n.BlazarDo("GET", "/v1/leases", nil, "OpenStack-API-Version: reservation 1.1")
		systemtest.ExpectBlazarError(t, r, 406, "Version 1.1 is not supported by the API. Minimum is 1.0 and maximum is 1.0.")
		r, _ = n.BlazarDo("GET", "/v1/leases", nil, "OpenStack-API-Version: reservation abc")
		systemtest.ExpectBlazarError(t, r, 400, "API Version String abc is of invalid format. Must be of format MajorNum.MinorNum.")
	})

	t.Run("json suffix", func(t *testing.T) {
		n.BlazarMustDo(200, "GET", "/v1/leases.json", nil)
		n.BlazarMustDo(200, "GET", "/v1/os-hosts.json", nil)
		n.BlazarMustDo(200, "GET", "/v1/os-hosts/allocations.json", nil)
		n.BlazarMustDo(200, "GET", "/v1/os-hosts/properties.json", nil)
		r, _ := n.BlazarDo("GET", "/v1/leases/nope.json", nil)
		systemtest.ExpectBlazarError(t, r, 404, "Object with {'lease_id': 'nope'} not found")
	})

	t.Run("routing", func(t *testing.T) {
		r, _ := n.BlazarDo("GET", "/v1/nothing", nil)
		systemtest.ExpectBlazarError(t, r, 404, "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.")
		r, _ = n.BlazarDo("PATCH", "/v1/leases", "{}")
		systemtest.ExpectBlazarError(t, r, 405, "The method is not allowed for the requested URL.")
		// The Octavia API is not on this listener.
		r, _ = n.BlazarDo("GET", "/v2/lbaas/loadbalancers", nil)
		systemtest.ExpectBlazarError(t, r, 404, "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.")
	})

	t.Run("bodies", func(t *testing.T) {
		r, _ := n.BlazarDo("POST", "/v1/leases", "name=x", "Content-Type: text/plain")
		systemtest.ExpectBlazarError(t, r, 400, "Content type 'text/plain' isn't supported")
		r, _ = n.BlazarDo("POST", "/v1/leases", "[1, 2]")
		systemtest.ExpectBlazarError(t, r, 400, "The request body must be a JSON object.")
		r, _ = n.BlazarDo("POST", "/v1/os-hosts", `{"name": `)
		systemtest.ExpectBlazarError(t, r, 400, "The request body is not valid JSON.")
		// An empty body is {} (Blazar's own checks answer).
		r, _ = n.BlazarDo("POST", "/v1/leases", nil)
		if r.Status != 400 || !strings.Contains(string(r.Body), "Missing parameter") {
			t.Fatalf("empty lease body: %d %s", r.Status, r.Body)
		}
	})

	t.Run("no accept header", func(t *testing.T) {
		// Go's client sends no Accept header: Blazar would crash (500 text/plain).
		r := n.BlazarMustDo(200, "GET", "/v1/os-hosts", nil)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
	})
}

// newBlazarHost enrolls a host (as the administrator) and returns its id.
func newBlazarHost(t *testing.T, n *systemtest.Node, name string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"name": name}
	for k, v := range extra {
		body[k] = v
	}
	r := n.BlazarMustDo(201, "POST", "/v1/os-hosts", body)
	return systemtest.CreatedID(t, r)
}

type blazarHostView map[string]any

func decodeHost(t *testing.T, r *systemtest.Response) blazarHostView {
	t.Helper()
	var v struct{ Host blazarHostView }
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Host == nil {
		t.Fatalf("no host in %s", r.Body)
	}
	return v.Host
}

func TestBlazarHosts(t *testing.T) {
	n := startNode(t)
	const secret = "bmc-s3cret-pw"
	id := newBlazarHost(t, n, "node-1", map[string]any{"vcpus": 16, "memory_mb": 65536, "local_gb": 500,
		"gpu": "a100", "bmc_address": "10.0.0.5", "bmc_username": "root", "bmc_password": secret, "power_driver": "fake"})

	r := n.BlazarMustDo(200, "GET", "/v1/os-hosts/"+id, nil)
	h := decodeHost(t, r)
	if h["id"] != id || h["hypervisor_hostname"] != "node-1" || h["vcpus"] != float64(16) || h["memory_mb"] != float64(65536) ||
		h["local_gb"] != float64(500) || h["gpu"] != "a100" || h["status"] != nil || h["reservable"] != true ||
		h["trust_id"] != nil || h["updated_at"] != nil {
		t.Fatalf("host: %s", r.Body)
	}
	if s, _ := h["created_at"].(string); !blazarTimestampRE.MatchString(s) {
		t.Fatalf("created_at %q", h["created_at"])
	}
	for _, col := range []string{"service_name", "cpu_info", "hypervisor_type", "hypervisor_version", "availability_zone"} {
		if _, ok := h[col]; !ok {
			t.Fatalf("no %s in %s", col, r.Body)
		}
	}

	t.Run("list", func(t *testing.T) {
		r := n.BlazarMustDo(200, "GET", "/v1/os-hosts", nil)
		var v struct{ Hosts []blazarHostView }
		if json.Unmarshal(r.Body, &v) != nil || len(v.Hosts) != 1 || v.Hosts[0]["id"] != id {
			t.Fatalf("list: %s", r.Body)
		}
	})

	t.Run("update: capabilities, a column shadowed", func(t *testing.T) {
		r := n.BlazarMustDo(200, "PUT", "/v1/os-hosts/"+id, `{"gpu": "h100", "vcpus": 99, "rack": "r1"}`)
		h := decodeHost(t, r)
		if h["gpu"] != "h100" || h["vcpus"] != "99" || h["rack"] != "r1" || h["updated_at"] == nil {
			t.Fatalf("update: %s", r.Body)
		}
		r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/"+id, nil)
		if h := decodeHost(t, r); h["vcpus"] != "99" {
			t.Fatalf("show after update: %s", r.Body)
		}
	})

	t.Run("admin only", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, rule string }{
			{"GET", "/v1/os-hosts", "", "get"},
			{"GET", "/v1/os-hosts/" + id, "", "get"},
			{"POST", "/v1/os-hosts", `{"name": "x"}`, "post"},
			{"PUT", "/v1/os-hosts/" + id, `{"a": "b"}`, "put"},
			{"DELETE", "/v1/os-hosts/" + id, "", "delete"},
			{"GET", "/v1/os-hosts/allocations", "", "get_allocations"},
			{"GET", "/v1/os-hosts/" + id + "/allocation", "", "get_allocations"},
			{"GET", "/v1/os-hosts/properties", "", "get_resource_properties"},
			{"PATCH", "/v1/os-hosts/properties/gpu", `{"private": true}`, "update_resource_properties"},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			r, _ := n.BlazarDo(c.method, c.path, body, member("p1")...)
			systemtest.ExpectBlazarError(t, r, 403, "Policy doesn't allow blazar:oshosts:"+c.rule+" to be performed")
		}
	})

	t.Run("properties", func(t *testing.T) {
		r := n.BlazarMustDo(200, "GET", "/v1/os-hosts/properties", nil)
		if !strings.Contains(string(r.Body), `{"property":"gpu"}`) || strings.Contains(string(r.Body), "bmc") {
			t.Fatalf("properties: %s", r.Body)
		}
		r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/properties?detail=True", nil)
		if !strings.Contains(string(r.Body), `{"property":"gpu","private":false,"values":["h100"]}`) {
			t.Fatalf("properties detail: %s", r.Body)
		}
		r = n.BlazarMustDo(200, "PATCH", "/v1/os-hosts/properties/gpu", `{"private": true}`)
		var v struct {
			ResourceProperty map[string]any `json:"resource_property"`
		}
		if json.Unmarshal(r.Body, &v) != nil || v.ResourceProperty["property_name"] != "gpu" || v.ResourceProperty["private"] != true ||
			v.ResourceProperty["resource_type"] != "physical:host" {
			t.Fatalf("patch: %s", r.Body)
		}
		if s, _ := v.ResourceProperty["created_at"].(string); !blazarDateRE.MatchString(s) {
			t.Fatalf("property created_at %q", v.ResourceProperty["created_at"])
		}
		r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/properties", nil)
		if strings.Contains(string(r.Body), `"gpu"`) {
			t.Fatalf("a private property listed without all: %s", r.Body)
		}
		r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/properties?all=True&detail=1", nil)
		if !strings.Contains(string(r.Body), `{"property":"gpu","private":true,"values":["h100"]}`) {
			t.Fatalf("properties all: %s", r.Body)
		}
	})

	t.Run("the BMC password is never shown nor logged", func(t *testing.T) {
		for _, path := range []string{"/v1/os-hosts", "/v1/os-hosts/" + id, "/v1/os-hosts/properties?all=1&detail=1", "/v1/os-hosts/allocations"} {
			r := n.BlazarMustDo(200, "GET", path, nil)
			if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), "bmc_password") {
				t.Fatalf("%s shows the BMC password: %s", path, r.Body)
			}
		}
		r := n.BlazarMustDo(200, "PUT", "/v1/os-hosts/"+id, `{"bmc_password": "another-s3cret"}`)
		if strings.Contains(string(r.Body), "s3cret") {
			t.Fatalf("update shows the BMC password: %s", r.Body)
		}
		log, _ := os.ReadFile(n.LogPath)
		if strings.Contains(string(log), "s3cret") {
			t.Fatal("the node's log holds a BMC password")
		}
	})

	t.Run("delete", func(t *testing.T) {
		n.BlazarMustDo(204, "DELETE", "/v1/os-hosts/"+id, nil)
		r, _ := n.BlazarDo("GET", "/v1/os-hosts/"+id, nil)
		systemtest.ExpectBlazarError(t, r, 404, fmt.Sprintf("Object with {'host_id': '%s'} not found", id))
		r, _ = n.BlazarDo("DELETE", "/v1/os-hosts/"+id, nil)
		systemtest.ExpectBlazarError(t, r, 404, fmt.Sprintf("Object with {'host_id': '%s'} not found", id))
	})
}

type blazarLease struct {
	ID, Name, Status string
	UserID           string `json:"user_id"`
	ProjectID        string `json:"project_id"`
	StartDate        string `json:"start_date"`
	EndDate          string `json:"end_date"`
	TrustID          any    `json:"trust_id"`
	Degraded         *bool
	CreatedAt        string `json:"created_at"`
	UpdatedAt        any    `json:"updated_at"`
	Reservations     []map[string]any
	Events           []struct {
		ID, Status string
		LeaseID    string `json:"lease_id"`
		EventType  string `json:"event_type"`
		Time       string
		CreatedAt  string `json:"created_at"`
	}
}

func decodeLease(t *testing.T, r *systemtest.Response) blazarLease {
	t.Helper()
	var v struct{ Lease blazarLease }
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Lease.ID == "" {
		t.Fatalf("no lease in %s", r.Body)
	}
	return v.Lease
}

// leaseBody is a create body for one physical:host reservation.
func leaseBody(name, start, end string, min, max int) map[string]any {
	return map[string]any{"name": name, "start_date": start, "end_date": end, "events": []any{}, "before_end_date": nil,
		"reservations": []any{map[string]any{"resource_type": "physical:host", "min": min, "max": max,
			"hypervisor_properties": "", "resource_properties": ""}}}
}

func TestBlazarLeases(t *testing.T) {
	n := startNode(t)
	hostA := newBlazarHost(t, n, "host-a", nil)
	hostB := newBlazarHost(t, n, "host-b", nil)
	end := blazarMinute(time.Now().Add(2 * time.Hour))

	r := n.BlazarMustDo(201, "POST", "/v1/leases", leaseBody("mine", "now", end, 1, 1), member("p1")...)
	l := decodeLease(t, r)
	if l.Name != "mine" || l.ProjectID != "p1" || l.UserID == "" || l.TrustID != nil || l.Degraded == nil ||
		!blazarDateRE.MatchString(l.StartDate) || !blazarDateRE.MatchString(l.EndDate) ||
		!strings.HasPrefix(l.EndDate, strings.Replace(end, " ", "T", 1)+":00.000000") ||
		!blazarTimestampRE.MatchString(l.CreatedAt) || len(l.Reservations) != 1 || len(l.Events) != 3 {
		t.Fatalf("create: %s", r.Body)
	}
	res := l.Reservations[0]
	for _, k := range []string{"id", "lease_id", "resource_id", "resource_type", "status", "missing_resources", "resources_changed",
		"hypervisor_properties", "resource_properties", "before_end", "min", "max", "created_at", "updated_at"} {
		if _, ok := res[k]; !ok {
			t.Fatalf("reservation without %s: %s", k, r.Body)
		}
	}
	if res["lease_id"] != l.ID || res["resource_type"] != "physical:host" || res["min"] != float64(1) {
		t.Fatalf("reservation: %s", r.Body)
	}
	for _, ev := range l.Events {
		if ev.LeaseID != l.ID || !blazarDateRE.MatchString(ev.Time) || !blazarTimestampRE.MatchString(ev.CreatedAt) || ev.ID == "" {
			t.Fatalf("event: %s", r.Body)
		}
	}
	// A lease starting now goes ACTIVE at once (keel fires events to the second).
	n.WaitLeaseStatus(l.ID, "ACTIVE", 5*time.Second)

	t.Run("another project: 403 naming get", func(t *testing.T) {
		for _, c := range []struct {
			method string
			body   any
		}{{"GET", nil}, {"PUT", `{"name": "stolen"}`}, {"DELETE", nil}} {
			r, _ := n.BlazarDo(c.method, "/v1/leases/"+l.ID, c.body, member("p2")...)
			systemtest.ExpectBlazarError(t, r, 403, "Policy doesn't allow blazar:leases:get to be performed")
		}
		r, _ := n.BlazarDo("GET", "/v1/leases/nope", nil, member("p2")...)
		systemtest.ExpectBlazarError(t, r, 404, "Object with {'lease_id': 'nope'} not found")
	})

	t.Run("list: own project, the administrator all", func(t *testing.T) {
		n.BlazarMustDo(201, "POST", "/v1/leases", leaseBody("theirs", "now", end, 1, 1), member("p2")...)
		count := func(headers ...string) (ids []string) {
			r := n.BlazarMustDo(200, "GET", "/v1/leases", nil, headers...)
			var v struct{ Leases []blazarLease }
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatalf("list: %s", r.Body)
			}
			for _, l := range v.Leases {
				ids = append(ids, l.ProjectID)
			}
			return ids
		}
		if got := count(member("p1")...); len(got) != 1 || got[0] != "p1" {
			t.Fatalf("p1 sees %v", got)
		}
		if got := count(); len(got) != 2 {
			t.Fatalf("the administrator sees %v", got)
		}
	})

	t.Run("allocations", func(t *testing.T) {
		r := n.BlazarMustDo(200, "GET", "/v1/os-hosts/allocations", nil)
		var v struct {
			Allocations []struct {
				ResourceID   string `json:"resource_id"`
				Reservations []struct {
					ID, StartDate, EndDate string
					LeaseID                string `json:"lease_id"`
				}
			}
		}
		if json.Unmarshal(r.Body, &v) != nil || len(v.Allocations) != 2 {
			t.Fatalf("allocations: %s", r.Body)
		}
		seen := 0
		for _, a := range v.Allocations {
			if a.ResourceID != hostA && a.ResourceID != hostB {
				t.Fatalf("allocations: %s", r.Body)
			}
			seen += len(a.Reservations)
		}
		if seen != 2 {
			t.Fatalf("want both leases allocated: %s", r.Body)
		}
		r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/allocations?lease_id="+l.ID, nil)
		if strings.Count(string(r.Body), `"lease_id"`) != 1 || !strings.Contains(string(r.Body), `"reservations":[{"id":"`+res["id"].(string)) {
			t.Fatalf("allocations of a lease: %s", r.Body)
		}
		for _, h := range []string{hostA, hostB} {
			r = n.BlazarMustDo(200, "GET", "/v1/os-hosts/"+h+"/allocation", nil)
			if !strings.Contains(string(r.Body), `{"allocation":{"resource_id":"`+h+`","reservations":[{"id":`) ||
				!strings.Contains(string(r.Body), `"start_date":"`) {
				t.Fatalf("allocation of %s: %s", h, r.Body)
			}
		}
		// Both hosts are booked: a third lease over the window is 409.
		r, _ = n.BlazarDo("POST", "/v1/leases", leaseBody("third", "now", end, 1, 1), member("p1")...)
		systemtest.ExpectBlazarError(t, r, 409, "Not enough hosts available")
		// A reserved host cannot go.
		r, _ = n.BlazarDo("DELETE", "/v1/os-hosts/"+hostA, nil)
		systemtest.ExpectBlazarError(t, r, 409, fmt.Sprintf("Can't delete host %s. The host is reserved.", hostA))
	})

	t.Run("update and delete", func(t *testing.T) {
		r := n.BlazarMustDo(200, "PUT", "/v1/leases/"+l.ID, `{"name": "renamed"}`, member("p1")...)
		if u := decodeLease(t, r); u.Name != "renamed" || u.UpdatedAt == nil {
			t.Fatalf("rename: %s", r.Body)
		}
		newEnd := blazarMinute(time.Now().Add(3 * time.Hour))
		r = n.BlazarMustDo(200, "PUT", "/v1/leases/"+l.ID, `{"end_date": "`+newEnd+`"}`, member("p1")...)
		if u := decodeLease(t, r); !strings.HasPrefix(u.EndDate, strings.Replace(newEnd, " ", "T", 1)) {
			t.Fatalf("prolong: %s", r.Body)
		}
		r, _ = n.BlazarDo("PUT", "/v1/leases/"+l.ID, `{"end_date": "tomorrow"}`, member("p1")...)
		systemtest.ExpectBlazarError(t, r, 400, "tomorrow is an invalid date. Required format: %Y-%m-%d %H:%M")
		n.BlazarMustDo(204, "DELETE", "/v1/leases/"+l.ID, nil, member("p1")...)
		r, _ = n.BlazarDo("GET", "/v1/leases/"+l.ID, nil, member("p1")...)
		systemtest.ExpectBlazarError(t, r, 404, fmt.Sprintf("Object with {'lease_id': '%s'} not found", l.ID))
	})
}

// Bad lease bodies get Blazar's texts with keel's 4xx (docs/blazar-deviations.md)
// and leave nothing behind: no lease, no allocation.
func TestBlazarLeaseValidation(t *testing.T) {
	n := startNode(t)
	newBlazarHost(t, n, "v-1", map[string]any{"gpu": "a100"})
	end := blazarMinute(time.Now().Add(2 * time.Hour))
	res := func(kv ...any) map[string]any {
		r := map[string]any{"resource_type": "physical:host", "min": 1, "max": 1, "hypervisor_properties": "", "resource_properties": ""}
		for i := 0; i+1 < len(kv); i += 2 {
			r[kv[i].(string)] = kv[i+1]
		}
		return r
	}
	body := func(start, end string, rs ...map[string]any) map[string]any {
		list := []any{}
		for _, r := range rs {
			list = append(list, r)
		}
		return map[string]any{"name": "bad", "start_date": start, "end_date": end, "reservations": list}
	}
	for _, c := range []struct {
		what   string
		body   any
		status int
		msg    string
	}{
		{"no dates", map[string]any{"name": "x"}, 400, "Missing parameter start_date, end_date"},
		{"bad date", body("tomorrow", end, res()), 400, "tomorrow is an invalid date. Required format: %Y-%m-%d %H:%M"},
		{"start in the past", body("2001-01-01 00:00", end, res()), 400, "Start date must be later than current date"},
		{"end before start", body(end, blazarMinute(time.Now().Add(time.Hour)), res()), 400, "End date must be later than start date."},
		{"min above max", body("now", end, res("min", 2, "max", 1)), 400,
			"Invalid values for min/max of hosts. Max must be equal to or larger than min."},
		{"min below one", body("now", end, res("min", 0)), 400, "Malformed parameter min and max (must be greater than or equal to 1)"},
		{"min as a string", body("now", end, res("min", "1")), 400, "Malformed parameter min"},
		{"bad filter", body("now", end, res("resource_properties", `["==", "$gpu", 8]`)), 400, "Malformed requirements ['==', '$gpu', 8]"},
		{"unknown capability", body("now", end, res("resource_properties", `["==", "$nokey", "1"]`)), 400,
			"nokey ComputeHostExtraCapability was not found"},
		{"unknown resource type", body("now", end, res("resource_type", "foo:bar")), 400, "The foo:bar resource type is not supported"},
		{"virtual:instance", body("now", end, res("resource_type", "virtual:instance")), 400,
			"The virtual:instance resource type is not supported by keel yet; only physical:host is"},
		{"nothing matches", body("now", end, res("resource_properties", `["==", "$gpu", "h100"]`)), 409, "Not enough hosts available"},
		{"two hosts wanted, one exists", body("now", end, res("min", 2, "max", 2)), 409, "Not enough hosts available"},
		{"before_end_date outside", map[string]any{"name": "x", "start_date": "now", "end_date": end, "before_end_date": "2001-01-01 00:00",
			"reservations": []any{res()}}, 403, "Datetime is out of lease limits"},
	} {
		r, err := n.BlazarDo("POST", "/v1/leases", c.body, member("p1")...)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != c.status || !strings.Contains(string(r.Body), fmt.Sprintf(`"error_message":%q`, c.msg)) {
			t.Errorf("%s: %d %s, want %d %q", c.what, r.Status, r.Body, c.status, c.msg)
		}
	}
	if r := n.BlazarMustDo(200, "GET", "/v1/leases", nil); string(r.Body) != `{"leases":[]}` {
		t.Fatalf("refused creates left leases: %s", r.Body)
	}
	if r := n.BlazarMustDo(200, "GET", "/v1/os-hosts/allocations", nil); strings.Contains(string(r.Body), `"lease_id"`) {
		t.Fatalf("refused creates left allocations: %s", r.Body)
	}
}
