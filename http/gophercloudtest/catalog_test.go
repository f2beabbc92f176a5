package gophercloudtest

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/apiversions"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/flavorprofiles"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/providers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/quotas"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func TestQuotasThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)

	q, err := quotas.Get(ctx(t), c, "gc-project").Extract()
	if err != nil || *q != (quotas.Quota{Loadbalancer: -1, Listener: -1, Member: -1, Pool: -1, Healthmonitor: -1, L7Policy: -1, L7Rule: -1}) {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	one, three, zero := 1, 3, 0
	q, err = quotas.Update(ctx(t), c, "gc-project", quotas.UpdateOpts{Loadbalancer: &one, Healthmonitor: &three, L7Rule: &zero}).Extract()
	if err != nil || q.Loadbalancer != 1 || q.Healthmonitor != 3 || q.L7Rule != 0 || q.Listener != -1 {
		t.Fatalf("update: %+v %v", q, err)
	}
	if q, err = quotas.Get(ctx(t), c, "gc-project").Extract(); err != nil || q.Loadbalancer != 1 || q.Healthmonitor != 3 {
		t.Fatalf("get after update: %+v %v", q, err)
	}

	// The quota holds for the project's members.
	member := client(t, n, map[string]string{"X-Project-Id": "gc-project", "X-Roles": "member"})
	createLB(t, member, "within quota")
	if _, err := loadbalancers.Create(ctx(t), member, loadbalancers.CreateOpts{VipSubnetID: subnet}).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("second load balancer over quota: %v", err)
	}
	// Members read their quotas but do not change them.
	if q, err := quotas.Get(ctx(t), member, "gc-project").Extract(); err != nil || q.Loadbalancer != 1 {
		t.Fatalf("member reads own quota: %+v %v", q, err)
	}
	if _, err := quotas.Update(ctx(t), member, "gc-project", quotas.UpdateOpts{Loadbalancer: &three}).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member update: %v", err)
	}
	if _, err := quotas.Get(ctx(t), member, "someone-else").Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member reads another project's quota: %v", err)
	}

	if err := quotas.Delete(ctx(t), c, "gc-project").ExtractErr(); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if q, err = quotas.Get(ctx(t), c, "gc-project").Extract(); err != nil || q.Loadbalancer != -1 || q.Healthmonitor != -1 {
		t.Fatalf("after reset: %+v %v", q, err)
	}
	createLB(t, member, "quota lifted")
	if err := quotas.Delete(ctx(t), c, "never-set").ExtractErr(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("reset of a project without quotas: %v", err)
	}
}

func TestFlavorsThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)

	fp, err := flavorprofiles.Create(ctx(t), c, flavorprofiles.CreateOpts{Name: "ha", ProviderName: "amphora",
		FlavorData: `{"loadbalancer_topology": "ACTIVE_STANDBY"}`}).Extract()
	if err != nil || fp.ID == "" || fp.ProviderName != "amphora" || fp.FlavorData != `{"loadbalancer_topology": "ACTIVE_STANDBY"}` {
		t.Fatalf("create profile: %+v %v", fp, err)
	}
	if _, err := flavorprofiles.Create(ctx(t), c, flavorprofiles.CreateOpts{Name: "bad", ProviderName: "amphora",
		FlavorData: `{"loadbalancer_topology": "TRIPLE"}`}).Extract(); !isStatus(err, http.StatusNotImplemented) {
		t.Fatalf("profile with data the provider refuses: %v", err)
	}
	if got, err := flavorprofiles.Get(ctx(t), c, fp.ID).Extract(); err != nil || got.Name != "ha" {
		t.Fatalf("get profile: %+v %v", got, err)
	}
	fp, err = flavorprofiles.Update(ctx(t), c, fp.ID, flavorprofiles.UpdateOpts{Name: "high-availability"}).Extract()
	if err != nil || fp.Name != "high-availability" {
		t.Fatalf("update profile: %+v %v", fp, err)
	}
	pages, err := flavorprofiles.List(c, flavorprofiles.ListOpts{ProviderName: "amphora"}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := flavorprofiles.ExtractFlavorProfiles(pages); len(all) != 1 || all[0].ID != fp.ID {
		t.Fatalf("list profiles: %+v", all)
	}

	f, err := flavors.Create(ctx(t), c, flavors.CreateOpts{Name: "gold", Description: "two amphorae", FlavorProfileId: fp.ID, Enabled: true}).Extract()
	if err != nil || !f.Enabled || f.FlavorProfileId != fp.ID || f.Description != "two amphorae" {
		t.Fatalf("create flavor: %+v %v", f, err)
	}
	if _, err := flavors.Create(ctx(t), c, flavors.CreateOpts{Name: "gold", FlavorProfileId: fp.ID}).Extract(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("duplicate flavor name: %v", err)
	}
	for _, name := range []string{"silver", "bronze", "copper"} {
		if _, err := flavors.Create(ctx(t), c, flavors.CreateOpts{Name: name, FlavorProfileId: fp.ID}).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	f, err = flavors.Update(ctx(t), c, f.ID, flavors.UpdateOpts{Description: "HA"}).Extract()
	if err != nil || f.Description != "HA" || f.Name != "gold" {
		t.Fatalf("update flavor: %+v %v", f, err)
	}
	// Any role lists flavors.
	member := client(t, n, map[string]string{"X-Project-Id": "p", "X-Roles": "member"})
	// In id order: Octavia's flavor model has no created_at to sort by.
	var names, ids []string
	err = flavors.List(member, flavors.ListOpts{}).EachPage(ctx(t), func(_ context.Context, p pagination.Page) (bool, error) {
		fs, err := flavors.ExtractFlavors(p)
		for _, x := range fs {
			names, ids = append(names, x.Name), append(ids, x.ID)
		}
		return true, err
	})
	sortedNames := slices.Sorted(slices.Values(names))
	if err != nil || !slices.IsSorted(ids) || !slices.Equal(sortedNames, []string{"bronze", "copper", "gold", "silver"}) {
		t.Fatalf("list flavors: %v %v %v", names, ids, err)
	}
	if _, err := flavors.Create(ctx(t), member, flavors.CreateOpts{Name: "mine", FlavorProfileId: fp.ID}).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member creates a flavor: %v", err)
	}
	if _, err := flavorprofiles.Get(ctx(t), member, fp.ID).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member reads a flavor profile: %v", err)
	}

	// A load balancer of the flavor; the flavor and its profile are then in use.
	lb, err := loadbalancers.Create(ctx(t), c, loadbalancers.CreateOpts{Name: "ha-lb", VipSubnetID: subnet, FlavorID: f.ID}).Extract()
	if err != nil || lb.FlavorID != f.ID || lb.Provider != "amphora" {
		t.Fatalf("load balancer of a flavor: %+v %v", lb, err)
	}
	waitLBActive(t, c, lb.ID)
	if err := flavors.Delete(ctx(t), c, f.ID).ExtractErr(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("delete a flavor in use: %v", err)
	}
	if err := flavorprofiles.Delete(ctx(t), c, fp.ID).ExtractErr(); !isStatus(err, http.StatusConflict) {
		t.Fatalf("delete a profile in use: %v", err)
	}
	if _, err := loadbalancers.Create(ctx(t), c, loadbalancers.CreateOpts{VipSubnetID: subnet, FlavorID: subnet}).Extract(); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("load balancer of an unknown flavor: %v", err)
	}

	// Flavors not in use go; then 404.
	all, err := flavors.List(c, flavors.ListOpts{}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := flavors.ExtractFlavors(all)
	var deleted string
	for _, x := range fs {
		if x.ID != f.ID {
			if err := flavors.Delete(ctx(t), c, x.ID).ExtractErr(); err != nil {
				t.Fatal(err)
			}
			deleted = x.ID
		}
	}
	if _, err := flavors.Get(ctx(t), c, deleted).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("deleted flavor: %v", err)
	}
}

func TestProvidersThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)
	pages, err := providers.List(c, providers.ListOpts{}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := providers.ExtractProviders(pages)
	if err != nil || len(ps) != 2 || ps[0] != (providers.Provider{Name: "amphora", Description: "The Octavia Amphora driver."}) || ps[1].Name != "octavia" {
		t.Fatalf("providers: %+v %v", ps, err)
	}
	caps, err := providers.ListFlavorCapabilities(ctx(t), c, "amphora", providers.ListFlavorCapabilitiesOpts{Fields: []string{"name"}}).Extract()
	if err != nil || len(caps) == 0 || caps[0] != (providers.Capability{Name: "loadbalancer_topology"}) {
		t.Fatalf("flavor capabilities: %+v %v", caps, err)
	}
	zoneCaps, err := providers.ListAvailabilityZoneCapabilities(ctx(t), c, "octavia", nil).Extract()
	if err != nil || len(zoneCaps) != 3 || zoneCaps[0].Name != "compute_zone" || zoneCaps[0].Description != "The compute availability zone." {
		t.Fatalf("availability zone capabilities: %+v %v", zoneCaps, err)
	}
	if _, err := providers.ListFlavorCapabilities(ctx(t), c, "f5", nil).Extract(); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("unknown provider: %v", err)
	}
	member := client(t, n, map[string]string{"X-Project-Id": "p", "X-Roles": "member"})
	if _, err := providers.ListFlavorCapabilities(ctx(t), member, "amphora", nil).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member reads capabilities: %v", err)
	}
}

// TestAPIVersionsThroughGophercloud reads the version document at the endpoint's
// root through gophercloud's apiversions package.
func TestAPIVersionsThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)
	pages, err := apiversions.List(c).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	versions, err := apiversions.ExtractAPIVersions(pages)
	if err != nil || len(versions) == 0 {
		t.Fatalf("versions: %+v %v", versions, err)
	}
	current := 0
	for _, v := range versions {
		if !strings.HasPrefix(v.ID, "v2.") {
			t.Fatalf("version %+v is not a v2 minor version", v)
		}
		if v.Status == "CURRENT" {
			current++
		}
	}
	if current != 1 {
		t.Fatalf("want exactly one CURRENT version: %+v", versions)
	}
}
