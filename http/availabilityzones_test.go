package http_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"keel/cluster/systemtest"
)

// createZoneProfile creates an availability zone profile and returns its id.
func createZoneProfile(t *testing.T, n *systemtest.Node, name, provider, data string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]map[string]string{"availability_zone_profile": {"name": name, "provider_name": provider, "availability_zone_data": data}})
	return objectOf(t, n.MustDo(201, "POST", "/v2/lbaas/availabilityzoneprofiles", body), "availability_zone_profile")["id"].(string)
}

func createZone(t *testing.T, n *systemtest.Node, name, profileID string) {
	t.Helper()
	n.MustDo(201, "POST", "/v2/lbaas/availabilityzones", fmt.Sprintf(`{"availability_zone":{"name":%q,"availability_zone_profile_id":%q}}`, name, profileID))
}

func TestAvailabilityZoneProfileAPI(t *testing.T) {
	n := startNode(t)
	const path = "/v2/lbaas/availabilityzoneprofiles"

	t.Run("create, show, update, delete", func(t *testing.T) {
		r := n.MustDo(201, "POST", path,
			`{"availability_zone_profile":{"name":"az-a","provider_name":"amphora","availability_zone_data":"{\"compute_zone\":\"nova\",\"management_network\":\"mgmt\"}"}}`)
		p := objectOf(t, r, "availability_zone_profile")
		expectKeys(t, "availability zone profile", p, "id", "name", "provider_name", "availability_zone_data")
		id := p["id"].(string)
		if p["name"] != "az-a" || p["provider_name"] != "amphora" || p["availability_zone_data"] != `{"compute_zone":"nova","management_network":"mgmt"}` {
			t.Fatalf("created %v", p)
		}
		for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
			n.MustDo(200, "GET", prefix+"/availabilityzoneprofiles/"+id, nil)
		}
		up := objectOf(t, n.MustDo(200, "PUT", path+"/"+id,
			`{"availability_zone_profile":{"name":"az-b","availability_zone_data":"{\"valid_vip_networks\":[\"n1\",\"n2\"]}"}}`), "availability_zone_profile")
		if up["name"] != "az-b" || up["availability_zone_data"] != `{"valid_vip_networks":["n1","n2"]}` {
			t.Fatalf("updated %v", up)
		}
		systemtest.ExpectFault(t, n.MustDo(501, "PUT", path+"/"+id, `{"availability_zone_profile":{"availability_zone_data":"{\"valid_vip_networks\":\"n1\"}"}}`), 501,
			"Provider 'amphora' does not support a requested option: valid_vip_networks 'n1' is not of type 'array'")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path+"/"+id, `{"availability_zone_profile":{"availability_zone_data":"nova"}}`), 400,
			"nova is not a valid option for availability_zone_data")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path+"/"+id, `{"availability_zone_profile":{"name":null}}`), 400, "None is not a valid option for name")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path+"/"+id, `{"availability_zone_profile":{"provider_name":"f5"}}`), 400, "Provider 'f5' is not enabled.")

		n.MustDo(204, "DELETE", path+"/"+id, nil)
		msg := "Availability Zone Profile " + id + " not found."
		systemtest.ExpectFault(t, n.MustDo(404, "GET", path+"/"+id, nil), 404, msg)
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", path+"/"+id, nil), 404, msg)
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", path+"/"+id, `{"availability_zone_profile":{"name":"x"}}`), 404, msg)
		nilMsg := "Availability Zone Profile " + nilUUID + " not found."
		systemtest.ExpectFault(t, n.MustDo(404, "GET", path+"/"+nilUUID, nil), 404, nilMsg)
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", path+"/"+nilUUID, nil), 404, nilMsg)
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", path+"/"+nilUUID, `{"availability_zone_profile":{"name":"x"}}`), 404, nilMsg)
	})

	t.Run("bad bodies write nothing", func(t *testing.T) {
		for _, c := range []struct {
			status    int
			body, msg string
		}{
			{400, `{"availability_zone_profile":{"name":"a","provider_name":"amphora"}}`,
				"Invalid input for field/attribute availability_zone_data. Value: 'None'. Mandatory field missing."},
			{400, `{"availability_zone_profile":{"availability_zone_data":"{}","provider_name":"amphora"}}`,
				"Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."},
			{400, `{"availability_zone_profile":{"availability_zone_data":"{}","name":"a"}}`,
				"Invalid input for field/attribute provider_name. Value: 'None'. Mandatory field missing."},
			{400, `{"availability_zone_profile":{"availability_zone_data":"{}","name":"a","provider_name":"amphora","enabled":true}}`,
				"Unknown attribute for argument availability_zone_profile_.availability_zone_profile: enabled"},
			{400, `{"availability_zone_profile":{"availability_zone_data":"zone=1","name":"a","provider_name":"amphora"}}`,
				"zone=1 is not a valid option for availability_zone_data"},
			{400, `{"availability_zone_profile":{"availability_zone_data":"{}","name":"a","provider_name":"noop_driver"}}`,
				"Provider 'noop_driver' is not enabled."},
			{501, `{"availability_zone_profile":{"availability_zone_data":"{\"compute_zone\":\"nova\",\"loadbalancer_topology\":\"SINGLE\"}","name":"a","provider_name":"amphora"}}`,
				"Provider 'amphora' does not support a requested option: Additional properties are not allowed ('loadbalancer_topology' was unexpected)"},
			{501, `{"availability_zone_profile":{"availability_zone_data":"{\"management_network\":{\"id\":\"x\"}}","name":"a","provider_name":"octavia"}}`,
				"Provider 'octavia' does not support a requested option: management_network {'id': 'x'} is not of type 'string'"},
			{501, `{"availability_zone_profile":{"availability_zone_data":"\"nova\"","name":"a","provider_name":"amphora"}}`,
				"Provider 'amphora' does not support a requested option: 'nova' is not of type 'object'"},
		} {
			systemtest.ExpectFault(t, n.MustDo(c.status, "POST", path, c.body), c.status, c.msg)
		}
		if page := listOf(t, n, path, "availability_zone_profiles", "availability_zone_profile_links"); len(page.items) != 0 {
			t.Fatalf("bad bodies created %v", page.items)
		}
	})

	t.Run("administrators only", func(t *testing.T) {
		id := createZoneProfile(t, n, "rbac", "amphora", "{}")
		user := memberOf("p")
		systemtest.ExpectFault(t, n.MustDo(403, "GET", path, nil, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "GET", path+"/"+id, nil, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "POST", path, `{"availability_zone_profile":{"availability_zone_data":"{}","name":"a","provider_name":"amphora"}}`, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", path+"/"+id, `{"availability_zone_profile":{"name":"b"}}`, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", path+"/"+id, nil, user...), 403, policyRefused)
		n.MustDo(204, "DELETE", path+"/"+id, nil)
	})

	t.Run("list conventions", func(t *testing.T) {
		nameOf := map[string]string{}
		var ids []string
		for _, c := range []struct{ name, provider string }{{"z-b", "octavia"}, {"z-a", "amphora"}, {"z-c", "amphora"}} {
			id := createZoneProfile(t, n, c.name, c.provider, "{}")
			nameOf[id] = c.name
			ids = append(ids, id)
		}
		list := func(query string) []string {
			return listOf(t, n, path+query, "availability_zone_profiles", "availability_zone_profile_links").field("name")
		}
		// Octavia's model has no created_at: the default order is by id.
		slices.Sort(ids)
		byID := []string{nameOf[ids[0]], nameOf[ids[1]], nameOf[ids[2]]}
		if got := list(""); !slices.Equal(got, byID) {
			t.Fatalf("default order: %v, want %v (by id)", got, byID)
		}
		if got := list("?provider_name=amphora&sort=name:desc"); !slices.Equal(got, []string{"z-c", "z-a"}) {
			t.Fatalf("filter and sort: %v", got)
		}
		// Octavia names the links availability_zone_profile_links (singular).
		page := listOf(t, n, path+"?limit=1", "availability_zone_profiles", "availability_zone_profile_links")
		if !slices.Equal(page.field("name"), byID[:1]) || page.links["next"] == "" {
			t.Fatalf("first page %v links %v", page.field("name"), page.links)
		}
	})
}

