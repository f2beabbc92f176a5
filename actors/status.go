package actors

import (
	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// Provisioning and operating statuses (Octavia's constants).
const (
	StatusActive        = "ACTIVE"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"

	OperatingOnline    = "ONLINE"
	OperatingOffline   = "OFFLINE"
	OperatingDegraded  = "DEGRADED"
	OperatingError     = "ERROR"
	OperatingNoMonitor = "NO_MONITOR"
	OperatingDraining  = "DRAINING"

	AmphoraAllocated = "ALLOCATED"
	AmphoraReady     = "READY"
)

// IsPending reports whether a provisioning status is one of the immutable PENDING_*.
func IsPending(status string) bool { return len(status) > 8 && status[:8] == "PENDING_" }

// initialMemberStatus is Octavia's operating status for a new member: OFFLINE when
// its pool has a health monitor (health will tell), else NO_MONITOR.
func initialMemberStatus(t *tree, poolID string) string {
	if t.MonitorOfPool(poolID) != nil {
		return OperatingOffline
	}
	return OperatingNoMonitor
}

// Operating status is a measured status (Octavia: "no-op will not go online").
// The provider step never derives one: a load balancer, its listeners, pools and
// members keep the status they have (OFFLINE from their creation, members
// NO_MONITOR or OFFLINE) until an amphora's heartbeats report otherwise
// (RecordHealth); with the noop driver none ever does. What the step does set is
// what Octavia's controller flows set whatever the amphora driver:
//
//   - a health monitor, L7 policy or rule it makes ACTIVE is ONLINE when enabled,
//     else OFFLINE (MarkHealthMonitorActiveInDB, MarkL7PolicyActiveInDB, …);
//   - a health monitor it removes leaves its pool's members NO_MONITOR
//     (UpdatePoolMembersOperatingStatusInDB in the delete flow).

// unmonitorMembers makes NO_MONITOR the members of every pool whose health
// monitor w removes (members being deleted along with it are left alone).
func unmonitorMembers(t *tree, w *storepb.TreeWrite) {
	pools := map[string]bool{}
	for _, id := range w.DeleteHealthMonitors {
		if hm := t.monitors[id]; hm != nil {
			pools[hm.PoolId] = true
		}
	}
	if len(pools) == 0 {
		return
	}
	deleted := map[string]bool{}
	for _, id := range w.DeleteMembers {
		deleted[id] = true
	}
	for id, m := range t.members {
		if !pools[m.PoolId] || deleted[id] || current(t.members, w.Members, id).OperatingStatus == OperatingNoMonitor {
			continue
		}
		writableMember(t, w, id).OperatingStatus = OperatingNoMonitor
	}
}

func enabledStatus(up bool) string {
	if up {
		return OperatingOnline
	}
	return OperatingOffline
}

// treeRow is a row of a load balancer's tree.
type treeRow interface {
	proto.Message
	GetId() string
}

// current returns the row as the write set holds it, else as cached.
func current[T treeRow](cache map[string]T, rows []T, id string) T {
	for _, x := range rows {
		if x.GetId() == id {
			return x
		}
	}
	return cache[id]
}

// writable returns the row as the write set holds it, first cloning the cached row
// into the write set if the write does not hold it yet.
func writable[T treeRow](cache map[string]T, rows *[]T, id string) T {
	for _, x := range *rows {
		if x.GetId() == id {
			return x
		}
	}
	x := cloneRow(cache[id])
	*rows = append(*rows, x)
	return x
}

func currentPool(t *tree, w *storepb.TreeWrite, id string) *storepb.Pool {
	return current(t.pools, w.Pools, id)
}

func currentListener(t *tree, w *storepb.TreeWrite, id string) *storepb.Listener {
	return current(t.listeners, w.Listeners, id)
}

func writableListener(t *tree, w *storepb.TreeWrite, id string) *storepb.Listener {
	return writable(t.listeners, &w.Listeners, id)
}

func writablePool(t *tree, w *storepb.TreeWrite, id string) *storepb.Pool {
	return writable(t.pools, &w.Pools, id)
}

func writableMember(t *tree, w *storepb.TreeWrite, id string) *storepb.Member {
	return writable(t.members, &w.Members, id)
}

func writableMonitor(t *tree, w *storepb.TreeWrite, id string) *storepb.HealthMonitor {
	return writable(t.monitors, &w.HealthMonitors, id)
}

func writablePolicy(t *tree, w *storepb.TreeWrite, id string) *storepb.L7Policy {
	return writable(t.policies, &w.L7Policies, id)
}

func writableRule(t *tree, w *storepb.TreeWrite, id string) *storepb.L7Rule {
	return writable(t.rules, &w.L7Rules, id)
}

func writableAmphora(t *tree, w *storepb.TreeWrite, id string) *storepb.Amphora {
	return writable(t.amphorae, &w.Amphorae, id)
}
