package store

import "keel/store/storepb"

// ChildKind describes one kind of row a load balancer's tree holds besides the
// load balancer itself: where its rows live in a State, a TreeWrite, a Tree and a
// snapshot, the quota it counts against and the intent that creates one. Every
// place that handles "each child kind" (the FSM's write, ownership, intent and
// quota checks, purge, snapshot and restore, State.Tree, StateOf, the grain's
// cache) ranges over ChildKinds, so a new kind is one new descriptor.
type ChildKind[T TreeEntity] struct {
	Noun   string                         // in messages: "listener"
	Quota  string                         // the quota resource it counts against; "" for none
	Create storepb.TreeTransaction_Intent // the intent that inserts one; 0 for none

	schema     *Schema[T]
	table      func(*State) **Table[T]
	written    func(*storepb.TreeWrite) *[]T
	deleted    func(*storepb.TreeWrite) *[]string
	rows       func(*storepb.Tree) *[]T
	intern     func(x T, lb parent) T // lb: the stored load balancer's strings its rows share
	setVersion func(T, uint64)
}

// Written returns the rows of this kind a write set puts.
func (k *ChildKind[T]) Written(w *storepb.TreeWrite) []T { return *k.written(w) }

// Deleted returns the ids of this kind a write set removes.
func (k *ChildKind[T]) Deleted(w *storepb.TreeWrite) []string { return *k.deleted(w) }

// Rows returns a tree's rows of this kind.
func (k *ChildKind[T]) Rows(t *storepb.Tree) []T { return *k.rows(t) }

// SetRows sets a tree's rows of this kind.
func (k *ChildKind[T]) SetRows(t *storepb.Tree, rows []T) { *k.rows(t) = rows }

// Stamp gives a committed row the version of the command that wrote it.
func (k *ChildKind[T]) Stamp(x T, version uint64) { k.setVersion(x, version) }

// The child kinds of a load balancer's tree, in the order they are written,
// snapshotted and rendered.
var (
	ListenerKind = &ChildKind[*storepb.Listener]{Noun: "listener", Quota: QuotaListener,
		Create: storepb.TreeTransaction_CREATE_LISTENER, schema: listenerSchema,
		table:      func(s *State) **Table[*storepb.Listener] { return &s.Listeners },
		written:    func(w *storepb.TreeWrite) *[]*storepb.Listener { return &w.Listeners },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteListeners },
		rows:       func(t *storepb.Tree) *[]*storepb.Listener { return &t.Listeners },
		intern:     internListener,
		setVersion: func(x *storepb.Listener, v uint64) { x.Version = v }}
	PoolKind = &ChildKind[*storepb.Pool]{Noun: "pool", Quota: QuotaPool,
		Create: storepb.TreeTransaction_CREATE_POOL, schema: poolSchema,
		table:      func(s *State) **Table[*storepb.Pool] { return &s.Pools },
		written:    func(w *storepb.TreeWrite) *[]*storepb.Pool { return &w.Pools },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeletePools },
		rows:       func(t *storepb.Tree) *[]*storepb.Pool { return &t.Pools },
		intern:     internPool,
		setVersion: func(x *storepb.Pool, v uint64) { x.Version = v }}
	MemberKind = &ChildKind[*storepb.Member]{Noun: "member", Quota: QuotaMember,
		Create: storepb.TreeTransaction_CREATE_MEMBER, schema: memberSchema,
		table:      func(s *State) **Table[*storepb.Member] { return &s.Members },
		written:    func(w *storepb.TreeWrite) *[]*storepb.Member { return &w.Members },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteMembers },
		rows:       func(t *storepb.Tree) *[]*storepb.Member { return &t.Members },
		intern:     internMember,
		setVersion: func(x *storepb.Member, v uint64) { x.Version = v }}
	HealthMonitorKind = &ChildKind[*storepb.HealthMonitor]{Noun: "health monitor", Quota: QuotaHealthMonitor,
		Create: storepb.TreeTransaction_CREATE_HEALTH_MONITOR, schema: healthMonitorSchema,
		table:      func(s *State) **Table[*storepb.HealthMonitor] { return &s.HealthMonitors },
		written:    func(w *storepb.TreeWrite) *[]*storepb.HealthMonitor { return &w.HealthMonitors },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteHealthMonitors },
		rows:       func(t *storepb.Tree) *[]*storepb.HealthMonitor { return &t.HealthMonitors },
		intern:     internHealthMonitor,
		setVersion: func(x *storepb.HealthMonitor, v uint64) { x.Version = v }}
	L7PolicyKind = &ChildKind[*storepb.L7Policy]{Noun: "l7 policy", Quota: QuotaL7Policy,
		Create: storepb.TreeTransaction_CREATE_L7POLICY, schema: l7PolicySchema,
		table:      func(s *State) **Table[*storepb.L7Policy] { return &s.L7Policies },
		written:    func(w *storepb.TreeWrite) *[]*storepb.L7Policy { return &w.L7Policies },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteL7Policies },
		rows:       func(t *storepb.Tree) *[]*storepb.L7Policy { return &t.L7Policies },
		intern:     internL7Policy,
		setVersion: func(x *storepb.L7Policy, v uint64) { x.Version = v }}
	L7RuleKind = &ChildKind[*storepb.L7Rule]{Noun: "l7 rule", Quota: QuotaL7Rule,
		Create: storepb.TreeTransaction_CREATE_L7RULE, schema: l7RuleSchema,
		table:      func(s *State) **Table[*storepb.L7Rule] { return &s.L7Rules },
		written:    func(w *storepb.TreeWrite) *[]*storepb.L7Rule { return &w.L7Rules },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteL7Rules },
		rows:       func(t *storepb.Tree) *[]*storepb.L7Rule { return &t.L7Rules },
		intern:     internL7Rule,
		setVersion: func(x *storepb.L7Rule, v uint64) { x.Version = v }}
	AmphoraKind = &ChildKind[*storepb.Amphora]{Noun: "amphora", schema: amphoraSchema,
		table:      func(s *State) **Table[*storepb.Amphora] { return &s.Amphorae },
		written:    func(w *storepb.TreeWrite) *[]*storepb.Amphora { return &w.Amphorae },
		deleted:    func(w *storepb.TreeWrite) *[]string { return &w.DeleteAmphorae },
		rows:       func(t *storepb.Tree) *[]*storepb.Amphora { return &t.Amphorae },
		intern:     internAmphora,
		setVersion: func(x *storepb.Amphora, v uint64) { x.Version = v }}
)

