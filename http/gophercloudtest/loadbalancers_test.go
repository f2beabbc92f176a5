package gophercloudtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"keel/cluster/systemtest"
)

func TestLoadBalancersThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)

	lb := createLB(t, c, "gc-lb")
	// Operating status is measured: the noop driver leaves it OFFLINE (Octavia).
	if lb.VipSubnetID != subnet || lb.Provider != "amphora" || lb.OperatingStatus != "OFFLINE" || lb.ProjectID != "default" {
		t.Fatalf("load balancer: %+v", lb)
	}
	name := "renamed"
	up, err := loadbalancers.Update(ctx(t), c, lb.ID, loadbalancers.UpdateOpts{Name: &name, Tags: &[]string{"t1"}}).Extract()
	if err != nil || up.Name != name || up.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("update: %+v %v", up, err)
	}
	waitLBActive(t, c, lb.ID)

	// Pages through gophercloud's pager (it follows the "next" links).
	for i := 0; i < 4; i++ {
		createLB(t, c, "paged")
	}
	var seen []string
	err = loadbalancers.List(c, loadbalancers.ListOpts{Limit: 2, Name: "paged"}).EachPage(ctx(t), func(_ context.Context, p pagination.Page) (bool, error) {
		lbs, err := loadbalancers.ExtractLoadBalancers(p)
		for _, x := range lbs {
			seen = append(seen, x.ID)
		}
		return true, err
	})
	if err != nil || len(seen) != 4 {
		t.Fatalf("paged list: %d items, %v", len(seen), err)
	}

	// A listener through gophercloud's listeners package.
	l, err := listeners.Create(ctx(t), c, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolHTTP, ProtocolPort: 80, Name: "web"}).Extract()
	if err != nil || l.ProtocolPort != 80 || len(l.Loadbalancers) != 1 || l.Loadbalancers[0].ID != lb.ID {
		t.Fatalf("listener: %+v %v", l, err)
	}
	waitLBActive(t, c, lb.ID)
	if _, err := listeners.Create(ctx(t), c, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolTCP, ProtocolPort: 80}).Extract(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("duplicate port: %v", err)
	}
	got, err := listeners.Get(ctx(t), c, l.ID).Extract()
	if err != nil || got.Name != "web" || got.ProvisioningStatus != "ACTIVE" {
		t.Fatalf("get listener: %+v %v", got, err)
	}
	limit := 1000
	if _, err := listeners.Update(ctx(t), c, l.ID, listeners.UpdateOpts{ConnLimit: &limit}).Extract(); err != nil {
		t.Fatalf("update listener: %v", err)
	}
	waitLBActive(t, c, lb.ID)
	all, err := listeners.List(c, listeners.ListOpts{LoadbalancerID: lb.ID}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := listeners.ExtractListeners(all); len(ls) != 1 || ls[0].ConnLimit != 1000 {
		t.Fatalf("listeners of the load balancer: %+v", ls)
	}
	if err := listeners.Delete(ctx(t), c, l.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	// Cascade delete, then 404.
	if err := loadbalancers.Delete(ctx(t), c, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	systemtest.Eventually(t, 10*time.Second, "deleted load balancer gone", func() bool {
		_, err := loadbalancers.Get(ctx(t), c, lb.ID).Extract()
		return isStatus(err, http.StatusNotFound)
	})

	// A member of another project gets 403.
	other := client(t, n, map[string]string{"X-Project-Id": "someone-else", "X-Roles": "member"})
	if _, err := loadbalancers.Get(ctx(t), other, seen[0]).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("other project: %v", err)
	}
}
