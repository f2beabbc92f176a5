package store

import (
	"keel/store/storepb"
)

// Mogan's tables: bare-metal instances and instance types. Instances are
// indexed by the host they hold (at most one each: the FSM refuses a second),
// the reservation they were created for, their status and their type; the
// indexes are the table's own, so every Put keeps them and restore rebuilds
// them. Readers ask the queries below, named for what they answer.
type moganTables struct {
	instances *Table[*storepb.Instance]
	types     *Table[*storepb.InstanceType]
}

// Index names of the instances table.
const (
	IndexHost         = "host_id"
	IndexReservation  = "reservation_id"
	IndexInstanceType = "instance_type_uuid"
)

var (
	instanceSchema = &Schema[*storepb.Instance]{
		Name: "instances",
		Pivot: func(project string, created int64, id string) *storepb.Instance {
			return &storepb.Instance{ProjectId: project, CreatedAtUs: created, Uuid: id}
		},
		Exact: map[string]ExactIndex[*storepb.Instance]{
			IndexHost:         exact((*storepb.Instance).GetHostId),
			IndexReservation:  exact((*storepb.Instance).GetReservationId),
			IndexStatus:       exact((*storepb.Instance).GetStatus),
			IndexInstanceType: exact((*storepb.Instance).GetInstanceTypeUuid),
		},
	}
	instanceTypeSchema = &Schema[*storepb.InstanceType]{
		Name: "instance_types",
		Pivot: func(project string, created int64, id string) *storepb.InstanceType {
			return &storepb.InstanceType{CreatedAtUs: created, Uuid: id}
		},
	}
)

func newMoganTables() moganTables {
	return moganTables{instances: NewTable(instanceSchema), types: NewTable(instanceTypeSchema)}
}

func (m moganTables) clone() moganTables {
	return moganTables{instances: m.instances.Clone(), types: m.types.Clone()}
}

func (m *moganTables) putInstance(x *storepb.Instance) {
	x.ProjectId = intern(x.ProjectId)
	x.UserId = intern(x.UserId)
	x.Status = intern(x.Status)
	x.PowerState = intern(x.PowerState)
	x.TargetPowerState = intern(x.TargetPowerState)
	x.InstanceTypeUuid = intern(x.InstanceTypeUuid)
	x.ImageUuid = intern(x.ImageUuid)
	x.AvailabilityZone = intern(x.AvailabilityZone)
	m.instances.Put(x)
}

// snapshot emits every instance type, then every instance (the indexes are
// the tables' and rebuilt by Put on restore), until emit fails.
func (m *moganTables) snapshot(emit func(*storepb.SnapshotRecord) bool) {
	okay := true
	m.types.All(func(x *storepb.InstanceType) bool {
		okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_InstanceType{InstanceType: x}})
		return okay
	})
	if okay {
		m.instances.All(func(x *storepb.Instance) bool {
			okay = emit(&storepb.SnapshotRecord{Entity: &storepb.SnapshotRecord_Instance{Instance: x}})
			return okay
		})
	}
}

// Instance returns the instance with uuid id, or nil.
func (s *State) Instance(id string) *storepb.Instance {
	x, _ := s.mogan.instances.Get(id)
	return x
}

// Instances returns every instance in creation order (created_at_us, then
// uuid): GET /v1/instances?all_tenants=1.
func (s *State) Instances() []*storepb.Instance {
	out := make([]*storepb.Instance, 0, s.mogan.instances.Len())
	s.mogan.instances.created.Scan(func(x *storepb.Instance) bool {
		out = append(out, x)
		return true
	})
	return out
}

// InstancesOfProject returns a project's instances in creation order.
func (s *State) InstancesOfProject(project string) []*storepb.Instance {
	var out []*storepb.Instance
	t := s.mogan.instances
	t.projectCreated.Ascend(t.schema.Pivot(project, -1<<63, ""), func(x *storepb.Instance) bool {
		if x.ProjectId != project {
			return false
		}
		out = append(out, x)
		return true
	})
	return out
}

// InstanceOnHost returns the instance holding the host, or nil (never more
// than one: the FSM refuses a second).
func (s *State) InstanceOnHost(hostID string) *storepb.Instance {
	if hostID == "" {
		return nil
	}
	var out *storepb.Instance
	s.mogan.instances.Equal(IndexHost, hostID, func(x *storepb.Instance) bool {
		out = x
		return false
	})
	return out
}

// HostHeldByInstance reports whether an instance holds the host.
func (s *State) HostHeldByInstance(hostID string) bool { return s.InstanceOnHost(hostID) != nil }

// FreeHosts returns the hosts no instance holds, in the inventory's creation
// order: the scheduler's candidates before its own filters (reservable,
// availability zone, capabilities, leases).
func (s *State) FreeHosts() []*storepb.Host {
	var out []*storepb.Host
	s.blazar.hosts.created.Scan(func(h *storepb.Host) bool {
		if !s.HostHeldByInstance(h.Id) {
			out = append(out, h)
		}
		return true
	})
	return out
}

// InstancesOfReservation returns the instances created for a Blazar
// reservation, by uuid: what end_lease deletes.
func (s *State) InstancesOfReservation(reservationID string) []*storepb.Instance {
	return Collect(s.mogan.instances, IndexReservation, reservationID)
}

// InstancesInStatus returns the instances in status, by uuid.
func (s *State) InstancesInStatus(status string) []*storepb.Instance {
	return Collect(s.mogan.instances, IndexStatus, status)
}

// InstancesBuilding returns the instances still building, by uuid: a
// reconciler's list (nothing may stay building after its grain's node died).
func (s *State) InstancesBuilding() []*storepb.Instance {
	return s.InstancesInStatus(storepb.InstanceBuilding)
}

// InstanceTypeInUse reports whether an instance names the instance type.
func (s *State) InstanceTypeInUse(uuid string) bool {
	used := false
	s.mogan.instances.Equal(IndexInstanceType, uuid, func(*storepb.Instance) bool {
		used = true
		return false
	})
	return used
}

// InstanceType returns the instance type with uuid, or nil.
func (s *State) InstanceType(uuid string) *storepb.InstanceType {
	x, _ := s.mogan.types.Get(uuid)
	return x
}

// InstanceTypes returns every instance type in creation order.
func (s *State) InstanceTypes() []*storepb.InstanceType {
	out := make([]*storepb.InstanceType, 0, s.mogan.types.Len())
	s.mogan.types.created.Scan(func(x *storepb.InstanceType) bool {
		out = append(out, x)
		return true
	})
	return out
}
