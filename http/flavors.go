package http

import (
	"strings"

	"keel/actors/octaviarules"
	"keel/store"
	"keel/store/storepb"
)

type flavor = *storepb.Flavor

// flavors is Octavia's flavor resource: readable by every role, written by
// administrators.
var flavors = newResource[flavor]("Flavor", "flavor", "flavors",
	func(s *store.State) *store.Table[flavor] { return s.Flavors }, []*attr[flavor]{
		{name: "id", kind: kindString, str: flavor.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: flavor.GetName, index: store.IndexName},
		{name: "description", kind: kindString, str: flavor.GetDescription},
		{name: "enabled", kind: kindBool, boolean: flavor.GetEnabled},
		{name: "flavor_profile_id", kind: kindString, str: flavor.GetFlavorProfileId, index: store.IndexFlavorProfile},
	})

type flavorProfile = *storepb.FlavorProfile

// flavorProfiles is Octavia's flavor profile resource (administrators only). Its
// list's links key is singular, as Octavia names it.
var flavorProfiles = withLinksKey(newResource[flavorProfile]("Flavor Profile", "flavorprofile", "flavorprofiles",
	func(s *store.State) *store.Table[flavorProfile] { return s.FlavorProfiles }, []*attr[flavorProfile]{
		{name: "id", kind: kindString, str: flavorProfile.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: flavorProfile.GetName, index: store.IndexName},
		{name: "provider_name", kind: kindString, str: flavorProfile.GetProviderName},
		{name: "flavor_data", kind: kindString, str: flavorProfile.GetFlavorData},
	}), "flavorprofile_links")

// withLinksKey sets the key of a resource's list links where Octavia's differs
// from "<plural>_links".
func withLinksKey[T store.Entity](r *resource[T], key string) *resource[T] {
	r.links = key
	return r
}

// flavorKind and flavorProfileKind are their writes (catalog.go): a new row gets
// a new id.
var flavorKind = &catalogKind[flavor]{resource: flavors, kind: storepb.CatalogKind_FLAVOR, path: "/flavors",
	create: decodeFlavorCreate, newID: true, update: decodeFlavorUpdate}

var flavorProfileKind = &catalogKind[flavorProfile]{resource: flavorProfiles, kind: storepb.CatalogKind_FLAVOR_PROFILE,
	path: "/flavorprofiles", create: decodeFlavorProfileCreate, newID: true, update: decodeFlavorProfileUpdate}

