package http

import (
	"maps"
	"slices"
	"time"

	"keel/actors/reservation"
	"keel/store/storepb"
)

// Blazar's views of store rows (its models' to_dict): start_date, end_date and
// an event's time in oslo's form ("2017-02-21T20:00:00.000000"), created_at and
// updated_at in Python's isoformat(' ') ("2017-02-21 14:50:38.123456"),
// updated_at null until the row changes. keel has no Keystone trusts, so
// trust_id is always null. A host's BMC is never rendered.

func appendBlazarDate(b []byte, ms int64) []byte {
	return appendJSONString(b, reservation.FormatDate(time.UnixMilli(ms)))
}

func (o *jsonObject) blazarDate(k string, ms int64) { o.key(k); o.b = appendBlazarDate(o.b, ms) }

// blazarTimestamp renders created_at / updated_at (null when unset).
func (o *jsonObject) blazarTimestamp(k string, us int64) {
	if us == 0 {
		o.null(k)
		return
	}
	o.str(k, reservation.FormatTimestamp(time.UnixMicro(us)))
}

// blazarUpdatedAt renders updated_at: null while the row has not changed since
// it was created (the store stamps both at creation; Blazar leaves it NULL).
func (o *jsonObject) blazarUpdatedAt(created, updated int64) {
	if updated == created {
		updated = 0
	}
	o.blazarTimestamp("updated_at", updated)
}

// appendLease renders a lease with its reservations and events.
func appendLease(b []byte, l *storepb.Lease) []byte {
	o := openObject(b)
	o.str("id", l.Id)
	o.str("name", l.Name)
	o.str("user_id", l.UserId)
	o.str("project_id", l.ProjectId)
	o.blazarDate("start_date", l.StartMs)
	o.blazarDate("end_date", l.EndMs)
	o.null("trust_id")
	o.str("status", l.Status)
	o.boolean("degraded", l.Degraded)
	o.key("reservations")
	o.b = append(o.b, '[')
	for i, r := range l.Reservations {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendReservation(o.b, r)
	}
	o.b = append(o.b, ']')
	o.key("events")
	o.b = append(o.b, '[')
	for i, ev := range l.Events {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendEvent(o.b, ev)
	}
	o.b = append(o.b, ']')
	o.blazarTimestamp("created_at", l.CreatedAtUs)
	o.blazarUpdatedAt(l.CreatedAtUs, l.UpdatedAtUs)
	return o.close()
}

func appendReservation(b []byte, r *storepb.Reservation) []byte {
	o := openObject(b)
	o.str("id", r.Id)
	o.str("lease_id", r.LeaseId)
	o.str("resource_id", r.ResourceId)
	o.str("resource_type", r.ResourceType)
	o.str("status", r.Status)
	o.boolean("missing_resources", r.MissingResources)
	o.boolean("resources_changed", r.ResourcesChanged)
	o.str("hypervisor_properties", r.HypervisorProperties)
	o.str("resource_properties", r.ResourceProperties)
	o.str("before_end", r.BeforeEnd)
	o.integer("min", int64(r.Min))
	o.integer("max", int64(r.Max))
	o.blazarTimestamp("created_at", r.CreatedAtUs)
	o.blazarUpdatedAt(r.CreatedAtUs, r.UpdatedAtUs)
	return o.close()
}

func appendEvent(b []byte, ev *storepb.LeaseEvent) []byte {
	o := openObject(b)
	o.str("id", ev.Id)
	o.str("lease_id", ev.LeaseId)
	o.str("event_type", ev.EventType)
	o.blazarDate("time", ev.TimeMs)
	o.str("status", ev.Status)
	o.blazarTimestamp("created_at", ev.CreatedAtUs)
	o.blazarUpdatedAt(ev.CreatedAtUs, ev.UpdatedAtUs)
	return o.close()
}

