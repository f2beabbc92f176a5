package http_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

func TestMain(m *testing.M) { os.Exit(systemtest.Main(m)) }

const subnet = systemtest.Subnet

type lbView struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	ProvisioningStatus string   `json:"provisioning_status"`
	OperatingStatus    string   `json:"operating_status"`
	AdminStateUp       bool     `json:"admin_state_up"`
	ProjectID          string   `json:"project_id"`
	TenantID           string   `json:"tenant_id"`
	VipAddress         string   `json:"vip_address"`
	VipSubnetID        string   `json:"vip_subnet_id"`
	VipPortID          string   `json:"vip_port_id"`
	Provider           string   `json:"provider"`
	Tags               []string `json:"tags"`
}

func decodeLB(t *testing.T, r *systemtest.Response) lbView {
	t.Helper()
	var v struct {
		LoadBalancer lbView `json:"loadbalancer"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return v.LoadBalancer
}

type listView struct {
	LoadBalancers []map[string]interface{} `json:"loadbalancers"`
	Links         []struct {
		Href string `json:"href"`
		Rel  string `json:"rel"`
	} `json:"loadbalancers_links"`
}

func list(t *testing.T, n *systemtest.Node, path string, headers ...string) listView {
	t.Helper()
	r := n.MustDo(200, "GET", path, nil, headers...)
	var v listView
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return v
}

func names(v listView) []string {
	var out []string
	for _, lb := range v.LoadBalancers {
		out = append(out, lb["name"].(string))
	}
	return out
}

func startNode(t *testing.T) *systemtest.Node {
	n := systemtest.NewNode(t, "api")
	n.StartHealthy(60 * time.Second)
	return n
}

func TestLoadBalancerAPI(t *testing.T) {
	n := startNode(t)
	member := func(project string) []string { return []string{"X-Project-Id: " + project, "X-Roles: member"} }

	t.Run("create, show, lifecycle", func(t *testing.T) {
		r := n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(
			`{"loadbalancer":{"name":"web","description":"d","vip_subnet_id":%q,"tags":["a","b"],"admin_state_up":true}}`, subnet))
		lb := decodeLB(t, r)
		if lb.ProvisioningStatus != "PENDING_CREATE" || lb.OperatingStatus != "OFFLINE" || lb.ProjectID != "default" ||
			lb.TenantID != lb.ProjectID || lb.Provider != "amphora" || lb.VipAddress == "" || lb.VipSubnetID != subnet ||
			!slices.Equal(lb.Tags, []string{"a", "b"}) || r.Header.Get("x-openstack-request-id") == "" {
			t.Fatalf("create response: %+v", lb)
		}
		var raw map[string]interface{}
		json.Unmarshal(r.Body, &raw)
		for _, k := range []string{"id", "name", "description", "provisioning_status", "operating_status", "admin_state_up",
			"project_id", "tenant_id", "created_at", "updated_at", "vip_address", "vip_port_id", "vip_subnet_id",
			"vip_network_id", "vip_qos_policy_id", "provider", "flavor_id", "availability_zone", "listeners", "pools", "tags"} {
			if _, ok := raw["loadbalancer"].(map[string]interface{})[k]; !ok {
				t.Errorf("response lacks %s", k)
			}
		}
		n.WaitActive(lb.ID, 10*time.Second)
		got := decodeLB(t, n.MustDo(200, "GET", "/v2.0/lbaas/loadbalancers/"+lb.ID+".json", nil))
		// Operating status is measured: with the noop driver it stays OFFLINE (Octavia).
		if got.ProvisioningStatus != "ACTIVE" || got.OperatingStatus != "OFFLINE" || got.Name != "web" {
			t.Fatalf("after provisioning: %+v", got)
		}

		up := decodeLB(t, n.MustDo(200, "PUT", "/v2/lbaas/loadbalancers/"+lb.ID, `{"loadbalancer":{"name":"web2","tags":[]}}`))
		if up.ProvisioningStatus != "PENDING_UPDATE" || up.Name != "web2" || len(up.Tags) != 0 {
			t.Fatalf("update response: %+v", up)
		}
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/loadbalancers/"+lb.ID, `{"loadbalancer":{"name":"x"}}`), 409,
			"Invalid state PENDING_UPDATE of loadbalancer resource "+lb.ID)
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/loadbalancers/"+lb.ID, nil), 409,
			"Invalid state PENDING_UPDATE of loadbalancer resource "+lb.ID)
		n.WaitActive(lb.ID, 10*time.Second)
		n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lb.ID, nil)
		systemtest.Eventually(t, 10*time.Second, "deleted load balancer to be gone", func() bool {
			r, _ := n.Do("GET", "/v2/lbaas/loadbalancers/"+lb.ID, nil)
			return r.Status == 404
		})
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/loadbalancers/"+lb.ID, nil), 404, "Load Balancer "+lb.ID+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", "/v2/lbaas/loadbalancers/"+lb.ID, nil), 404, "Load Balancer "+lb.ID+" not found.")
	})

	t.Run("projects and roles", func(t *testing.T) {
		a := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers",
			fmt.Sprintf(`{"loadbalancer":{"name":"pa","vip_subnet_id":%q}}`, subnet), member("proj-a")...))
		if a.ProjectID != "proj-a" {
			t.Fatalf("project from X-Project-Id: %+v", a)
		}
		// A member may not create for, read, list or change another project's objects.
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/loadbalancers",
			fmt.Sprintf(`{"loadbalancer":{"project_id":"proj-a","vip_subnet_id":%q}}`, subnet), member("proj-b")...),
			403, "Policy does not allow this request to be performed.")
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/loadbalancers/"+a.ID, nil, member("proj-b")...),
			403, "Policy does not allow this request to be performed.")
		n.MustDo(403, "PUT", "/v2/lbaas/loadbalancers/"+a.ID, `{"loadbalancer":{"name":"x"}}`, member("proj-b")...)
		if got := list(t, n, "/v2/lbaas/loadbalancers", member("proj-b")...); len(got.LoadBalancers) != 0 {
			t.Fatalf("proj-b sees %v", names(got))
		}
		n.MustDo(403, "GET", "/v2/lbaas/loadbalancers?project_id=proj-a", nil, member("proj-b")...)
		if got := list(t, n, "/v2/lbaas/loadbalancers?project_id=proj-a"); !slices.Equal(names(got), []string{"pa"}) {
			t.Fatalf("admin filter by project: %v", names(got))
		}
		// An administrator creates on behalf of a project; tenant_id is the old name.
		b := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers",
			fmt.Sprintf(`{"loadbalancer":{"tenant_id":"proj-c","vip_subnet_id":%q}}`, subnet)))
		if b.ProjectID != "proj-c" || b.TenantID != "proj-c" {
			t.Fatalf("tenant_id: %+v", b)
		}
		c := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers",
			fmt.Sprintf(`{"loadbalancer":{"tenant_id":"x","project_id":"proj-d","vip_subnet_id":%q}}`, subnet)))
		if c.ProjectID != "proj-d" {
			t.Fatalf("project_id must win over tenant_id: %+v", c)
		}
	})

	t.Run("bad input writes nothing", func(t *testing.T) {
		before := len(list(t, n, "/v2/lbaas/loadbalancers").LoadBalancers)
		cases := []struct{ body, msg string }{
			{`{"loadbalancer":`, "Request is not in valid JSON format"},
			{``, `Missing argument: "load_balancer"`},
			{`{"lb":{}}`, "Unknown attribute for argument load_balancer: lb"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"color":"red"}}`, subnet), "Unknown attribute for argument load_balancer.loadbalancer: color"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"name":5}}`, subnet), "Invalid input for field/attribute name. Value: '5'. Wrong type. Expected 'str', got 'int'"},
			{`{"loadbalancer":{"vip_subnet_id":"not-a-uuid"}}`, "Invalid input for field/attribute vip_subnet_id. Value: 'not-a-uuid'. Value should be UUID format"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"vip_address":"300.1.1.1"}}`, subnet), "Invalid input for field/attribute vip_address. Value: '300.1.1.1'. Value should be IPv4 or IPv6 format"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"name":%q}}`, subnet, strings.Repeat("x", 256)), "Invalid input for field/attribute name. Value: '" + strings.Repeat("x", 256) + "'. Value should have a maximum character requirement of 255"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"admin_state_up":"maybe"}}`, subnet), "Invalid input for field/attribute admin_state_up. Value: 'maybe'. Value should be boolean"},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"tags":"a"}}`, subnet), "Invalid input for field/attribute tags. Value: 'a'. Value not a valid list: a"},
			{`{"loadbalancer":{"name":"novip"}}`, "Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"provider":"f5"}}`, subnet), "Provider 'f5' is not enabled."},
			{fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,"flavor_id":%q}}`, subnet, subnet), "Validation failure: Invalid flavor_id."},
			{`{"loadbalancer":[1]}`, "Invalid input for field/attribute loadbalancer. Value: '[1]'. Value should be an object"},
			{`{"loadbalancer":{"name":"` + strings.Repeat("x", 2<<20) + `"}}`, "Request is too large."},
		}
		for _, c := range cases {
			systemtest.ExpectFault(t, n.MustDo(400, "POST", "/v2/lbaas/loadbalancers", c.body), 400, c.msg)
		}
		id := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet))).ID
		// Immutable attributes are unknown to PUT.
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/loadbalancers/"+id, `{"loadbalancer":{"vip_address":"10.0.0.9"}}`), 400,
			"Unknown attribute for argument load_balancer.loadbalancer: vip_address")
		if after := len(list(t, n, "/v2/lbaas/loadbalancers").LoadBalancers); after != before+1 {
			t.Fatalf("%d load balancers after bad input, want %d", after, before+1)
		}
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/loadbalancers/nope", nil), 404, "Load Balancer nope not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/lbaas/loadbalancers/"+subnet, `{"loadbalancer":{}}`), 404, "Load Balancer "+subnet+" not found.")
		r := n.MustDo(404, "GET", "/v2/lbaas/nothing", nil)
		if !strings.Contains(string(r.Body), `"title":"Not Found"`) {
			t.Fatalf("routing 404 body: %s", r.Body)
		}
		n.MustDo(405, "PATCH", "/v2/lbaas/loadbalancers", nil)
	})
}

// TestLoadBalancerListing exercises seed 001's list conventions on load balancers.
func TestLoadBalancerListing(t *testing.T) {
	n := startNode(t)
	var ids []string
	for i, spec := range []struct {
		name string
		up   bool
		tags string
	}{{"alpha", true, `["x","y"]`}, {"bravo", false, `["x"]`}, {"charlie", true, `["y"]`}, {"delta", true, `[]`}, {"echo", false, `["x","z"]`}} {
		body := fmt.Sprintf(`{"loadbalancer":{"name":%q,"description":"d%d","admin_state_up":%v,"vip_subnet_id":%q,"tags":%s}}`,
			spec.name, i%2, spec.up, subnet, spec.tags)
		ids = append(ids, decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", body)).ID)
	}
	for _, id := range ids {
		n.WaitActive(id, 10*time.Second)
	}
	all := []string{"alpha", "bravo", "charlie", "delta", "echo"}

	checks := []struct {
		path string
		want []string
	}{
		{"/v2/lbaas/loadbalancers", all},
		{"/v2/lbaas/loadbalancers.json", all},
		{"/v2/lbaas/loadbalancers?name=charlie", []string{"charlie"}},
		{"/v2/lbaas/loadbalancers?admin_state_up=false", []string{"bravo", "echo"}},
		{"/v2/lbaas/loadbalancers?admin_state_up=true&description=d0", []string{"alpha", "charlie"}},
		// The noop driver measures nothing: every load balancer stays OFFLINE.
		{"/v2/lbaas/loadbalancers?operating_status=OFFLINE&provisioning_status=ACTIVE&admin_state_up=true", []string{"alpha", "charlie", "delta"}},
		{"/v2/lbaas/loadbalancers?operating_status=ONLINE", nil},
		{"/v2/lbaas/loadbalancers?tags=x", []string{"alpha", "bravo", "echo"}},
		{"/v2/lbaas/loadbalancers?tags=x,y", []string{"alpha"}},
		{"/v2/lbaas/loadbalancers?tags-any=y,z", []string{"alpha", "charlie", "echo"}},
		{"/v2/lbaas/loadbalancers?not-tags=x", []string{"charlie", "delta"}},
		{"/v2/lbaas/loadbalancers?not-tags-any=y&not-tags-any=z", []string{"bravo", "delta"}},
		{"/v2/lbaas/loadbalancers?id=" + ids[3], []string{"delta"}},
		{"/v2/lbaas/loadbalancers?sort=name:desc", []string{"echo", "delta", "charlie", "bravo", "alpha"}},
		{"/v2/lbaas/loadbalancers?sort=admin_state_up:asc,name:desc", []string{"echo", "bravo", "delta", "charlie", "alpha"}},
		{"/v2/lbaas/loadbalancers?sort_key=description,name&sort_dir=desc,asc", []string{"bravo", "delta", "alpha", "charlie", "echo"}},
		{"/v2/lbaas/loadbalancers?sort_key=admin_state_up&sort_key=name&sort_dir=desc&sort_dir=desc", []string{"delta", "charlie", "alpha", "echo", "bravo"}},
	}
	for _, c := range checks {
		if got := names(list(t, n, c.path)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
	}

	// fields (repeatable) on lists and on show.
	v := list(t, n, "/v2/lbaas/loadbalancers?fields=id&fields=name&name=alpha")
	if len(v.LoadBalancers) != 1 || len(v.LoadBalancers[0]) != 2 {
		t.Fatalf("fields on list: %v", v.LoadBalancers)
	}
	var one map[string]map[string]interface{}
	json.Unmarshal(n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+ids[0]+"?fields=tenant_id", nil).Body, &one)
	if len(one["loadbalancer"]) != 1 || one["loadbalancer"]["tenant_id"] != "default" {
		t.Fatalf("fields on show: %v", one)
	}

	// Pagination: follow "next" links to the end, then "previous" links back.
	page := list(t, n, "/v2/lbaas/loadbalancers.json?limit=2&sort=name:asc")
	var forward []string
	for hops := 0; hops < 10; hops++ {
		forward = append(forward, names(page)...)
		next := link(page, "next")
		if next == "" {
			break
		}
		if !strings.Contains(next, "/v2/lbaas/loadbalancers.json?") || !strings.Contains(next, "sort=name%3Aasc") {
			t.Fatalf("next link %q", next)
		}
		page = followLink(t, n, next)
	}
	if !slices.Equal(forward, all) {
		t.Fatalf("paged forward %v", forward)
	}
	if len(page.LoadBalancers) != 1 || link(page, "previous") == "" {
		t.Fatalf("last page: %v links %v", names(page), page.Links)
	}
	var backward []string
	for hops := 0; hops < 10; hops++ {
		prev := link(page, "previous")
		if prev == "" {
			break
		}
		page = followLink(t, n, prev)
		if !strings.Contains(prev, "page_reverse=True") || link(page, "next") == "" {
			t.Fatalf("previous page %v links %v", names(page), page.Links)
		}
		backward = append(names(page), backward...)
	}
	if !slices.Equal(backward, all[:4]) {
		t.Fatalf("paged backward %v", backward)
	}
	// Links keep filters.
	page = list(t, n, "/v2/lbaas/loadbalancers?limit=1&admin_state_up=false")
	page = followLink(t, n, link(page, "next"))
	if !slices.Equal(names(page), []string{"echo"}) {
		t.Fatalf("filtered second page %v", names(page))
	}

	// Bad list parameters.
	for path, msg := range map[string]string{
		"/v2/lbaas/loadbalancers?sort=bogus":                "Supplied sort key 'bogus' is not valid.",
		"/v2/lbaas/loadbalancers?sort=name:up":              "Supplied sort direction 'up' is not valid.",
		"/v2/lbaas/loadbalancers?sort_key=name&sort_dir=up": "Supplied sort direction 'up' is not valid.",
		"/v2/lbaas/loadbalancers?sort_key=tags":             "Supplied sort key 'tags' is not valid.",
		"/v2/lbaas/loadbalancers?limit=abc":                 "Supplied pagination limit 'abc' is not valid.",
		"/v2/lbaas/loadbalancers?marker=" + subnet:          "Supplied pagination marker '" + subnet + "' is not valid.",
		"/v2/lbaas/loadbalancers?color=red":                 "One or more arguments are either duplicate or invalid",
		"/v2/lbaas/loadbalancers?name=a&name=b":             "One or more arguments are either duplicate or invalid",
		"/v2/lbaas/loadbalancers?admin_state_up=maybe":      "Invalid input for field/attribute admin_state_up. Value: 'maybe'. Value should be boolean",
	} {
		systemtest.ExpectFault(t, n.MustDo(400, "GET", path, nil), 400, msg)
	}
}

func link(v listView, rel string) string {
	for _, l := range v.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func followLink(t *testing.T, n *systemtest.Node, href string) listView {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	return list(t, n, u.RequestURI())
}

func TestVersionDocument(t *testing.T) {
	n := startNode(t)
	var v struct {
		Versions []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Links  []struct {
				Href string `json:"href"`
			} `json:"links"`
		} `json:"versions"`
	}
	json.Unmarshal(n.MustDo(200, "GET", "/", nil).Body, &v)
	if len(v.Versions) != 27 || v.Versions[0].ID != "v2.0" || v.Versions[26].Status != "CURRENT" ||
		v.Versions[0].Links[0].Href != n.URL("/v2") {
		t.Fatalf("version document: %+v", v)
	}
}
