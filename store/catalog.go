package store

import (
	"keel/store/storepb"
)

// The admin-managed catalog: quotas, flavors, flavor profiles, availability zones
// and their profiles. The FSM enforces what must hold across concurrent writers:
// compare-and-set on each row, unique names, and that a row still referenced by
// another is neither deleted nor (for profiles) changed underneath it.

func (f *FSM) applySetQuota(st *State, c *storepb.SetQuota) *storepb.CommandResult {
	q := c.GetQuota()
	if q == nil || q.Id == "" {
		return invalid("quota without a project")
	}
	if cur, found := st.Quotas.Get(q.Id); found {
		q.CreatedAt = cur.CreatedAt
	}
	q.Version = f.nextVersion()
	q.Id = intern(q.Id)
	st.Quotas.Put(q)
	return ok(q.Version)
}

func (f *FSM) applyDeleteQuota(st *State, c *storepb.DeleteQuota) *storepb.CommandResult {
	st.Quotas.Delete(c.ProjectId) // resetting a project without a row is a no-op
	return ok(f.nextVersion())
}

// casCatalog checks a Put's expected version: 0 means the row must not exist.
func casCatalog[T interface {
	Entity
	GetVersion() uint64
}](t *Table[T], id string, expected uint64, kind string) (T, bool, *storepb.CommandResult) {
	cur, found := t.Get(id)
	switch {
	case expected == 0 && found:
		return cur, found, &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: kind + " " + id + " exists", Version: cur.GetVersion()}
	case expected != 0 && !found:
		return cur, found, notFound("%s %s not found", kind, id)
	case expected != 0 && cur.GetVersion() != expected:
		return cur, found, conflict(cur.GetVersion(), "%s %s is at version %d, not %d", kind, id, cur.GetVersion(), expected)
	}
	return cur, found, nil
}

// nameTaken reports whether another row of t already has this name.
func nameTaken[T Entity](t *Table[T], name, id string, nameOf func(T) string) bool {
	taken := false
	t.Equal(IndexName, name, func(v T) bool {
		if v.GetId() != id && nameOf(v) == name {
			taken = true
			return false
		}
		return true
	})
	return taken
}

func (f *FSM) applyPutFlavor(st *State, c *storepb.PutFlavor) *storepb.CommandResult {
	x := c.GetFlavor()
	if x == nil || x.Id == "" {
		return invalid("flavor without an id")
	}
	cur, found, res := casCatalog(st.Flavors, x.Id, c.ExpectedVersion, "flavor")
	if res != nil {
		return res
	}
	if x.Name != "" && nameTaken(st.Flavors, x.Name, x.Id, (*storepb.Flavor).GetName) {
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS, Message: "A flavor of " + x.Name + " already exists."}
	}
	if _, exists := st.FlavorProfiles.Get(x.FlavorProfileId); !exists {
		return notFound("flavor profile %s not found", x.FlavorProfileId)
	}
	if found {
		x.CreatedAt = cur.CreatedAt
	}
	x.Version = f.nextVersion()
	st.Flavors.Put(x)
	return ok(x.Version)
}

func (f *FSM) applyDeleteFlavor(st *State, c *storepb.DeleteFlavor) *storepb.CommandResult {
	cur, found := st.Flavors.Get(c.Id)
	if !found {
		return notFound("flavor %s not found", c.Id)
	}
	if c.ExpectedVersion != 0 && cur.Version != c.ExpectedVersion {
		return conflict(cur.Version, "flavor %s changed", c.Id)
	}
	if len(Collect(st.LoadBalancers, IndexFlavor, c.Id)) > 0 {
		return inUse("Flavor %s is in use and cannot be modified.", c.Id)
	}
	st.Flavors.Delete(c.Id)
	return ok(f.nextVersion())
}

func (f *FSM) applyPutFlavorProfile(st *State, c *storepb.PutFlavorProfile) *storepb.CommandResult {
	x := c.GetFlavorProfile()
	if x == nil || x.Id == "" {
		return invalid("flavor profile without an id")
	}
	cur, found, res := casCatalog(st.FlavorProfiles, x.Id, c.ExpectedVersion, "flavor profile")
	if res != nil {
		return res
	}
	if found {
		if (cur.ProviderName != x.ProviderName || cur.FlavorData != x.FlavorData) &&
			len(Collect(st.Flavors, IndexFlavorProfile, x.Id)) > 0 {
			return inUse("Flavor profile %s is in use and cannot be modified.", x.Id)
		}
		x.CreatedAt = cur.CreatedAt
	}
	x.Version = f.nextVersion()
	st.FlavorProfiles.Put(x)
	return ok(x.Version)
}

