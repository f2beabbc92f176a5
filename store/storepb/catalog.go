package storepb

import "google.golang.org/protobuf/proto"

// CatalogEntity is a row of the admin-managed catalog, of any kind: what the
// store's generic applier, the catalog grain and the API's catalog handlers
// need of it.
type CatalogEntity interface {
	proto.Message
	// GetId is the row's key: an id, a project's id (quotas), a name
	// (availability zones); SetId sets it.
	GetId() string
	SetId(string)
	GetVersion() uint64
	SetVersion(uint64)
	GetCreatedAt() int64
	SetCreatedAt(int64)
}

func (x *Quota) SetId(k string)                   { x.Id = k }
func (x *Flavor) SetId(k string)                  { x.Id = k }
func (x *FlavorProfile) SetId(k string)           { x.Id = k }
func (x *AvailabilityZone) SetId(k string)        { x.Name = k }
func (x *AvailabilityZoneProfile) SetId(k string) { x.Id = k }

func (x *Quota) SetVersion(v uint64)                   { x.Version = v }
func (x *Flavor) SetVersion(v uint64)                  { x.Version = v }
func (x *FlavorProfile) SetVersion(v uint64)           { x.Version = v }
func (x *AvailabilityZone) SetVersion(v uint64)        { x.Version = v }
func (x *AvailabilityZoneProfile) SetVersion(v uint64) { x.Version = v }

func (x *Quota) SetCreatedAt(t int64)                   { x.CreatedAt = t }
func (x *Flavor) SetCreatedAt(t int64)                  { x.CreatedAt = t }
func (x *FlavorProfile) SetCreatedAt(t int64)           { x.CreatedAt = t }
func (x *AvailabilityZone) SetCreatedAt(t int64)        { x.CreatedAt = t }
func (x *AvailabilityZoneProfile) SetCreatedAt(t int64) { x.CreatedAt = t }

// NewCatalogRow wraps a row for a message (nil: an empty CatalogRow).
func NewCatalogRow(e CatalogEntity) *CatalogRow {
	_, r := wrap(e)
	return r
}

// CatalogKindOf returns the kind of a row.
func CatalogKindOf(e CatalogEntity) CatalogKind {
	k, _ := wrap(e)
	return k
}

// wrap is the one place a Go type maps to its kind and its field of CatalogRow.
func wrap(e CatalogEntity) (CatalogKind, *CatalogRow) {
	switch x := e.(type) {
	case *Quota:
		return CatalogKind_QUOTA, &CatalogRow{Row: &CatalogRow_Quota{Quota: x}}
	case *Flavor:
		return CatalogKind_FLAVOR, &CatalogRow{Row: &CatalogRow_Flavor{Flavor: x}}
	case *FlavorProfile:
		return CatalogKind_FLAVOR_PROFILE, &CatalogRow{Row: &CatalogRow_FlavorProfile{FlavorProfile: x}}
	case *AvailabilityZone:
		return CatalogKind_AVAILABILITY_ZONE, &CatalogRow{Row: &CatalogRow_AvailabilityZone{AvailabilityZone: x}}
	case *AvailabilityZoneProfile:
		return CatalogKind_AVAILABILITY_ZONE_PROFILE, &CatalogRow{Row: &CatalogRow_AvailabilityZoneProfile{AvailabilityZoneProfile: x}}
	}
	return CatalogKind_CATALOG_KIND_UNSPECIFIED, &CatalogRow{}
}

// Entity returns the row r carries, or nil.
func (r *CatalogRow) Entity() CatalogEntity {
	switch x := r.GetRow().(type) {
	case *CatalogRow_Quota:
		return x.Quota
	case *CatalogRow_Flavor:
		return x.Flavor
	case *CatalogRow_FlavorProfile:
		return x.FlavorProfile
	case *CatalogRow_AvailabilityZone:
		return x.AvailabilityZone
	case *CatalogRow_AvailabilityZoneProfile:
		return x.AvailabilityZoneProfile
	}
	return nil
}

// CatalogPut is the command storing row: with expectedVersion 0 a new row,
// otherwise a replacement of the row at that version.
func CatalogPut(row CatalogEntity, expectedVersion uint64) *Command {
	kind, r := wrap(row)
	return catalogCommand(&CatalogOperation{Op: CatalogOperation_PUT, Kind: kind, Row: r, ExpectedVersion: expectedVersion})
}

// CatalogDelete is the command removing the row of kind with key, at
// expectedVersion (0: whatever its version).
func CatalogDelete(kind CatalogKind, key string, expectedVersion uint64) *Command {
	return catalogCommand(&CatalogOperation{Op: CatalogOperation_DELETE, Kind: kind, Key: key, ExpectedVersion: expectedVersion})
}

func catalogCommand(op *CatalogOperation) *Command {
	return &Command{Op: &Command_Catalog{Catalog: op}}
}
