package http_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestAddressesAsSent: Octavia's IPAddressType returns an address unchanged, so an
// IPv6 address comes back as the client wrote it (octavia-tempest-plugin creates
// members on "2001:db8:0:0:0:0:0:1" and compares), while two spellings of one
// address still name one address where it matters: a member's duplicate check, the
// batch update's matching, the reserved addresses. Allowed CIDRs are Octavia's
// CidrType: canonical (host bits cleared, compressed) and stored as a set.
func TestAddressesAsSent(t *testing.T) {
	a := newPoolsAPI(t, "")

	// Load balancer: vip_address and additional VIPs as sent.
	const other = "6a4c8f1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
	lb := a.create("/v2/lbaas/loadbalancers", "loadbalancer", fmt.Sprintf(`{"loadbalancer":{"vip_subnet_id":%q,
		"vip_address":"2001:DB8:0:0:0:0:0:33","additional_vips":[{"subnet_id":%q,"ip_address":"2001:db8:0:0::34"}]}}`, subnet, other))
	lbID := lb["id"].(string)
	a.settle(lbID)
	lb = a.get("/v2/lbaas/loadbalancers/"+lbID, "loadbalancer")
	if lb["vip_address"] != "2001:DB8:0:0:0:0:0:33" || fmt.Sprint(lb["additional_vips"]) != "[map[ip_address:2001:db8:0:0::34 subnet_id:"+other+"]]" {
		t.Fatalf("load balancer addresses: %v %v", lb["vip_address"], lb["additional_vips"])
	}
	if got := a.values(a.items("/v2/lbaas/loadbalancers?vip_address=2001:DB8:0:0:0:0:0:33", "loadbalancers"), "id"); !slices.Equal(got, []string{lbID}) {
		t.Fatalf("filter on the address as sent: %v", got)
	}

	// Listener: allowed CIDRs canonical, repeats dropped, in the order given.
	l := a.create("/v2/lbaas/listeners", "listener", fmt.Sprintf(`{"listener":{"loadbalancer_id":%q,"protocol":"HTTP",
		"protocol_port":80,"allowed_cidrs":["2001:db8:a0b:12f0:0:0:0:0/64","2001:DB8::1","2001:db8:a0b:12f0::5/64"]}}`, lbID))
	want := []interface{}{"2001:db8:a0b:12f0::/64", "2001:db8::1/128"}
	if !slices.Equal(l["allowed_cidrs"].([]interface{}), want) {
		t.Fatalf("allowed_cidrs: %v, want %v", l["allowed_cidrs"], want)
	}
	web := l["id"].(string)
	a.settle(lbID)
	up := a.obj(a.do(200, "PUT", "/v2/lbaas/listeners/"+web, `{"listener":{"allowed_cidrs":["2001:db8:0:0::/64"]}}`), "listener")
	if fmt.Sprint(up["allowed_cidrs"]) != "[2001:db8::/64]" {
		t.Fatalf("updated allowed_cidrs: %v", up["allowed_cidrs"])
	}
	a.settle(lbID)

	// Members: address and monitor_address as sent.
	p := a.pool(lbID, fmt.Sprintf(`"listener_id":%q,"protocol":"HTTP","lb_algorithm":"ROUND_ROBIN"`, web))["id"].(string)
	pm := "/v2/lbaas/pools/" + p + "/members"
	m := a.create(pm, "member", `{"member":{"address":"2001:db8:0:0:0:0:0:1","protocol_port":80,
		"monitor_address":"2001:db8:0:0:0:0:0:2","monitor_port":8080}}`)
	if m["address"] != "2001:db8:0:0:0:0:0:1" || m["monitor_address"] != "2001:db8:0:0:0:0:0:2" {
		t.Fatalf("created member: %v", m)
	}
	mPath := pm + "/" + m["id"].(string)
	a.settle(lbID)
	if got := a.get(mPath, "member"); got["address"] != "2001:db8:0:0:0:0:0:1" || got["monitor_address"] != "2001:db8:0:0:0:0:0:2" {
		t.Fatalf("shown member: %v", got)
	}
	up = a.obj(a.do(200, "PUT", mPath, `{"member":{"monitor_address":"2001:DB8::0:3"}}`), "member")
	if up["monitor_address"] != "2001:DB8::0:3" {
		t.Fatalf("updated monitor_address: %v", up["monitor_address"])
	}
	a.settle(lbID)
	if tree := a.do(200, "GET", "/v2/lbaas/loadbalancers/"+lbID+"/status", nil).Body; !strings.Contains(string(tree), `"address":"2001:db8:0:0:0:0:0:1"`) {
		t.Fatalf("status tree: %s", tree)
	}

	// The same address spelled otherwise is the same member.
	a.refusal(409, "POST", pm, `{"member":{"address":"2001:DB8::1","protocol_port":80}}`,
		"Another member on this pool is already using ip 2001:DB8::1 on protocol_port 80")
	a.create(pm, "member", `{"member":{"address":"2001:db8::1","protocol_port":81}}`)
	a.settle(lbID)
	// The batch update matches it too: updated in place, keeping its id and spelling.
	a.do(202, "PUT", pm, `{"members":[{"address":"2001:db8::0:1","protocol_port":80,"weight":7},{"address":"2001:db8::1","protocol_port":81}]}`)
	a.settle(lbID)
	got := a.get(mPath, "member")
	if got["weight"] != 7.0 || got["address"] != "2001:db8:0:0:0:0:0:1" {
		t.Fatalf("member after a batch naming it otherwise: %v", got)
	}
	if n := len(a.items(pm, "members")); n != 2 {
		t.Fatalf("%d members after the batch, want 2", n)
	}
	// Two new members of a batch on one address, spelled twice, are a duplicate.
	a.refusal(409, "PUT", pm, `{"members":[{"address":"2001:db8::5","protocol_port":90},{"address":"2001:DB8:0::5","protocol_port":90}]}`,
		"Another member on this pool is already using ip 2001:DB8:0::5 on protocol_port 90")
	// Still validated: no zone, no leading zeros.
	for _, bad := range []string{"fe80::1%eth0", "10.0.0.01"} {
		a.refusal(400, "POST", pm, fmt.Sprintf(`{"member":{"address":%q,"protocol_port":80}}`, bad),
			fmt.Sprintf("Invalid input for field/attribute address. Value: '%s'. Value should be IPv4 or IPv6 format", bad))
	}
}
