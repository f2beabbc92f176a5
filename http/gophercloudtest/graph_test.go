package gophercloudtest

import (
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/l7policies"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// TestFullyPopulatedCreateThroughGophercloud creates a load balancer with its
// listeners, pools, members, health monitor and L7 policy in one call, as
// gophercloud's loadbalancers.CreateOpts (Listeners, Pools) sends it.
func TestFullyPopulatedCreateThroughGophercloud(t *testing.T) {
	n := startKeel(t)
	c := client(t, n, nil)

	opts := loadbalancers.CreateOpts{
		Name:        "graph",
		VipSubnetID: subnet,
		Listeners: []listeners.CreateOpts{{
			Name: "web", Protocol: listeners.ProtocolHTTP, ProtocolPort: 80,
			DefaultPool: &pools.CreateOpts{
				Name: "web-pool", Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodRoundRobin,
				Members: []pools.CreateMemberOpts{
					{Address: "192.0.2.10", ProtocolPort: 8080},
					{Address: "192.0.2.11", ProtocolPort: 8080},
				},
				Monitor: monitors.CreateOpts{Type: monitors.TypeHTTP, Delay: 5, Timeout: 3, MaxRetries: 2, URLPath: "/health"},
			},
			L7Policies: []l7policies.CreateOpts{{
				Name: "old", Action: l7policies.ActionRedirectToURL, RedirectURL: "https://example.org/",
				Rules: []l7policies.CreateRuleOpts{{RuleType: l7policies.TypePath, CompareType: l7policies.CompareTypeStartWith, Value: "/old"}},
			}},
		}, {
			Name: "tcp", Protocol: listeners.ProtocolTCP, ProtocolPort: 443,
			DefaultPool: &pools.CreateOpts{Name: "tls-pool", Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodLeastConnections,
				Members: []pools.CreateMemberOpts{{Address: "192.0.2.20", ProtocolPort: 443}}},
		}},
		// A pool of the load balancer that no listener uses (yet).
		Pools: []pools.CreateOpts{{Name: "spare", Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodSourceIp}},
	}
	lb, err := loadbalancers.Create(ctx(t), c, opts).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if lb.ProvisioningStatus != "PENDING_CREATE" || len(lb.Listeners) != 2 || len(lb.Pools) != 3 {
		t.Fatalf("created: %+v", lb)
	}
	poolID := map[string]string{}
	for _, p := range lb.Pools {
		poolID[p.Name] = p.ID
		switch p.Name {
		case "web-pool":
			if len(p.Members) != 2 || p.Monitor.Type != "HTTP" || p.Monitor.URLPath != "/health" || p.Members[0].OperatingStatus != "OFFLINE" {
				t.Fatalf("web pool: %+v", p)
			}
		case "tls-pool":
			if len(p.Members) != 1 || p.LBMethod != "LEAST_CONNECTIONS" || p.Members[0].OperatingStatus != "NO_MONITOR" {
				t.Fatalf("tls pool: %+v", p)
			}
		case "spare":
			if len(p.Members) != 0 || len(p.Listeners) != 0 {
				t.Fatalf("spare pool: %+v", p)
			}
		default:
			t.Fatalf("unexpected pool %+v", p)
		}
	}
	for _, l := range lb.Listeners {
		switch l.Name {
		case "web":
			if l.DefaultPoolID != poolID["web-pool"] || len(l.L7Policies) != 1 || len(l.L7Policies[0].Rules) != 1 ||
				l.L7Policies[0].Position != 1 || l.L7Policies[0].RedirectURL != "https://example.org/" {
				t.Fatalf("web listener: %+v", l)
			}
		case "tcp":
			if l.DefaultPoolID != poolID["tls-pool"] {
				t.Fatalf("tcp listener: %+v", l)
			}
		}
	}

	// The whole tree goes ACTIVE together, and the status tree shows it.
	waitLBActive(t, c, lb.ID)
	st, err := loadbalancers.GetStatuses(ctx(t), c, lb.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Loadbalancer.Listeners) != 2 {
		t.Fatalf("status tree: %+v", st.Loadbalancer)
	}
	for _, l := range st.Loadbalancer.Listeners {
		if l.ProvisioningStatus != "ACTIVE" || len(l.Pools) != 1 || l.Pools[0].ProvisioningStatus != "ACTIVE" {
			t.Fatalf("listener status: %+v", l)
		}
	}
	ms, err := pools.ListMembers(c, poolID["web-pool"], pools.ListMembersOpts{}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := pools.ExtractMembers(ms); len(got) != 2 || got[0].ProvisioningStatus != "ACTIVE" {
		t.Fatalf("members: %+v", got)
	}

	// Two pools of one name cannot be told apart: 400, nothing written.
	dup := pools.CreateOpts{Name: "same", Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodRoundRobin}
	bad := loadbalancers.CreateOpts{Name: "bad-graph", VipSubnetID: subnet, Pools: []pools.CreateOpts{dup},
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolHTTP, ProtocolPort: 80, DefaultPool: &dup}}}
	if _, err := loadbalancers.Create(ctx(t), c, bad).Extract(); !isStatus(err, http.StatusBadRequest) ||
		faultString(t, err) != "Validation failure: Pool names must be unique when creating a fully populated loadbalancer." {
		t.Fatalf("duplicate pool names: %v", err)
	}
	all, err := loadbalancers.List(c, loadbalancers.ListOpts{Name: "bad-graph"}).AllPages(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := loadbalancers.ExtractLoadBalancers(all); len(got) != 0 {
		t.Fatalf("a refused create wrote %+v", got)
	}

	if err := loadbalancers.Delete(ctx(t), c, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}
