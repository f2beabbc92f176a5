package http

import (
	"strings"

	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/catalogpb"
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

func (s *Server) flavorRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/flavors", s.wrap(func(ctx *fasthttp.RequestCtx) error { return serveCatalogList(s, ctx, flavors) }))
	r.POST(prefix+"/flavors", s.wrap(s.createFlavor))
	r.GET(prefix+"/flavors/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveCatalogShow(s, ctx, flavors, pathParam(ctx, "id"))
	}))
	r.PUT(prefix+"/flavors/{id}", s.wrap(s.updateFlavor))
	r.DELETE(prefix+"/flavors/{id}", s.wrap(s.deleteFlavor))
}

func (s *Server) flavorProfileRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/flavorprofiles", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if err := adminOnly(ctx); err != nil {
			return err
		}
		return serveCatalogList(s, ctx, flavorProfiles)
	}))
	r.POST(prefix+"/flavorprofiles", s.wrap(s.createFlavorProfile))
	r.GET(prefix+"/flavorprofiles/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if err := adminOnly(ctx); err != nil {
			return err
		}
		id := pathParam(ctx, "id")
		if id == nilUUID {
			return notFound("Flavor profile %s not found.", id)
		}
		return serveCatalogShow(s, ctx, flavorProfiles, id)
	}))
	r.PUT(prefix+"/flavorprofiles/{id}", s.wrap(s.updateFlavorProfile))
	r.DELETE(prefix+"/flavorprofiles/{id}", s.wrap(s.deleteFlavorProfile))
}

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
func decodeFlavorUpdate(body []byte) (*storepb.Flavor, []string, error) {
	f, err := decodeRoot(body, "flavor_", "flavor")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.Flavor{}
	v.Description, _ = f.str("description", 255)
	v.Enabled = readEnabled(f)
	v.Name, _ = f.str("name", 255)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
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

func (s *Server) createFlavor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeFlavorCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	v.Id = uuid.NewString()
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavors, (*catalogpb.CatalogGrainClient).CreateFlavor,
		&catalogpb.CreateFlavorRequest{Caller: caller, Flavor: v})
	if err != nil {
		return err
	}
	flavors.writeOne(ctx, fasthttp.StatusCreated, reply.Flavor, nil)
	return nil
}

func (s *Server) updateFlavor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	values, fields, err := decodeFlavorUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	values.Id = pathParam(ctx, "id")
	if values.Id == nilUUID {
		return notFound("Flavor %s not found.", values.Id)
	}
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavors, (*catalogpb.CatalogGrainClient).UpdateFlavor,
		&catalogpb.UpdateFlavorRequest{Caller: caller, Values: values, Fields: fields})
	if err != nil {
		return err
	}
	flavors.writeOne(ctx, fasthttp.StatusOK, reply.Flavor, nil)
	return nil
}

func (s *Server) deleteFlavor(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	if !caller.Admin {
		return forbidden()
	}
	id := pathParam(ctx, "id")
	if id == nilUUID {
		return notFound("Flavor %s not found.", id)
	}
	c, cancel := grainContext()
	defer cancel()
	if _, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavors, (*catalogpb.CatalogGrainClient).DeleteFlavor,
		&catalogpb.DeleteRowRequest{Caller: caller, Key: id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// profileDriver is the provider that validates a profile's data: Octavia loads
// the default driver for an empty provider_name.
func profileDriver(providerName string) string {
	if providerName == "" {
		return octaviarules.DefaultProvider
	}
	return providerName
}

// decodeFlavorProfileCreate validates a POST body and the profile's data against
// its provider (in Octavia's order: JSON, provider enabled, provider's schema).
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

// profileUpdate is a decoded profile PUT: the attributes it set, whether it sets
// the provider or the data (which lock while the profile is used), and the first
// of name, provider_name and the data it sets to null (refused after the role
// check, as Octavia refuses it).
type profileUpdate struct {
	fields       []string
	setsProvider bool
	setsData     bool
	nullAttr     string
}

// readProfileUpdate decodes a profile PUT's data attribute, name and provider_name.
func readProfileUpdate(f *fieldReader, dataAttr string, name, providerName, data *string) (*profileUpdate, error) {
	*data, _ = f.str(dataAttr, 4096)
	*name, _ = f.str("name", 255)
	*providerName, _ = f.str("provider_name", 255)
	if err := f.finish(); err != nil {
		return nil, err
	}
	up := &profileUpdate{fields: f.mask(), setsProvider: f.has("provider_name"), setsData: f.has(dataAttr)}
	for _, attr := range []string{"name", "provider_name", dataAttr} {
		if f.has(attr) && isNull(f.fields[attr]) {
			up.nullAttr = attr
			break
		}
	}
	return up, nil
}

// refuseNull is Octavia's answer to a profile PUT setting an attribute to null.
func (up *profileUpdate) refuseNull() error {
	if up.nullAttr != "" {
		return badRequest("None is not a valid option for %s", up.nullAttr)
	}
	return nil
}

func (s *Server) createFlavorProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeFlavorProfileCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	if _, err := octaviarules.ValidateProviderData(profileDriver(v.ProviderName), "flavor_data", v.FlavorData, octaviarules.FlavorOptions); err != nil {
		return err
	}
	v.Id = uuid.NewString()
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavorProfiles, (*catalogpb.CatalogGrainClient).CreateFlavorProfile,
		&catalogpb.CreateFlavorProfileRequest{Caller: caller, FlavorProfile: v})
	if err != nil {
		return err
	}
	flavorProfiles.writeOne(ctx, fasthttp.StatusCreated, reply.FlavorProfile, nil)
	return nil
}