func (f *FSM) applyDeleteFlavorProfile(st *State, c *storepb.DeleteFlavorProfile) *storepb.CommandResult {
	cur, found := st.FlavorProfiles.Get(c.Id)
	if !found {
		return notFound("flavor profile %s not found", c.Id)
	}
	if c.ExpectedVersion != 0 && cur.Version != c.ExpectedVersion {
		return conflict(cur.Version, "flavor profile %s changed", c.Id)
	}
	if len(Collect(st.Flavors, IndexFlavorProfile, c.Id)) > 0 {
		return inUse("Flavor profile %s is in use and cannot be modified.", c.Id)
	}
	st.FlavorProfiles.Delete(c.Id)
	return ok(f.nextVersion())
}

func (f *FSM) applyPutAvailabilityZone(st *State, c *storepb.PutAvailabilityZone) *storepb.CommandResult {
	x := c.GetAvailabilityZone()
	if x == nil || x.Name == "" {
		return invalid("availability zone without a name")
	}
	cur, found, res := casCatalog(st.AvailabilityZones, x.Name, c.ExpectedVersion, "availability zone")
	if res != nil {
		return res
	}
	if _, exists := st.AvailabilityZoneProfiles.Get(x.AvailabilityZoneProfileId); !exists {
		return notFound("availability zone profile %s not found", x.AvailabilityZoneProfileId)
	}
	if found {
		x.CreatedAt = cur.CreatedAt
	}
	x.Version = f.nextVersion()
	st.AvailabilityZones.Put(x)
	return ok(x.Version)
}

func (f *FSM) applyDeleteAvailabilityZone(st *State, c *storepb.DeleteAvailabilityZone) *storepb.CommandResult {
	cur, found := st.AvailabilityZones.Get(c.Name)
	if !found {
		return notFound("availability zone %s not found", c.Name)
	}
	if c.ExpectedVersion != 0 && cur.Version != c.ExpectedVersion {
		return conflict(cur.Version, "availability zone %s changed", c.Name)
	}
	if len(Collect(st.LoadBalancers, IndexAvailabilityZone, c.Name)) > 0 {
		return inUse("Availability Zone %s is in use and cannot be modified.", c.Name)
	}
	st.AvailabilityZones.Delete(c.Name)
	return ok(f.nextVersion())
}

func (f *FSM) applyPutAvailabilityZoneProfile(st *State, c *storepb.PutAvailabilityZoneProfile) *storepb.CommandResult {
	x := c.GetAvailabilityZoneProfile()
	if x == nil || x.Id == "" {
		return invalid("availability zone profile without an id")
	}
	cur, found, res := casCatalog(st.AvailabilityZoneProfiles, x.Id, c.ExpectedVersion, "availability zone profile")
	if res != nil {
		return res
	}
	if found {
		if (cur.ProviderName != x.ProviderName || cur.AvailabilityZoneData != x.AvailabilityZoneData) &&
			len(Collect(st.AvailabilityZones, IndexAvailabilityZoneProfile, x.Id)) > 0 {
			return inUse("Availability Zone Profile %s is in use and cannot be modified.", x.Id)
		}
		x.CreatedAt = cur.CreatedAt
	}
	x.Version = f.nextVersion()
	st.AvailabilityZoneProfiles.Put(x)
	return ok(x.Version)
}

func (f *FSM) applyDeleteAvailabilityZoneProfile(st *State, c *storepb.DeleteAvailabilityZoneProfile) *storepb.CommandResult {
	cur, found := st.AvailabilityZoneProfiles.Get(c.Id)
	if !found {
		return notFound("availability zone profile %s not found", c.Id)
	}
	if c.ExpectedVersion != 0 && cur.Version != c.ExpectedVersion {
		return conflict(cur.Version, "availability zone profile %s changed", c.Id)
	}
	if len(Collect(st.AvailabilityZones, IndexAvailabilityZoneProfile, c.Id)) > 0 {
		return inUse("Availability Zone Profile %s is in use and cannot be modified.", c.Id)
	}
	st.AvailabilityZoneProfiles.Delete(c.Id)
	return ok(f.nextVersion())
}