func TestAvailabilityZoneAPI(t *testing.T) {
	n := startNode(t)
	const path = "/v2/lbaas/availabilityzones"
	plain := createZoneProfile(t, n, "plain", "amphora", `{"compute_zone":"nova"}`)
	const allowedNetwork = "6b1f8a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
	restricted := createZoneProfile(t, n, "restricted", "amphora", fmt.Sprintf(`{"valid_vip_networks":[%q]}`, strings.ToUpper(allowedNetwork)))

	t.Run("create, show, update, delete", func(t *testing.T) {
		r := n.MustDo(201, "POST", path, fmt.Sprintf(`{"availability_zone":{"name":"east","description":"d","availability_zone_profile_id":%q}}`, plain))
		z := objectOf(t, r, "availability_zone")
		expectKeys(t, "availability zone", z, "name", "description", "enabled", "availability_zone_profile_id")
		if z["name"] != "east" || z["description"] != "d" || z["enabled"] != true || z["availability_zone_profile_id"] != plain {
			t.Fatalf("created %v", z)
		}
		// Keyed by name; every role reads zones.
		for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
			if got := objectOf(t, n.MustDo(200, "GET", prefix+"/availabilityzones/east", nil, memberOf("anyone")...), "availability_zone"); got["name"] != "east" {
				t.Fatalf("%s show: %v", prefix, got)
			}
		}
		up := objectOf(t, n.MustDo(200, "PUT", path+"/east", `{"availability_zone":{"description":"east coast","enabled":false}}`), "availability_zone")
		if up["description"] != "east coast" || up["enabled"] != false || up["name"] != "east" {
			t.Fatalf("updated %v", up)
		}
		// Only description and enabled change.
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path+"/east", `{"availability_zone":{"name":"west"}}`), 400,
			"Unknown attribute for argument availability_zone_.availability_zone: name")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", path+"/east", fmt.Sprintf(`{"availability_zone":{"availability_zone_profile_id":%q}}`, restricted)), 400,
			"Unknown attribute for argument availability_zone_.availability_zone: availability_zone_profile_id")
		systemtest.ExpectFault(t, n.MustDo(409, "POST", path, fmt.Sprintf(`{"availability_zone":{"name":"east","availability_zone_profile_id":%q}}`, restricted)), 409,
			"A availability zone of east already exists.")

		n.MustDo(204, "DELETE", path+"/east", nil)
		for _, c := range []struct{ method, body string }{{"GET", ""}, {"DELETE", ""}, {"PUT", `{"availability_zone":{"enabled":true}}`}} {
			var body interface{}
			if c.body != "" {
				body = c.body
			}
			systemtest.ExpectFault(t, n.MustDo(404, c.method, path+"/east", body), 404, "Availability Zone east not found.")
			systemtest.ExpectFault(t, n.MustDo(404, c.method, path+"/"+nilUUID, body), 404, "Availability Zone "+nilUUID+" not found.")
		}
		createZone(t, n, "east", plain) // the name is free again
		n.MustDo(204, "DELETE", path+"/east", nil)
	})

	t.Run("bad bodies write nothing", func(t *testing.T) {
		for _, c := range []struct {
			status    int
			body, msg string
		}{
			{400, `{"availability_zone":{"name":"x"}}`, "Invalid input for field/attribute availability_zone_profile_id. Value: 'None'. Mandatory field missing."},
			{400, fmt.Sprintf(`{"availability_zone":{"availability_zone_profile_id":%q}}`, plain), "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."},
			{400, `{"availability_zone":{"name":"x","availability_zone_profile_id":"plain"}}`,
				"Invalid input for field/attribute availability_zone_profile_id. Value: 'plain'. Value should be UUID format"},
			{400, fmt.Sprintf(`{"availability_zone":{"name":"x","availability_zone_profile_id":%q,"enabled":[]}}`, plain),
				"Invalid input for field/attribute enabled. Value: '[]'. Value should be boolean"},
			{400, fmt.Sprintf(`{"availability_zone":{"name":"x","availability_zone_profile_id":%q,"id":"x"}}`, plain),
				"Unknown attribute for argument availability_zone_.availability_zone: id"},
			{400, `{"availabilityzone":{}}`, "Unknown attribute for argument availability_zone_: availabilityzone"},
			{404, fmt.Sprintf(`{"availability_zone":{"name":"x","availability_zone_profile_id":%q}}`, missingID),
				"Availability Zone Profile " + missingID + " not found."},
		} {
			systemtest.ExpectFault(t, n.MustDo(c.status, "POST", path, c.body), c.status, c.msg)
		}
		if page := listOf(t, n, path, "availability_zones", "availability_zones_links"); len(page.items) != 0 {
			t.Fatalf("bad bodies created %v", page.items)
		}
	})

	t.Run("roles", func(t *testing.T) {
		createZone(t, n, "rbac", plain)
		user := memberOf("p")
		if got := listOf(t, n, path, "availability_zones", "availability_zones_links", user...).field("name"); !slices.Equal(got, []string{"rbac"}) {
			t.Fatalf("a member's zone list: %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "POST", path, fmt.Sprintf(`{"availability_zone":{"name":"m","availability_zone_profile_id":%q}}`, plain), user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", path+"/rbac", `{"availability_zone":{"enabled":false}}`, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", path+"/rbac", nil, user...), 403, policyRefused)
		n.MustDo(204, "DELETE", path+"/rbac", nil)
	})

	t.Run("list conventions", func(t *testing.T) {
		for _, name := range []string{"zone-c", "zone-a", "zone-b"} {
			profile := plain
			if name == "zone-b" {
				profile = restricted
			}
			createZone(t, n, name, profile)
		}
		n.MustDo(200, "PUT", path+"/zone-a", `{"availability_zone":{"enabled":false}}`)
		list := func(query string) []string {
			return listOf(t, n, path+query, "availability_zones", "availability_zones_links").field("name")
		}
		// A zone's key is its name, and Octavia's model has no created_at: the
		// default order is by name.
		for query, want := range map[string][]string{
			"":                                       {"zone-a", "zone-b", "zone-c"},
			"?sort=name:desc":                        {"zone-c", "zone-b", "zone-a"},
			"?name=zone-b":                           {"zone-b"},
			"?enabled=true":                          {"zone-b", "zone-c"},
			"?availability_zone_profile_id=" + plain: {"zone-a", "zone-c"},
		} {
			if got := list(query); !slices.Equal(got, want) {
				t.Errorf("availabilityzones%s: %v, want %v", query, got, want)
			}
		}
		// Zones page by name (their key).
		page := listOf(t, n, path+"?limit=2&sort=name:desc", "availability_zones", "availability_zones_links")
		if !slices.Equal(page.field("name"), []string{"zone-c", "zone-b"}) || !strings.Contains(page.links["next"], "marker=zone-b") {
			t.Fatalf("first page %v links %v", page.field("name"), page.links)
		}
		page = listOf(t, n, pathOf(t, page.links["next"]), "availability_zones", "availability_zones_links")
		if !slices.Equal(page.field("name"), []string{"zone-a"}) {
			t.Fatalf("second page %v", page.field("name"))
		}
		for _, name := range []string{"zone-a", "zone-b", "zone-c"} {
			n.MustDo(204, "DELETE", path+"/"+name, nil)
		}
	})

	t.Run("load balancers use them", func(t *testing.T) {
		createZone(t, n, "az-1", plain)
		createZone(t, n, "az-locked", restricted)
		create := func(status int, body string) *systemtest.Response {
			return n.MustDo(status, "POST", "/v2/lbaas/loadbalancers", `{"loadbalancer":`+body+`}`)
		}
		lb := objectOf(t, create(201, fmt.Sprintf(`{"vip_subnet_id":%q,"availability_zone":"az-1"}`, subnet)), "loadbalancer")
		if lb["availability_zone"] != "az-1" || lb["provider"] != "amphora" {
			t.Fatalf("load balancer in a zone: %v", lb)
		}
		id := lb["id"].(string)
		n.WaitActive(id, 10*time.Second)
		if got := listOf(t, n, "/v2/lbaas/loadbalancers?availability_zone=az-1", "loadbalancers", "loadbalancers_links").field("id"); !slices.Equal(got, []string{id}) {
			t.Fatalf("filter by zone: %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", path+"/az-1", nil), 409, "Availability Zone az-1 is in use and cannot be modified.")
		inUse := "Availability Zone Profile " + plain + " is in use and cannot be modified."
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/availabilityzoneprofiles/"+plain, nil), 409, inUse)
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/availabilityzoneprofiles/"+plain, `{"availability_zone_profile":{"provider_name":"octavia"}}`), 409, inUse)

		// valid_vip_networks limits the VIP network (case-insensitively).
		create(201, fmt.Sprintf(`{"vip_network_id":%q,"availability_zone":"az-locked"}`, allowedNetwork))
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`{"vip_subnet_id":%q,"availability_zone":"az-locked"}`, subnet)), 400,
			"Validation failure: Supplied VIP network_id is not allowed by the configuration of this deployment.")

		// Unknown and disabled zones.
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`{"vip_subnet_id":%q,"availability_zone":"nowhere"}`, subnet)), 400,
			"Validation failure: Invalid availability zone.")
		n.MustDo(200, "PUT", path+"/az-1", `{"availability_zone":{"enabled":false}}`)
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`{"vip_subnet_id":%q,"availability_zone":"az-1"}`, subnet)), 400,
			"The selected availability_zone is not allowed in this deployment: az-1")

		// Once the load balancer is gone, the zone can go.
		n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+id, nil)
		systemtest.Eventually(t, 10*time.Second, "load balancer "+id+" purged", func() bool {
			r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+id, nil)
			return err == nil && r.Status == 404
		})
		n.MustDo(204, "DELETE", path+"/az-1", nil)
	})
}
