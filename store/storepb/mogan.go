package storepb

// What the store's tables index Mogan's rows by (Entity: id, project, creation
// time), and the words of Mogan's status and power models.

// GetId of an instance or an instance type is its uuid.
func (x *Instance) GetId() string     { return x.GetUuid() }
func (x *InstanceType) GetId() string { return x.GetUuid() }

// Instance types belong to no project.
func (x *InstanceType) GetProjectId() string { return "" }

// GetCreatedAt is the creation time the tables order by (unix microseconds).
func (x *Instance) GetCreatedAt() int64     { return x.GetCreatedAtUs() }
func (x *InstanceType) GetCreatedAt() int64 { return x.GetCreatedAtUs() }

// Instance statuses (Instance.status): Mogan's seed era (building, active,
// error, deleting, deleted) and its later power statuses.
const (
	InstanceBuilding        = "building"
	InstanceActive          = "active"
	InstanceError           = "error"
	InstanceDeleting        = "deleting"
	InstanceDeleted         = "deleted"
	InstanceStopped         = "stopped"
	InstancePoweringOn      = "powering-on"
	InstancePoweringOff     = "powering-off"
	InstanceSoftPoweringOff = "soft-powering-off"
	InstanceRebooting       = "rebooting"
	InstanceSoftRebooting   = "soft-rebooting"
)

// Power states (Instance.power_state, target_power_state); "" is Mogan's null.
const (
	PowerOn  = "power on"
	PowerOff = "power off"
)
