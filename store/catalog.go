package store

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	"keel/store/storepb"
)

// The admin-managed catalog: quotas, flavors, flavor profiles, availability zones
// and their profiles. Every change is one CatalogOperation (PUT or DELETE of one
// row of one kind) and one generic applier applies every kind: compare-and-set on
// the row's version, then the kind's rules, which are data (catalogTables): the
// row it refers to must exist, its name may be unique, and a row used by others
// is neither deleted nor changed in what its users depend on. The FSM enforces
// them across concurrent writers; the catalog grain asks the same questions of
// its own read before it proposes (State.CheckCatalog, State.CatalogInUse), so
// each rule and its refusal (in Octavia's words) is written once, here.

// catalogEntity is a catalog row as a table holds it.
type catalogEntity interface {
	Entity
	storepb.CatalogEntity
}

// catalogTable is one kind of catalog row.
type catalogTable[T catalogEntity] struct {
	table func(*State) *Table[T]
	// parent, when set, refuses a row whose parent row (a flavor's profile) does
	// not exist.
	parent func(st *State, x T) *storepb.CommandResult
	// name, when set, is an attribute no two rows share (unless empty); label
	// names the kind in Octavia's refusal ("A flavor of gold already exists.").
	name  func(T) string
	label string
	// usedBy, when set, reports whether other rows use the row with key; display
	// names the kind in Octavia's refusal ("Flavor profile x is in use ...").
	usedBy  func(st *State, key string) bool
	display string
	// locked are the attributes that may not change while the row is used.
	locked []string
}

// catalogRules is a catalogTable of any kind.
type catalogRules interface {
	get(st *State, key string) (storepb.CatalogEntity, bool)
	check(st *State, op *storepb.CatalogOperation) *storepb.CommandResult
	write(st *State, op *storepb.CatalogOperation, version uint64)
	inUse(st *State, key string) *storepb.CommandResult
	lockedAttributes() []string
}

var catalogTables = map[storepb.CatalogKind]catalogRules{
	storepb.CatalogKind_QUOTA: &catalogTable[*storepb.Quota]{
		table: func(s *State) *Table[*storepb.Quota] { return s.Quotas },
	},
	storepb.CatalogKind_FLAVOR: &catalogTable[*storepb.Flavor]{
		table: func(s *State) *Table[*storepb.Flavor] { return s.Flavors },
		parent: func(st *State, x *storepb.Flavor) *storepb.CommandResult {
			return exists(st.FlavorProfiles, x.FlavorProfileId, "Flavor Profile")
		},
		name: (*storepb.Flavor).GetName, label: "flavor",
		usedBy:  func(st *State, key string) bool { return used(st.LoadBalancers, IndexFlavor, key) },
		display: "Flavor",
	},
	storepb.CatalogKind_FLAVOR_PROFILE: &catalogTable[*storepb.FlavorProfile]{
		table:   func(s *State) *Table[*storepb.FlavorProfile] { return s.FlavorProfiles },
		usedBy:  func(st *State, key string) bool { return used(st.Flavors, IndexFlavorProfile, key) },
		display: "Flavor profile",
		locked:  []string{"provider_name", "flavor_data"},
	},
	storepb.CatalogKind_AVAILABILITY_ZONE: &catalogTable[*storepb.AvailabilityZone]{
		table: func(s *State) *Table[*storepb.AvailabilityZone] { return s.AvailabilityZones },
		parent: func(st *State, x *storepb.AvailabilityZone) *storepb.CommandResult {
			return exists(st.AvailabilityZoneProfiles, x.AvailabilityZoneProfileId, "Availability Zone Profile")
		},
		usedBy:  func(st *State, key string) bool { return used(st.LoadBalancers, IndexAvailabilityZone, key) },
		display: "Availability Zone",
	},
	storepb.CatalogKind_AVAILABILITY_ZONE_PROFILE: &catalogTable[*storepb.AvailabilityZoneProfile]{
		table:   func(s *State) *Table[*storepb.AvailabilityZoneProfile] { return s.AvailabilityZoneProfiles },
		usedBy:  func(st *State, key string) bool { return used(st.AvailabilityZones, IndexAvailabilityZoneProfile, key) },
		display: "Availability Zone Profile",
		locked:  []string{"provider_name", "availability_zone_data"},
	},
}

// applyCatalogOperation puts or deletes one catalog row of any kind.
func (f *FSM) applyCatalogOperation(st *State, op *storepb.CatalogOperation) *storepb.CommandResult {
	if res := st.CheckCatalog(op); res != nil {
		return res
	}
	v := f.nextVersion()
	catalogTables[op.GetKind()].write(st, op, v)
	return ok(v)
}

// CheckCatalog answers whether op applies to s: nil, or the FSM's refusal of it.
// A refusal the API shows (a missing parent, a taken name, a row in use) has
// Octavia's message.
func (s *State) CheckCatalog(op *storepb.CatalogOperation) *storepb.CommandResult {
	c, found := catalogTables[op.GetKind()]
	if !found {
		return invalid("catalog operation of unknown kind %v", op.GetKind())
	}
	return c.check(s, op)
}

