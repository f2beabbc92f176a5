package gophercloudtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/amphorae"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"keel/cluster/systemtest"
)

func TestAmphoraeThroughGophercloud(t *testing.T) {
	// A provider step slow enough that the load balancer is still locked when the
	// second failover arrives.
	n := systemtest.NewNode(t, "gc")
	n.ExtraArgs = []string{"-provision-delay", "1500ms"}
	n.StartHealthy(60 * time.Second)
	c := client(t, n, nil)
	lbA := createLB(t, c, "gc-amp-a")
	lbB := createLB(t, c, "gc-amp-b")

	list := func(opts amphorae.ListOpts) []amphorae.Amphora {
		t.Helper()
		var out []amphorae.Amphora
		err := amphorae.List(c, opts).EachPage(ctx(t), func(_ context.Context, p pagination.Page) (bool, error) {
			page, err := amphorae.ExtractAmphorae(p)
			out = append(out, page...)
			return true, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// gophercloud's pager follows amphorae_links.
	if all := list(amphorae.ListOpts{Limit: 1}); len(all) != 2 {
		t.Fatalf("paged amphorae: %+v", all)
	}
	ofA := list(amphorae.ListOpts{LoadbalancerID: lbA.ID})
	if len(ofA) != 1 {
		t.Fatalf("amphorae of %s: %+v", lbA.ID, ofA)
	}
	amp := ofA[0]
	if amp.LoadbalancerID != lbA.ID || amp.Role != "STANDALONE" || amp.Status != "ALLOCATED" || amp.HAIP != lbA.VipAddress ||
		amp.CertExpiration.Before(time.Now()) || amp.CreatedAt.IsZero() || amp.ComputeID == "" || amp.LBNetworkIP == "" {
		t.Fatalf("amphora: %+v", amp)
	}
	got, err := amphorae.Get(ctx(t), c, amp.ID).Extract()
	if err != nil || got.ID != amp.ID || got.LoadbalancerID != lbA.ID {
		t.Fatalf("get: %+v %v", got, err)
	}
	if byRole := list(amphorae.ListOpts{Role: "STANDALONE", Status: "ALLOCATED"}); len(byRole) != 2 {
		t.Fatalf("by role and status: %+v", byRole)
	}

	// Failover replaces the amphora; the load balancer is locked meanwhile.
	if err := amphorae.Failover(ctx(t), c, amp.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := amphorae.Failover(ctx(t), c, amp.ID).ExtractErr(); !isStatus(err, http.StatusConflict) ||
		faultString(t, err) != "Load Balancer "+lbA.ID+" is immutable and cannot be updated." {
		t.Fatalf("second failover: %v", err)
	}
	waitLBActive(t, c, lbA.ID)
	systemtest.Eventually(t, 10*time.Second, "replacement amphora", func() bool {
		now := list(amphorae.ListOpts{LoadbalancerID: lbA.ID})
		return len(now) == 1 && now[0].ID != amp.ID && now[0].Status == "ALLOCATED"
	})
	if _, err := amphorae.Get(ctx(t), c, amp.ID).Extract(); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("failed-over amphora: %v", err)
	}
	if lb, err := loadbalancers.Get(ctx(t), c, lbB.ID).Extract(); err != nil || lb.ProvisioningStatus != "ACTIVE" {
		t.Fatalf("the other load balancer: %+v %v", lb, err)
	}

	// Administrators only.
	member := client(t, n, map[string]string{"X-Project-Id": "default", "X-Roles": "member"})
	if _, err := amphorae.List(member, nil).AllPages(ctx(t)); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member lists amphorae: %v", err)
	}
	if _, err := amphorae.Get(ctx(t), member, list(amphorae.ListOpts{LoadbalancerID: lbB.ID})[0].ID).Extract(); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("member shows an amphora: %v", err)
	}
}