// updateFlavorProfile checks in Octavia's order: body, role, nulls, in use (when
// the provider or data is named), the nil id, then the new data against the
// provider it will have. The grain checks existence and use again on its read.
func (s *Server) updateFlavorProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	f, err := decodeRoot(ctx.PostBody(), "flavor_profile_", "flavorprofile")
	if err != nil {
		return err
	}
	values := &storepb.FlavorProfile{Id: pathParam(ctx, "id")}
	up, err := readProfileUpdate(f, "flavor_data", &values.Name, &values.ProviderName, &values.FlavorData)
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	if err := up.refuseNull(); err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	if (up.setsProvider || up.setsData) && len(store.Collect(st.Flavors, store.IndexFlavorProfile, values.Id)) > 0 {
		return conflictError("Flavor profile %s is in use and cannot be modified.", values.Id)
	}
	if values.Id == nilUUID {
		return notFound("Flavor profile %s not found.", values.Id)
	}
	if up.setsProvider {
		if err := octaviarules.CheckProviderEnabled(profileDriver(values.ProviderName)); err != nil {
			return err
		}
	}
	if up.setsData {
		providerName := values.ProviderName
		if !up.setsProvider {
			cur, found := st.FlavorProfiles.Get(values.Id)
			if !found {
				return notFound("Flavor Profile %s not found.", values.Id)
			}
			providerName = cur.ProviderName
		}
		if _, err := octaviarules.ValidateProviderData(profileDriver(providerName), "flavor_data", values.FlavorData, octaviarules.FlavorOptions); err != nil {
			return err
		}
	}
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavorProfiles, (*catalogpb.CatalogGrainClient).UpdateFlavorProfile,
		&catalogpb.UpdateFlavorProfileRequest{Caller: caller, Values: values, Fields: up.fields})
	if err != nil {
		return err
	}
	flavorProfiles.writeOne(ctx, fasthttp.StatusOK, reply.FlavorProfile, nil)
	return nil
}

func (s *Server) deleteFlavorProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	if !caller.Admin {
		return forbidden()
	}
	id := pathParam(ctx, "id")
	if id == nilUUID {
		return notFound("Flavor profile %s not found.", id)
	}
	c, cancel := grainContext()
	defer cancel()
	if _, err := actors.CallCatalog(c, s.grains, actors.CatalogFlavorProfiles, (*catalogpb.CatalogGrainClient).DeleteFlavorProfile,
		&catalogpb.DeleteRowRequest{Caller: caller, Key: id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// Octavia's [controller_worker] loadbalancer_topology default.
const defaultTopology = "SINGLE"

// resolveFlavorAndZone applies a new load balancer's flavor and availability
// zone, read from st, as Octavia's create does: the flavor must exist and be
// enabled, then the zone; the flavor's provider becomes the load balancer's
// (one given explicitly must match it); the flavor profile's
// loadbalancer_topology sets the topology (default SINGLE); both profiles' data
// are validated again by the provider; and a zone's valid_vip_networks must
// allow the VIP network. lb.Provider is "" when the request named none.
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
