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

// Statistics rows belong to no project and have no creation time (the tables'
// ordered indexes then order them by id).
func (x *ListenerStatistics) GetProjectId() string { return "" }
func (x *ListenerStatistics) GetCreatedAt() int64  { return 0 }

// SetProvisioning sets a tree object's provisioning status and update time (the
// provider step does this generically for every kind of child).
func (x *Listener) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
func (x *Pool) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
func (x *Member) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
func (x *HealthMonitor) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
func (x *L7Policy) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
func (x *L7Rule) SetProvisioning(status string, at int64) {
	x.ProvisioningStatus, x.UpdatedAt = status, at
}