// childKind is a ChildKind with its row type erased, for code that handles every
// kind alike.
type childKind interface {
	newTable(st *State)
	cloneTable(dst, src *State)
	// write removes the write set's deleted rows and puts its rows at version,
	// sharing the strings of their load balancer lb.
	write(st *State, w *storepb.TreeWrite, version uint64, lb parent)
	// owned refuses rows written into, or taken from, another tree.
	owned(st *State, w *storepb.TreeWrite) *storepb.CommandResult
	// inserts reports whether the write set holds a row not yet stored.
	inserts(st *State, w *storepb.TreeWrite) bool
	creates() storepb.TreeTransaction_Intent
	// overQuota names the quota resource the write set exceeds, or "".
	overQuota(st *State, w *storepb.TreeWrite) string
	purge(st *State, lbID string)
	collect(st *State, lbID string, into *storepb.Tree)
	// tableOf sets st's table to one holding only t's rows (when it has any).
	tableOf(st *State, t *storepb.Tree)
	snapshot(st *State, w *recordWriter)
	// loader reads this kind's snapshot records into st's (empty) table.
	// (lb returns the restored load balancer's strings for an id.)
	loader(st *State, lb func(string) parent) rowLoader
}

// childKinds lists every child kind once.
var childKinds = []childKind{ListenerKind, PoolKind, MemberKind, HealthMonitorKind, L7PolicyKind, L7RuleKind, AmphoraKind}

func (k *ChildKind[T]) newTable(st *State)         { *k.table(st) = NewTable(k.schema) }
func (k *ChildKind[T]) cloneTable(dst, src *State) { *k.table(dst) = (*k.table(src)).Clone() }
func (k *ChildKind[T]) creates() storepb.TreeTransaction_Intent {
	return k.Create
}

func (k *ChildKind[T]) write(st *State, w *storepb.TreeWrite, version uint64, lb parent) {
	t := *k.table(st)
	for _, id := range k.Deleted(w) {
		t.Delete(id)
	}
	for _, x := range k.Written(w) {
		k.setVersion(x, version)
		t.Put(k.intern(x, lb))
	}
}

func (k *ChildKind[T]) owned(st *State, w *storepb.TreeWrite) *storepb.CommandResult {
	return owned(*k.table(st), k.Written(w), k.Noun, w.LoadBalancerId)
}

func (k *ChildKind[T]) inserts(st *State, w *storepb.TreeWrite) bool {
	return insertsInto(*k.table(st), k.Written(w))
}

func (k *ChildKind[T]) overQuota(st *State, w *storepb.TreeWrite) string {
	if k.Quota != "" && overQuota(st, *k.table(st), k.Written(w), k.Quota) {
		return k.Quota
	}
	return ""
}

func (k *ChildKind[T]) purge(st *State, lbID string) {
	t := *k.table(st)
	for _, v := range Collect(t, IndexLoadBalancer, lbID) {
		t.Delete(v.GetId())
	}
}

func (k *ChildKind[T]) collect(st *State, lbID string, into *storepb.Tree) {
	k.SetRows(into, Collect(*k.table(st), IndexLoadBalancer, lbID))
}

func (k *ChildKind[T]) tableOf(st *State, t *storepb.Tree) {
	if rows := k.Rows(t); len(rows) > 0 {
		*k.table(st) = tableOf(k.schema, rows)
	}
}

func (k *ChildKind[T]) snapshot(st *State, w *recordWriter) { writeTable(w, *k.table(st)) }

func (k *ChildKind[T]) loader(st *State, lb func(string) parent) rowLoader {
	return newTableLoader(*k.table(st), func(x T) T { return k.intern(x, lb(x.GetLoadbalancerId())) })
}
