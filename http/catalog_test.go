package http_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// Black-box tests of the catalog: quotas and providers here; flavors and
// availability zones (with their profiles) in their own files.

const policyRefused = "Policy does not allow this request to be performed."

// memberOf is a non-administrator of project.
func memberOf(project string) []string {
	return []string{"X-Project-Id: " + project, "X-Roles: member"}
}

// objectOf decodes {"<root>": {...}}.
func objectOf(t *testing.T, r *systemtest.Response, root string) map[string]interface{} {
	t.Helper()
	var v map[string]map[string]interface{}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	obj, ok := v[root]
	if !ok || len(v) != 1 {
		t.Fatalf("body is not {%q: {...}}: %s", root, r.Body)
	}
	return obj
}

// catalogPage is a decoded list: its items and its links by rel.
type catalogPage struct {
	items []map[string]interface{}
	links map[string]string
}

// listOf GETs a list and decodes {"<root>": [...], "<linksKey>": [...]}; the
// body must have exactly those two keys.
func listOf(t *testing.T, n *systemtest.Node, path, root, linksKey string, headers ...string) catalogPage {
	t.Helper()
	r := n.MustDo(200, "GET", path, nil, headers...)
	var v map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	if _, ok := v[linksKey]; !ok || len(v) != 2 {
		t.Fatalf("%s: body is not {%q, %q}: %s", path, root, linksKey, r.Body)
	}
	var page catalogPage
	if err := json.Unmarshal(v[root], &page.items); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var links []struct{ Href, Rel string }
	if err := json.Unmarshal(v[linksKey], &links); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	page.links = map[string]string{}
	for _, l := range links {
		page.links[l.Rel] = l.Href
	}
	return page
}

// field returns one attribute of every item, as strings.
func (p catalogPage) field(name string) []string {
	var out []string
	for _, it := range p.items {
		out = append(out, fmt.Sprint(it[name]))
	}
	return out
}

// pathOf turns a link's href into a request path.
func pathOf(t *testing.T, href string) string {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func keysOf(m map[string]interface{}) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func expectKeys(t *testing.T, what string, m map[string]interface{}, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Fatalf("%s has %v, want %v", what, got, want)
	}
}

