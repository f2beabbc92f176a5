package http

import (
	"testing"

	"keel/store"
	"keel/store/storepb"
)

// catalogState builds tables holding the given catalog rows.
func catalogState(profiles []*storepb.FlavorProfile, flavors []*storepb.Flavor, zoneProfiles []*storepb.AvailabilityZoneProfile,
	zones []*storepb.AvailabilityZone) *store.State {
	st := store.NewState()
	for _, x := range profiles {
		st.FlavorProfiles.Put(x)
	}
	for _, x := range flavors {
		st.Flavors.Put(x)
	}
	for _, x := range zoneProfiles {
		st.AvailabilityZoneProfiles.Put(x)
	}
	for _, x := range zones {
		st.AvailabilityZones.Put(x)
	}
	return st
}

// The topology a load balancer gets is not shown by the API (and keel has no
// amphora API in this tree yet), so it is checked here, on the function the
// create handler calls.
func TestResolveFlavorAndZone(t *testing.T) {
	st := catalogState(
		[]*storepb.FlavorProfile{
			{Id: "fp-ha", ProviderName: "amphora", FlavorData: `{"loadbalancer_topology": "ACTIVE_STANDBY", "compute_flavor": "m1"}`},
			{Id: "fp-plain", ProviderName: "octavia", FlavorData: `{}`},
			{Id: "fp-any", ProviderName: "", FlavorData: `{"loadbalancer_topology": "SINGLE"}`},
		},
		[]*storepb.Flavor{
			{Id: "f-ha", Enabled: true, FlavorProfileId: "fp-ha"},
			{Id: "f-plain", Enabled: true, FlavorProfileId: "fp-plain"},
			{Id: "f-any", Enabled: true, FlavorProfileId: "fp-any"},
			{Id: "f-off", Enabled: false, FlavorProfileId: "fp-ha"},
		},
		[]*storepb.AvailabilityZoneProfile{{Id: "zp", ProviderName: "amphora", AvailabilityZoneData: `{"valid_vip_networks": ["Net-A"]}`}},
		[]*storepb.AvailabilityZone{{Name: "z", Enabled: true, AvailabilityZoneProfileId: "zp"}},
	)
	for _, c := range []struct {
		name                    string
		lb                      *storepb.LoadBalancer
		err, provider, topology string
	}{
		{"no flavor", &storepb.LoadBalancer{}, "", "amphora", "SINGLE"},
		{"active standby", &storepb.LoadBalancer{FlavorId: "f-ha"}, "", "amphora", "ACTIVE_STANDBY"},
		{"explicit matching provider", &storepb.LoadBalancer{FlavorId: "f-ha", Provider: "amphora"}, "", "amphora", "ACTIVE_STANDBY"},
		{"provider from the flavor", &storepb.LoadBalancer{FlavorId: "f-plain"}, "", "octavia", "SINGLE"},
		{"profile without provider", &storepb.LoadBalancer{FlavorId: "f-any", Provider: "octavia"}, "", "octavia", "SINGLE"},
		{"mismatch", &storepb.LoadBalancer{FlavorId: "f-ha", Provider: "octavia"}, "Flavor 'f-ha' is not compatible with provider 'octavia'", "", ""},
		{"unknown flavor", &storepb.LoadBalancer{FlavorId: "f-none"}, "Validation failure: Invalid flavor_id.", "", ""},
		{"disabled flavor", &storepb.LoadBalancer{FlavorId: "f-off"}, "The selected flavor is not allowed in this deployment: f-off", "", ""},
		{"zone allows the network", &storepb.LoadBalancer{AvailabilityZone: "z", VipNetworkId: "net-a"}, "", "amphora", "SINGLE"},
		{"zone refuses the network", &storepb.LoadBalancer{AvailabilityZone: "z", VipNetworkId: "net-b"},
			"Validation failure: Supplied VIP network_id is not allowed by the configuration of this deployment.", "", ""},
		{"unknown zone", &storepb.LoadBalancer{AvailabilityZone: "nope"}, "Validation failure: Invalid availability zone.", "", ""},
	} {
		err := resolveFlavorAndZone(st, c.lb)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && (c.lb.Provider != c.provider || c.lb.Topology != c.topology):
			t.Errorf("%s: provider %q topology %q, want %q %q", c.name, c.lb.Provider, c.lb.Topology, c.provider, c.topology)
		}
	}
}
