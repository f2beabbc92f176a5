package gophercloudtest

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"keel/cluster/systemtest"
)

func TestPoolsAndMembersThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)
	lb := createLB(t, c, "gc-pools")
	l, err := listeners.Create(ctx(t), c, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolHTTP, ProtocolPort: 80}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	// A listener's default pool with cookie persistence.
	p, err := pools.Create(ctx(t), c, pools.CreateOpts{ListenerID: l.ID, Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodRoundRobin,
		Name: "web", Persistence: &pools.SessionPersistence{Type: "APP_COOKIE", CookieName: "sid"}, Tags: []string{"gc"}}).Extract()
	if err != nil || p.ProvisioningStatus != "PENDING_CREATE" || len(p.Listeners) != 1 || p.Listeners[0].ID != l.ID ||
		len(p.Loadbalancers) != 1 || p.Loadbalancers[0].ID != lb.ID || p.Persistence.Type != "APP_COOKIE" || p.Persistence.CookieName != "sid" ||
		!slices.Equal(p.Tags, []string{"gc"}) || p.ProjectID != "default" {
		t.Fatalf("create pool: %+v %v", p, err)
	}
	waitLBActive(t, c, lb.ID)
	got, err := pools.Get(ctx(t), c, p.ID).Extract()
	if err != nil || got.ProvisioningStatus != "ACTIVE" || got.OperatingStatus != "OFFLINE" || got.MonitorID != "" || got.Name != "web" {
		t.Fatalf("get pool: %+v %v", got, err)
	}
	if gl, err := listeners.Get(ctx(t), c, l.ID).Extract(); err != nil || gl.DefaultPoolID != p.ID {
		t.Fatalf("listener's default pool: %+v %v", gl, err)
	}
	name := "web2"
	up, err := pools.Update(ctx(t), c, p.ID, pools.UpdateOpts{Name: &name, LBMethod: pools.LBMethodLeastConnections}).Extract()
	if err != nil || up.Name != name || up.LBMethod != "LEAST_CONNECTIONS" || up.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("update pool: %+v %v", up, err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := pools.Update(ctx(t), c, p.ID, pools.UpdateOpts{LBMethod: pools.LBMethodSourceIpPort}).Extract(); !isStatus(err, http.StatusNotImplemented) {
		t.Fatalf("SOURCE_IP_PORT: %v", err)
	}
	tcp, err := pools.Create(ctx(t), c, pools.CreateOpts{LoadbalancerID: lb.ID, Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodSourceIp}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	// Lists through the pager (it follows "next" links) and with filters.
	var paged []string
	err = pools.List(c, pools.ListOpts{LoadbalancerID: lb.ID, Limit: 1}).EachPage(ctx(t), func(_ context.Context, pg pagination.Page) (bool, error) {
		ps, err := pools.ExtractPools(pg)
		for _, x := range ps {
			paged = append(paged, x.ID)
		}
		return true, err
	})
	if err != nil || !slices.Equal(paged, []string{p.ID, tcp.ID}) {
		t.Fatalf("paged pools: %v %v", paged, err)
	}
	all, err := pools.List(c, pools.ListOpts{Protocol: "TCP"}).AllPages(ctx(t))
	if ps, _ := pools.ExtractPools(all); err != nil || len(ps) != 1 || ps[0].ID != tcp.ID {
		t.Fatalf("TCP pools: %+v %v", ps, err)
	}

	// Members.
	weight := 5
	m, err := pools.CreateMember(ctx(t), c, p.ID, pools.CreateMemberOpts{Address: "10.0.0.1", ProtocolPort: 8080, Weight: &weight,
		Name: "m1", SubnetID: subnet}).Extract()
	if err != nil || m.Weight != 5 || m.OperatingStatus != "NO_MONITOR" || m.ProvisioningStatus != "PENDING_CREATE" || m.SubnetID != subnet {
		t.Fatalf("create member: %+v %v", m, err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := pools.CreateMember(ctx(t), c, p.ID, pools.CreateMemberOpts{Address: "10.0.0.1", ProtocolPort: 8080}).Extract(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("duplicate member: %v", err)
	}
	if gm, err := pools.GetMember(ctx(t), c, p.ID, m.ID).Extract(); err != nil || gm.ProvisioningStatus != "ACTIVE" || gm.Name != "m1" {
		t.Fatalf("get member: %+v %v", gm, err)
	}
	if _, err := pools.GetMember(ctx(t), c, tcp.ID, m.ID).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("member under another pool: %v", err)
	}
	newWeight, newName := 7, "m1b"
	um, err := pools.UpdateMember(ctx(t), c, p.ID, m.ID, pools.UpdateMemberOpts{Weight: &newWeight, Name: &newName}).Extract()
	if err != nil || um.Weight != 7 || um.Name != newName || um.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("update member: %+v %v", um, err)
	}
	waitLBActive(t, c, lb.ID)

	// Batch update: 10.0.0.1:8080 is matched (the batch's defaults apply to it),
	// 10.0.0.2:8080 is new.
	kept := "kept"
	err = pools.BatchUpdateMembers(ctx(t), c, p.ID, []pools.BatchUpdateMemberOpts{
		{Address: "10.0.0.1", ProtocolPort: 8080, Name: &kept}, {Address: "10.0.0.2", ProtocolPort: 8080}}).ExtractErr()
	if err != nil {
		t.Fatalf("batch update: %v", err)
	}
	waitLBActive(t, c, lb.ID)
	allMembers, err := pools.ListMembers(c, p.ID, pools.ListMembersOpts{}).AllPages(ctx(t))
	ms, _ := pools.ExtractMembers(allMembers)
	if err != nil || len(ms) != 2 || ms[0].ID != m.ID || ms[0].Name != "kept" || ms[0].Weight != 1 || ms[1].Address != "10.0.0.2" ||
		ms[1].ProvisioningStatus != "ACTIVE" {
		t.Fatalf("members after the batch: %+v %v", ms, err)
	}
	filtered, err := pools.ListMembers(c, p.ID, pools.ListMembersOpts{Address: "10.0.0.2"}).AllPages(ctx(t))
	if fm, _ := pools.ExtractMembers(filtered); err != nil || len(fm) != 1 || fm[0].ID != ms[1].ID {
		t.Fatalf("filtered members: %+v %v", fm, err)
	}
	// Replacing with only the new member deletes the other.
	if err := pools.BatchUpdateMembers(ctx(t), c, p.ID, []pools.BatchUpdateMemberOpts{{Address: "10.0.0.2", ProtocolPort: 8080}}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := pools.GetMember(ctx(t), c, p.ID, m.ID).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("member left out of the batch: %v", err)
	}
	if err := pools.DeleteMember(ctx(t), c, p.ID, ms[1].ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := pools.ListMembers(c, "0f3b5c6e-0000-4000-8000-000000000000", nil).AllPages(ctx(t)); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("members of a missing pool: %v", err)
	}

	// A member of another project gets 403; delete, then 404.
	other := client(t, n, map[string]string{"X-Project-Id": "someone-else", "X-Roles": "member"})
	if _, err := pools.Get(ctx(t), other, p.ID).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("other project: %v", err)
	}
	if err := pools.Delete(ctx(t), c, p.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	systemtest.Eventually(t, 10*time.Second, "deleted pool gone", func() bool {
		_, err := pools.Get(ctx(t), c, p.ID).Extract()
		return isStatus(err, http.StatusNotFound)
	})
	if gl, err := listeners.Get(ctx(t), c, l.ID).Extract(); err != nil || gl.DefaultPoolID != "" {
		t.Fatalf("listener after its pool's delete: %+v %v", gl, err)
	}
}
