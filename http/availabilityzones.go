package http

import (
	"github.com/fasthttp/router"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"keel/actors"
	"keel/actors/catalogpb"
	"keel/actors/octaviarules"
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

func (s *Server) availabilityZoneRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/availabilityzones", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveCatalogList(s, ctx, availabilityZones)
	}))
	r.POST(prefix+"/availabilityzones", s.wrap(s.createAvailabilityZone))
	r.GET(prefix+"/availabilityzones/{name}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		return serveCatalogShow(s, ctx, availabilityZones, pathParam(ctx, "name"))
	}))
	r.PUT(prefix+"/availabilityzones/{name}", s.wrap(s.updateAvailabilityZone))
	r.DELETE(prefix+"/availabilityzones/{name}", s.wrap(s.deleteAvailabilityZone))
}

func (s *Server) availabilityZoneProfileRoutes(r *router.Router, prefix string) {
	r.GET(prefix+"/availabilityzoneprofiles", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if err := adminOnly(ctx); err != nil {
			return err
		}
		return serveCatalogList(s, ctx, availabilityZoneProfiles)
	}))
	r.POST(prefix+"/availabilityzoneprofiles", s.wrap(s.createAvailabilityZoneProfile))
	r.GET(prefix+"/availabilityzoneprofiles/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if err := adminOnly(ctx); err != nil {
			return err
		}
		return serveCatalogShow(s, ctx, availabilityZoneProfiles, pathParam(ctx, "id"))
	}))
	r.PUT(prefix+"/availabilityzoneprofiles/{id}", s.wrap(s.updateAvailabilityZoneProfile))
	r.DELETE(prefix+"/availabilityzoneprofiles/{id}", s.wrap(s.deleteAvailabilityZoneProfile))
}

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
func decodeAvailabilityZoneUpdate(body []byte) (*storepb.AvailabilityZone, []string, error) {
	f, err := decodeRoot(body, "availability_zone_", "availability_zone")
	if err != nil {
		return nil, nil, err
	}
	v := &storepb.AvailabilityZone{}
	v.Description, _ = f.str("description", 255)
	v.Enabled = readEnabled(f)
	if err := f.finish(); err != nil {
		return nil, nil, err
	}
	return v, f.mask(), nil
}

func (s *Server) createAvailabilityZone(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeAvailabilityZoneCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZones, (*catalogpb.CatalogGrainClient).CreateAvailabilityZone,
		&catalogpb.CreateAvailabilityZoneRequest{Caller: caller, AvailabilityZone: v})
	if err != nil {
		return err
	}
	availabilityZones.writeOne(ctx, fasthttp.StatusCreated, reply.AvailabilityZone, nil)
	return nil
}

func (s *Server) updateAvailabilityZone(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	values, fields, err := decodeAvailabilityZoneUpdate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	values.Name = pathParam(ctx, "name")
	if values.Name == nilUUID {
		return notFound("Availability Zone %s not found.", values.Name)
	}
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZones, (*catalogpb.CatalogGrainClient).UpdateAvailabilityZone,
		&catalogpb.UpdateAvailabilityZoneRequest{Caller: caller, Values: values, Fields: fields})
	if err != nil {
		return err
	}
	availabilityZones.writeOne(ctx, fasthttp.StatusOK, reply.AvailabilityZone, nil)
	return nil
}

func (s *Server) deleteAvailabilityZone(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	if !caller.Admin {
		return forbidden()
	}
	name := pathParam(ctx, "name")
	if name == nilUUID {
		return notFound("Availability Zone %s not found.", name)
	}
	c, cancel := grainContext()
	defer cancel()
	if _, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZones, (*catalogpb.CatalogGrainClient).DeleteAvailabilityZone,
		&catalogpb.DeleteRowRequest{Caller: caller, Key: name}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
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

func (s *Server) createAvailabilityZoneProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	v, err := decodeAvailabilityZoneProfileCreate(ctx.PostBody())
	if err != nil {
		return err
	}
	if !caller.Admin {
		return forbidden()
	}
	if _, err := octaviarules.ValidateProviderData(profileDriver(v.ProviderName), "availability_zone_data", v.AvailabilityZoneData, octaviarules.ZoneOptions); err != nil {
		return err
	}
	v.Id = uuid.NewString()
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZoneProfiles,
		(*catalogpb.CatalogGrainClient).CreateAvailabilityZoneProfile,
		&catalogpb.CreateAvailabilityZoneProfileRequest{Caller: caller, AvailabilityZoneProfile: v})
	if err != nil {
		return err
	}
	availabilityZoneProfiles.writeOne(ctx, fasthttp.StatusCreated, reply.AvailabilityZoneProfile, nil)
	return nil
}

// updateAvailabilityZoneProfile checks in Octavia's order, as updateFlavorProfile.
func (s *Server) updateAvailabilityZoneProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	f, err := decodeRoot(ctx.PostBody(), "availability_zone_profile_", "availability_zone_profile")
	if err != nil {
		return err
	}
	values := &storepb.AvailabilityZoneProfile{Id: pathParam(ctx, "id")}
	up, err := readProfileUpdate(f, "availability_zone_data", &values.Name, &values.ProviderName, &values.AvailabilityZoneData)
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
	if (up.setsProvider || up.setsData) && len(store.Collect(st.AvailabilityZones, store.IndexAvailabilityZoneProfile, values.Id)) > 0 {
		return conflictError("Availability Zone Profile %s is in use and cannot be modified.", values.Id)
	}
	if values.Id == nilUUID {
		return notFound("Availability Zone Profile %s not found.", values.Id)
	}
	if up.setsProvider {
		if err := octaviarules.CheckProviderEnabled(profileDriver(values.ProviderName)); err != nil {
			return err
		}
	}
	if up.setsData {
		providerName := values.ProviderName
		if !up.setsProvider {
			cur, found := st.AvailabilityZoneProfiles.Get(values.Id)
			if !found {
				return notFound("Availability Zone Profile %s not found.", values.Id)
			}
			providerName = cur.ProviderName
		}
		if _, err := octaviarules.ValidateProviderData(profileDriver(providerName), "availability_zone_data", values.AvailabilityZoneData, octaviarules.ZoneOptions); err != nil {
			return err
		}
	}
	c, cancel := grainContext()
	defer cancel()
	reply, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZoneProfiles,
		(*catalogpb.CatalogGrainClient).UpdateAvailabilityZoneProfile,
		&catalogpb.UpdateAvailabilityZoneProfileRequest{Caller: caller, Values: values, Fields: up.fields})
	if err != nil {
		return err
	}
	availabilityZoneProfiles.writeOne(ctx, fasthttp.StatusOK, reply.AvailabilityZoneProfile, nil)
	return nil
}

func (s *Server) deleteAvailabilityZoneProfile(ctx *fasthttp.RequestCtx) error {
	caller := callerOf(ctx)
	if !caller.Admin {
		return forbidden()
	}
	id := pathParam(ctx, "id")
	if id == nilUUID {
		return notFound("Availability Zone Profile %s not found.", id)
	}
	c, cancel := grainContext()
	defer cancel()
	if _, err := actors.CallCatalog(c, s.grains, actors.CatalogAvailabilityZoneProfiles,
		(*catalogpb.CatalogGrainClient).DeleteAvailabilityZoneProfile,
		&catalogpb.DeleteRowRequest{Caller: caller, Key: id}); err != nil {
		return err
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
