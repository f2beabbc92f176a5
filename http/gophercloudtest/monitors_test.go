package gophercloudtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"

	"keel/cluster/systemtest"
)

func TestMonitorsThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)
	lb := createLB(t, c, "gc-monitors")
	p, err := pools.Create(ctx(t), c, pools.CreateOpts{LoadbalancerID: lb.ID, Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodRoundRobin}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	waitLBActive(t, c, lb.ID)

	hm, err := monitors.Create(ctx(t), c, monitors.CreateOpts{PoolID: p.ID, Type: monitors.TypeHTTP, Delay: 10, Timeout: 5, MaxRetries: 3,
		URLPath: "/health", ExpectedCodes: "200-204", HTTPVersion: "1.1", DomainName: "app.example.com", Name: "gc-hm"}).Extract()
	if err != nil || hm.HTTPMethod != "GET" || hm.URLPath != "/health" || hm.ExpectedCodes != "200-204" || hm.HTTPVersion != "1.1" ||
		hm.DomainName != "app.example.com" || hm.MaxRetriesDown != 3 || len(hm.Pools) != 1 || hm.Pools[0].ID != p.ID ||
		hm.ProvisioningStatus != "PENDING_CREATE" {
		t.Fatalf("create monitor: %+v %v", hm, err)
	}
	waitLBActive(t, c, lb.ID)
	if got, err := pools.Get(ctx(t), c, p.ID).Extract(); err != nil || got.MonitorID != hm.ID {
		t.Fatalf("pool's monitor: %+v %v", got, err)
	}
	if _, err := monitors.Create(ctx(t), c, monitors.CreateOpts{PoolID: p.ID, Type: monitors.TypeTCP, Delay: 1, Timeout: 1, MaxRetries: 1}).Extract(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("second monitor: %v", err)
	}
	got, err := monitors.Get(ctx(t), c, hm.ID).Extract()
	if err != nil || got.ProvisioningStatus != "ACTIVE" || got.OperatingStatus != "ONLINE" || got.Name != "gc-hm" {
		t.Fatalf("get monitor: %+v %v", got, err)
	}
	version := "1.0"
	if _, err := monitors.Update(ctx(t), c, hm.ID, monitors.UpdateOpts{HTTPVersion: &version}).Extract(); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("HTTP/1.0 with a domain name: %v", err)
	}
	up, err := monitors.Update(ctx(t), c, hm.ID, monitors.UpdateOpts{Delay: 20, MaxRetriesDown: 5, HTTPMethod: "HEAD"}).Extract()
	if err != nil || up.Delay != 20 || up.MaxRetriesDown != 5 || up.HTTPMethod != "HEAD" || up.ProvisioningStatus != "PENDING_UPDATE" {
		t.Fatalf("update monitor: %+v %v", up, err)
	}
	waitLBActive(t, c, lb.ID)

	all, err := monitors.List(c, monitors.ListOpts{PoolID: p.ID, Type: monitors.TypeHTTP}).AllPages(ctx(t))
	if ms, _ := monitors.ExtractMonitors(all); err != nil || len(ms) != 1 || ms[0].ID != hm.ID || ms[0].Delay != 20 {
		t.Fatalf("monitors of the pool: %+v %v", ms, err)
	}
	none, err := monitors.List(c, monitors.ListOpts{Type: monitors.TypePING}).AllPages(ctx(t))
	if ms, _ := monitors.ExtractMonitors(none); err != nil || len(ms) != 0 {
		t.Fatalf("PING monitors: %+v %v", ms, err)
	}

	if err := monitors.Delete(ctx(t), c, hm.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	systemtest.Eventually(t, 10*time.Second, "deleted monitor gone", func() bool {
		_, err := monitors.Get(ctx(t), c, hm.ID).Extract()
		return isStatus(err, http.StatusNotFound)
	})
	if got, err := pools.Get(ctx(t), c, p.ID).Extract(); err != nil || got.MonitorID != "" {
		t.Fatalf("pool after its monitor's delete: %+v %v", got, err)
	}
}
