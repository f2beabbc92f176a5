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

const nilUUID = "00000000-0000-0000-0000-000000000000"

// missingID is a well-formed id nothing has.
const missingID = "5a0e5a0e-0000-4000-8000-00000000abcd"

// createFlavorProfile creates a flavor profile and returns its id.
// inIDOrder returns names ordered by their ids (ids: name -> id), the default
// order of lists whose Octavia model has no created_at.
func inIDOrder(ids map[string]string, names ...string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(ids[a], ids[b]) })
	return out
}

func createFlavorProfile(t *testing.T, n *systemtest.Node, name, provider, data string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]map[string]string{"flavorprofile": {"name": name, "provider_name": provider, "flavor_data": data}})
	return objectOf(t, n.MustDo(201, "POST", "/v2/lbaas/flavorprofiles", body), "flavorprofile")["id"].(string)
}

// createFlavor creates a flavor and returns its id.
func createFlavor(t *testing.T, n *systemtest.Node, name, profileID string) string {
	t.Helper()
	body := fmt.Sprintf(`{"flavor":{"name":%q,"flavor_profile_id":%q}}`, name, profileID)
	return objectOf(t, n.MustDo(201, "POST", "/v2/lbaas/flavors", body), "flavor")["id"].(string)
}

func TestFlavorProfileAPI(t *testing.T) {
	n := startNode(t)

	t.Run("create, show, update, delete", func(t *testing.T) {
		r := n.MustDo(201, "POST", "/v2/lbaas/flavorprofiles",
			`{"flavorprofile":{"name":"single","provider_name":"amphora","flavor_data":"{\"loadbalancer_topology\": \"SINGLE\", \"compute_flavor\": \"m1.small\"}"}}`)
		fp := objectOf(t, r, "flavorprofile")
		expectKeys(t, "flavor profile", fp, "id", "name", "provider_name", "flavor_data")
		id := fp["id"].(string)
		if fp["name"] != "single" || fp["provider_name"] != "amphora" || fp["flavor_data"] != `{"loadbalancer_topology": "SINGLE", "compute_flavor": "m1.small"}` {
			t.Fatalf("created %v", fp)
		}
		for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
			if got := objectOf(t, n.MustDo(200, "GET", prefix+"/flavorprofiles/"+id, nil), "flavorprofile"); got["name"] != "single" {
				t.Fatalf("%s show: %v", prefix, got)
			}
		}
		got := objectOf(t, n.MustDo(200, "GET", "/v2/lbaas/flavorprofiles/"+id+"?fields=provider_name", nil), "flavorprofile")
		expectKeys(t, "fields", got, "provider_name")

		// PUT changes any of the three; the data is validated against the provider.
		up := objectOf(t, n.MustDo(200, "PUT", "/v2/lbaas/flavorprofiles/"+id,
			`{"flavorprofile":{"name":"ha","flavor_data":"{\"loadbalancer_topology\":\"ACTIVE_STANDBY\"}"}}`), "flavorprofile")
		if up["name"] != "ha" || up["flavor_data"] != `{"loadbalancer_topology":"ACTIVE_STANDBY"}` || up["provider_name"] != "amphora" {
			t.Fatalf("updated %v", up)
		}
		up = objectOf(t, n.MustDo(200, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"provider_name":"octavia"}}`), "flavorprofile")
		if up["provider_name"] != "octavia" || up["name"] != "ha" {
			t.Fatalf("updated provider %v", up)
		}
		systemtest.ExpectFault(t, n.MustDo(501, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"{\"color\":\"red\"}"}}`), 501,
			"Provider 'octavia' does not support a requested option: Additional properties are not allowed ('color' was unexpected)")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"{"}}`), 400,
			"{ is not a valid option for flavor_data")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"provider_name":"f5"}}`), 400,
			"Provider 'f5' is not enabled.")
		for _, attr := range []string{"name", "provider_name", "flavor_data"} {
			systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavorprofiles/"+id, fmt.Sprintf(`{"flavorprofile":{%q:null}}`, attr)), 400,
				"None is not a valid option for "+attr)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"id":"x"}}`), 400,
			"Unknown attribute for argument flavor_profile_.flavorprofile: id")
		if got := objectOf(t, n.MustDo(200, "GET", "/v2/lbaas/flavorprofiles/"+id, nil), "flavorprofile"); got["name"] != "ha" ||
			got["provider_name"] != "octavia" || got["flavor_data"] != `{"loadbalancer_topology":"ACTIVE_STANDBY"}` {
			t.Fatalf("refused updates changed it: %v", got)
		}

		n.MustDo(204, "DELETE", "/v2/lbaas/flavorprofiles/"+id, nil)
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/lbaas/flavorprofiles/"+id, nil), 404, "Flavor Profile "+id+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", "/v2/lbaas/flavorprofiles/"+id, nil), 404, "Flavor profile "+id+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"name":"x"}}`), 404, "Flavor Profile "+id+" not found.")
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"{}"}}`), 404, "Flavor Profile "+id+" not found.")
		// Octavia answers the nil UUID without looking, with a lower-case "profile".
		for _, method := range []string{"GET", "DELETE"} {
			systemtest.ExpectFault(t, n.MustDo(404, method, "/v2/lbaas/flavorprofiles/"+nilUUID, nil), 404, "Flavor profile "+nilUUID+" not found.")
		}
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/lbaas/flavorprofiles/"+nilUUID, `{"flavorprofile":{"name":"x"}}`), 404,
			"Flavor profile "+nilUUID+" not found.")
	})

	t.Run("bad bodies write nothing", func(t *testing.T) {
		long := strings.Repeat("x", 4097)
		for _, c := range []struct {
			status    int
			body, msg string
		}{
			{400, `{"flavorprofile":{"name":"a","provider_name":"amphora"}}`, "Invalid input for field/attribute flavor_data. Value: 'None'. Mandatory field missing."},
			{400, `{"flavorprofile":{"provider_name":"amphora","flavor_data":"{}"}}`, "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."},
			{400, `{"flavorprofile":{"name":"a","flavor_data":"{}"}}`, "Invalid input for field/attribute provider_name. Value: 'None'. Mandatory field missing."},
			{400, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":{"loadbalancer_topology":"SINGLE"}}}`,
				`Invalid input for field/attribute flavor_data. Value: '{"loadbalancer_topology":"SINGLE"}'. Wrong type. Expected 'str', got 'dict'`},
			{400, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"` + long + `"}}`,
				"Invalid input for field/attribute flavor_data. Value: '" + long + "'. Value should have a maximum character requirement of 4096"},
			{400, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{}","color":"red"}}`,
				"Unknown attribute for argument flavor_profile_.flavorprofile: color"},
			{400, `{"flavor_profile":{}}`, "Unknown attribute for argument flavor_profile_: flavor_profile"},
			{400, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"topology=single"}}`,
				"topology=single is not a valid option for flavor_data"},
			{400, `{"flavorprofile":{"name":"a","provider_name":"f5","flavor_data":"{}"}}`, "Provider 'f5' is not enabled."},
			// The amphora driver's schema, with jsonschema's messages (Octavia's 501).
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{\"loadbalancer_topology\":\"TRIPLE\"}"}}`,
				"Provider 'amphora' does not support a requested option: loadbalancer_topology 'TRIPLE' is not one of ['ACTIVE_STANDBY', 'SINGLE']"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"octavia","flavor_data":"{\"compute_flavor\":5}"}}`,
				"Provider 'octavia' does not support a requested option: compute_flavor 5 is not of type 'string'"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{\"sriov_vip\":\"yes\",\"amp_image_tag\":[\"a\",1.5,null,true]}"}}`,
				"Provider 'amphora' does not support a requested option: amp_image_tag ['a', 1.5, None, True] is not of type 'string'"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{\"sriov_vip\":\"yes\"}"}}`,
				"Provider 'amphora' does not support a requested option: sriov_vip 'yes' is not of type 'boolean'"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{\"zeta\":1,\"loadbalancer_topology\":7,\"alpha\":{\"k\":\"it's\"}}"}}`,
				"Provider 'amphora' does not support a requested option: Additional properties are not allowed ('zeta', 'alpha' were unexpected)"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"[1, 2]"}}`,
				"Provider 'amphora' does not support a requested option: [1, 2] is not of type 'object'"},
			{501, `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"null"}}`,
				"Provider 'amphora' does not support a requested option: None is not of type 'object'"},
		} {
			systemtest.ExpectFault(t, n.MustDo(c.status, "POST", "/v2/lbaas/flavorprofiles", c.body), c.status, c.msg)
		}
		if page := listOf(t, n, "/v2/lbaas/flavorprofiles", "flavorprofiles", "flavorprofile_links"); len(page.items) != 0 {
			t.Fatalf("bad bodies created %v", page.items)
		}
	})

	t.Run("administrators only", func(t *testing.T) {
		id := createFlavorProfile(t, n, "rbac", "amphora", "{}")
		user := memberOf("p")
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v2/lbaas/flavorprofiles", ""},
			{"GET", "/v2/lbaas/flavorprofiles/" + id, ""},
			{"POST", "/v2/lbaas/flavorprofiles", `{"flavorprofile":{"name":"a","provider_name":"amphora","flavor_data":"{}"}}`},
			{"PUT", "/v2/lbaas/flavorprofiles/" + id, `{"flavorprofile":{"name":"b"}}`},
			{"DELETE", "/v2/lbaas/flavorprofiles/" + id, ""},
		} {
			var body interface{}
			if c.body != "" {
				body = c.body
			}
			systemtest.ExpectFault(t, n.MustDo(403, c.method, c.path, body, user...), 403, policyRefused)
		}
		// A body error is reported before the role (WSME parses first).
		systemtest.ExpectFault(t, n.MustDo(400, "POST", "/v2/lbaas/flavorprofiles", `{"flavorprofile":{}}`, user...), 400,
			"Invalid input for field/attribute flavor_data. Value: 'None'. Mandatory field missing.")
		n.MustDo(204, "DELETE", "/v2/lbaas/flavorprofiles/"+id, nil)
	})

	t.Run("in use by a flavor", func(t *testing.T) {
		id := createFlavorProfile(t, n, "used", "amphora", `{"compute_flavor":"m1"}`)
		flavorID := createFlavor(t, n, "uses-it", id)
		inUse := "Flavor profile " + id + " is in use and cannot be modified."
		// Naming the provider or the data is refused, even unchanged; the name is free.
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"{\"compute_flavor\":\"m1\"}"}}`), 409, inUse)
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"provider_name":"amphora"}}`), 409, inUse)
		// In use is decided before the data is looked at.
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"nonsense"}}`), 409, inUse)
		if got := objectOf(t, n.MustDo(200, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"name":"renamed"}}`), "flavorprofile"); got["name"] != "renamed" {
			t.Fatalf("rename: %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/flavorprofiles/"+id, nil), 409, inUse)
		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+flavorID, nil)
		n.MustDo(200, "PUT", "/v2/lbaas/flavorprofiles/"+id, `{"flavorprofile":{"flavor_data":"{}"}}`)
		n.MustDo(204, "DELETE", "/v2/lbaas/flavorprofiles/"+id, nil)
	})

	t.Run("list conventions", func(t *testing.T) {
		ids := map[string]string{}
		for _, c := range []struct{ name, provider string }{{"p-c", "amphora"}, {"p-a", "octavia"}, {"p-b", "amphora"}} {
			ids[c.name] = createFlavorProfile(t, n, c.name, c.provider, "{}")
		}
		const path = "/v2/lbaas/flavorprofiles"
		list := func(query string) []string {
			return listOf(t, n, path+query, "flavorprofiles", "flavorprofile_links").field("name")
		}
		// Octavia's model has no created_at: the default order is by id.
		if got, want := list(""), inIDOrder(ids, "p-c", "p-a", "p-b"); !slices.Equal(got, want) {
			t.Fatalf("default order: %v, want %v (by id)", got, want)
		}
		if got, want := list("?provider_name=amphora"), inIDOrder(ids, "p-c", "p-b"); !slices.Equal(got, want) {
			t.Fatalf("provider filter: %v", got)
		}
		if got := list("?name=p-a"); !slices.Equal(got, []string{"p-a"}) {
			t.Fatalf("name filter: %v", got)
		}
		if got := list("?sort=name:asc"); !slices.Equal(got, []string{"p-a", "p-b", "p-c"}) {
			t.Fatalf("sort: %v", got)
		}
		// Octavia names the links flavorprofile_links (singular).
		page := listOf(t, n, path+"?limit=2&sort=name", "flavorprofiles", "flavorprofile_links")
		next := page.links["next"]
		if !slices.Equal(page.field("name"), []string{"p-a", "p-b"}) || next == "" {
			t.Fatalf("first page %v links %v", page.field("name"), page.links)
		}
		page = listOf(t, n, pathOf(t, next), "flavorprofiles", "flavorprofile_links")
		if !slices.Equal(page.field("name"), []string{"p-c"}) || page.links["previous"] == "" || page.links["next"] != "" {
			t.Fatalf("second page %v links %v", page.field("name"), page.links)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "GET", path+"?flavor_data=x&flavor_data=y", nil), 400, "One or more arguments are either duplicate or invalid")
		systemtest.ExpectFault(t, n.MustDo(400, "GET", path+"?project_id=p", nil), 400, "One or more arguments are either duplicate or invalid")
	})
}

func TestFlavorAPI(t *testing.T) {
	n := startNode(t)
	single := createFlavorProfile(t, n, "single", "amphora", `{"loadbalancer_topology":"SINGLE"}`)
	ha := createFlavorProfile(t, n, "ha", "amphora", `{"loadbalancer_topology":"ACTIVE_STANDBY","compute_flavor":"m1.large"}`)
	viaAlias := createFlavorProfile(t, n, "alias", "octavia", `{}`)

	t.Run("create, show, update, delete", func(t *testing.T) {
		r := n.MustDo(201, "POST", "/v2/lbaas/flavors", fmt.Sprintf(`{"flavor":{"name":"gold","flavor_profile_id":%q}}`, single))
		f := objectOf(t, r, "flavor")
		expectKeys(t, "flavor", f, "id", "name", "description", "enabled", "flavor_profile_id")
		id := f["id"].(string)
		if f["name"] != "gold" || f["description"] != "" || f["enabled"] != true || f["flavor_profile_id"] != single {
			t.Fatalf("created %v", f)
		}
		// Every role reads flavors.
		for _, prefix := range []string{"/v2/lbaas", "/v2.0/lbaas", "/v2", "/v2.0"} {
			got := objectOf(t, n.MustDo(200, "GET", prefix+"/flavors/"+id, nil, memberOf("anyone")...), "flavor")
			if got["name"] != "gold" {
				t.Fatalf("%s show: %v", prefix, got)
			}
		}
		got := objectOf(t, n.MustDo(200, "GET", "/v2/lbaas/flavors/"+id+"?fields=enabled&fields=name", nil), "flavor")
		expectKeys(t, "fields", got, "enabled", "name")

		up := objectOf(t, n.MustDo(200, "PUT", "/v2/lbaas/flavors/"+id, `{"flavor":{"name":"platinum","description":"best","enabled":false}}`), "flavor")
		if up["name"] != "platinum" || up["description"] != "best" || up["enabled"] != false || up["flavor_profile_id"] != single {
			t.Fatalf("updated %v", up)
		}
		up = objectOf(t, n.MustDo(200, "PUT", "/v2/lbaas/flavors/"+id, `{"flavor":{"enabled":"yes"}}`), "flavor")
		if up["enabled"] != true || up["name"] != "platinum" {
			t.Fatalf("enabled again %v", up)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavors/"+id, fmt.Sprintf(`{"flavor":{"flavor_profile_id":%q}}`, ha)), 400,
			"Unknown attribute for argument flavor_.flavor: flavor_profile_id")
		systemtest.ExpectFault(t, n.MustDo(400, "PUT", "/v2/lbaas/flavors/"+id, `{"flavor":{"enabled":null}}`), 400,
			"Invalid input for field/attribute enabled. Value: 'None'. Value should be boolean")
		// Names are unique, on create and on rename.
		other := createFlavor(t, n, "silver", single)
		systemtest.ExpectFault(t, n.MustDo(409, "POST", "/v2/lbaas/flavors", fmt.Sprintf(`{"flavor":{"name":"silver","flavor_profile_id":%q}}`, ha)), 409,
			"A flavor of silver already exists.")
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/lbaas/flavors/"+id, `{"flavor":{"name":"silver"}}`), 409, "A flavor of silver already exists.")
		n.MustDo(200, "PUT", "/v2/lbaas/flavors/"+other, `{"flavor":{"name":"silver","description":"same name, same flavor"}}`)

		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+id, nil)
		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+other, nil)
		for _, c := range []struct{ method, body string }{{"GET", ""}, {"DELETE", ""}, {"PUT", `{"flavor":{"name":"x"}}`}} {
			var body interface{}
			if c.body != "" {
				body = c.body
			}
			systemtest.ExpectFault(t, n.MustDo(404, c.method, "/v2/lbaas/flavors/"+id, body), 404, "Flavor "+id+" not found.")
			systemtest.ExpectFault(t, n.MustDo(404, c.method, "/v2/lbaas/flavors/"+nilUUID, body), 404, "Flavor "+nilUUID+" not found.")
		}
		// The name is free again.
		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+createFlavor(t, n, "silver", single), nil)
	})

	t.Run("bad bodies write nothing", func(t *testing.T) {
		for _, c := range []struct {
			status    int
			body, msg string
		}{
			{400, `{"flavor":{"name":"x"}}`, "Invalid input for field/attribute flavor_profile_id. Value: 'None'. Mandatory field missing."},
			{400, fmt.Sprintf(`{"flavor":{"flavor_profile_id":%q}}`, single), "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."},
			{400, `{"flavor":{"name":"x","flavor_profile_id":"fp-1"}}`, "Invalid input for field/attribute flavor_profile_id. Value: 'fp-1'. Value should be UUID format"},
			{400, fmt.Sprintf(`{"flavor":{"name":"x","flavor_profile_id":%q,"enabled":"maybe"}}`, single),
				"Invalid input for field/attribute enabled. Value: 'maybe'. Value should be boolean"},
			{400, fmt.Sprintf(`{"flavor":{"name":%q,"flavor_profile_id":%q}}`, strings.Repeat("n", 256), single),
				"Invalid input for field/attribute name. Value: '" + strings.Repeat("n", 256) + "'. Value should have a maximum character requirement of 255"},
			{400, fmt.Sprintf(`{"flavor":{"name":"x","flavor_profile_id":%q,"provider":"amphora"}}`, single), "Unknown attribute for argument flavor_.flavor: provider"},
			{400, `{}`, `Missing argument: "flavor_"`},
			{404, fmt.Sprintf(`{"flavor":{"name":"x","flavor_profile_id":%q}}`, missingID), "Flavor Profile " + missingID + " not found."},
		} {
			systemtest.ExpectFault(t, n.MustDo(c.status, "POST", "/v2/lbaas/flavors", c.body), c.status, c.msg)
		}
		if page := listOf(t, n, "/v2/lbaas/flavors", "flavors", "flavors_links"); len(page.items) != 0 {
			t.Fatalf("bad bodies created %v", page.items)
		}
	})

	t.Run("roles", func(t *testing.T) {
		id := createFlavor(t, n, "rbac", single)
		user := memberOf("p")
		if got := listOf(t, n, "/v2/lbaas/flavors", "flavors", "flavors_links", user...).field("name"); !slices.Equal(got, []string{"rbac"}) {
			t.Fatalf("a member's flavor list: %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "POST", "/v2/lbaas/flavors", fmt.Sprintf(`{"flavor":{"name":"m","flavor_profile_id":%q}}`, single), user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/lbaas/flavors/"+id, `{"flavor":{"name":"m"}}`, user...), 403, policyRefused)
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", "/v2/lbaas/flavors/"+id, nil, user...), 403, policyRefused)
		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+id, nil)
	})

	t.Run("list conventions", func(t *testing.T) {
		ids := map[string]string{}
		for _, c := range []struct{ name, profile string }{{"f-c", single}, {"f-a", ha}, {"f-b", single}, {"f-d", ha}} {
			ids[c.name] = createFlavor(t, n, c.name, c.profile)
		}
		n.MustDo(200, "PUT", "/v2/lbaas/flavors/"+ids["f-d"], `{"flavor":{"enabled":false,"description":"off"}}`)
		list := func(query string) []string {
			return listOf(t, n, "/v2/lbaas/flavors"+query, "flavors", "flavors_links", memberOf("p")...).field("name")
		}
		// Octavia's model has no created_at: the default order is by id.
		all := inIDOrder(ids, "f-c", "f-a", "f-b", "f-d")
		for query, want := range map[string][]string{
			"":                                all,
			"?flavor_profile_id=" + ha:        inIDOrder(ids, "f-a", "f-d"),
			"?enabled=false":                  {"f-d"},
			"?enabled=true&sort=name:desc":    {"f-c", "f-b", "f-a"},
			"?name=f-b":                       {"f-b"},
			"?id=" + ids["f-c"]:               {"f-c"},
			"?description=off":                {"f-d"},
			"?sort_key=name&sort_dir=asc":     {"f-a", "f-b", "f-c", "f-d"},
			"?flavor_profile_id=" + missingID: nil,
		} {
			if got := list(query); !slices.Equal(got, want) {
				t.Errorf("flavors%s: %v, want %v", query, got, want)
			}
		}
		page := listOf(t, n, "/v2/lbaas/flavors.json?limit=3", "flavors", "flavors_links")
		if !slices.Equal(page.field("name"), all[:3]) || !strings.Contains(page.links["next"], "/v2/lbaas/flavors.json?limit=3") {
			t.Fatalf("first page %v links %v", page.field("name"), page.links)
		}
		page = listOf(t, n, pathOf(t, page.links["next"]), "flavors", "flavors_links")
		if !slices.Equal(page.field("name"), all[3:]) {
			t.Fatalf("second page %v", page.field("name"))
		}
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/flavors?marker="+missingID, nil), 400, "Supplied pagination marker '"+missingID+"' is not valid.")
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/lbaas/flavors?enabled=perhaps", nil), 400,
			"Invalid input for field/attribute enabled. Value: 'perhaps'. Value should be boolean")
		for _, id := range ids {
			n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+id, nil)
		}
	})

	t.Run("load balancers use them", func(t *testing.T) {
		haFlavor := createFlavor(t, n, "ha", ha)
		create := func(status int, extra string) *systemtest.Response {
			return n.MustDo(status, "POST", "/v2/lbaas/loadbalancers", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q%s}}`, subnet, extra))
		}
		// An ACTIVE_STANDBY flavor: the provider step provisions a MASTER and a BACKUP.
		r := create(201, fmt.Sprintf(`,"flavor_id":%q`, haFlavor))
		var lb map[string]interface{}
		json.Unmarshal(r.Body, &struct{ Loadbalancer *map[string]interface{} }{&lb})
		if lb["flavor_id"] != haFlavor || lb["provider"] != "amphora" {
			t.Fatalf("load balancer with a flavor: %v", lb)
		}
		id := lb["id"].(string)
		n.WaitActive(id, 10*time.Second)
		if got := objectOf(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+id, nil), "loadbalancer"); got["flavor_id"] != haFlavor {
			t.Fatalf("stored flavor_id: %v", got)
		}
		if got := listOf(t, n, "/v2/lbaas/loadbalancers?flavor_id="+haFlavor, "loadbalancers", "loadbalancers_links").field("id"); !slices.Equal(got, []string{id}) {
			t.Fatalf("filter by flavor: %v", got)
		}
		// A flavor in use, and its profile, stay.
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/flavors/"+haFlavor, nil), 409, "Flavor "+haFlavor+" is in use and cannot be modified.")
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/lbaas/flavorprofiles/"+ha, nil), 409, "Flavor profile "+ha+" is in use and cannot be modified.")

		// The provider comes from the flavor; an explicit different one is refused.
		aliasFlavor := createFlavor(t, n, "alias", viaAlias)
		var viaFlavor map[string]interface{}
		json.Unmarshal(create(201, fmt.Sprintf(`,"flavor_id":%q`, aliasFlavor)).Body, &struct{ Loadbalancer *map[string]interface{} }{&viaFlavor})
		if viaFlavor["provider"] != "octavia" {
			t.Fatalf("provider from the flavor: %v", viaFlavor)
		}
		create(201, fmt.Sprintf(`,"flavor_id":%q,"provider":"octavia"`, aliasFlavor))
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`,"flavor_id":%q,"provider":"amphora"`, aliasFlavor)), 400,
			fmt.Sprintf("Flavor '%s' is not compatible with provider 'amphora'", aliasFlavor))
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`,"flavor_id":%q,"provider":"octavia"`, haFlavor)), 400,
			fmt.Sprintf("Flavor '%s' is not compatible with provider 'octavia'", haFlavor))

		// Unknown and disabled flavors.
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`,"flavor_id":%q`, missingID)), 400, "Validation failure: Invalid flavor_id.")
		systemtest.ExpectFault(t, create(400, `,"flavor_id":"gold"`), 400, "Invalid input for field/attribute flavor_id. Value: 'gold'. Value should be UUID format")
		n.MustDo(200, "PUT", "/v2/lbaas/flavors/"+aliasFlavor, `{"flavor":{"enabled":false}}`)
		systemtest.ExpectFault(t, create(400, fmt.Sprintf(`,"flavor_id":%q`, aliasFlavor)), 400,
			"The selected flavor is not allowed in this deployment: "+aliasFlavor)

		// Once the load balancer is gone, the flavor and its profile can go.
		n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+id, nil)
		systemtest.Eventually(t, 10*time.Second, "load balancer "+id+" purged", func() bool {
			r, err := n.Do("GET", "/v2/lbaas/loadbalancers/"+id, nil)
			return err == nil && r.Status == 404
		})
		n.MustDo(204, "DELETE", "/v2/lbaas/flavors/"+haFlavor, nil)
		n.MustDo(204, "DELETE", "/v2/lbaas/flavorprofiles/"+ha, nil)
	})
}
