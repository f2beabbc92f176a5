package http_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"keel/cluster/systemtest"
)

// isUUID reports whether v is a UUID string (as tempest's UUID() parses it).
func isUUID(v interface{}) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

func amphoraeOf(t *testing.T, n *systemtest.Node, query string) []map[string]interface{} {
	t.Helper()
	return objects(t, n.MustDo(200, "GET", "/v2/octavia/amphorae"+query, nil), "amphorae")
}

func TestAmphoraAPI(t *testing.T) {
	n := startNodeWith(t, "-provision-delay", "1500ms") // long enough to observe PENDING_UPDATE
	lbA := newLoadBalancer(t, n, "a")
	lbB := newLoadBalancer(t, n, "b", "X-Project-Id: proj-b")
	lbC := newLoadBalancer(t, n, "c")
	member := []string{"X-Project-Id: default", "X-Roles: member"}
	forbidden := "Policy does not allow this request to be performed."

	all := amphoraeOf(t, n, "")
	if len(all) != 3 {
		t.Fatalf("one amphora per SINGLE load balancer: %v", all)
	}
	amp := amphoraeOf(t, n, "?loadbalancer_id="+lbA)[0]
	ampID := amp["id"].(string)
	want := []string{"id", "loadbalancer_id", "compute_id", "lb_network_ip", "vrrp_ip", "ha_ip", "vrrp_port_id", "ha_port_id",
		"cert_expiration", "cert_busy", "role", "status", "vrrp_interface", "vrrp_id", "vrrp_priority", "cached_zone",
		"created_at", "updated_at", "image_id", "compute_flavor"}
	if len(amp) != len(want) {
		t.Errorf("amphora has %d attributes, want %d: %v", len(amp), len(want), amp)
	}
	for _, k := range want {
		if _, ok := amp[k]; !ok {
			t.Errorf("amphora lacks %s", k)
		}
	}
	lb := decodeLB(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbA, nil))
	// A STANDALONE amphora has the VIP data Octavia's UpdateAmphoraVIPData
	// records for every topology (its VRRP port and address, the VIP's, VRRP id
	// 1; octavia-tempest-plugin parses vrrp_port_id and ha_port_id as UUIDs), and
	// no VRRP interface or priority (ACTIVE_STANDBY's).
	if amp["loadbalancer_id"] != lbA || amp["role"] != "STANDALONE" || amp["status"] != "ALLOCATED" || amp["ha_ip"] != lb.VipAddress ||
		amp["ha_port_id"] != lb.VipPortID || !isUUID(amp["vrrp_port_id"]) || !isUUID(amp["compute_id"]) || amp["vrrp_port_id"] == amp["ha_port_id"] ||
		amp["vrrp_id"] != 1.0 || amp["vrrp_priority"] != nil || amp["vrrp_interface"] != nil || amp["vrrp_ip"] == nil || amp["cert_busy"] != false ||
		amp["cert_expiration"] == nil || amp["lb_network_ip"] == nil || amp["updated_at"] == nil {
		t.Fatalf("amphora: %v", amp)
	}

	t.Run("list and show", func(t *testing.T) {
		for query, wantLBs := range map[string][]string{
			"?project_id=proj-b":                {lbB},
			"?project_id=default":               {lbA, lbC},
			"?role=STANDALONE&status=ALLOCATED": {lbA, lbB, lbC},
			"?status=READY":                     nil,
			"?loadbalancer_id=" + lbC:           {lbC},
			"?id=" + ampID:                      {lbA},
			"?sort=loadbalancer_id:asc":         sorted(lbA, lbB, lbC),
		} {
			var got []string
			for _, a := range amphoraeOf(t, n, query) {
				got = append(got, a["loadbalancer_id"].(string))
			}
			if !slices.Equal(got, wantLBs) {
				t.Errorf("%s: %v, want %v", query, got, wantLBs)
			}
		}
		r := n.MustDo(200, "GET", "/v2.0/octavia/amphorae?limit=2&fields=id", nil)
		page := objects(t, r, "amphorae")
		var links struct {
			Links []struct{ Href, Rel string } `json:"amphorae_links"`
		}
		json.Unmarshal(r.Body, &links)
		if len(page) != 2 || len(page[0]) != 1 || len(links.Links) != 1 || links.Links[0].Rel != "next" {
			t.Fatalf("first page: %s", r.Body)
		}
		u, _ := url.Parse(links.Links[0].Href)
		if rest := objects(t, n.MustDo(200, "GET", u.RequestURI(), nil), "amphorae"); len(rest) != 1 {
			t.Fatalf("second page: %v", rest)
		}
		systemtest.ExpectFault(t, n.MustDo(400, "GET", "/v2/octavia/amphorae?tenant_id=x&color=red", nil), 400, "One or more arguments are either duplicate or invalid")

		one := object(t, n.MustDo(200, "GET", "/v2/octavia/amphorae/"+ampID, nil), "amphora")
		if one["id"] != ampID || one["loadbalancer_id"] != lbA {
			t.Fatalf("show: %v", one)
		}
		n.MustDo(200, "GET", "/v2.0/octavia/amphorae/"+ampID+".json", nil)
		missing := "9a6f3f0e-5b9a-4a52-8b35-0f0e4c2a9d11"
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/octavia/amphorae/"+missing, nil), 404, "Amphora "+missing+" not found.")
		// Administrators only, even for the amphorae of one's own load balancers.
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/octavia/amphorae", nil, member...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/octavia/amphorae/"+ampID, nil, member...), 403, forbidden)
		n.MustDo(200, "GET", "/v2/octavia/amphorae/"+ampID, nil, "X-Project-Id: other", "X-Roles: reader,admin")
		n.MustDo(404, "GET", "/v2/lbaas/octavia/amphorae", nil)
	})

	t.Run("stats", func(t *testing.T) {
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/octavia/amphorae/"+ampID+"/stats", nil), 404, "Amphora stats for "+ampID+" not found.")
		l1 := newListener(t, n, lbA, "HTTP", 80)
		l2 := newListener(t, n, lbA, "TCP", 443)
		r := n.MustDo(200, "GET", "/v2/octavia/amphorae/"+ampID+"/stats", nil)
		want := `{"amphora_stats":[`
		for i, l := range []string{l1, l2} {
			if i > 0 {
				want += ","
			}
			want += fmt.Sprintf(`{"active_connections":0,"bytes_in":0,"bytes_out":0,"id":%q,"listener_id":%q,"loadbalancer_id":%q,"request_errors":0,"total_connections":0}`,
				ampID, l, lbA)
		}
		want += "]}"
		if string(r.Body) != want {
			t.Fatalf("stats:\n%s\nwant\n%s", r.Body, want)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "GET", "/v2/octavia/amphorae/"+ampID+"/stats", nil, member...), 403, forbidden)
		missing := "9a6f3f0e-5b9a-4a52-8b35-0f0e4c2a9d11"
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/octavia/amphorae/"+missing+"/stats", nil), 404, "Amphora stats for "+missing+" not found.")
	})

	t.Run("config and delete", func(t *testing.T) {
		r := n.MustDo(202, "PUT", "/v2/octavia/amphorae/"+ampID+"/config", nil)
		if len(r.Body) != 0 {
			t.Fatalf("config answers without a body: %s", r.Body)
		}
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/octavia/amphorae/"+ampID+"/config", nil, member...), 403, forbidden)
		missing := "9a6f3f0e-5b9a-4a52-8b35-0f0e4c2a9d11"
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/octavia/amphorae/"+missing+"/config", nil), 404, "Amphora "+missing+" not found.")
		// An amphora in service (ALLOCATED) cannot be deleted: only READY or ERROR ones.
		systemtest.ExpectFault(t, n.MustDo(409, "DELETE", "/v2/octavia/amphorae/"+ampID, nil), 409, "amphora "+ampID+" is immutable and cannot be updated.")
		systemtest.ExpectFault(t, n.MustDo(403, "DELETE", "/v2/octavia/amphorae/"+ampID, nil, member...), 403, forbidden)
		systemtest.ExpectFault(t, n.MustDo(404, "DELETE", "/v2/octavia/amphorae/"+missing, nil), 404, "Amphora "+missing+" not found.")
		if got := amphoraeOf(t, n, "?id="+ampID); len(got) != 1 || got[0]["status"] != "ALLOCATED" {
			t.Fatalf("after refused changes: %v", got)
		}
	})

	t.Run("failover", func(t *testing.T) {
		cAmp := amphoraeOf(t, n, "?loadbalancer_id="+lbC)[0]
		cID := cAmp["id"].(string)
		systemtest.ExpectFault(t, n.MustDo(403, "PUT", "/v2/octavia/amphorae/"+cID+"/failover", nil, member...), 403, forbidden)
		r := n.MustDo(202, "PUT", "/v2/octavia/amphorae/"+cID+"/failover", nil)
		if len(r.Body) != 0 {
			t.Fatalf("failover answers without a body: %s", r.Body)
		}
		if lb := decodeLB(t, n.MustDo(200, "GET", "/v2/lbaas/loadbalancers/"+lbC, nil)); lb.ProvisioningStatus != "PENDING_UPDATE" {
			t.Fatalf("failover locks the load balancer: %+v", lb)
		}
		if got := amphoraeOf(t, n, "?id="+cID); len(got) != 1 || got[0]["status"] != "PENDING_DELETE" {
			t.Fatalf("the failed-over amphora: %v", got)
		}
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/octavia/amphorae/"+cID+"/failover", nil), 409, "Load Balancer "+lbC+" is immutable and cannot be updated.")
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/octavia/amphorae/"+cID+"/config", nil), 409, "amphora "+cID+" is immutable and cannot be updated.")
		n.WaitActive(lbC, 10*time.Second)
		var replacement []map[string]interface{}
		systemtest.Eventually(t, 10*time.Second, "a replacement amphora", func() bool {
			replacement = amphoraeOf(t, n, "?loadbalancer_id="+lbC)
			return len(replacement) == 1 && replacement[0]["id"] != cID
		})
		if replacement[0]["role"] != "STANDALONE" || replacement[0]["status"] != "ALLOCATED" {
			t.Fatalf("replacement: %v", replacement[0])
		}
		systemtest.ExpectFault(t, n.MustDo(404, "GET", "/v2/octavia/amphorae/"+cID, nil), 404, "Amphora "+cID+" not found.")
		missing := "9a6f3f0e-5b9a-4a52-8b35-0f0e4c2a9d11"
		systemtest.ExpectFault(t, n.MustDo(404, "PUT", "/v2/octavia/amphorae/"+missing+"/failover", nil), 404, "Amphora "+missing+" not found.")
		// A load balancer busy with another change refuses an amphora failover.
		aAmp := amphoraeOf(t, n, "?loadbalancer_id="+lbA)[0]["id"].(string)
		n.MustDo(200, "PUT", "/v2/lbaas/loadbalancers/"+lbA, `{"loadbalancer":{"name":"busy"}}`)
		systemtest.ExpectFault(t, n.MustDo(409, "PUT", "/v2/octavia/amphorae/"+aAmp+"/failover", nil), 409, "Load Balancer "+lbA+" is immutable and cannot be updated.")
		n.WaitActive(lbA, 10*time.Second)
		if got := amphoraeOf(t, n, "?id="+aAmp); len(got) != 1 || got[0]["status"] != "ALLOCATED" {
			t.Fatalf("a refused failover changed the amphora: %v", got)
		}
	})

	t.Run("deleted load balancers take their amphorae", func(t *testing.T) {
		n.MustDo(204, "DELETE", "/v2/lbaas/loadbalancers/"+lbB, nil)
		systemtest.Eventually(t, 10*time.Second, "amphora of the deleted load balancer gone", func() bool {
			return len(amphoraeOf(t, n, "?loadbalancer_id="+lbB)) == 0
		})
		if got := amphoraeOf(t, n, ""); len(got) != 2 {
			t.Fatalf("amphorae left: %v", got)
		}
	})
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
