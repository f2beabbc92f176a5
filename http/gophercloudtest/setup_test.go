package gophercloudtest

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"

	"keel/cluster/systemtest"
)

func TestMain(m *testing.M) { os.Exit(systemtest.Main(m)) }

// subnet is any UUID: keel has no network service, the VIP subnet is recorded.
const subnet = systemtest.Subnet

// startKeel runs one keeld node for a test and returns it.
func startKeel(t *testing.T) *systemtest.Node {
	t.Helper()
	n := systemtest.NewNode(t, "gc")
	n.StartHealthy(60 * time.Second)
	return n
}

// client returns a gophercloud load-balancer client for node n, authenticated the
// way keel's noauth mode reads identity: X-Project-Id and X-Roles headers (none:
// administrator of project "default").
func client(t *testing.T, n *systemtest.Node, headers map[string]string) *gophercloud.ServiceClient {
	t.Helper()
	pc := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 30 * time.Second}}
	base := n.URL("/")
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: base, ResourceBase: base + "v2.0/", Type: "load-balancer",
		MoreHeaders: headers}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// waitLBActive waits until the load balancer's provisioning status is ACTIVE.
func waitLBActive(t *testing.T, c *gophercloud.ServiceClient, id string) *loadbalancers.LoadBalancer {
	t.Helper()
	var lb *loadbalancers.LoadBalancer
	systemtest.Eventually(t, 15*time.Second, "load balancer "+id+" ACTIVE", func() bool {
		var err error
		lb, err = loadbalancers.Get(ctx(t), c, id).Extract()
		return err == nil && lb.ProvisioningStatus == "ACTIVE"
	})
	return lb
}

// createLB creates a load balancer and waits until it is ACTIVE.
func createLB(t *testing.T, c *gophercloud.ServiceClient, name string) *loadbalancers.LoadBalancer {
	t.Helper()
	lb, err := loadbalancers.Create(ctx(t), c, loadbalancers.CreateOpts{Name: name, VipSubnetID: subnet}).Extract()
	if err != nil {
		t.Fatalf("create load balancer: %v", err)
	}
	return waitLBActive(t, c, lb.ID)
}

// isStatus reports whether err is an HTTP error with the given status.
func isStatus(err error, status int) bool {
	return gophercloud.ResponseCodeIs(err, status)
}
