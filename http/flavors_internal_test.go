package http

import (
	"slices"
	"testing"

	"keel/actors/python"
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

func TestPythonRepr(t *testing.T) {
	for raw, want := range map[string]string{
		`"it's"`:                      `"it's"`,
		`"say \"hi\" it's"`:           `'say "hi" it\'s'`,
		`"tab\tnew\nline\\"`:          `'tab\tnew\nline\\'`,
		`"caf\u00e9 \u0001"`:          `'café \x01'`,
		`12`:                          `12`,
		`-0`:                          `0`,
		`1.5`:                         `1.5`,
		`1e3`:                         `1000.0`,
		`1e16`:                        `1e+16`,
		`0.0001`:                      `0.0001`,
		`0.00001`:                     `1e-05`,
		`123456789012345678901234567`: `123456789012345678901234567`,
		`[true, false, null, {}]`:     `[True, False, None, {}]`,
		`{"b": 1, "a": [1], "b": 2}`:  `{'b': 2, 'a': [1]}`,
	} {
		v, err := parseOrderedJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := python.Repr(v); got != want {
			t.Errorf("repr(%s) = %s, want %s", raw, got, want)
		}
	}
	for _, bad := range []string{"", "{", "{} {}", "[1,]", "nan"} {
		if _, err := parseOrderedJSON(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// providers (GET /providers) and enabledProviders (what a load balancer or a
// profile may name) must be the same set.
func TestProvidersAreTheEnabledOnes(t *testing.T) {
	var listed []string
	for _, p := range providers {
		listed = append(listed, p.name)
		if !enabledProviders[p.name] {
			t.Errorf("%s is listed but not enabled", p.name)
		}
	}
	for name := range enabledProviders {
		if !slices.Contains(listed, name) {
			t.Errorf("%s is enabled but not listed", name)
		}
	}
}