// appendHost renders a host: the computehost columns, then every extra
// capability as a top-level string; a capability named like a column replaces
// the column in the view (Blazar updates the row's dict with them). The BMC
// (address, user, password) is never rendered, to anyone.
func appendHost(b []byte, h *storepb.Host) []byte {
	o := openObject(b)
	caps := h.ExtraCapabilities
	field := func(k string, render func()) {
		if v, ok := caps[k]; ok {
			o.str(k, v)
			return
		}
		render()
	}
	field("id", func() { o.str("id", h.Id) })
	field("hypervisor_hostname", func() { o.str("hypervisor_hostname", h.HypervisorHostname) })
	field("service_name", func() { o.str("service_name", h.ServiceName) })
	field("vcpus", func() { o.integer("vcpus", h.Vcpus) })
	field("memory_mb", func() { o.integer("memory_mb", h.MemoryMb) })
	field("local_gb", func() { o.integer("local_gb", h.LocalGb) })
	field("cpu_info", func() { o.str("cpu_info", h.CpuInfo) })
	field("hypervisor_type", func() { o.str("hypervisor_type", h.HypervisorType) })
	field("hypervisor_version", func() { o.integer("hypervisor_version", h.HypervisorVersion) })
	field("availability_zone", func() { o.str("availability_zone", h.AvailabilityZone) })
	field("status", func() { o.null("status") })
	field("reservable", func() { o.boolean("reservable", h.Reservable) })
	field("trust_id", func() { o.null("trust_id") })
	field("created_at", func() { o.blazarTimestamp("created_at", h.CreatedAtUs) })
	field("updated_at", func() { o.blazarUpdatedAt(h.CreatedAtUs, h.UpdatedAtUs) })
	for _, k := range slices.Sorted(maps.Keys(caps)) {
		if !hostColumn[k] {
			o.str(k, caps[k])
		}
	}
	return o.close()
}

// hostColumn names the fields appendHost renders before the capabilities.
var hostColumn = map[string]bool{"id": true, "hypervisor_hostname": true, "service_name": true, "vcpus": true,
	"memory_mb": true, "local_gb": true, "cpu_info": true, "hypervisor_type": true, "hypervisor_version": true,
	"availability_zone": true, "status": true, "reservable": true, "trust_id": true, "created_at": true, "updated_at": true}

// appendAllocation renders one host's allocations ({"resource_id": host,
// "reservations": [{"id", "lease_id", "start_date", "end_date"}]}), keeping
// those keep accepts.
func appendAllocation(b []byte, hostID string, allocs []*storepb.Allocation, keep func(*storepb.Allocation) bool) []byte {
	o := openObject(b)
	o.str("resource_id", hostID)
	o.key("reservations")
	o.b = append(o.b, '[')
	n := 0
	for _, a := range allocs {
		if !keep(a) {
			continue
		}
		if n > 0 {
			o.b = append(o.b, ',')
		}
		n++
		r := openObject(o.b)
		r.str("id", a.ReservationId)
		r.str("lease_id", a.LeaseId)
		r.blazarDate("start_date", a.StartMs)
		r.blazarDate("end_date", a.EndMs)
		o.b = r.close()
	}
	o.b = append(o.b, ']')
	return o.close()
}

// appendResourceProperty renders PATCH /v1/os-hosts/properties/{name}'s answer.
// keel keys a property by its name, which is therefore also its id; its
// timestamps are in the T form, as Blazar renders that view's.
func appendResourceProperty(b []byte, p *storepb.ResourceProperty) []byte {
	o := openObject(b)
	o.str("id", p.PropertyName)
	o.str("resource_type", reservation.ResourcePhysicalHost)
	o.str("property_name", p.PropertyName)
	o.boolean("private", p.Private)
	o.str("created_at", reservation.FormatDate(time.UnixMicro(p.CreatedAtUs)))
	if p.UpdatedAtUs == 0 {
		o.null("updated_at")
	} else {
		o.str("updated_at", reservation.FormatDate(time.UnixMicro(p.UpdatedAtUs)))
	}
	return o.close()
}