// CatalogRow returns the row of kind with key.
func (s *State) CatalogRow(kind storepb.CatalogKind, key string) (storepb.CatalogEntity, bool) {
	if c, found := catalogTables[kind]; found {
		return c.get(s, key)
	}
	return nil, false
}

// CatalogInUse refuses a change to the row of kind with key while other rows use
// it (IN_USE, Octavia's message); nil when none does.
func (s *State) CatalogInUse(kind storepb.CatalogKind, key string) *storepb.CommandResult {
	if c, found := catalogTables[kind]; found {
		return c.inUse(s, key)
	}
	return nil
}

// CatalogLocked names the attributes of kind's rows that may not change while the
// row is used (a profile's provider and data).
func CatalogLocked(kind storepb.CatalogKind) []string {
	if c, found := catalogTables[kind]; found {
		return c.lockedAttributes()
	}
	return nil
}

func (c *catalogTable[T]) get(st *State, key string) (storepb.CatalogEntity, bool) {
	if x, found := c.table(st).Get(key); found {
		return x, true
	}
	return nil, false
}

func (c *catalogTable[T]) lockedAttributes() []string { return c.locked }

// check is the compare-and-set, then the kind's rules.
func (c *catalogTable[T]) check(st *State, op *storepb.CatalogOperation) *storepb.CommandResult {
	kind, key := op.GetKind(), op.GetKey()
	var x T
	switch op.GetOp() {
	case storepb.CatalogOperation_PUT:
		var ok bool
		if x, ok = op.GetRow().Entity().(T); !ok || x.GetId() == "" {
			return invalid("%v put without its row or key", kind)
		}
		key = x.GetId()
	case storepb.CatalogOperation_DELETE:
	default:
		return invalid("catalog operation %v", op.GetOp())
	}
	cur, found := c.table(st).Get(key)
	expected := op.GetExpectedVersion()
	switch {
	case op.GetOp() == storepb.CatalogOperation_PUT && expected == 0 && found:
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: kind.String() + " " + key + " exists", Version: cur.GetVersion()}
	case !found && (expected != 0 || op.GetOp() == storepb.CatalogOperation_DELETE):
		return notFound("%v %s not found", kind, key)
	case found && expected != 0 && cur.GetVersion() != expected:
		return conflict(cur.GetVersion(), "%v %s is at version %d, not %d", kind, key, cur.GetVersion(), expected)
	}
	if op.GetOp() == storepb.CatalogOperation_DELETE {
		return c.inUse(st, key)
	}
	if c.parent != nil {
		if res := c.parent(st, x); res != nil {
			return res
		}
	}
	if c.name != nil && c.name(x) != "" && nameTaken(c.table(st), c.name(x), key, c.name) {
		return &storepb.CommandResult{Code: storepb.CommandResult_ALREADY_EXISTS,
			Message: "A " + c.label + " of " + c.name(x) + " already exists."}
	}
	if found && c.changesLocked(cur, x) {
		return c.inUse(st, key)
	}
	return nil
}

// changesLocked reports whether next differs from cur in a locked attribute.
func (c *catalogTable[T]) changesLocked(cur, next T) bool {
	a, b := cur.ProtoReflect(), next.ProtoReflect()
	for _, name := range c.locked {
		fd := a.Descriptor().Fields().ByName(protoreflect.Name(name))
		if !a.Get(fd).Equal(b.Get(fd)) {
			return true
		}
	}
	return false
}

func (c *catalogTable[T]) inUse(st *State, key string) *storepb.CommandResult {
	if c.usedBy != nil && c.usedBy(st, key) {
		return &storepb.CommandResult{Code: storepb.CommandResult_IN_USE,
			Message: c.display + " " + key + " is in use and cannot be modified."}
	}
	return nil
}

// write stores a PUT's row (keeping the creation time of the row it replaces)
// or removes a DELETE's.
func (c *catalogTable[T]) write(st *State, op *storepb.CatalogOperation, version uint64) {
	t := c.table(st)
	if op.GetOp() == storepb.CatalogOperation_DELETE {
		t.Delete(op.GetKey())
		return
	}
	x := op.GetRow().Entity().(T)
	if cur, found := t.Get(x.GetId()); found {
		x.SetCreatedAt(cur.GetCreatedAt())
	}
	x.SetVersion(version)
	t.Put(x)
}

// exists refuses a reference to a row of t that does not exist.
func exists[T Entity](t *Table[T], id, display string) *storepb.CommandResult {
	if _, found := t.Get(id); !found {
		return notFound("%s %s not found.", display, id)
	}
	return nil
}

// used reports whether a row of t refers to key through index.
func used[T Entity](t *Table[T], index, key string) bool {
	found := false
	t.Equal(index, key, func(T) bool {
		found = true
		return false
	})
	return found
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
