package http

import (
	"keel/store"
	"keel/store/storepb"
)

type availabilityZone = *storepb.AvailabilityZone

// availabilityZones is Octavia's availability zone resource, keyed by name:
// readable by every role, written by administrators.
var availabilityZones = newResource[availabilityZone]("Availability Zone", "availability_zone", "availability_zones",
	func(s *store.State) *store.Table[availabilityZone] { return s.AvailabilityZones }, []*attr[availabilityZone]{
		{name: "name", kind: kindString, str: availabilityZone.GetName, index: store.IndexID},
		{name: "description", kind: kindString, str: availabilityZone.GetDescription},
		{name: "enabled", kind: kindBool, boolean: availabilityZone.GetEnabled},
		{name: "availability_zone_profile_id", kind: kindString, str: availabilityZone.GetAvailabilityZoneProfileId,
			index: store.IndexAvailabilityZoneProfile},
	})

type availabilityZoneProfile = *storepb.AvailabilityZoneProfile

// availabilityZoneProfiles is Octavia's availability zone profile resource
// (administrators only); its list's links key is singular, as Octavia names it.
var availabilityZoneProfiles = withLinksKey(newResource[availabilityZoneProfile]("Availability Zone Profile",
	"availability_zone_profile", "availability_zone_profiles",
	func(s *store.State) *store.Table[availabilityZoneProfile] { return s.AvailabilityZoneProfiles }, []*attr[availabilityZoneProfile]{
		{name: "id", kind: kindString, str: availabilityZoneProfile.GetId, index: store.IndexID},
		{name: "name", kind: kindString, str: availabilityZoneProfile.GetName, index: store.IndexName},
		{name: "provider_name", kind: kindString, str: availabilityZoneProfile.GetProviderName},
		{name: "availability_zone_data", kind: kindString, str: availabilityZoneProfile.GetAvailabilityZoneData},
	}), "availability_zone_profile_links")

// availabilityZoneKind and availabilityZoneProfileKind are their writes
// (catalog.go): a zone is keyed by the name its body gives, a profile by a new id.
var availabilityZoneKind = &catalogKind[availabilityZone]{resource: availabilityZones, kind: storepb.CatalogKind_AVAILABILITY_ZONE,
	path: "/availabilityzones", create: decodeAvailabilityZoneCreate, update: decodeAvailabilityZoneUpdate}

var availabilityZoneProfileKind = &catalogKind[availabilityZoneProfile]{resource: availabilityZoneProfiles,
	kind: storepb.CatalogKind_AVAILABILITY_ZONE_PROFILE, path: "/availabilityzoneprofiles",
	create: decodeAvailabilityZoneProfileCreate, newID: true, update: decodeAvailabilityZoneProfileUpdate}

// decodeAvailabilityZoneCreate validates a POST body, attributes in WSME's order.
func decodeAvailabilityZoneCreate(body []byte) (*storepb.AvailabilityZone, error) {
	f, err := decodeRoot(body, "availability_zone_", "availability_zone")
	if err != nil {
		return nil, err
	}
	v := &storepb.AvailabilityZone{Enabled: true}
	f.required("availability_zone_profile_id")
	v.AvailabilityZoneProfileId, _ = f.uuidStr("availability_zone_profile_id")
	v.Description, _ = f.str("description", 255)
	if enabled, set := f.boolean("enabled"); set {
		v.Enabled = enabled
	}
	f.required("name")
	v.Name, _ = f.str("name", 255)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeAvailabilityZoneUpdate validates a PUT body: description and enabled.
func decodeAvailabilityZoneUpdate(body []byte) (*storepb.AvailabilityZone, []string, []string, error) {
	f, err := decodeRoot(body, "availability_zone_", "availability_zone")
	if err != nil {
		return nil, nil, nil, err
	}
	v := &storepb.AvailabilityZone{}
	v.Description, _ = f.str("description", 255)
	v.Enabled = readEnabled(f)
	return finishUpdate(v, f)
}

// decodeAvailabilityZoneProfileCreate validates a POST body.
func decodeAvailabilityZoneProfileCreate(body []byte) (*storepb.AvailabilityZoneProfile, error) {
	f, err := decodeRoot(body, "availability_zone_profile_", "availability_zone_profile")
	if err != nil {
		return nil, err
	}
	v := &storepb.AvailabilityZoneProfile{}
	f.required("availability_zone_data")
	v.AvailabilityZoneData, _ = f.str("availability_zone_data", 4096)
	f.required("name")
	v.Name, _ = f.str("name", 255)
	f.required("provider_name")
	v.ProviderName, _ = f.str("provider_name", 255)
	if err := f.finish(); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeAvailabilityZoneProfileUpdate validates a PUT body, as
// decodeFlavorProfileUpdate.
func decodeAvailabilityZoneProfileUpdate(body []byte) (*storepb.AvailabilityZoneProfile, []string, []string, error) {
	f, err := decodeRoot(body, "availability_zone_profile_", "availability_zone_profile")
	if err != nil {
		return nil, nil, nil, err
	}
	v := &storepb.AvailabilityZoneProfile{}
	v.AvailabilityZoneData, _ = f.str("availability_zone_data", 4096)
	v.Name, _ = f.str("name", 255)
	v.ProviderName, _ = f.str("provider_name", 255)
	return finishUpdate(v, f)
}