// decodeFlavorCreate validates a POST body. Attributes are read in WSME's
// (alphabetical) order, so the first error reported is the one Octavia reports.
func decodeFlavorCreate(body []byte) (*storepb.Flavor, error) {
	f, err := decodeRoot(body, "flavor_", "flavor")
	if err != nil {
		return nil, err
	}
	v := &storepb.Flavor{Enabled: true}
	v.Description, _ = f.str("description", 255)
	if enabled, set := f.boolean("enabled"); set {
		v.Enabled = enabled
	}
	f.required("flavor_profile_id")
	v.FlavorProfileId, _ = f.uuidStr("flavor_profile_id")
	f.required("name")
	v.Name, _ = f.str("name", 255)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeFlavorUpdate validates a PUT body: name, description and enabled.
func decodeFlavorUpdate(body []byte) (*storepb.Flavor, []string, []string, error) {
	f, err := decodeRoot(body, "flavor_", "flavor")
	if err != nil {
		return nil, nil, nil, err
	}
	v := &storepb.Flavor{}
	v.Description, _ = f.str("description", 255)
	v.Enabled = readEnabled(f)
	v.Name, _ = f.str("name", 255)
	return finishUpdate(v, f)
}

// readEnabled reads an update's enabled, which may not be null (the column is
// not nullable).
func readEnabled(f *fieldReader) bool {
	enabled, set := f.boolean("enabled")
	if !set && f.has("enabled") && isNull(f.fields["enabled"]) {
		f.fail(badRequest("Invalid input for field/attribute enabled. Value: 'None'. Value should be boolean"))
	}
	return enabled
}

// decodeFlavorProfileCreate validates a POST body (the grain checks the data
// against the provider, after the caller's role).
func decodeFlavorProfileCreate(body []byte) (*storepb.FlavorProfile, error) {
	f, err := decodeRoot(body, "flavor_profile_", "flavorprofile")
	if err != nil {
		return nil, err
	}
	v := &storepb.FlavorProfile{}
	f.required("flavor_data")
	v.FlavorData, _ = f.str("flavor_data", 4096)
	f.required("name")
	v.Name, _ = f.str("name", 255)
	f.required("provider_name")
	v.ProviderName, _ = f.str("provider_name", 255)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeFlavorProfileUpdate validates a PUT body: any of the three; a null is
// refused by the grain, after the caller's role, as Octavia refuses it.
func decodeFlavorProfileUpdate(body []byte) (*storepb.FlavorProfile, []string, []string, error) {
	f, err := decodeRoot(body, "flavor_profile_", "flavorprofile")
	if err != nil {
		return nil, nil, nil, err
	}
	v := &storepb.FlavorProfile{}
	v.FlavorData, _ = f.str("flavor_data", 4096)
	v.Name, _ = f.str("name", 255)
	v.ProviderName, _ = f.str("provider_name", 255)
	return finishUpdate(v, f)
}

// Octavia's [controller_worker] loadbalancer_topology default.
const defaultTopology = "SINGLE"

// resolveFlavorAndZone applies a new load balancer's flavor and availability
// zone, read from st, as Octavia's create does: the flavor must exist and be
// enabled, then the zone; the flavor's provider becomes the load balancer's
// (one given explicitly must match it); the flavor profile's
// loadbalancer_topology sets the topology (default SINGLE); both profiles' data
// are validated again by the provider; and a zone's valid_vip_networks must
// allow the VIP network. lb.Provider is "" when the request named none. st is
// read only when lb names a flavor or a zone (it may be nil otherwise).
func resolveFlavorAndZone(st *store.State, lb *storepb.LoadBalancer) error {
	var fl *storepb.Flavor
	if lb.FlavorId != "" {
		var found bool
		if fl, found = st.Flavors.Get(lb.FlavorId); !found {
			return badRequest("Validation failure: Invalid flavor_id.")
		}
		if !fl.Enabled {
			return badRequest("The selected flavor is not allowed in this deployment: %s", lb.FlavorId)
		}
	}
	var zone *storepb.AvailabilityZone
	if lb.AvailabilityZone != "" {
		var found bool
		if zone, found = st.AvailabilityZones.Get(lb.AvailabilityZone); !found {
			return badRequest("Validation failure: Invalid availability zone.")
		}
		if !zone.Enabled {
			return badRequest("The selected availability_zone is not allowed in this deployment: %s", lb.AvailabilityZone)
		}
	}

	var flavorData *octaviarules.ProviderData
	if fl != nil {
		profile, found := st.FlavorProfiles.Get(fl.FlavorProfileId)
		if !found {
			return badRequest("Validation failure: Invalid flavor_id.")
		}
		switch {
		case profile.ProviderName == "":
			// A profile without a provider fits any.
		case lb.Provider == "":
			lb.Provider = profile.ProviderName
		case lb.Provider != profile.ProviderName:
			return badRequest("Flavor '%s' is not compatible with provider '%s'", lb.FlavorId, lb.Provider)
		}
		if lb.Provider == "" {
			lb.Provider = octaviarules.DefaultProvider
		}
		var err error
		if flavorData, err = octaviarules.ValidateProviderData(lb.Provider, "flavor_data", profile.FlavorData, octaviarules.FlavorOptions); err != nil {
			return err
		}
	}
	if lb.Provider == "" {
		lb.Provider = octaviarules.DefaultProvider
	}
	lb.Topology = defaultTopology
	if flavorData != nil {
		if topology, ok := flavorData.Values["loadbalancer_topology"].(string); ok {
			lb.Topology = topology
		}
	}

	if zone != nil {
		profile, found := st.AvailabilityZoneProfiles.Get(zone.AvailabilityZoneProfileId)
		if !found {
			return badRequest("Validation failure: Invalid availability_zone.")
		}
		zoneData, err := octaviarules.ValidateProviderData(lb.Provider, "availability_zone_data", profile.AvailabilityZoneData, octaviarules.ZoneOptions)
		if err != nil {
			return err
		}
		if allowed, ok := zoneData.Values["valid_vip_networks"].([]any); ok && len(allowed) > 0 && !networkListed(allowed, lb.VipNetworkId) {
			return badRequest("Validation failure: Supplied VIP network_id is not allowed by the configuration of this deployment.")
		}
	}
	return nil
}

// networkListed reports whether network is in a valid_vip_networks list
// (case-insensitively, as Octavia compares).
func networkListed(allowed []any, network string) bool {
	for _, n := range allowed {
		if s, ok := n.(string); ok && strings.EqualFold(s, network) {
			return true
		}
	}
	return false
}
