package storepb

// Entities that are not scoped to a project (or are keyed by something other than
// an id field) get the getters the store's tables index by.

// GetProjectId is "" for the project-less catalog rows.
func (x *Quota) GetProjectId() string                   { return x.GetId() }
func (x *Flavor) GetProjectId() string                  { return "" }
func (x *FlavorProfile) GetProjectId() string           { return "" }
func (x *AvailabilityZone) GetProjectId() string        { return "" }
func (x *AvailabilityZoneProfile) GetProjectId() string { return "" }

// GetId of an availability zone is its name, its key.
func (x *AvailabilityZone) GetId() string { return x.GetName() }