// quotaOf decodes {"quota": {...}} into numbers.
func quotaOf(t *testing.T, r *systemtest.Response) map[string]int {
	t.Helper()
	var v struct {
		Quota map[string]int `json:"quota"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return v.Quota
}

// effective builds the expected {"quota"} body: -1 except the given overrides.
func effective(overrides map[string]int) map[string]int {
	q := map[string]int{"load_balancer": -1, "listener": -1, "member": -1, "pool": -1, "health_monitor": -1, "l7policy": -1, "l7rule": -1}
	for k, v := range overrides {
		q[k] = v
	}
	return q
}

func expectQuota(t *testing.T, r *systemtest.Response, want map[string]int) {
	t.Helper()
	got := quotaOf(t, r)
	if len(got) != len(want) {
		t.Fatalf("quota %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("quota %v, want %v", got, want)
		}
	}
}

func TestQuotaAPI(t *testing.T) {
	n := startNode(t)

	t.Run("show, default, set, reset", func(t *testing.T) {
		if page := listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links"); len(page.items) != 0 || len(page.links) != 0 {
			t.Fatalf("no quota was set, yet the list has %v", page.items)
		}
		expectQuota(t, n.MustDo(200, "GET", "/v2/lbaas/quotas/p1", nil), effective(nil))
		expectQuota(t, n.MustDo(200, "GET", "/v2/lbaas/quotas/p1/default", nil), effective(nil))

		// Both of Octavia's names are accepted; PUT answers 202 with the effective quotas.
		r := n.MustDo(202, "PUT", "/v2/lbaas/quotas/p1", `{"quota":{"loadbalancer":5,"health_monitor":7,"listener":3}}`)
		expectQuota(t, r, effective(map[string]int{"load_balancer": 5, "health_monitor": 7, "listener": 3}))
		r = n.MustDo(202, "PUT", "/v2.0/quotas/p1", `{"quota":{"load_balancer":2,"healthmonitor":8,"l7policy":0,"l7rule":2000000000}}`)
		want := effective(map[string]int{"load_balancer": 2, "health_monitor": 8, "listener": 3, "l7policy": 0, "l7rule": 2000000000})
		expectQuota(t, r, want)
		expectQuota(t, n.MustDo(200, "GET", "/v2/quotas/p1", nil), want)
		// The default stays the default.
		expectQuota(t, n.MustDo(200, "GET", "/v2.0/lbaas/quotas/p1/default", nil), effective(nil))
		// When both names are given, loadbalancer and healthmonitor win (Octavia's to_dict).
		expectQuota(t, n.MustDo(202, "PUT", "/v2/lbaas/quotas/p1", `{"quota":{"load_balancer":9,"loadbalancer":4,"healthmonitor":1,"health_monitor":6}}`),
			effective(map[string]int{"load_balancer": 4, "health_monitor": 1, "listener": 3, "l7policy": 0, "l7rule": 2000000000}))
		// null puts one quota back to the default; the others stay.
		expectQuota(t, n.MustDo(202, "PUT", "/v2/lbaas/quotas/p1", `{"quota":{"listener":null,"l7rule":-1}}`),
			effective(map[string]int{"load_balancer": 4, "health_monitor": 1, "l7policy": 0}))

		// The list shows stored values, nulls kept, under both names.
		page := listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links")
		if len(page.items) != 1 {
			t.Fatalf("quotas %v", page.items)
		}
		row := page.items[0]
		expectKeys(t, "quota row", row, "project_id", "tenant_id", "loadbalancer", "load_balancer", "listener", "member", "pool",
			"healthmonitor", "health_monitor", "l7policy", "l7rule")
		if row["project_id"] != "p1" || row["tenant_id"] != "p1" || row["loadbalancer"] != 4.0 || row["load_balancer"] != 4.0 ||
			row["listener"] != nil || row["member"] != nil || row["healthmonitor"] != 1.0 || row["health_monitor"] != 1.0 ||
			row["l7policy"] != 0.0 || row["l7rule"] != -1.0 {
			t.Fatalf("quota row %v", row)
		}

		// DELETE resets to the defaults: 202, no body; the row stays with nulls.
		r = n.MustDo(202, "DELETE", "/v2/lbaas/quotas/p1", nil)
		if len(r.Body) != 0 {
			t.Fatalf("DELETE body %q", r.Body)
		}
		expectQuota(t, n.MustDo(200, "GET", "/v2/lbaas/quotas/p1", nil), effective(nil))
		row = listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links").items[0]
		for _, k := range []string{"loadbalancer", "load_balancer", "listener", "member", "pool", "healthmonitor", "health_monitor", "l7policy", "l7rule"} {
			if row[k] != nil {
				t.Fatalf("after reset %s = %v", k, row[k])
			}
		}
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", "/v2/lbaas/quotas/never-set", nil), 404, "Quotas never-set not found.")
		// An empty PUT creates the row (all defaults).
		expectQuota(t, n.MustDo(202, "PUT", "/v2/lbaas/quotas/p-empty", `{"quota":{}}`), effective(nil))
		if got := listOf(t, n, "/v2/lbaas/quotas?project_id=p-empty", "quotas", "quotas_links").field("project_id"); !slices.Equal(got, []string{"p-empty"}) {
			t.Fatalf("empty PUT row: %v", got)
		}
	})

	t.Run("bad bodies write nothing", func(t *testing.T) {
		before := listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links").items
		for _, c := range []struct{ body, msg string }{
			{`{"quota":{"loadbalancer":-2}}`, "Invalid input for field/attribute loadbalancer. Value: '-2'. Value should be greater or equal to -1"},
			{`{"quota":{"listener":2000000001}}`, "Invalid input for field/attribute listener. Value: '2000000001'. Value should be lower or equal to 2000000000"},
			{`{"quota":{"pool":"many"}}`, "Invalid input for field/attribute pool. Value: 'many'. Wrong type. Expected 'int', got 'str'"},
			{`{"quota":{"member":1.5}}`, "Invalid input for field/attribute member. Value: '1.5'. Wrong type. Expected 'int', got 'float'"},
			// WSME reads attributes alphabetically: health_monitor's error comes first.
			{`{"quota":{"pool":-5,"health_monitor":-5}}`, "Invalid input for field/attribute health_monitor. Value: '-5'. Value should be greater or equal to -1"},
			{`{"quota":{"load_balancers":1}}`, "Unknown attribute for argument quotas.quota: load_balancers"},
			{`{"quotas":{"listener":1}}`, "Unknown attribute for argument quotas: quotas"},
			{``, `Missing argument: "quotas"`},
			{`{"quota":`, "Request is not in valid JSON format"},
		} {
			systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/quotas/p-bad", c.body), 400, c.msg)
		}
		after := listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links").items
		if len(after) != len(before) {
			t.Fatalf("bad PUTs changed the list: %v", after)
		}
	})

	t.Run("roles", func(t *testing.T) {
		n.MustDo(202, "PUT", "/v2/lbaas/quotas/alpha", `{"quota":{"pool":3}}`)
		n.MustDo(202, "PUT", "/v2/lbaas/quotas/beta", `{"quota":{"pool":4}}`)
		// A member reads its own project's quotas and defaults, not another's.
		expectQuota(t, n.MustDo(200, "GET", "/v2/lbaas/quotas/alpha", nil, memberOf("alpha")...), effective(map[string]int{"pool": 3}))
		n.MustDo(200, "GET", "/v2/lbaas/quotas/alpha/default", nil, memberOf("alpha")...)
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/quotas/beta", nil, memberOf("alpha")...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/quotas/beta/default", nil, memberOf("alpha")...), 403, policyRefused)
		// Its list is its own row; naming another project is refused.
		if got := listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links", memberOf("alpha")...).field("project_id"); !slices.Equal(got, []string{"alpha"}) {
			t.Fatalf("member's quota list %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/quotas?project_id=beta", nil, memberOf("alpha")...), 403, policyRefused)
		// Writes are for administrators only, even to one's own project.
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/lbaas/quotas/alpha", `{"quota":{"pool":100}}`, memberOf("alpha")...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", "/v2/lbaas/quotas/alpha", nil, memberOf("alpha")...), 403, policyRefused)
		n.MustDo(202, "PUT", "/v2/lbaas/quotas/alpha", `{"quota":{"pool":5}}`, "X-Project-Id: other", "X-Roles: reader,admin")
		expectQuota(t, n.MustDo(200, "GET", "/v2/lbaas/quotas/alpha", nil), effective(map[string]int{"pool": 5}))
	})

	t.Run("list conventions", func(t *testing.T) {
		for i, p := range []string{"q-a", "q-b", "q-c"} {
			n.MustDo(202, "PUT", "/v2/lbaas/quotas/"+p, fmt.Sprintf(`{"quota":{"member":%d,"l7rule":%d}}`, 10*(i+1), i%2))
		}
		base := "/v2/lbaas/quotas?project_id="
		if got := listOf(t, n, base+"q-b", "quotas", "quotas_links").field("member"); !slices.Equal(got, []string{"20"}) {
			t.Fatalf("project filter: %v", got)
		}
		if got := listOf(t, n, "/v2/lbaas/quotas?l7rule=1", "quotas", "quotas_links").field("project_id"); !slices.Equal(got, []string{"q-b"}) {
			t.Fatalf("value filter: %v", got)
		}
		if got := listOf(t, n, "/v2/lbaas/quotas?member=30", "quotas", "quotas_links").field("project_id"); !slices.Equal(got, []string{"q-c"}) {
			t.Fatalf("value filter: %v", got)
		}
		// Projects using the default member quota have null: first ascending, so last here.
		got := listOf(t, n, "/v2/lbaas/quotas?sort=member:desc", "quotas", "quotas_links").field("project_id")
		if len(got) < 3 || !slices.Equal(got[:3], []string{"q-c", "q-b", "q-a"}) {
			t.Fatalf("sort by member desc: %v", got)
		}
		v := listOf(t, n, "/v2/lbaas/quotas?project_id=q-a&fields=project_id&fields=member", "quotas", "quotas_links")
		if len(v.items) != 1 || len(v.items[0]) != 2 || v.items[0]["member"] != 10.0 {
			t.Fatalf("fields: %v", v.items)
		}
		// Pages follow the links.
		total := len(listOf(t, n, "/v2/lbaas/quotas", "quotas", "quotas_links").items)
		page := listOf(t, n, "/v2/lbaas/quotas?limit=2", "quotas", "quotas_links")
		seen := page.field("project_id")
		for hops := 0; page.links["next"] != "" && hops < 10; hops++ {
			page = listOf(t, n, pathOf(t, page.links["next"]), "quotas", "quotas_links")
			seen = append(seen, page.field("project_id")...)
		}
		if len(seen) != total {
			t.Fatalf("paged %v, want %d rows", seen, total)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/quotas?color=red", nil), 400, "One or more arguments are either duplicate or invalid")
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/quotas?sort=color", nil), 400, "Supplied sort key 'color' is not valid.")
	})

	t.Run("enforcement", func(t *testing.T) {
		const project = "quota-enforced"
		user := memberOf(project)
		n.MustDo(202, "PUT", "/v2/lbaas/quotas/"+project, `{"quota":{"loadbalancer":1,"listener":1}}`)
		lbBody := fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q}}`, subnet)
		lb := decodeLB(t, n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", lbBody, user...))
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/loadbalancers", lbBody, user...), 403,
			"Quota has been met for resources: Load Balancer")
		n.WaitActive(lb.ID, 10*time.Second)
		listener := func(port int) string {
			return fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"TCP","protocol_port":%d}}`, lb.ID, port)
		}
		n.MustDo(201, "POST", "/v2/lbaas/listeners", listener(80), user...)
		n.WaitActive(lb.ID, 10*time.Second)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/listeners", listener(81), user...), 403,
			"Quota has been met for resources: Listener")
		// Another project is not limited by this one's quotas.
		n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", lbBody, memberOf("quota-free")...)

		// Resetting lifts the limits.
		n.MustDo(202, "DELETE", "/v2/lbaas/quotas/"+project, nil)
		n.MustDo(201, "POST", "/v2/lbaas/listeners", listener(81), user...)
		n.MustDo(201, "POST", "/v2/lbaas/loadbalancers", lbBody, user...)
	})
}

func TestProviderAPI(t *testing.T) {
	n := startNode(t)
	type named struct{ Name, Description string }
	decode := func(r *systemtest.Response, root string) []named {
		var v map[string][]named
		if err := json.Unmarshal(r.Body, &v); err != nil || len(v) != 1 {
			t.Fatalf("body is not {%q: [...]}: %s", root, r.Body)
		}
		return v[root]
	}
	wantProviders := []named{{"amphora", "The Octavia Amphora driver."}, {"octavia", "Deprecated alias of the Octavia Amphora driver."}}
	for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
		if got := decode(n.MustDo(200, "GET", prefix+"/providers", nil, memberOf("anyone")...), "providers"); !slices.Equal(got, wantProviders) {
			t.Fatalf("%s/providers: %v", prefix, got)
		}
	}
	r := n.MustDo(200, "GET", "/v2/lbaas/providers?fields=name", nil)
	if string(r.Body) != `{"providers":[{"name":"amphora"},{"name":"octavia"}]}` {
		t.Fatalf("providers with fields: %s", r.Body)
	}

	wantFlavor := []named{
		{"loadbalancer_topology", "The load balancer topology. One of: SINGLE - One amphora per load balancer. ACTIVE_STANDBY - Two amphora per load balancer."},
		{"compute_flavor", "The compute driver flavor ID."},
		{"amp_image_tag", "The amphora image tag."},
		{"sriov_vip", "When true, the VIP port will be created using an SR-IOV VF port."},
	}
	wantZone := []named{
		{"compute_zone", "The compute availability zone."},
		{"management_network", "The management network ID for the amphora."},
		{"valid_vip_networks", "List of network IDs that are allowed for VIP use. This overrides/replaces the list of allowed networks configured in `octavia.conf`."},
	}
	for _, p := range []string{"amphora", "octavia"} {
		if got := decode(n.MustDo(200, "GET", "/v2/lbaas/providers/"+p+"/flavor_capabilities", nil), "flavor_capabilities"); !slices.Equal(got, wantFlavor) {
			t.Fatalf("%s flavor capabilities: %v", p, got)
		}
		if got := decode(n.MustDo(200, "GET", "/v2.0/providers/"+p+"/availability_zone_capabilities", nil), "availability_zone_capabilities"); !slices.Equal(got, wantZone) {
			t.Fatalf("%s availability zone capabilities: %v", p, got)
		}
	}
	// name and description filter exactly; fields select; other parameters are ignored.
	if got := decode(n.MustDo(200, "GET", "/v2/lbaas/providers/amphora/flavor_capabilities?name=compute_flavor&limit=5", nil), "flavor_capabilities"); !slices.Equal(got, wantFlavor[1:2]) {
		t.Fatalf("name filter: %v", got)
	}
	if got := decode(n.MustDo(200, "GET", "/v2/lbaas/providers/amphora/availability_zone_capabilities?description="+
		url.QueryEscape("The compute availability zone."), nil), "availability_zone_capabilities"); !slices.Equal(got, wantZone[:1]) {
		t.Fatalf("description filter: %v", got)
	}
	if got := decode(n.MustDo(200, "GET", "/v2/lbaas/providers/amphora/flavor_capabilities?name=compute", nil), "flavor_capabilities"); len(got) != 0 {
		t.Fatalf("a partial name matches nothing: %v", got)
	}
	r = n.MustDo(200, "GET", "/v2/lbaas/providers/amphora/flavor_capabilities?fields=description&name=amp_image_tag", nil)
	if string(r.Body) != `{"flavor_capabilities":[{"description":"The amphora image tag."}]}` {
		t.Fatalf("capabilities with fields: %s", r.Body)
	}
	// Capabilities are for administrators; an unknown provider is not enabled.
	systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/providers/amphora/flavor_capabilities", nil, memberOf("p")...), 403, policyRefused)
	systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/lbaas/providers/amphora/availability_zone_capabilities", nil, memberOf("p")...), 403, policyRefused)
	systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/providers/f5/flavor_capabilities", nil), 400, "Provider 'f5' is not enabled.")
	systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/providers/f5/availability_zone_capabilities", nil), 400, "Provider 'f5' is not enabled.")
	if r := n.MustDo(404, "GET", "/v2/lbaas/providers/amphora/other_capabilities", nil); !strings.Contains(string(r.Body), `"title":"Not Found"`) {
		t.Fatalf("unknown capability path: %s", r.Body)
	}
}
